/* blkhostile: a hostile vbd frontend. Every attack must end in an error response or in the
 * backend closing that one device; the test script checks that the backend still serves
 * another guest afterwards. Disks (given by the test, in this order of devids):
 *   1st rw: malformed requests on the ring (bad, foreign and unowned grant refs, segment counts,
 *           sector ranges, unknown operations, oversized indirect requests), an event storm,
 *           a valid read after each batch, then a producer overrun that must close it;
 *   2nd ro: a write straight onto the ring, then many reads left in flight as the guest
 *           vanishes (returns from main with requests outstanding);
 *   3rd, 4th, 5th: handshakes with an oversized ring-page-order, too many queues, and garbage
 *           in every ring key; the backend must refuse to connect.
 * With `reconnect` on its command line it runs only the reconnect loop instead (two disks):
 *   1st: Closed then Initialising again, round after round; the backend must refuse the device
 *        (Closed, with an `error` naming the reason) within a few rounds;
 *   2nd: then connects and reads as usual: only the looping device was refused.
 * Prints TAP lines; "blkhostile: vanishing" just before it leaves. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/xenbus.h>

#include "guest/blkfront.h"
#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"
#include "guest/xenbus.h"

#define MS 1000000ull
#define TIMEOUT_NS (30000 * MS)
#define NR_STATUS 64
#define STORM 20000

static struct blkfront rw_dev, ro_dev;
static uint8_t page[4096] __attribute__((aligned(4096)));
static uint8_t inflight_bufs[32][4096] __attribute__((aligned(4096)));
static int16_t status[NR_STATUS];

static void raw_done(uint64_t tag, int16_t st, void *ctx)
{
    (void)ctx;
    if (tag < NR_STATUS)
        status[tag] = st;
}

/* Pushes raw onto dev's ring and waits for its response; returns the status (or 100 + errno
 * when it could not be sent or was not answered). */
static int raw(struct blkfront *dev, struct blkif_request r, unsigned tag)
{
    status[tag] = 100;
    int rc = blkfront_submit_raw(dev, 0, &r, tag);
    if (rc)
        return 100 - rc;
    uint64_t deadline = monotonic_ns() + TIMEOUT_NS;
    while (status[tag] == 100 && blkfront_connected(dev))
        if (blkfront_wait(dev, deadline) < 0)
            break;
    return status[tag];
}

static struct blkif_request rd(uint64_t sector, uint8_t nsegs, grant_ref_t ref)
{
    struct blkif_request r = {
        .operation = BLKIF_OP_READ, .nr_segments = nsegs, .sector_number = sector};
    for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
        r.seg[i] = (struct blkif_request_segment){.gref = ref, .first_sect = 0, .last_sect = 7};
    return r;
}

static void still_serves(struct blkfront *dev, const char *after)
{
    int rc = blkfront_io_sync(dev, BLKIF_OP_READ, 0, page, 4096, monotonic_ns() + TIMEOUT_NS);
    tap_rc(rc, 0, "blkhostile: a valid read still works after %s", after);
}

