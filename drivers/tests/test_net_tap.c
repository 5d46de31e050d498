/* Tap ports on a Linux bridge, each test in a network namespace of its own (so nothing on
 * the host is touched): the bridge check, frames between two taps through the bridge, a vif
 * whose `bridge` key names the bridge exchanging checked frames with a host-side tap, the
 * checksum a guest left blank filled on the way out, a TCP super-frame written whole and cut
 * by the kernel for a tap without offload, and a missing bridge as a clear error.
 * Skipped (counted) where a network namespace or /dev/net/tun is not permitted. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kxen/io/netif.h>

#include "../net/gso.h"
#include "../net/tap.h"
#include "net_env.h"

#define BR "kxbr0"

static void in_own_netns_with_bridge(void)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        cr_skip_test("no network namespace here (%s)", strerror(errno));
    /* As `ip netns exec`: a sysfs of the new namespace, so /sys/class/net shows its links
     * (netback checks bridges there). */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || umount2("/sys", MNT_DETACH) < 0 ||
        mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
        cr_skip_test("cannot mount a sysfs of the namespace (%s)", strerror(errno));
    if (access("/dev/net/tun", R_OK | W_OK) < 0)
        cr_skip_test("no /dev/net/tun here");
    int s = socket(AF_LOCAL, SOCK_DGRAM, 0);
    cr_assert_geq(s, 0);
    if (ioctl(s, SIOCBRADDBR, BR) < 0)
        cr_skip_test("cannot create a bridge (%s)", strerror(errno));
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), BR);
    cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
}

/* Reads frames from t until one of the ethertype from a test MAC (00:16:3e:...) arrives; the
 * bridge also passes on the kernel's own IGMP and IPv6 chatter. Bounded: 2 s. */
static ssize_t tap_wait(struct net_tap *t, uint8_t *buf, size_t cap, uint16_t ethertype)
{
    for (int i = 0; i < 200; i++) {
        struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
        poll(&pfd, 1, 10);
        ssize_t n = net_tap_read(t, buf, cap);
        if (n >= 14 && ((uint16_t)(buf[12] << 8 | buf[13])) == ethertype && buf[6] == 0x00 &&
            buf[7] == 0x16 && buf[8] == 0x3e)
            return n;
    }
    return -1;
}

Test(net_tap, a_missing_bridge_is_enodev_and_a_bad_name_einval)
{
    in_own_netns_with_bridge();
    struct net_tap t;
    cr_assert_eq(net_tap_bridge_check("nosuchbr"), -ENODEV);
    cr_assert_eq(net_tap_bridge_check("lo"), -ENODEV, "lo is not a bridge");
    cr_assert_eq(net_tap_bridge_check("../x"), -EINVAL);
    cr_assert_eq(net_tap_open(&t, "tapx", "nosuchbr", 0), -ENODEV);
    cr_assert_eq(net_tap_bridge_check(BR), 0);
}

Test(net_tap, two_taps_exchange_a_frame_through_the_bridge)
{
    in_own_netns_with_bridge();
    struct net_tap a, b;
    cr_assert_eq(net_tap_open(&a, "kxa", BR, 0), 0);
    cr_assert_eq(net_tap_open(&b, "kxb", BR, 1500), 0);
    uint8_t f[200], g[2048], src[6];
    net_mac(src, 1);
    net_frame(f, sizeof(f), net_bcast, src, 3);
    cr_assert_eq(net_tap_write(&a, f, sizeof(f)), 0);
    cr_assert_eq(tap_wait(&b, g, sizeof(g), 0x88b5), (ssize_t)sizeof(f));
    cr_assert_eq(memcmp(f, g, sizeof(f)), 0);
    net_tap_close(&a);
    net_tap_close(&b);
}

