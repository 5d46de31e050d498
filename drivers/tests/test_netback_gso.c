/* GSO through netback: the software segmentation (gso.c) checked segment by segment, a guest's
 * 64 KiB TCP super-frame delivered whole (with its GSO extra) to a frontend that negotiated
 * feature-gso-tcpv4/6, cut into complete segments for one that did not, and malformed GSO
 * packets answered with errors. Every byte is checked. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../net/gso.h"
#include "net_env.h"

static struct net_env env;
static uint8_t out[65536], in[65536], joined[65536];

#define HDRS4 (14 + 20 + 20)
#define HDRS6 (14 + 40 + 20)

/* A TCP frame of len bytes from src to dst over IPv4 (v6 false) or IPv6, its TCP checksum
 * blank, FIN|PSH|ACK|CWR set, a patterned payload. */
static void tcp_frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src, bool v6)
{
    memset(f, 0, len);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    uint8_t *ip = f + 14, *th;
    if (!v6) {
        f[12] = 0x08;
        ip[0] = 0x45;
        ip[2] = (uint8_t)((len - 14) >> 8), ip[3] = (uint8_t)(len - 14);
        ip[4] = 0x12, ip[5] = 0x34;
        ip[6] = 0x40; /* DF */
        ip[8] = 64, ip[9] = 6;
        memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
        th = ip + 20;
    } else {
        f[12] = 0x86, f[13] = 0xdd;
        ip[0] = 0x60;
        ip[4] = (uint8_t)((len - 54) >> 8), ip[5] = (uint8_t)(len - 54);
        ip[6] = 6, ip[7] = 64;
        ip[8] = 0xfd, ip[23] = 1, ip[24] = 0xfd, ip[39] = 2;
        th = ip + 40;
    }
    th[0] = 0x9c, th[1] = 0x40, th[2] = 0x00, th[3] = 0x50;
    th[4] = 0xff, th[5] = 0xff, th[6] = 0xf0, th[7] = 0x00; /* the sequence number wraps */
    th[12] = 5 << 4;
    th[13] = 0x80 | 0x10 | 0x08 | 0x01;
    size_t hl = (size_t)(th - f) + 20;
    for (size_t i = hl; i < len; i++)
        f[i] = (uint8_t)(i * 13 + (i >> 9));
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t folded(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Checks one segment's headers against the original and appends its payload to joined. */
struct seg_check {
    const uint8_t *orig;
    bool v6;
    unsigned int n, mss;
    size_t payload, total;
};

static void check_seg(struct seg_check *c, const uint8_t *s, size_t len, bool last)
{
    size_t hl = c->v6 ? HDRS6 : HDRS4, iphl = c->v6 ? 40 : 20;
    const uint8_t *ip = s + 14, *th = ip + iphl;
    cr_assert_gt(len, hl);
    size_t pl = len - hl;
    cr_assert(last ? pl <= c->mss : pl == c->mss, "segment %u carries %zu bytes", c->n, pl);
    cr_assert_eq(memcmp(s, c->orig, 14), 0, "Ethernet header");
    uint32_t pseudo;
    if (!c->v6) {
        cr_assert_eq((size_t)(ip[2] << 8 | ip[3]), len - 14, "IPv4 total length");
        cr_assert_eq(ip[4] << 8 | ip[5], 0x1234 + (int)c->n, "IPv4 id");
        cr_assert_eq(folded(sum16(ip, 20, 0)), 0xffff, "IPv4 header checksum");
        pseudo = sum16(ip + 12, 8, 0);
    } else {
        cr_assert_eq((size_t)(ip[4] << 8 | ip[5]), len - 54, "IPv6 payload length");
        pseudo = sum16(ip + 8, 32, 0);
    }
    pseudo += 6 + (uint32_t)(len - 14 - iphl);
    cr_assert_eq(folded(sum16(th, len - 14 - iphl, pseudo)), 0xffff, "TCP checksum, segment %u",
                 c->n);
    uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
    cr_assert_eq(seq, 0xfffff000u + (uint32_t)c->payload, "sequence number");
    uint8_t want = 0x10 | (c->n == 0 ? 0x80 : 0) | (last ? 0x09 : 0);
    cr_assert_eq(th[13], want, "TCP flags of segment %u", c->n);
    memcpy(joined + c->payload, s + hl, pl);
    c->payload += pl;
    c->n++;
}

static struct seg_check seen;
static uint8_t segs[64][2048];
static size_t seg_len[64];
static unsigned int nr_segs;

static void collect(void *ctx, uint8_t *s, size_t len)
{
    (void)ctx;
    cr_assert_lt(nr_segs, 64);
    cr_assert_leq(len, sizeof(segs[0]));
    memcpy(segs[nr_segs], s, len);
    seg_len[nr_segs++] = len;
}

static void segment_and_check(size_t len, unsigned int mss, bool v6)
{
    static uint8_t scratch[65536];
    tcp_frame(out, len, net_bcast, net_bcast, v6);
    struct net_gso_info gi = {v6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4, mss};
    nr_segs = 0;
    size_t hl = v6 ? HDRS6 : HDRS4;
    int n = net_gso_segment(out, len, &gi, scratch, sizeof(scratch), collect, NULL);
    cr_assert_eq(n, (int)((len - hl + mss - 1) / mss));
    seen = (struct seg_check){.orig = out, .v6 = v6, .mss = mss};
    for (unsigned int i = 0; i < nr_segs; i++)
        check_seg(&seen, segs[i], seg_len[i], i + 1 == nr_segs);
    cr_assert_eq(seen.payload, len - hl);
    cr_assert_eq(memcmp(joined, out + hl, len - hl), 0, "payload differs");
}

Test(netback_gso, segmentation_of_ipv4_and_ipv6_at_several_mss)
{
    segment_and_check(65535 - 14 + 14, 1448, false);
    segment_and_check(9000, 1440, true);
    segment_and_check(HDRS4 + 1448, 1448, false); /* exactly one MSS: one segment */
    segment_and_check(HDRS6 + 3000, 1000, true);
}

Test(netback_gso, segmentation_refuses_what_it_cannot_cut)
{
    static uint8_t scratch[65536];
    struct net_gso_info v4 = {XEN_NETIF_GSO_TYPE_TCPV4, 1448},
                        v6 = {XEN_NETIF_GSO_TYPE_TCPV6, 1448};
    tcp_frame(out, 4000, net_bcast, net_bcast, false);
    cr_assert_eq(net_gso_check(out, 4000, &v4, NULL), 0);
    cr_assert_eq(net_gso_check(out, 4000, &v6, NULL), -EINVAL, "type against the ethertype");
    cr_assert_eq(net_gso_check(out, 3999, &v4, NULL), -EINVAL, "IP length past the frame");
    struct net_gso_info tiny = {XEN_NETIF_GSO_TYPE_TCPV4, NET_GSO_MIN_MSS - 1};
    cr_assert_eq(net_gso_check(out, 4000, &tiny, NULL), -EINVAL, "an MSS below 48");
    out[14 + 9] = 17;
    cr_assert_eq(net_gso_segment(out, 4000, &v4, scratch, sizeof(scratch), collect, NULL), -EINVAL,
                 "UDP");
    tcp_frame(out, 4000, net_bcast, net_bcast, false);
    out[14 + 20 + 12] = 0xf0; /* a TCP header of 60 bytes is fine... */
    cr_assert_eq(net_gso_check(out, 4000, &v4, NULL), 0);
    tcp_frame(out, 60, net_bcast, net_bcast, false);
    out[14 + 20 + 12] = 0xf0; /* ...but not past the IP packet */
    cr_assert_eq(net_gso_check(out, 60, &v4, NULL), -EINVAL);
    tcp_frame(out, 4000, net_bcast, net_bcast, false);
    out[14 + 6] = 0x20; /* more fragments */
    cr_assert_eq(net_gso_check(out, 4000, &v4, NULL), -EINVAL, "an IP fragment");
    cr_assert_eq(net_gso_check(out, 10, &v4, NULL), -EINVAL, "a runt");
}

Test(netback_gso, flow_hash_is_per_flow)
{
    tcp_frame(out, 200, net_bcast, net_bcast, false);
    tcp_frame(in, 900, net_bcast, net_bcast, false);
    cr_assert_eq(net_flow_hash(out, 200), net_flow_hash(in, 900), "same flow, other sizes");
    in[14 + 20 + 1] ^= 1; /* another source port */
    cr_assert_neq(net_flow_hash(out, 200), net_flow_hash(in, 900));
}

static void two_connected(bool rx_gso)
{
    net_env_setup(&env, NULL, 2);
    env.nf[1].no_gso = !rx_gso;
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&env.nf[i]), "vif %d: %s", i, env.log);
    cr_assert_str_eq(nf_be_key(&env.nf[0], "feature-gso-tcpv4"), "1");
}

