/* netback's xenbus handshake against the fake Linux 6.1 netfront: the keys probe writes, the
 * connection (flat, split event channels, several queues), the switch to Connected held until
 * hotplug-status=connected, and the ways a frontend can refuse or break it. */
#include <criterion/criterion.h>
#include <string.h>

#include "net_env.h"

static struct net_env env;

static bool be_initwait(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateInitWait;
}
static bool be_connected(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateConnected;
}
static bool be_closed(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateClosed;
}

Test(netback_handshake, probe_writes_the_keys_linux_netfront_reads)
{
    net_env_setup(&env, NULL, 1);
    struct fake_netfront *nf = &env.nf[0];
    cr_assert(nf_pump(nf, be_initwait));
    cr_assert_str_eq(nf_be_key(nf, "feature-rx-copy"), "1");
    cr_assert_str_eq(nf_be_key(nf, "feature-sg"), "1");
    cr_assert_str_eq(nf_be_key(nf, "feature-gso-tcpv4"), "1");
    cr_assert_str_eq(nf_be_key(nf, "feature-gso-tcpv6"), "1");
    cr_assert_str_eq(nf_be_key(nf, "feature-ipv6-csum-offload"), "1");
    cr_assert_str_eq(nf_be_key(nf, "feature-split-event-channels"), "1");
    cr_assert_str_eq(nf_be_key(nf, "multi-queue-max-queues"), "1");
    cr_assert_str_eq(nf_be_key(nf, "hotplug-status"), "connected");
    net_env_teardown(&env);
}

Test(netback_handshake, a_flat_single_queue_frontend_connects_and_leaves_cleanly)
{
    net_env_setup(&env, NULL, 1);
    cr_assert(nf_connect(&env.nf[0]), "log: %s", env.log);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 2, "the two rings");
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 1);
    nf_set_state(&env.nf[0], XenbusStateClosing);
    nf_pump(&env.nf[0], be_initwait); /* just pumps */
    cr_assert_eq(nf_backend_state(&env.nf[0]), XenbusStateClosing);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    nf_set_state(&env.nf[0], XenbusStateClosed);
    cr_assert(nf_pump(&env.nf[0], be_closed));
    net_env_teardown(&env);
}

Test(netback_handshake, split_event_channels_and_two_queues_connect)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.max_queues = 2;
    net_env_setup(&env, &cfg, 1);
    struct fake_netfront *nf = &env.nf[0];
    cr_assert(nf_pump(nf, be_initwait));
    cr_assert_str_eq(nf_be_key(nf, "multi-queue-max-queues"), "2");
    nf_talk(nf, 2, true);
    cr_assert(nf_pump(nf, be_connected), "log: %s", env.log);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 4);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 4);
    net_env_teardown(&env);
}

Test(netback_handshake, connected_waits_for_hotplug_status)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.hotplug_self = false;
    net_env_setup(&env, &cfg, 1);
    struct fake_netfront *nf = &env.nf[0];
    cr_assert(nf_pump(nf, be_initwait));
    cr_assert_str_eq(nf_be_key(nf, "hotplug-status"), "");
    nf_talk(nf, 0, false);
    cr_assert_not(nf_pump(nf, be_connected), "Connected before the hotplug script ran");
    cr_assert_eq(nf_backend_state(nf), XenbusStateInitWait);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 2, "the rings are mapped meanwhile");
    fake_xs_write(env.fp, "/local/domain/0/backend/vif/7/0/hotplug-status", "connected");
    cr_assert(nf_pump(nf, be_connected));
    net_env_teardown(&env);
}

Test(netback_handshake, a_hotplug_error_closes_the_vif)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.hotplug_self = false;
    net_env_setup(&env, &cfg, 1);
    struct fake_netfront *nf = &env.nf[0];
    cr_assert(nf_pump(nf, be_initwait));
    nf_talk(nf, 0, false);
    fake_xs_write(env.fp, "/local/domain/0/backend/vif/7/0/hotplug-status", "error");
    cr_assert(nf_pump(nf, be_closed));
    cr_assert_neq(strstr(nf_be_key(nf, "error"), "hotplug"), NULL);
    net_env_teardown(&env);
}