static void ring_attacks(struct blkfront *dev)
{
    grant_ref_t good, foreign;
    domid_t be = dev->backend_id;
    if (gnttab_grant_access(be, (uintptr_t)page >> 12, false, &good) ||
        gnttab_grant_access((domid_t)(be + 1000), (uintptr_t)page >> 12, false, &foreign)) {
        tap_check(false, "blkhostile: granting the attack pages");
        return;
    }
    uint64_t end = dev->info.sectors;
    struct blkif_request r;
    blkfront_set_raw_handler(dev, raw_done, 0);
    tap_rc(raw(dev, rd(0, 1, good), 0), BLKIF_RSP_OKAY, "blkhostile: a well-formed raw read");
    tap_rc(raw(dev, rd(0, 1, 1000), 1), BLKIF_RSP_ERROR, "blkhostile: a gref never granted");
    tap_rc(raw(dev, rd(0, 1, foreign), 2), BLKIF_RSP_ERROR,
           "blkhostile: a gref granted to another domain");
    tap_rc(raw(dev, rd(0, 1, GNTTAB_ENTRIES + 5000), 3), BLKIF_RSP_ERROR,
           "blkhostile: a gref past the grant table");
    tap_rc(raw(dev, rd(0, 0, good), 4), BLKIF_RSP_ERROR, "blkhostile: a read of 0 segments");
    tap_rc(raw(dev, rd(0, 12, good), 5), BLKIF_RSP_ERROR, "blkhostile: 12 direct segments");
    tap_rc(raw(dev, rd(0, 255, good), 6), BLKIF_RSP_ERROR, "blkhostile: 255 direct segments");
    r = rd(0, 1, good);
    r.seg[0].first_sect = 5, r.seg[0].last_sect = 2;
    tap_rc(raw(dev, r, 7), BLKIF_RSP_ERROR, "blkhostile: first_sect after last_sect");
    r.seg[0].first_sect = 0, r.seg[0].last_sect = 8;
    tap_rc(raw(dev, r, 8), BLKIF_RSP_ERROR, "blkhostile: last_sect past the page");
    tap_rc(raw(dev, rd(end, 1, good), 9), BLKIF_RSP_ERROR, "blkhostile: a read at the disk's end");
    tap_rc(raw(dev, rd(end - 4, 1, good), 10), BLKIF_RSP_ERROR,
           "blkhostile: a read straddling the disk's end");
    tap_rc(raw(dev, rd(UINT64_MAX - 3, 1, good), 11), BLKIF_RSP_ERROR,
           "blkhostile: a sector number that wraps");
    r = rd(0, 1, good);
    r.operation = 77;
    int st = raw(dev, r, 12);
    tap_check(st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP,
              "blkhostile: an unknown operation is refused (%d)", st);
    struct blkif_request_indirect ind = {
        .operation = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_READ, .nr_segments = 5000};
    ind.indirect_grefs[0] = good;
    memcpy(&r, &ind, sizeof(ind));
    tap_rc(raw(dev, r, 13), BLKIF_RSP_ERROR, "blkhostile: an indirect request of 5000 segments");
    ind.nr_segments = 4;
    ind.indirect_grefs[0] = 1001;
    memcpy(&r, &ind, sizeof(ind));
    tap_rc(raw(dev, r, 14), BLKIF_RSP_ERROR, "blkhostile: an indirect page never granted");
    ind.indirect_op = BLKIF_OP_INDIRECT;
    ind.indirect_grefs[0] = good;
    memcpy(&r, &ind, sizeof(ind));
    tap_rc(raw(dev, r, 15), BLKIF_RSP_ERROR, "blkhostile: an indirect request of indirect_op 6");
    struct blkif_request_discard d = {
        .operation = BLKIF_OP_DISCARD, .sector_number = end - 1, .nr_sectors = 16};
    memcpy(&r, &d, sizeof(d));
    st = raw(dev, r, 16);
    tap_check(st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP,
              "blkhostile: a discard past the disk's end is refused (%d)", st);
    still_serves(dev, "the malformed requests");

    for (unsigned i = 0; i < STORM; i++)
        evtchn_send(dev->queues[0].port);
    still_serves(dev, "an event storm");
    gnttab_end_access(good);
    gnttab_end_access(foreign);

    /* Producer overrun: more requests published than the ring holds. */
    blkif_front_ring_t *ring = &dev->queues[0].ring;
    WRITE_ONCE(ring->sring->req_prod, ring->req_prod_pvt + 4 * RING_SIZE(ring));
    evtchn_send(dev->queues[0].port);
    uint64_t deadline = monotonic_ns() + TIMEOUT_NS;
    while (blkfront_connected(dev) && blkfront_wait(dev, deadline) >= 0)
        ;
    tap_check(!blkfront_connected(dev), "blkhostile: a producer overrun closes the device");
}

/* A raw handshake on devid: wait for InitWait, write keys[] (pairs), Initialised, and wait for
 * the backend's answer. Returns the backend's final state. */
