/* kxen-dirtyprobe DOMID DOM0_REF [MAPPER]: proves that every host path that writes a guest's
 * memory reaches kxend's dirty log (the log a live migration sends from; a missing bit is a
 * page the destination never gets). For each path it clears the log with a collect, writes
 * through the path, collects again, and reports whether the written page is in the log:
 *   foreign-unmapped   a libxenforeignmemory writable map, written and unmapped in between
 *   foreign-held       the same map still held at the collect
 *   grant-map          dom0's writable grant map of DOM0_REF, written and unmapped
 *   grant-copy         a grant copy into DOM0_REF
 *   kxend-vcpu-info    kxend's own updates of vcpu_info (time, upcall flags) as the guest runs
 *   guest-map-held     a page of DOMID another guest (MAPPER) holds mapped writable
 *   guest-map-gone     the same page after MAPPER is destroyed (its maps dropped)
 * The page a grant path wrote is found by the marker it wrote, through a read-only map.
 * Prints "PATH: dirty" or "PATH: MISSING"; exit 0 when every path is dirty. DOMID must be a
 * gntpair "a" guest (guests/gntpair) that granted DOM0_REF to dom0, MAPPER its "h" peer.
 *   kxen-dirtyprobe write DOMID PFN: while the domain runs, writes a counter into page PFN
 *     through short-lived writable foreign maps, then prints the last value written before it
 *     saw the domain stop (a live migration's end-to-end check);
 *   kxen-dirtyprobe read DOMID PFN: prints the counter in page PFN. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xenforeignmemory.h>
#include <xengnttab.h>

#include "kxen/ctl.h"
#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_save.h"

#define PAGE 4096ul
#define GNTCOPY_DEST_GREF 2 /* Xen's GNTCOPY_dest_gref */

static struct kxen_ctl *ctl;
static uint16_t domid;
static uint64_t ram_size, *bm;
static uint32_t bm_cap;
static int failures;

static int dirty(uint32_t cmd)
{
    struct kxen_ctl_dirty_log a = {.domid = domid, .cmd = cmd};
    uint32_t len = 0;
    return kxen_ctl_simple(ctl, KXEN_CTL_DIRTY_LOG, &a, sizeof(a), bm, bm_cap, &len);
}

static bool bit(uint64_t pfn)
{
    const uint64_t *b = (const uint64_t *)((const struct kxen_ctl_dirty_rep *)bm + 1);
    return b[pfn / 64] & (1ull << (pfn % 64));
}

static void report(const char *path, bool ok)
{
    printf("%s: %s\n", path, ok ? "dirty" : "MISSING");
    failures += !ok;
}