/* The frontend talks with nr_queues queues (0: the flat layout) to a netback offering
 * max_queues, then key is overwritten with val (removed when NULL): the vif closes, its error
 * node saying why, and nothing stays mapped or bound. */
static void refused_mq(unsigned int max_queues, unsigned int nr_queues, const char *key,
                       const char *val, const char *why)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.max_queues = max_queues;
    net_env_setup(&env, &cfg, 1);
    struct fake_netfront *nf = &env.nf[0];
    cr_assert(nf_pump(nf, be_initwait));
    nf_talk(nf, nr_queues, false);
    /* The hostile write lands after the honest ones but before the backend looks. */
    if (val)
        nf_fe_write(nf, key, val);
    else
        fake_xs_rm(env.fp, strcat(strcpy((char[256]){0}, nf->fe), strcat((char[64]){"/"}, key)));
    cr_assert(nf_pump(nf, be_closed), "%s: not closed", key);
    cr_assert_neq(strstr(nf_be_key(nf, "error"), why), NULL, "%s: error '%s'", key,
                  nf_be_key(nf, "error"));
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 0);
    net_env_teardown(&env);
}

static void refused(const char *key, const char *val, const char *why)
{
    refused_mq(1, 0, key, val, why);
}

Test(netback_handshake, rx_copy_and_rx_notify_are_mandatory)
{
    refused("request-rx-copy", NULL, "request-rx-copy");
}

Test(netback_handshake, rx_notify_is_mandatory)
{
    refused("feature-rx-notify", "0", "feature-rx-notify");
}

Test(netback_handshake, garbage_ring_refs_close_the_vif)
{
    refused("tx-ring-ref", "12abc", "tx-ring-ref");
}

Test(netback_handshake, a_ring_ref_that_is_not_granted_closes_the_vif)
{
    refused("rx-ring-ref", "4000", "mapping");
}

Test(netback_handshake, more_queues_than_advertised_close_the_vif)
{
    refused("multi-queue-num-queues", "2", "multi-queue-num-queues 2: at most 1");
    refused_mq(2, 2, "multi-queue-num-queues", "3", "multi-queue-num-queues 3: at most 2");
}

Test(netback_handshake, zero_queues_close_the_vif)
{
    refused_mq(2, 2, "multi-queue-num-queues", "0", "multi-queue-num-queues 0");
}

Test(netback_handshake, a_missing_key_of_a_queue_closes_the_vif_naming_it)
{
    refused_mq(2, 2, "queue-1/tx-ring-ref", NULL, "queue-1/tx-ring-ref");
    refused_mq(2, 2, "queue-1/rx-ring-ref", NULL, "queue-1/rx-ring-ref");
    refused_mq(2, 2, "queue-0/event-channel", NULL, "queue-0/event-channel");
}

Test(netback_handshake, a_feature_flag_that_is_not_0_or_1_closes_the_vif)
{
    refused("feature-sg", "2", "feature");
}

Test(netback_handshake, a_malformed_mac_closes_the_vif_at_probe)
{
    memset(&env, 0, sizeof(env));
    env.fp = fake_platform_new(0);
    env.nb = netback_new(fake_platform_base(env.fp), NULL, NULL, NULL);
    netback_start(env.nb);
    nf_toolstack_add(env.fp, 7, 0, "00:16:3e:zz:00:01", NULL);
    nf_init(&env.nf[0], env.fp, env.nb, 7, 0);
    cr_assert(nf_pump(&env.nf[0], be_closed));
    cr_assert_neq(strstr(nf_be_key(&env.nf[0], "error"), "mac"), NULL);
    net_env_teardown(&env);
}

Test(netback_handshake, a_vanishing_frontend_releases_everything)
{
    net_env_setup(&env, NULL, 1);
    cr_assert(nf_connect(&env.nf[0]));
    fake_xs_rm(env.fp, env.nf[0].fe);
    cr_assert(nf_pump(&env.nf[0], be_closed));
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 0);
    nf_toolstack_remove(env.fp, 7, 0);
    netback_poll(env.nb);
    cr_assert_eq(xenbus_backend_nr_devices(netback_xenbus(env.nb)), 0);
    net_env_teardown(&env);
}