/* 64 KiB less a little: 16 slots of 4 KiB hold it. */
#define BIG 65000

Test(netback_gso, a_super_frame_reaches_a_gso_frontend_whole_with_its_extra)
{
    two_connected(true);
    uint8_t a[6], b[6];
    net_mac(a, 1);
    net_mac(b, 2);
    for (int v6 = 0; v6 <= 1; v6++) {
        tcp_frame(out, BIG, b, a, v6);
        cr_assert_eq(nf_send_gso(&env.nf[0], out, BIG, 16, NETTXF_csum_blank,
                                 v6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4, 1448),
                     NETIF_RSP_OKAY, "%s", env.log);
        struct netif_extra_info gso;
        uint16_t flags;
        memset(in, 0, sizeof(in));
        int n = nf_recv_gso(&env.nf[1], in, sizeof(in), &flags, &gso);
        cr_assert_eq(n, BIG);
        cr_assert_eq(memcmp(in, out, BIG), 0, "payload differs");
        cr_assert_eq(gso.type, XEN_NETIF_EXTRA_TYPE_GSO);
        cr_assert_eq(gso.u.gso.size, 1448);
        cr_assert_eq(gso.u.gso.type, v6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4);
        cr_assert(flags & NETRXF_csum_blank, "the checksum is still to be filled");
        cr_assert(flags & NETRXF_extra_info);
    }
    /* A plain frame after them: no extra. */
    net_frame(out, 1000, b, a, 3);
    cr_assert_eq(nf_send(&env.nf[0], out, 1000, 1, 0, 0), NETIF_RSP_OKAY);
    struct netif_extra_info gso;
    cr_assert_eq(nf_recv_gso(&env.nf[1], in, sizeof(in), NULL, &gso), 1000);
    cr_assert_eq(gso.type, XEN_NETIF_EXTRA_TYPE_NONE);
    net_env_teardown(&env);
}

