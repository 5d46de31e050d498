/* Shared set-up of the netback tests (see net_env.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "net_env.h"

const uint8_t net_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void env_log(void *ctx, const char *msg)
{
    struct net_env *e = ctx;
    size_t l = strlen(e->log);
    snprintf(e->log + l, sizeof(e->log) - l, "%s\n", msg);
    e->nr_logs++;
}

void net_mac(uint8_t mac[6], unsigned int n)
{
    const uint8_t m[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, (uint8_t)n};
    memcpy(mac, m, 6);
}

void net_env_setup(struct net_env *e, const struct netback_config *cfg, unsigned int nr)
{
    memset(e, 0, sizeof(*e));
    e->fp = fake_platform_new(0);
    e->nb = netback_new(fake_platform_base(e->fp), cfg, env_log, e);
    cr_assert_not_null(e->nb);
    cr_assert_eq(netback_start(e->nb), 0);
    for (unsigned int i = 0; i < nr; i++) {
        char mac[32];
        snprintf(mac, sizeof(mac), "00:16:3e:00:00:%02x", i + 1);
        nf_toolstack_add(e->fp, 7 + i, 0, mac, NULL);
        nf_init(&e->nf[i], e->fp, e->nb, 7 + i, 0);
    }
}

void net_env_teardown(struct net_env *e)
{
    netback_free(e->nb);
    cr_assert_eq(fake_gnttab_nr_mapped(e->fp), 0, "grant mappings leaked");
    cr_assert_eq(fake_evtchn_nr_bound(e->fp), 0, "event channels leaked");
    xenbus_platform_destroy(fake_platform_base(e->fp));
}

void net_frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src, unsigned int seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88; /* a local experimental ethertype: nothing parses the payload */
    f[13] = 0xb5;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}
