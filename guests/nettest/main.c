/* nettest: frames through the guest netfront (see README.md for the roles). Every frame the
 * pair exchanges is checked byte by byte; the ping role answers ARP and ICMP echo so a host
 * can ping the guest through a tap on a bridge. Every wait has a deadline. */
#include <stdint.h>

#include <kxen/errno.h>

#include "guest/lib.h"
#include "guest/netfront.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"
#include "nettest.h"

#define FRAME_LEN(i) (60 + ((i)*97) % 1455) /* 60..1514 */

uint8_t mac[6];
static uint8_t out[NETFRONT_MTU_FRAME], in[2048];

static const char *skip_sp(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

static const char *parse_num(const char *s, unsigned long *v)
{
    s = skip_sp(s);
    *v = 0;
    while (*s >= '0' && *s <= '9')
        *v = *v * 10 + (unsigned long)(*s++ - '0');
    return s;
}

/* A test frame: dst, our MAC, the test ethertype, seq (4 bytes), kind, then the pattern. */
static size_t test_frame(uint8_t *f, const uint8_t *dst, uint32_t seq, uint8_t kind)
{
    size_t len = FRAME_LEN(seq);
    memcpy(f, dst, 6);
    memcpy(f + 6, mac, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    memcpy(f + 14, &seq, 4);
    f[18] = kind;
    for (size_t i = 19; i < len; i++)
        f[i] = (uint8_t)(i * 31 + seq * 7);
    return len;
}

static bool payload_ok(const uint8_t *f, size_t len, uint32_t *seq)
{
    memcpy(seq, f + 14, 4);
    if (len != FRAME_LEN(*seq))
        return false;
    for (size_t i = 19; i < len; i++)
        if (f[i] != (uint8_t)(i * 31 + *seq * 7))
            return false;
    return true;
}

static bool is_test(const uint8_t *f, int n)
{
    return n >= 19 && f[12] == ETHERTYPE_TEST >> 8 && f[13] == (ETHERTYPE_TEST & 0xff);
}

static int role_a(unsigned long count)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    unsigned bad = 0, sent = 0, echoed = 0;
    uint64_t t0 = monotonic_ns();
    for (uint32_t seq = 0; seq < count; seq++) {
        bool got = false;
        for (int attempt = 0; attempt < 100 && !got; attempt++) {
            size_t len = test_frame(out, bcast, seq, 'P');
            if (netfront_send(out, len, monotonic_ns() + 2 * SEC))
                break;
            sent++;
            uint64_t until = monotonic_ns() + 200 * MS;
            for (;;) {
                int n = netfront_recv(in, sizeof(in), until);
                if (n < 0)
                    break;
                uint32_t s;
                if (!is_test(in, n) || in[18] != 'E')
                    continue;
                if (!payload_ok(in, (size_t)n, &s) || memcmp(in, mac, 6)) {
                    bad++;
                    continue;
                }
                if (s == seq) {
                    got = true;
                    echoed++;
                    break;
                }
            }
        }
        if (!got)
            break;
    }
    tap_check(echoed == count, "nettest a: %u of %lu frames echoed (%u sends)", echoed, count,
              sent);
    hv_printf("nettest a: %u round trips in %lu us\n", echoed,
              (unsigned long)((monotonic_ns() - t0) / 1000));
    tap_check(bad == 0, "nettest a: every echo byte-for-byte what was sent (%u bad)", bad);
    for (int i = 0; i < 5; i++) {
        size_t len = test_frame(out, bcast, 0, 'S');
        netfront_send(out, len, monotonic_ns() + SEC);
        sleep_ns(20 * MS);
    }
    return tap_finish();
}

/* Benchmark roles: frames of the bench ethertype, as fast as the rings take them. */
#define ETHERTYPE_BENCH 0x88b6

static int role_blast(unsigned long count)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(out, bcast, 6);
    memcpy(out + 6, mac, 6);
    out[12] = ETHERTYPE_BENCH >> 8;
    out[13] = ETHERTYPE_BENCH & 0xff;
    out[18] = 'D';
    unsigned long sent = 0;
    /* The frames are built in the TX buffers, as the emulated NIC's bench sender builds them
     * in its own (guests/hvmtest): a buffer's whole frame the first time it comes round, then
     * only the sequence number (a buffer keeps the frame it last sent). */
    uint64_t built = 0;
    uint64_t t0 = monotonic_ns();
    for (uint32_t i = 0; i < count; i++) {
        struct netfront_txbuf tb;
        if (netfront_tx_buffer(&tb, monotonic_ns() + 2 * SEC))
            break;
        if (tb.id >= 64 || !(built >> tb.id & 1)) {
            memcpy(tb.data, out, NETFRONT_MTU_FRAME);
            built |= tb.id < 64 ? 1ull << tb.id : 0;
        }
        memcpy(tb.data + 14, &i, 4);
        if (netfront_tx_commit(&tb, NETFRONT_MTU_FRAME))
            break;
        sent++;
    }
    uint64_t t1 = monotonic_ns();
    hv_printf("nettest blast: %lu frames of %u bytes in %lu us\n", sent, NETFRONT_MTU_FRAME,
              (unsigned long)((t1 - t0) / 1000));
    out[18] = 'S';
    for (int i = 0; i < 20; i++) {
        netfront_send(out, 60, monotonic_ns() + SEC);
        sleep_ns(10 * MS);
    }
    tap_check(sent == count, "nettest blast: sent %lu of %lu", sent, count);
    return tap_finish();
}

