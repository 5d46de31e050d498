/* dom0 grant maps over the control socket: a client that goes away holding maps has them all
 * dropped by kxend (the granter sees its in-use flags clear and can end access), while another
 * client's map of the same grant stays. A domain on the soft accelerator, never built: its
 * grant table is set up here as its guest would. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kxen/grant_table.h>

#include "../kxend/core.h"
#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_gnttab.h"
#include "kxend/gnttab.h"

static char dir[64], path[128];
static pthread_t srv;

static void *serve(void *arg)
{
    (void)arg;
    ctl_server_run();
    return NULL;
}

static void setup(void)
{
    kxend_accel = accel_find("soft");
    snprintf(dir, sizeof(dir), "/tmp/kxend-ctlgnt-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, KXEN_CTL_SOCKET_NAME);
    cr_assert_eq(ctl_server_init(path), 0);
    pthread_create(&srv, NULL, serve, NULL);
}

static void teardown(void)
{
    ctl_server_stop();
    pthread_join(srv, NULL);
    ctl_server_fini();
    domain_destroy_all();
    rmdir(dir);
}

TestSuite(ctl_grants, .init = setup, .fini = teardown);

#define TABLE_PFN 8 /* the guest's grant-table frame */
#define DATA_PFN 9  /* the page it grants to dom0 */
#define REF 5

static struct grant_entry_v1 *entry;

/* A domain whose ref REF grants DATA_PFN to dom0, writable. */
static uint16_t granting_domain(struct kxen_ctl *c)
{
    struct kxen_ctl_domain_create cr;
    memset(&cr, 0, sizeof(cr));
    strcpy(cr.name, "granter");
    cr.memory_kb = 4096;
    cr.nr_vcpus = 1;
    struct kxen_ctl_domid_rep dr;
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), &dr, sizeof(dr), NULL),
                 0);
    struct domain *d = domain_get(dr.domid);
    cr_assert_not_null(d);
    cr_assert_eq(gnttab_set_frame(d, 0, TABLE_PFN), 0);
    entry = (struct grant_entry_v1 *)(d->ram + TABLE_PFN * 4096ull) + REF;
    entry->frame = DATA_PFN;
    entry->domid = 0;
    __atomic_store_n(&entry->flags, (uint16_t)GTF_permit_access, __ATOMIC_RELEASE);
    domain_put(d); /* the table's reference keeps it until teardown */
    return dr.domid;
}

static void map_ref(struct kxen_ctl *c, uint16_t domid)
{
    struct {
        struct kxen_ctl_gnttab_map m;
        uint32_t refs[2];
    } req = {.m = {.domid = domid, .count = 1}, .refs = {REF}};
    struct {
        struct kxen_ctl_gnttab_map_rep r;
        struct kxen_ctl_gnttab_map_ent ent;
    } rep;
    cr_assert_eq(
        kxen_ctl_simple(c, KXEN_CTL_GNTTAB_MAP, &req, sizeof(req), &rep, sizeof(rep), NULL), 0);
    cr_assert_eq(rep.ent.status, GNTST_okay);
}

static uint16_t flags_after(uint16_t want, unsigned ms)
{
    uint16_t f = 0;
    for (unsigned i = 0; i < ms; i++) {
        f = __atomic_load_n(&entry->flags, __ATOMIC_ACQUIRE);
        if (f == want)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return f;
}

Test(ctl_grants, a_client_that_goes_away_holding_maps_has_them_dropped)
{
    struct kxen_ctl *c, *gone, *stays;
    cr_assert_eq(kxen_ctl_open(dir, &c), 0);
    uint16_t domid = granting_domain(c);
    cr_assert_eq(kxen_ctl_open(dir, &gone), 0);
    map_ref(gone, domid);
    map_ref(gone, domid);
    const uint16_t in_use = GTF_permit_access | GTF_reading | GTF_writing;
    cr_assert_eq(entry->flags, in_use);
    kxen_ctl_close(gone); /* without unmapping */
    cr_assert_eq(flags_after(GTF_permit_access, 3000), GTF_permit_access,
                 "the in-use flags clear once kxend sees the client go");
    cr_assert_eq(kxen_ctl_open(dir, &gone), 0);
    cr_assert_eq(kxen_ctl_open(dir, &stays), 0);
    map_ref(gone, domid);
    map_ref(stays, domid);
    kxen_ctl_close(gone);
    struct kxen_ctl_domid_arg a = {.domid = domid};
    struct kxen_ctl_domain_info info;
    /* One round trip after the close: kxend has handled it by then or soon after. */
    kxen_ctl_simple(c, KXEN_CTL_DOMAIN_GETINFO, &a, sizeof(a), &info, sizeof(info), NULL);
    cr_assert_eq(flags_after(GTF_permit_access, 300), in_use, "the other client's map stays");
    kxen_ctl_close(stays);
    cr_assert_eq(flags_after(GTF_permit_access, 3000), GTF_permit_access);
    kxen_ctl_close(c);
}