/* The page holding marker (16 bytes), found through a read-only view of all of RAM. */
static int64_t find(const uint8_t *ram, const void *marker)
{
    for (uint64_t off = 0; off + 16 <= ram_size; off += 16)
        if (!memcmp(ram + off, marker, 16))
            return (int64_t)(off / PAGE);
    return -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void foreign_paths(xenforeignmemory_handle *fm)
{
    xen_pfn_t pfn = (ram_size / PAGE) / 2; /* the guest image lies low, its specials high */
    uint8_t *p = xenforeignmemory_map(fm, domid, PROT_READ | PROT_WRITE, 1, &pfn, NULL);
    if (!p) {
        report("foreign-unmapped", false);
        report("foreign-held", false);
        return;
    }
    dirty(KXEN_DIRTY_COLLECT);
    p[100]++;
    bool held = dirty(KXEN_DIRTY_COLLECT) == 0 && bit(pfn);
    p[101]++;
    xenforeignmemory_unmap(fm, p, 1);
    report("foreign-held", held);
    report("foreign-unmapped", dirty(KXEN_DIRTY_COLLECT) == 0 && bit(pfn));
}

static void grant_paths(xengnttab_handle *gt, uint32_t ref, const uint8_t *ram)
{
    uint8_t marker[16];
    for (int i = 0; i < 16; i++)
        marker[i] = (uint8_t)(0xa0 + i + (rand() & 0xf) * 16);
    uint8_t *g = xengnttab_map_grant_ref(gt, domid, ref, PROT_READ | PROT_WRITE);
    if (!g) {
        report("grant-map", false);
    } else {
        dirty(KXEN_DIRTY_COLLECT);
        memcpy(g + 512, marker, sizeof(marker));
        xengnttab_unmap(gt, g, 1);
        int64_t pfn = find(ram, marker);
        report("grant-map", pfn >= 0 && dirty(KXEN_DIRTY_COLLECT) == 0 && bit((uint64_t)pfn));
    }
    marker[0] ^= 0x55;
    xengnttab_grant_copy_segment_t seg = {.len = sizeof(marker), .flags = GNTCOPY_DEST_GREF};
    seg.source.virt = marker;
    seg.dest.foreign.ref = ref, seg.dest.foreign.offset = 1024, seg.dest.foreign.domid = domid;
    dirty(KXEN_DIRTY_COLLECT);
    int rc = xengnttab_grant_copy(gt, 1, &seg);
    int64_t pfn = rc == 0 && seg.status == 0 ? find(ram, marker) : -1;
    report("grant-copy", pfn >= 0 && dirty(KXEN_DIRTY_COLLECT) == 0 && bit((uint64_t)pfn));
}

/* Where kxend writes (shared_info, vCPU 0's vcpu_info) comes from its saved state, read with
 * the guest paused. */
static void kxend_paths(void)
{
    struct kxen_ctl_domid_arg a = {.domid = domid};
    uint8_t *buf = malloc(KXEN_CTL_MAX_PAYLOAD);
    uint32_t len = 0;
    uint64_t si = 0, vi = 0;
    if (buf && kxen_ctl_simple(ctl, KXEN_CTL_DOMAIN_PAUSE, &a, sizeof(a), NULL, 0, NULL) == 0) {
        if (kxen_ctl_simple(ctl, KXEN_CTL_SAVE_BEGIN, &a, sizeof(a), buf, KXEN_CTL_MAX_PAYLOAD,
                            &len) == 0) {
            for (uint32_t off = sizeof(struct kxen_save_hdr); off + 16 <= len;) {
                const struct kxen_save_rec *r = (const void *)(buf + off);
                if (r->type == KXEN_SREC_DOMAIN)
                    si = ((const struct kxen_srec_domain *)(r + 1))->shared_info_gpa;
                if (r->type == KXEN_SREC_VCPU && r->instance == 0)
                    vi = ((const struct kxen_srec_vcpu *)(r + 1))->vcpu_info_gpa;
                off += (uint32_t)sizeof(*r) + ((r->len + 7) & ~7u);
            }
        }
        kxen_ctl_simple(ctl, KXEN_CTL_DOMAIN_UNPAUSE, &a, sizeof(a), NULL, 0, NULL);
    }
    free(buf);
    if (!vi || vi >= ram_size)
        vi = si; /* vcpu_info inside shared_info */
    dirty(KXEN_DIRTY_COLLECT);
    sleep_ms(300); /* the guest sleeps in 1 ms steps: timer upcalls and time updates */
    bool ok = si && si < ram_size && dirty(KXEN_DIRTY_COLLECT) == 0 && bit(vi / PAGE);
    if (!ok)
        fprintf(stderr, "shared_info at %#llx, vcpu_info at %#llx\n", (unsigned long long)si,
                (unsigned long long)vi);
    report("kxend-vcpu-info", ok);
}

/* gntpair a's read-write page: a's pattern (i * 7 + 1) outside the words b and a exchange. */
static int64_t find_rw_page(const uint8_t *ram)
{
    for (uint64_t pfn = 0; pfn < ram_size / PAGE; pfn++) {
        const uint8_t *p = ram + pfn * PAGE;
        unsigned i = 0;
        while (i < 2048 && p[i] == (uint8_t)(i * 7 + 1))
            i++;
        if (i == 2048)
            return (int64_t)pfn;
    }
    return -1;
}

static void guest_map_paths(const uint8_t *ram, uint16_t mapper)
{
    int64_t pfn = find_rw_page(ram);
    dirty(KXEN_DIRTY_COLLECT);
    report("guest-map-held", pfn >= 0 && dirty(KXEN_DIRTY_COLLECT) == 0 && bit((uint64_t)pfn));
    dirty(KXEN_DIRTY_COLLECT);
    struct kxen_ctl_domid_arg a = {.domid = mapper};
    kxen_ctl_simple(ctl, KXEN_CTL_DOMAIN_DESTROY, &a, sizeof(a), NULL, 0, NULL);
    report("guest-map-gone", pfn >= 0 && dirty(KXEN_DIRTY_COLLECT) == 0 && bit((uint64_t)pfn));
}

static bool domain_runs(uint16_t id)
{
    struct kxen_ctl_domid_arg a = {.domid = id};
    struct kxen_ctl_domain_info di;
    uint32_t len = 0;
    return kxen_ctl_simple(ctl, KXEN_CTL_DOMAIN_GETINFO, &a, sizeof(a), &di, sizeof(di), &len) ==
               0 &&
           !(di.flags & (KXEN_DOMINFO_SHUTDOWN | KXEN_DOMINFO_PAUSED));
}

#define COUNTER_OFF 200

static int counter_mode(bool write, uint16_t id, xen_pfn_t pfn)
{
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    if (!fm || kxen_ctl_open(NULL, &ctl) < 0) {
        fprintf(stderr, "kxen-dirtyprobe: cannot reach kxend\n");
        xenforeignmemory_close(fm);
        return 2;
    }
    uint64_t v = 0, last = 0;
    int rc = 0;
    if (!write) {
        uint8_t *p = xenforeignmemory_map(fm, id, PROT_READ, 1, &pfn, NULL);
        if (p) {
            memcpy(&v, p + COUNTER_OFF, sizeof(v));
            printf("%llu\n", (unsigned long long)v);
            xenforeignmemory_unmap(fm, p, 1);
        }
        rc = p ? 0 : 2;
        goto out;
    }
    /* Checked before each write: a write that starts after the stop may legitimately miss
     * the last collect, one that started before may land either side of it. */
    while (domain_runs(id)) {
        uint8_t *p = xenforeignmemory_map(fm, id, PROT_READ | PROT_WRITE, 1, &pfn, NULL);
        if (!p)
            break;
        last = ++v;
        memcpy(p + COUNTER_OFF, &last, sizeof(last));
        xenforeignmemory_unmap(fm, p, 1);
        sleep_ms(1);
    }
    printf("%llu\n", (unsigned long long)last);
out:
    kxen_ctl_close(ctl);
    xenforeignmemory_close(fm);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && (!strcmp(argv[1], "write") || !strcmp(argv[1], "read")))
        return counter_mode(argv[1][0] == 'w', (uint16_t)strtoul(argv[2], NULL, 0),
                            (xen_pfn_t)strtoull(argv[3], NULL, 0));
    if (argc < 3) {
        fprintf(stderr, "usage: kxen-dirtyprobe DOMID DOM0_REF [MAPPER]\n");
        return 2;
    }
    domid = (uint16_t)strtoul(argv[1], NULL, 0);
    uint32_t ref = (uint32_t)strtoul(argv[2], NULL, 0);
    srand((unsigned)time(NULL));
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    xengnttab_handle *gt = xengnttab_open(NULL, 0);
    int rc = fm && gt ? kxen_ctl_open(NULL, &ctl) : -ENOMEM;
    if (rc < 0) {
        fprintf(stderr, "kxen-dirtyprobe: cannot reach kxend: %s\n", strerror(-rc));
        return 2;
    }
    /* The first collect says how many pages the domain has. */
    struct kxen_ctl_dirty_log probe = {.domid = domid, .cmd = KXEN_DIRTY_START};
    if ((rc = kxen_ctl_simple(ctl, KXEN_CTL_DIRTY_LOG, &probe, sizeof(probe), NULL, 0, NULL))) {
        fprintf(stderr, "kxen-dirtyprobe: dirty log start: %s\n", strerror(-rc));
        return 2;
    }
    bm_cap = KXEN_CTL_MAX_PAYLOAD;
    bm = calloc(1, bm_cap);
    uint32_t len = 0;
    struct kxen_ctl_dirty_log c = {.domid = domid, .cmd = KXEN_DIRTY_COLLECT};
    rc = kxen_ctl_simple(ctl, KXEN_CTL_DIRTY_LOG, &c, sizeof(c), bm, bm_cap, &len);
    if (rc || !bm) {
        fprintf(stderr, "kxen-dirtyprobe: dirty collect failed: %s\n", strerror(-rc));
        return 2;
    }
    ram_size = ((struct kxen_ctl_dirty_rep *)bm)->nr_pages * PAGE;
    xen_pfn_t *all = calloc(ram_size / PAGE, sizeof(*all));
    for (uint64_t i = 0; all && i < ram_size / PAGE; i++)
        all[i] = i;
    const uint8_t *ram =
        all ? xenforeignmemory_map(fm, domid, PROT_READ, ram_size / PAGE, all, NULL) : NULL;
    if (!ram) {
        fprintf(stderr, "kxen-dirtyprobe: cannot map domain %u: %s\n", domid, strerror(errno));
        return 2;
    }
    foreign_paths(fm);
    grant_paths(gt, ref, ram);
    kxend_paths();
    if (argc > 3)
        guest_map_paths(ram, (uint16_t)strtoul(argv[3], NULL, 0));
    dirty(KXEN_DIRTY_STOP);
    xenforeignmemory_unmap(fm, (void *)ram, ram_size / PAGE);
    free(all);
    xengnttab_close(gt);
    xenforeignmemory_close(fm);
    kxen_ctl_close(ctl);
    return failures ? 1 : 0;
}