static int role_sink(unsigned long seconds)
{
    unsigned long frames = 0, bytes = 0;
    uint64_t first = 0, last = 0, deadline = monotonic_ns() + seconds * SEC;
    while (monotonic_ns() < deadline) {
        int n = netfront_recv(in, sizeof(in), monotonic_ns() + 200 * MS);
        if (n < 19 || in[12] != ETHERTYPE_BENCH >> 8 || in[13] != (ETHERTYPE_BENCH & 0xff))
            continue;
        if (in[18] == 'S' && frames)
            break;
        if (in[18] != 'D')
            continue;
        last = monotonic_ns();
        if (!frames)
            first = last;
        frames++;
        bytes += (unsigned long)n;
    }
    hv_printf("nettest sink: %lu frames %lu bytes in %lu us\n", frames, bytes,
              (unsigned long)((last - first) / 1000));
    tap_check(frames > 0, "nettest sink: received %lu frames", frames);
    return tap_finish();
}

static int role_b(unsigned long seconds)
{
    unsigned bad = 0, echoed = 0;
    bool stop = false;
    uint64_t deadline = monotonic_ns() + seconds * SEC;
    /* A frame too short for Ethernet is refused and its buffer taken back: committing the
     * same buffer again finds it no longer handed out. */
    struct netfront_txbuf tb;
    bool taken = netfront_tx_buffer(&tb, deadline) == 0;
    int short_rc = taken ? netfront_tx_commit(&tb, 10) : 0;
    int again_rc = taken ? netfront_tx_commit(&tb, 60) : 0;
    tap_check(taken && short_rc == -XEN_EINVAL && again_rc == -XEN_EAGAIN,
              "nettest b: a 10-byte frame in a TX buffer is refused (%d), the buffer taken back "
              "(%d)",
              short_rc, again_rc);
    while (!stop && monotonic_ns() < deadline) {
        int n = netfront_recv(in, sizeof(in), monotonic_ns() + SEC);
        if (n < 0 || !is_test(in, n))
            continue;
        if (in[18] == 'S') {
            stop = true;
            break;
        }
        uint32_t seq;
        if (in[18] != 'P' || !payload_ok(in, (size_t)n, &seq)) {
            bad++;
            continue;
        }
        /* Echo: to the sender, from us, same payload, built in the TX buffer itself. */
        if (netfront_tx_buffer(&tb, monotonic_ns() + 2 * SEC))
            continue;
        memcpy(tb.data, in + 6, 6);
        memcpy(tb.data + 6, mac, 6);
        memcpy(tb.data + 12, in + 12, (size_t)n - 12);
        tb.data[18] = 'E';
        if (netfront_tx_commit(&tb, (size_t)n) == 0)
            echoed++;
    }
    tap_check(stop, "nettest b: the stop frame arrived (%u echoed)", echoed);
    tap_check(bad == 0, "nettest b: every frame byte-for-byte as sent (%u bad)", bad);
    return tap_finish();
}

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static int role_ping(const uint8_t ip[4], unsigned long seconds)
{
    unsigned arps = 0, echoes = 0;
    uint64_t deadline = monotonic_ns() + seconds * SEC;
    hv_printf("nettest ping: answering for %u.%u.%u.%u\n", ip[0], ip[1], ip[2], ip[3]);
    while (monotonic_ns() < deadline) {
        int n = netfront_recv(in, sizeof(in), monotonic_ns() + 200 * MS);
        if (n < 14)
            continue;
        if (in[12] == 0x08 && in[13] == 0x06 && n >= 42 && in[20] == 0 && in[21] == 1 &&
            !memcmp(in + 38, ip, 4)) { /* ARP request for us */
            memcpy(out, in + 6, 6);
            memcpy(out + 6, mac, 6);
            memcpy(out + 12, in + 12, 8);
            out[21] = 2; /* reply */
            memcpy(out + 22, mac, 6);
            memcpy(out + 28, ip, 4);
            memcpy(out + 32, in + 22, 10); /* the asker's MAC and IP */
            memset(out + 42, 0, 18);
            if (netfront_send(out, 60, monotonic_ns() + SEC) == 0)
                arps++;
        } else if (in[12] == 0x08 && in[13] == 0x00 && n >= 34) {
            const uint8_t *iph = in + 14;
            size_t ihl = (size_t)(iph[0] & 0xf) * 4;
            size_t tot = (size_t)iph[2] << 8 | iph[3];
            if (ihl < 20 || tot > (size_t)n - 14 || tot < ihl + 8 || iph[9] != 1 ||
                memcmp(iph + 16, ip, 4) || iph[ihl] != 8)
                continue; /* not an ICMP echo request for us */
            memcpy(out, in + 6, 6);
            memcpy(out + 6, mac, 6);
            memcpy(out + 12, in + 12, 2 + tot);
            uint8_t *oip = out + 14;
            memcpy(oip + 12, iph + 16, 4);
            memcpy(oip + 16, iph + 12, 4);
            oip[8] = 64;
            oip[10] = oip[11] = 0;
            uint16_t c = csum(oip, ihl);
            oip[10] = (uint8_t)(c >> 8), oip[11] = (uint8_t)c;
            uint8_t *icmp = oip + ihl;
            icmp[0] = 0; /* echo reply */
            icmp[2] = icmp[3] = 0;
            c = csum(icmp, tot - ihl);
            icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
            size_t len = 14 + tot < 60 ? 60 : 14 + tot;
            if (netfront_send(out, len, monotonic_ns() + SEC) == 0) {
                echoes++;
                hv_printf("nettest ping: echo reply %u\n", echoes);
            }
        }
    }
    tap_check(arps > 0, "nettest ping: answered %u ARP requests", arps);
    tap_check(echoes > 0, "nettest ping: answered %u ICMP echo requests", echoes);
    return tap_finish();
}