Test(netback_gso, a_frontend_without_gso_gets_complete_segments)
{
    two_connected(false);
    uint8_t a[6], b[6];
    net_mac(a, 1);
    net_mac(b, 2);
    tcp_frame(out, BIG, b, a, false);
    cr_assert_eq(
        nf_send_gso(&env.nf[0], out, BIG, 16, NETTXF_csum_blank, XEN_NETIF_GSO_TYPE_TCPV4, 1448),
        NETIF_RSP_OKAY);
    unsigned int want = (BIG - HDRS4 + 1447) / 1448;
    seen = (struct seg_check){.orig = out, .mss = 1448};
    static uint8_t seg[4096];
    for (unsigned int i = 0; i < want; i++) {
        uint16_t flags;
        struct netif_extra_info gso;
        int n = nf_recv_gso(&env.nf[1], seg, sizeof(seg), &flags, &gso);
        cr_assert_gt(n, 0, "segment %u of %u: %d", i, want, n);
        cr_assert_eq(gso.type, XEN_NETIF_EXTRA_TYPE_NONE);
        cr_assert(flags & NETRXF_data_validated);
        cr_assert_not(flags & NETRXF_csum_blank);
        check_seg(&seen, seg, (size_t)n, i + 1 == want);
    }
    cr_assert_eq(memcmp(joined, out + HDRS4, BIG - HDRS4), 0, "payload differs");
    cr_assert_not(nf_rx_pending(&env.nf[1]), "more segments than the MSS makes");
    net_env_teardown(&env);
}

