/* Software TCP segmentation and the RX flow hash (see gso.h). The headers of a GSO frame are
 * parsed once (net_gso_check) and copied in front of each payload chunk; only the fields that
 * differ per segment are rewritten, then the checksums are computed afresh, so a frame whose
 * TCP checksum was left blank (the usual GSO case) comes out complete. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <kxen/io/netif.h>

#include "gso.h"
#include "tap.h"

#define ETH_HLEN 14
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static unsigned int be16(const uint8_t *p)
{
    return (unsigned int)p[0] << 8 | p[1];
}

static void put16(uint8_t *p, unsigned int v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Parses the Ethernet and IP headers: the IP header length, the L4 protocol and the IP
 * packet's end; -EINVAL for anything but plain IPv4/IPv6. */
static int parse_ip(const uint8_t *f, size_t len, unsigned int *ver, size_t *iphl, uint8_t *proto,
                    size_t *end)
{
    if (len < ETH_HLEN + 20)
        return -EINVAL;
    const uint8_t *ip = f + ETH_HLEN;
    size_t iplen = len - ETH_HLEN;
    unsigned int type = be16(f + 12);
    if (type == 0x0800 && (ip[0] >> 4) == 4) {
        *ver = 4;
        *iphl = (size_t)(ip[0] & 0xf) * 4;
        size_t tot = be16(ip + 2);
        if (*iphl < 20 || tot < *iphl || tot > iplen)
            return -EINVAL;
        *proto = ip[9];
        *end = ETH_HLEN + tot;
        return 0;
    }
    if (type == 0x86dd && iplen >= 40 && (ip[0] >> 4) == 6) {
        *ver = 6;
        *iphl = 40;
        size_t pl = be16(ip + 4);
        if (pl > iplen - 40)
            return -EINVAL;
        *proto = ip[6];
        *end = ETH_HLEN + 40 + pl;
        return 0;
    }
    return -EINVAL;
}

int net_gso_check(const uint8_t *f, size_t len, const struct net_gso_info *gi, size_t *hdr_len)
{
    unsigned int ver;
    size_t iphl, end;
    uint8_t proto;
    if (gi->size < NET_GSO_MIN_MSS || parse_ip(f, len, &ver, &iphl, &proto, &end) || proto != 6)
        return -EINVAL;
    if ((ver == 4) != (gi->type == XEN_NETIF_GSO_TYPE_TCPV4) ||
        (ver == 6) != (gi->type == XEN_NETIF_GSO_TYPE_TCPV6))
        return -EINVAL;
    /* A fragment (MF set or an offset) cannot be resegmented. */
    if (ver == 4 && (be16(f + ETH_HLEN + 6) & 0x3fff))
        return -EINVAL;
    size_t tcp = ETH_HLEN + iphl;
    if (end < tcp + 20)
        return -EINVAL;
    size_t thl = (size_t)(f[tcp + 12] >> 4) * 4;
    if (thl < 20 || tcp + thl > end)
        return -EINVAL;
    if (hdr_len)
        *hdr_len = tcp + thl;
    return 0;
}

static uint16_t ip4_csum(const uint8_t *ip, size_t hl)
{
    uint32_t s = 0;
    for (size_t i = 0; i < hl; i += 2)
        s += (i == 10) ? 0 : be16(ip + i);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int net_gso_segment(const uint8_t *f, size_t len, const struct net_gso_info *gi, uint8_t *scratch,
                    size_t scratch_len, net_gso_emit_fn emit, void *ctx)
{
    size_t hl;
    if (net_gso_check(f, len, gi, &hl) || scratch_len < hl + gi->size)
        return -EINVAL;
    unsigned int ver;
    size_t iphl, end;
    uint8_t proto;
    parse_ip(f, len, &ver, &iphl, &proto, &end);
    const size_t tcp = ETH_HLEN + iphl;
    const uint32_t seq0 = (uint32_t)be16(f + tcp + 4) << 16 | be16(f + tcp + 6);
    const unsigned int id0 = be16(f + ETH_HLEN + 4);
    const uint8_t tflags = f[tcp + 13];
    size_t payload = end - hl, off = 0;
    int n = 0;
    do {
        size_t chunk = payload - off < gi->size ? payload - off : gi->size;
        bool last = off + chunk == payload;
        memcpy(scratch, f, hl);
        memcpy(scratch + hl, f + hl + off, chunk);
        uint8_t *ip = scratch + ETH_HLEN, *th = scratch + tcp;
        if (ver == 4) {
            put16(ip + 2, (unsigned int)(iphl + (hl - tcp) + chunk));
            put16(ip + 4, (id0 + (unsigned int)n) & 0xffff);
            put16(ip + 10, ip4_csum(ip, iphl));
        } else {
            put16(ip + 4, (unsigned int)((hl - tcp) + chunk));
        }
        uint32_t seq = seq0 + (uint32_t)off;
        put16(th + 4, seq >> 16);
        put16(th + 6, seq & 0xffff);
        uint8_t fl = tflags;
        if (!last)
            fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
        if (n > 0)
            fl &= (uint8_t)~TCP_CWR;
        th[13] = fl;
        net_csum_fill(scratch, hl + chunk); /* cannot fail: the headers were checked */
        emit(ctx, scratch, hl + chunk);
        off += chunk;
        n++;
    } while (off < payload);
    return n;
}

/* FNV-1a: cheap, and good enough to spread flows; nothing here is adversarial beyond a guest
 * choosing which of its own queues its frames arrive on. */
static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

uint32_t net_flow_hash(const uint8_t *f, size_t len)
{
    unsigned int ver;
    size_t iphl, end;
    uint8_t proto;
    uint32_t h = 2166136261u;
    if (parse_ip(f, len, &ver, &iphl, &proto, &end))
        return fnv(h, f, len < 12 ? len : 12); /* not IP: by MAC addresses */
    const uint8_t *ip = f + ETH_HLEN;
    h = ver == 4 ? fnv(h, ip + 12, 8) : fnv(h, ip + 8, 32);
    h = fnv(h, &proto, 1);
    size_t l4 = ETH_HLEN + iphl;
    bool frag = ver == 4 && (be16(ip + 6) & 0x3fff);
    if ((proto == 6 || proto == 17) && !frag && l4 + 4 <= end)
        h = fnv(h, f + l4, 4);
    return h;
}