int main(void)
{
    const char *cmd = skip_sp(boot_info.cmdline);
    /* mq a N Q / mq b Q: a vif of Q queues. */
    unsigned long mq_n = 0, mq_q = 1;
    if (!strncmp(cmd, "mq a", 4))
        parse_num(parse_num(cmd + 4, &mq_n), &mq_q);
    else if (!strncmp(cmd, "mq b", 4))
        parse_num(cmd + 4, &mq_q);
    int rc = netfront_init_queues(0, mac, (unsigned)mq_q);
    if (!tap_rc(rc, 0, "nettest: netfront connects"))
        return tap_finish();
    hv_printf("nettest: connected as %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2],
              mac[3], mac[4], mac[5]);
    if (!strncmp(cmd, "pair a", 6)) {
        /* pair a N [MS]: MS milliseconds first, as blast's. */
        unsigned long n, ms;
        parse_num(parse_num(cmd + 6, &n), &ms);
        sleep_ns(ms * MS);
        return role_a(n ? n : 100);
    }
    if (!strncmp(cmd, "mq a", 4))
        return role_mq_a(mq_n ? mq_n : 100, (unsigned)mq_q);
    if (!strncmp(cmd, "mq b", 4))
        return role_mq_b((unsigned)mq_q);
    if (!strncmp(cmd, "pair b", 6)) {
        unsigned long secs;
        parse_num(cmd + 6, &secs);
        return role_b(secs ? secs : 60);
    }
    if (!strncmp(cmd, "gso a", 5)) {
        unsigned long n;
        parse_num(cmd + 5, &n);
        return role_gso_a(n ? n : 10);
    }
    if (!strncmp(cmd, "gso blast", 9)) {
        unsigned long n;
        parse_num(cmd + 9, &n);
        return role_gso_host(n ? n : 100, false);
    }
    if (!strncmp(cmd, "gso b", 5))
        return role_gso_b();
    if (!strncmp(cmd, "gso host", 8)) {
        unsigned long n;
        parse_num(cmd + 8, &n);
        return role_gso_host(n ? n : 10, true);
    }
    if (!strncmp(cmd, "blast", 5)) {
        /* blast N [MS]: MS milliseconds first, for a backend whose tap is still joining its
         * bridge when the frontend connects. */
        unsigned long n, ms;
        parse_num(parse_num(cmd + 5, &n), &ms);
        sleep_ns(ms * MS);
        return role_blast(n ? n : 10000);
    }
    if (!strncmp(cmd, "sink", 4)) {
        unsigned long secs;
        parse_num(cmd + 4, &secs);
        return role_sink(secs ? secs : 60);
    }
    if (!strncmp(cmd, "ping", 4)) {
        uint8_t ip[4];
        const char *s = cmd + 4;
        for (int i = 0; i < 4; i++) {
            unsigned long v;
            s = parse_num(s, &v);
            ip[i] = (uint8_t)v;
            if (*s == '.')
                s++;
        }
        unsigned long secs;
        parse_num(s, &secs);
        return role_ping(ip, secs ? secs : 30);
    }
    tap_check(false, "nettest: unknown role '%s'", cmd);
    return tap_finish();
}