Test(netback_gso, malformed_gso_packets_are_answered_with_errors)
{
    two_connected(true);
    uint8_t a[6], b[6];
    net_mac(a, 1);
    net_mac(b, 2);
    tcp_frame(out, 8000, b, a, false);
    cr_assert_eq(nf_send_gso(&env.nf[0], out, 8000, 2, 0, XEN_NETIF_GSO_TYPE_TCPV6, 1448),
                 NETIF_RSP_ERROR, "the type against the frame");
    cr_assert_eq(nf_send_gso(&env.nf[0], out, 8000, 2, 0, XEN_NETIF_GSO_TYPE_TCPV4, 20),
                 NETIF_RSP_ERROR, "a tiny MSS");
    cr_assert_eq(nf_send_gso(&env.nf[0], out, 8000, 2, 0, 7, 1448), NETIF_RSP_ERROR,
                 "an unknown type");
    net_frame(out, 8000, b, a, 1);
    cr_assert_eq(nf_send_gso(&env.nf[0], out, 8000, 2, 0, XEN_NETIF_GSO_TYPE_TCPV4, 1448),
                 NETIF_RSP_ERROR, "not TCP");
    cr_assert_not(nf_rx_pending(&env.nf[1]), "a malformed packet was delivered");
    /* The vif still works. */
    tcp_frame(out, 8000, b, a, false);
    cr_assert_eq(nf_send_gso(&env.nf[0], out, 8000, 2, 0, XEN_NETIF_GSO_TYPE_TCPV4, 1448),
                 NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(&env.nf[1], in, sizeof(in), NULL), 8000);
    cr_assert_eq(memcmp(in, out, 8000), 0);
    struct netback_stats st;
    netback_get_stats(env.nb, &st);
    cr_assert_eq(st.tx_errors, 4);
    net_env_teardown(&env);
}

static bool be_initwait_pred(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateInitWait;
}

static bool be_connected_pred(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateConnected;
}

/* Which RX queue of nf has a frame waiting (-1: none). */
static int queue_with_frame(struct fake_netfront *nf)
{
    for (int i = 0; i < 20; i++)
        netback_poll(nf->nb);
    int found = -1;
    for (unsigned int q = 0; q < nf->nr_queues; q++) {
        nf_use_rx_queue(nf, q);
        if (RING_HAS_UNCONSUMED_RESPONSES(&nf->rx)) {
            cr_assert_eq(found, -1, "one frame on two queues");
            found = (int)q;
        }
    }
    return found;
}

Test(netback_gso, rx_is_spread_over_the_queues_one_flow_per_queue)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.max_queues = 2;
    net_env_setup(&env, &cfg, 2);
    cr_assert(nf_connect(&env.nf[0]), "%s", env.log);
    struct fake_netfront *nf = &env.nf[1];
    cr_assert(nf_pump(nf, be_initwait_pred));
    nf_talk(nf, 2, true);
    cr_assert(nf_pump(nf, be_connected_pred), "%s", env.log);
    nf_use_rx_queue(nf, 0);
    nf_post_rx_range(nf, 0, NF_RX_BUFS / 2);
    nf_use_rx_queue(nf, 1);
    nf_post_rx_range(nf, NF_RX_BUFS / 2, NF_RX_BUFS / 2);
    uint8_t a[6], b[6];
    net_mac(a, 1);
    net_mac(b, 2);
    int queue_of_flow[16];
    unsigned int used[2] = {0, 0};
    for (int round = 0; round < 3; round++) {
        for (int flow = 0; flow < 16; flow++) {
            tcp_frame(out, 200 + (size_t)round * 100, b, a, false);
            out[14 + 20 + 1] = (uint8_t)flow; /* the source port names the flow */
            size_t len = 200 + (size_t)round * 100;
            cr_assert_eq(nf_send(&env.nf[0], out, (uint16_t)len, 1, 0, 0), NETIF_RSP_OKAY);
            int q = queue_with_frame(nf);
            cr_assert_geq(q, 0, "flow %d: nothing received", flow);
            if (round == 0)
                queue_of_flow[flow] = q;
            cr_assert_eq(q, queue_of_flow[flow], "flow %d changed queues", flow);
            used[q]++;
            nf_use_rx_queue(nf, (unsigned int)q);
            cr_assert_eq(nf_recv(nf, in, sizeof(in), NULL), (int)len);
            cr_assert_eq(memcmp(in, out, len), 0, "payload differs");
        }
    }
    cr_assert(used[0] > 0 && used[1] > 0, "16 flows all on one queue (%u, %u)", used[0], used[1]);
    net_env_teardown(&env);
}