static int hostile_handshake(unsigned devid, const char *const *keys, unsigned n)
{
    char fe[48], be[128], path[192], val[32];
    guest_snprintf(fe, sizeof(fe), "device/vbd/%u", devid);
    guest_snprintf(path, sizeof(path), "%s/backend", fe);
    if (xenbus_read(XBT_NIL, path, be, sizeof(be)) < 0)
        return -1;
    guest_snprintf(path, sizeof(path), "%s/state", be);
    uint64_t deadline = monotonic_ns() + TIMEOUT_NS;
    while (xenbus_read(XBT_NIL, path, val, sizeof(val)) < 0 || strcmp(val, "2"))
        if (monotonic_ns() > deadline)
            return -2;
        else
            sleep_ns(10 * MS);
    for (unsigned i = 0; i + 1 < n; i += 2) {
        char key[96];
        guest_snprintf(key, sizeof(key), "%s/%s", fe, keys[i]);
        xenbus_write(XBT_NIL, key, keys[i + 1]);
    }
    guest_snprintf(path, sizeof(path), "%s/state", fe);
    xenbus_write(XBT_NIL, path, "3");
    guest_snprintf(path, sizeof(path), "%s/state", be);
    deadline = monotonic_ns() + 10000 * MS;
    for (;;) {
        if (xenbus_read(XBT_NIL, path, val, sizeof(val)) >= 0 && val[0] >= '4' && !val[1])
            return val[0] - '0';
        if (monotonic_ns() > deadline)
            return xenbus_read(XBT_NIL, path, val, sizeof(val)) >= 0 ? val[0] - '0' : -3;
        sleep_ns(10 * MS);
    }
}

static void handshake_attacks(const unsigned *ids)
{
    static char ref_s[16], port_s[16];
    grant_ref_t ref;
    evtchn_port_t port;
    gnttab_grant_access(0, (uintptr_t)page >> 12, false, &ref);
    evtchn_alloc_unbound(0, &port);
    guest_snprintf(ref_s, sizeof(ref_s), "%u", ref);
    guest_snprintf(port_s, sizeof(port_s), "%u", port);
    const char *order[] = {"ring-page-order", "9",    "ring-ref0", ref_s,       "ring-ref1", ref_s,
                           "event-channel",   port_s, "protocol",  "x86_64-abi"};
    int st = hostile_handshake(ids[2], order, ARRAY_SIZE(order));
    tap_check(st == XenbusStateClosing || st == XenbusStateClosed,
              "blkhostile: ring-page-order 9 is refused (backend state %d)", st);
    const char *queues[] = {"multi-queue-num-queues", "1000", "queue-0/ring-ref", ref_s,
                            "queue-0/event-channel",  port_s, "protocol",         "x86_64-abi"};
    st = hostile_handshake(ids[3], queues, ARRAY_SIZE(queues));
    tap_check(st == XenbusStateClosing || st == XenbusStateClosed,
              "blkhostile: 1000 queues are refused (backend state %d)", st);
    const char *garbage[] = {"ring-ref",           "12abc",
                             "event-channel",      "99999999999999999999999",
                             "protocol",           "\x01\x02garbage",
                             "feature-persistent", "-7",
                             "ring-page-order",    "0x1"};
    st = hostile_handshake(ids[4], garbage, ARRAY_SIZE(garbage));
    tap_check(st == XenbusStateClosing || st == XenbusStateClosed,
              "blkhostile: garbage ring keys are refused (backend state %d)", st);
}

static bool contains(const char *s, const char *part)
{
    for (size_t n = strlen(part); *s; s++)
        if (!strncmp(s, part, n))
            return true;
    return false;
}

/* Reads key of dir into val; false when it is absent. */
static bool read_key(const char *dir, const char *key, char *val, size_t len)
{
    char path[192];
    guest_snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xenbus_read(XBT_NIL, path, val, len) >= 0;
}

