/* nettest's GSO roles: 64 KiB TCP/IPv4 super-frames sent with a GSO extra (netback cuts them
 * for a tap, or hands them whole to a frontend that negotiated GSO) and checked on the other
 * side segment by segment: IPv4 header checksum, TCP checksum (unless the frame came with
 * its checksum still blank), and every payload byte, whose value is a function of its offset
 * in the stream (bench/net and tests/system/net_gso.sh compute the same). The flow is
 * 10.99.0.3:40000 -> 10.99.0.1:5001; acknowledgements are test-ethertype frames. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/netif.h>

#include "guest/lib.h"
#include "guest/netfront.h"
#include "guest/printf.h"
#include "guest/tap.h"
#include "guest/time.h"
#include "nettest.h"

#define GSO_FRAME 65000u /* 16 slots of 4 KiB */
#define HDRS (14 + 20 + 20)
#define PAYLOAD (GSO_FRAME - HDRS)
#define MSS 1448
#define ISN 1000u
#define DPORT 5001

static uint8_t gout[GSO_FRAME], gin[NETFRONT_MAX_FRAME], ack[60];

static uint8_t pattern(uint32_t off)
{
    return (uint8_t)(off * 131u + (off >> 11));
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Super-frame k: its payload is stream bytes k*PAYLOAD.., its TCP checksum left blank. */
static void super_frame(uint32_t k)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t *f = gout, *ip = f + 14, *th = ip + 20;
    memset(f, 0, HDRS);
    memcpy(f, bcast, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((GSO_FRAME - 14) >> 8), ip[3] = (uint8_t)(GSO_FRAME - 14);
    ip[4] = (uint8_t)(k >> 8), ip[5] = (uint8_t)k;
    ip[6] = 0x40; /* DF */
    ip[8] = 64, ip[9] = 6;
    memcpy(ip + 12, (const uint8_t[]){10, 99, 0, 3, 10, 99, 0, 1}, 8);
    uint16_t c = (uint16_t)~fold(sum16(ip, 20, 0));
    ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
    uint32_t seq = ISN + k * PAYLOAD;
    th[0] = 40000 >> 8, th[1] = 40000 & 0xff, th[2] = DPORT >> 8, th[3] = DPORT & 0xff;
    th[4] = (uint8_t)(seq >> 24), th[5] = (uint8_t)(seq >> 16), th[6] = (uint8_t)(seq >> 8);
    th[7] = (uint8_t)seq;
    th[12] = 5 << 4, th[13] = 0x18; /* PSH|ACK */
    th[14] = 0xff, th[15] = 0xff;
    /* Eight pattern bytes a store: each guest store is slow on soft, whatever its width. */
    typedef uint64_t __attribute__((may_alias, aligned(1))) word_t;
    uint32_t base = k * PAYLOAD, i = 0;
    for (; i + 8 <= PAYLOAD; i += 8) {
        uint64_t w = 0;
        for (int b = 7; b >= 0; b--)
            w = w << 8 | pattern(base + i + (uint32_t)b);
        *(word_t *)(gout + HDRS + i) = w;
    }
    for (; i < PAYLOAD; i++)
        gout[HDRS + i] = pattern(base + i);
}

static int send_super(uint32_t k)
{
    struct netfront_txopt opt = {
        .csum_blank = true, .gso_type = XEN_NETIF_GSO_TYPE_TCPV4, .gso_size = MSS};
    super_frame(k);
    return netfront_send_opt(gout, GSO_FRAME, &opt, monotonic_ns() + 2 * SEC);
}

static void send_test(const uint8_t *dst, uint32_t seq, uint8_t kind)
{
    memset(ack, 0, sizeof(ack));
    memcpy(ack, dst, 6);
    memcpy(ack + 6, mac, 6);
    ack[12] = ETHERTYPE_TEST >> 8, ack[13] = ETHERTYPE_TEST & 0xff;
    memcpy(ack + 14, &seq, 4);
    ack[18] = kind;
    netfront_send(ack, sizeof(ack), monotonic_ns() + SEC);
}

static bool is_test(const uint8_t *f, int n, uint8_t kind)
{
    return n >= 19 && f[12] == ETHERTYPE_TEST >> 8 && f[13] == (ETHERTYPE_TEST & 0xff) &&
           f[18] == kind;
}

int role_gso_a(unsigned long count)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (!tap_check(netfront_has_gso(XEN_NETIF_GSO_TYPE_TCPV4),
                   "nettest gso a: the backend offers feature-gso-tcpv4"))
        return tap_finish();
    unsigned acked = 0, sends = 0;
    uint64_t t0 = monotonic_ns();
    for (uint32_t k = 0; k < count; k++) {
        bool got = false;
        for (int attempt = 0; attempt < 10 && !got; attempt++) {
            if (send_super(k))
                break;
            sends++;
            uint64_t until = monotonic_ns() + 2 * SEC;
            for (;;) {
                int n = netfront_recv(gin, sizeof(gin), until);
                if (n < 0)
                    break;
                uint32_t s;
                memcpy(&s, gin + 14, 4);
                if (is_test(gin, n, 'A') && s == k) {
                    got = true;
                    break;
                }
            }
        }
        if (!got)
            break;
        acked++;
    }
    uint64_t us = (monotonic_ns() - t0) / 1000;
    tap_check(acked == count,
              "nettest gso a: %u of %lu super-frames of %u bytes acknowledged "
              "whole (%u sends)",
              acked, count, GSO_FRAME, sends);
    hv_printf("nettest gso a: %u super-frames, %lu payload bytes in %lu us\n", acked,
              (unsigned long)acked * PAYLOAD, (unsigned long)us);
    for (int i = 0; i < 5; i++) {
        send_test(bcast, 0, 'S');
        sleep_ns(20 * MS);
    }
    return tap_finish();
}

