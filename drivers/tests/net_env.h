/* Shared set-up of the netback tests: the fake platform, a started netback and fake netfronts
 * on vifs of the backend's switch. */
#ifndef KXEN_DRIVERS_TESTS_NET_ENV_H
#define KXEN_DRIVERS_TESTS_NET_ENV_H

#include "fake_netfront.h"

#define NET_ENV_MAX_NF 3

struct net_env {
    struct fake_platform *fp;
    struct netback *nb;
    struct fake_netfront nf[NET_ENV_MAX_NF];
    char log[8192];
    unsigned int nr_logs;
};

/* cfg NULL: the defaults. Adds nr vifs (domains 7, 8, 9; devid 0; MAC 00:16:3e:00:00:0N)
 * without connecting them. */
void net_env_setup(struct net_env *e, const struct netback_config *cfg, unsigned int nr);
/* Tears down, checking that no grant mapping or event channel leaked. */
void net_env_teardown(struct net_env *e);
/* An Ethernet frame from src to dst (6-byte MACs) with a patterned payload of len bytes in
 * all, seeded so every byte is checkable. */
void net_frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src, unsigned int seed);
extern const uint8_t net_bcast[6];
void net_mac(uint8_t mac[6], unsigned int n);

#endif