/* Waits (bounded) for the backend's state to read want, or for an `error` node. */
static bool wait_backend_key(const char *be, const char *want)
{
    char val[96];
    for (uint64_t deadline = monotonic_ns() + TIMEOUT_NS; monotonic_ns() < deadline;
         sleep_ns(5 * MS)) {
        if (read_key(be, "error", val, sizeof(val)))
            return false;
        if (read_key(be, "state", val, sizeof(val)) && !strcmp(val, want))
            return true;
    }
    return false;
}

#define RECONNECT_ROUNDS 40 /* well past the backend's limit */

static void reconnect_loop(const unsigned *ids)
{
    char fe[48], be[128], path[96], val[160];
    guest_snprintf(fe, sizeof(fe), "device/vbd/%u", ids[0]);
    if (!tap_check(read_key(fe, "backend", be, sizeof(be)),
                   "blkhostile: the looping vbd's backend"))
        return;
    guest_snprintf(path, sizeof(path), "%s/state", fe);
    unsigned rounds = 0;
    while (rounds < RECONNECT_ROUNDS && wait_backend_key(be, "2")) {
        rounds++;
        xenbus_write(XBT_NIL, path, "6");
        if (!wait_backend_key(be, "6"))
            break;
        xenbus_write(XBT_NIL, path, "1");
    }
    bool refused = read_key(be, "error", val, sizeof(val));
    tap_check(refused && read_key(be, "state", val + 100, 8) && !strcmp(val + 100, "6"),
              "blkhostile: a frontend reconnecting in a loop is refused (Closed after %u rounds)",
              rounds);
    tap_check(refused && contains(val, "reconnected"),
              "blkhostile: its error names the reason (%s)", refused ? val : "none");
    struct blkfront_config cfg;
    blkfront_config_default(&cfg);
    int rc = blkfront_open(&rw_dev, ids[1], &cfg, monotonic_ns() + TIMEOUT_NS);
    if (tap_rc(rc, 0, "blkhostile: the guest's other vbd still connects"))
        still_serves(&rw_dev, "the other device's reconnect loop");
}

static void vanish(struct blkfront *dev)
{
    static struct blkfront_req reqs[32];
    unsigned sent = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(reqs); i++) {
        reqs[i] = (struct blkfront_req){
            .op = BLKIF_OP_READ, .sector = i * 8, .buf = inflight_bufs[i], .len = 4096};
        if (!blkfront_submit(dev, &reqs[i]))
            sent++;
    }
    tap_check(sent > 0, "blkhostile: %u reads in flight as the guest vanishes", sent);
}

int main(void)
{
    unsigned ids[8];
    int n = blkfront_list(ids, ARRAY_SIZE(ids));
    bool loop = contains(boot_info.cmdline, "reconnect");
    if (!tap_check(n >= (loop ? 2 : 5), "blkhostile: enough vbds are listed (%d)", n))
        return tap_finish();
    for (int i = 1; i < n; i++) /* the roles follow the devids' order */
        for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            unsigned t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    if (loop) {
        reconnect_loop(ids);
        return tap_finish();
    }
    struct blkfront_config cfg;
    blkfront_config_default(&cfg);
    cfg.max_queues = 1;
    cfg.persistent = false;
    int rc = blkfront_open(&rw_dev, ids[0], &cfg, monotonic_ns() + TIMEOUT_NS);
    if (tap_rc(rc, 0, "blkhostile: the rw vbd connects"))
        ring_attacks(&rw_dev);
    handshake_attacks(ids);
    rc = blkfront_open(&ro_dev, ids[1], &cfg, monotonic_ns() + TIMEOUT_NS);
    if (tap_rc(rc, 0, "blkhostile: the ro vbd connects")) {
        grant_ref_t ref;
        gnttab_grant_access(ro_dev.backend_id, (uintptr_t)page >> 12, true, &ref);
        blkfront_set_raw_handler(&ro_dev, raw_done, 0);
        struct blkif_request w = rd(0, 1, ref);
        w.operation = BLKIF_OP_WRITE;
        tap_rc(raw(&ro_dev, w, 20), BLKIF_RSP_ERROR, "blkhostile: a raw write to the ro disk");
        vanish(&ro_dev);
    }
    hv_printf("blkhostile: vanishing\n");
    return tap_finish();
}