/* A TCP segment of the flow: checks it; its stream offset and payload length. */
static bool segment_ok(const uint8_t *f, int n, const struct netfront_rxinfo *ri, uint32_t *off,
                       uint32_t *len, unsigned *bad)
{
    if (n < HDRS || f[12] != 0x08 || f[13] != 0x00)
        return false;
    const uint8_t *ip = f + 14, *th = ip + 20;
    if (ip[0] != 0x45 || ip[9] != 6 || th[2] != DPORT >> 8 || th[3] != (DPORT & 0xff))
        return false;
    size_t tot = (size_t)ip[2] << 8 | ip[3];
    uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
    *off = seq - ISN;
    *len = (uint32_t)(tot - 40);
    bool ok = tot >= 40 && 14 + tot <= (size_t)n && fold(sum16(ip, 20, 0)) == 0xffff &&
              (th[12] >> 4) == 5;
    if (ok && ri->gso_type == XEN_NETIF_GSO_TYPE_NONE && *len > MSS)
        ok = false; /* a segment larger than the MSS came without its GSO info */
    if (ok && !(ri->flags & NETRXF_csum_blank)) {
        uint32_t pseudo = sum16(ip + 12, 8, 0) + 6 + (uint32_t)(tot - 20);
        ok = fold(sum16(th, tot - 20, pseudo)) == 0xffff;
    }
    for (uint32_t i = 0; ok && i < *len; i++)
        ok = f[HDRS + i] == pattern(*off + i);
    if (!ok)
        (*bad)++;
    return ok;
}

int role_gso_b(void)
{
    unsigned bad = 0, segs = 0, whole = 0;
    uint32_t expected = 0;
    bool stop = false;
    uint64_t deadline = monotonic_ns() + 120 * SEC;
    while (!stop && monotonic_ns() < deadline) {
        struct netfront_rxinfo ri;
        int n = netfront_recv_info(gin, sizeof(gin), monotonic_ns() + SEC, &ri);
        if (n < 0)
            continue;
        if (is_test(gin, n, 'S')) {
            stop = true;
            break;
        }
        uint32_t off, len;
        if (!segment_ok(gin, n, &ri, &off, &len, &bad))
            continue;
        segs++;
        whole += ri.gso_type != XEN_NETIF_GSO_TYPE_NONE;
        if (off == expected)
            expected += len;
        else if (off > expected)
            continue; /* a gap: the sender resends the frame */
        /* The end of a super-frame (again, if our acknowledgement was lost). */
        if (off + len <= expected && (off + len) % PAYLOAD == 0)
            send_test(gin + 6, (off + len) / PAYLOAD - 1, 'A');
    }
    tap_check(stop,
              "nettest gso b: the stop frame arrived (%u payload bytes in order, %u "
              "segments, %u whole super-frames)",
              expected, segs, whole);
    tap_check(bad == 0, "nettest gso b: every segment's checksums and bytes right (%u bad)", bad);
    return tap_finish();
}

int role_gso_host(unsigned long count, bool paced)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    unsigned sent = 0;
    uint64_t t0 = monotonic_ns();
    for (uint32_t k = 0; k < count; k++) {
        if (send_super(k) == 0)
            sent++;
        if (paced)
            sleep_ns(100 * MS);
    }
    if (!paced)
        hv_printf("nettest gso blast: %u super-frames, %lu payload bytes in %lu us\n", sent,
                  (unsigned long)sent * PAYLOAD, (unsigned long)((monotonic_ns() - t0) / 1000));
    tap_check(sent == count, "nettest gso host: sent %u of %lu super-frames", sent, count);
    for (int i = 0; i < 5; i++) {
        send_test(bcast, 0, 'S');
        sleep_ns(20 * MS);
    }
    return tap_finish();
}
