/* Checksums a frontend left for the backend to fill (NETTXF_csum_blank) and the L4 parsing the
 * tap's GSO path shares: pure, so both the host's netback and a driver domain's use it. Every
 * access is bounds-checked against len. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "tap.h"

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    return s;
}

uint16_t net_csum_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int net_l4_parse(const uint8_t *f, size_t len, struct net_l4_info *out)
{
    if (len < 14)
        return -EINVAL;
    unsigned int type = (unsigned int)f[12] << 8 | f[13];
    const uint8_t *ip = f + 14;
    size_t iplen = len - 14;
    uint32_t pseudo;
    uint8_t proto;
    size_t l4off, l4len;
    if (type == 0x0800) {
        size_t ihl = (size_t)(ip[0] & 0xf) * 4;
        if (iplen < 20 || (ip[0] >> 4) != 4 || ihl < 20 || ihl > iplen)
            return -EINVAL;
        size_t tot = (size_t)ip[2] << 8 | ip[3];
        if (tot < ihl || tot > iplen)
            return -EINVAL;
        proto = ip[9];
        l4off = ihl;
        l4len = tot - ihl;
        pseudo = sum16(ip + 12, 8, 0);
    } else if (type == 0x86dd) {
        if (iplen < 40 || (ip[0] >> 4) != 6)
            return -EINVAL;
        size_t pl = (size_t)ip[4] << 8 | ip[5];
        if (pl > iplen - 40)
            return -EINVAL;
        proto = ip[6];
        l4off = 40;
        l4len = pl;
        pseudo = sum16(ip + 8, 32, 0);
    } else {
        return -EINVAL;
    }
    size_t csum_at;
    if (proto == 6 && l4len >= 20)
        csum_at = 16;
    else if (proto == 17 && l4len >= 8)
        csum_at = 6;
    else
        return -EINVAL;
    *out = (struct net_l4_info){
        .off = 14 + l4off, .len = l4len, .csum_at = csum_at, .proto = proto, .pseudo = pseudo};
    return 0;
}

int net_csum_fill(uint8_t *f, size_t len)
{
    struct net_l4_info l4i;
    int rc = net_l4_parse(f, len, &l4i);
    if (rc)
        return rc;
    uint8_t *l4 = f + l4i.off;
    uint32_t pseudo = l4i.pseudo + l4i.proto + (uint32_t)l4i.len;
    l4[l4i.csum_at] = l4[l4i.csum_at + 1] = 0;
    uint16_t c = net_csum_fold(sum16(l4, l4i.len, pseudo));
    if (l4i.proto == 17 && c == 0)
        c = 0xffff; /* UDP: zero means "no checksum" */
    l4[l4i.csum_at] = (uint8_t)(c >> 8);
    l4[l4i.csum_at + 1] = (uint8_t)c;
    return 0;
}