/* An IPv4/UDP frame whose checksum field holds garbage, as an offloading guest leaves it. */
static size_t udp_frame(uint8_t *f, const uint8_t *src)
{
    memset(f, 0, 128);
    memset(f, 0xff, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 20 + 8 + 60;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    /* A valid header checksum: a host with br_netfilter drops IPv4 frames without one. */
    uint32_t hs = 0;
    for (int i = 0; i < 20; i += 2)
        hs += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (hs >> 16)
        hs = (hs & 0xffff) + (hs >> 16);
    ip[10] = (uint8_t)(~hs >> 8);
    ip[11] = (uint8_t)~hs;
    uint8_t *udp = ip + 20;
    udp[1] = 7;
    udp[3] = 9;
    udp[5] = 8 + 60;
    udp[6] = 0xde, udp[7] = 0xad;
    for (int i = 0; i < 60; i++)
        udp[8 + i] = (uint8_t)(i * 13);
    return 14 + 20 + 8 + 60;
}

static uint16_t udp_check(const uint8_t *f)
{
    const uint8_t *ip = f + 14, *udp = ip + 20;
    uint32_t s = 17 + 68;
    for (int i = 12; i < 20; i += 2)
        s += (uint32_t)ip[i] << 8 | ip[i + 1];
    for (int i = 0; i < 68; i += 2)
        s += (uint32_t)udp[i] << 8 | udp[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s; /* 0xffff when the checksum is right */
}

Test(net_tap, a_vif_on_a_bridge_exchanges_checked_frames_with_the_host)
{
    in_own_netns_with_bridge();
    struct net_env env;
    memset(&env, 0, sizeof(env));
    env.fp = fake_platform_new(0);
    env.nb = netback_new(fake_platform_base(env.fp), NULL, NULL, NULL);
    cr_assert_eq(netback_start(env.nb), 0);
    nf_toolstack_add(env.fp, 7, 0, "00:16:3e:00:00:01", BR);
    nf_init(&env.nf[0], env.fp, env.nb, 7, 0);
    cr_assert(nf_connect(&env.nf[0]));
    cr_assert_str_eq(nf_be_key(&env.nf[0], "hotplug-status"), "connected");
    cr_assert_neq(if_nametoindex("vif7.0"), 0, "the vif's tap is named as Linux's");
    int nbfd = netback_fd(env.nb);
    struct net_tap host;
    cr_assert_eq(net_tap_open(&host, "kxhost", BR, 0), 0);
    uint8_t f[2048], g[2048], gm[6], hm[6];
    net_mac(gm, 1);
    net_mac(hm, 9);
    /* guest -> host, with a blank checksum filled on the way */
    size_t len = udp_frame(f, gm);
    cr_assert_eq(
        nf_send(&env.nf[0], f, (uint16_t)len, 1, 0, NETTXF_csum_blank | NETTXF_data_validated),
        NETIF_RSP_OKAY);
    struct netback_stats st;
    netback_get_stats(env.nb, &st);
    cr_assert_eq(st.tx_errors, 0, "tap write failed");
    cr_assert_eq(tap_wait(&host, g, sizeof(g), 0x0800), (ssize_t)len);
    cr_assert_eq(memcmp(g, f, 14 + 20 + 6), 0);
    cr_assert_eq(memcmp(g + 14 + 28, f + 14 + 28, 60), 0);
    cr_assert_eq(udp_check(g), 0xffff, "UDP checksum not filled");
    /* host -> guest: the guest's MAC was learnt by the bridge */
    net_frame(f, 700, gm, hm, 11);
    cr_assert_eq(net_tap_write(&host, f, 700), 0);
    for (int i = 0; i < 200; i++) {
        struct pollfd pfd = {.fd = nbfd, .events = POLLIN};
        poll(&pfd, 1, 10);
        netback_poll(env.nb);
        if (RING_HAS_UNCONSUMED_RESPONSES(&env.nf[0].rx)) {
            struct netif_rx_response *r = RING_GET_RESPONSE(&env.nf[0].rx, env.nf[0].rx.rsp_cons);
            uint8_t *p = fake_page(env.fp, env.nf[0].rx_page[r->id]) + r->offset;
            if (r->status == 700 && p[12] == 0x88)
                break;
            nf_recv(&env.nf[0], g, sizeof(g), NULL); /* kernel chatter: skip */
        }
    }
    cr_assert_eq(nf_recv(&env.nf[0], g, sizeof(g), NULL), 700);
    cr_assert_eq(memcmp(f, g, 700), 0);
    net_tap_close(&host);
    netback_free(env.nb);
    cr_assert_eq(if_nametoindex("vif7.0"), 0, "the vif's tap outlived netback");
    xenbus_platform_destroy(fake_platform_base(env.fp));
}

Test(net_tap, a_vif_naming_a_missing_bridge_closes_with_a_clear_error)
{
    in_own_netns_with_bridge();
    struct fake_platform *fp = fake_platform_new(0);
    struct netback *nb = netback_new(fake_platform_base(fp), NULL, NULL, NULL);
    netback_start(nb);
    nf_toolstack_add(fp, 7, 0, "00:16:3e:00:00:01", "xenbr9");
    struct fake_netfront nf;
    nf_init(&nf, fp, nb, 7, 0);
    for (int i = 0; i < 100 && nf_backend_state(&nf) != XenbusStateClosed; i++)
        netback_poll(nb);
    cr_assert_eq(nf_backend_state(&nf), XenbusStateClosed);
    cr_assert_neq(strstr(nf_be_key(&nf, "error"), "bridge xenbr9 does not exist"), NULL, "%s",
                  nf_be_key(&nf, "error"));
    cr_assert_str_eq(nf_be_key(&nf, "hotplug-status"), "error");
    netback_free(nb);
    xenbus_platform_destroy(fake_platform_base(fp));
}

Test(net_tap, under_a_hotplug_script_the_tap_is_made_off_the_bridge_under_its_vifname)
{
    in_own_netns_with_bridge();
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.hotplug_self = false;
    struct fake_platform *fp = fake_platform_new(0);
    struct netback *nb = netback_new(fake_platform_base(fp), &cfg, NULL, NULL);
    netback_start(nb);
    /* The bridge need not exist: the script, not netback, judges it. */
    fake_xs_write(fp, "/local/domain/0/backend/vif/7/0/vifname", "kx-guest0");
    nf_toolstack_add(fp, 7, 0, "00:16:3e:00:00:01", "xenbr9");
    struct fake_netfront nf;
    nf_init(&nf, fp, nb, 7, 0);
    for (int i = 0; i < 100 && nf_backend_state(&nf) != XenbusStateInitWait; i++)
        netback_poll(nb);
    cr_assert_eq(nf_backend_state(&nf), XenbusStateInitWait);
    cr_assert_neq(if_nametoindex("kx-guest0"), 0);
    cr_assert_str_eq(nf_be_key(&nf, "hotplug-status"), "", "netback wrote the script's key");
    netback_free(nb);
    cr_assert_eq(if_nametoindex("kx-guest0"), 0);
    xenbus_platform_destroy(fake_platform_base(fp));
}

/* An IPv4 TCP super-frame of `payload` bytes (pattern p(i) = i * 7 + 3), from src, with a
 * valid IP header checksum and garbage in the TCP checksum, as an offloading guest leaves it. */
static size_t tcp_super(uint8_t *f, const uint8_t *src, size_t payload)
{
    size_t tot = 20 + 20 + payload;
    memset(f, 0, 14 + 40);
    memset(f, 0xff, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *th = ip + 20;
    ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[6] = 0x40, ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    uint32_t hs = 0;
    for (int i = 0; i < 20; i += 2)
        hs += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (hs >> 16)
        hs = (hs & 0xffff) + (hs >> 16);
    ip[10] = (uint8_t)(~hs >> 8), ip[11] = (uint8_t)~hs;
    th[0] = 0x9c, th[1] = 0x40, th[2] = 0x13, th[3] = 0x89; /* 40000 -> 5001 */
    th[7] = 1;                                              /* seq 1 */
    th[12] = 5 << 4, th[13] = 0x18;                         /* PSH|ACK */
    th[14] = th[15] = 0xff;
    for (size_t i = 0; i < payload; i++)
        th[20 + i] = (uint8_t)(i * 7 + 3);
    return 14 + tot;
}

/* 0xffff when the segment's IP and TCP checksums are right. */
static bool tcp_seg_ok(const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + 14;
    size_t tot = (size_t)ip[2] << 8 | ip[3];
    if (len < 14 + 40 || tot + 14 > len)
        return false;
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    if (s != 0xffff)
        return false;
    s = 6 + (uint32_t)(tot - 20);
    for (int i = 12; i < 20; i += 2)
        s += (uint32_t)ip[i] << 8 | ip[i + 1];
    for (size_t i = 0; i + 1 < tot - 20; i += 2)
        s += (uint32_t)ip[20 + i] << 8 | ip[20 + i + 1];
    if ((tot - 20) & 1)
        s += (uint32_t)ip[tot - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

Test(net_tap, a_super_frame_written_whole_is_cut_by_the_kernel_for_a_tap_without_offload)
{
    in_own_netns_with_bridge();
    struct net_tap a, b;
    cr_assert_eq(net_tap_open(&a, "kxa", BR, 0), 0);
    cr_assert_eq(net_tap_open(&b, "kxb", BR, 0), 0);
    if (!a.vnet_hdr)
        cr_skip_test("no IFF_VNET_HDR on this kernel");
    static uint8_t f[16384], g[2048];
    uint8_t src[6];
    net_mac(src, 1);
    const size_t payload = 8000, mss = 1000;
    size_t len = tcp_super(f, src, payload);
    struct net_gso_info bad = {XEN_NETIF_GSO_TYPE_TCPV6, mss};
    cr_assert_eq(net_tap_write_gso(&a, f, len, &bad), -EINVAL, "a v4 frame announced as v6");
    struct net_gso_info gi = {XEN_NETIF_GSO_TYPE_TCPV4, mss};
    cr_assert_eq(net_tap_write_gso(&a, f, len, &gi), 0);
    size_t got = 0;
    unsigned int segs = 0;
    for (unsigned int i = 0; i < 16 && got < payload; i++) {
        ssize_t n = tap_wait(&b, g, sizeof(g), 0x0800);
        cr_assert_gt(n, 0, "segment %u missing (%zu of %zu bytes)", segs, got, payload);
        cr_assert(tcp_seg_ok(g, (size_t)n), "segment %u: bad checksum", segs);
        const uint8_t *th = g + 14 + 20;
        uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
        size_t dlen = (size_t)n - 54;
        cr_assert_leq(dlen, mss);
        cr_assert_eq(seq - 1, got, "segments in order");
        for (size_t k = 0; k < dlen; k++)
            cr_assert_eq(th[20 + k], (uint8_t)((got + k) * 7 + 3));
        got += dlen;
        segs++;
    }
    cr_assert_eq(got, payload);
    cr_assert_eq(segs, payload / mss);
    net_tap_close(&a);
    net_tap_close(&b);
}
