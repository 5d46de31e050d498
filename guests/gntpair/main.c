/* gntpair: two guests prove guest-to-guest grant maps. Role a grants B a read-write page and a
 * read-only page (plus one to dom0 that B must not be able to use), prints the refs, and waits
 * for B's writes in the shared page; role b (given a's domid and refs by the test script)
 * maps them outside its RAM, checks a's patterns, writes back, checks every refusal code, and
 * unmaps. The two talk only through the granted page itself, so each side's check also proves
 * the page is shared both ways.
 *   a PEER            -> prints "gntpair a: refs RW RO OTHER"
 *   b PEER RW RO OTHER
 *   h PEER RW RO OTHER -> maps both and holds them until it is destroyed or a dies (then
 *                         checks its view of a's pages and unmaps) */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/grant_table.h>
#include <kxen/sched.h>

#include "guest/gnttab.h"
#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"

#define MS 1000000ull
#define PEER_TIMEOUT_NS (20000 * MS)
/* Where b maps: above its RAM (the test gives 32 MiB), inside the first 4 GiB that the PVH
 * entry identity-maps, below the APIC hole. */
#define MAP_BASE 0x80000000ull
#define OFF_B_MAGIC 2048              /* b writes here through its rw map */
#define OFF_A_ACK 2056                /* a answers here once it saw b's write */
#define B_MAGIC 0x62206d6170706564ull /* "mapped b" */
#define A_ACK 0x6120736177206974ull   /* "a saw it" */

static uint8_t rw_page[4096] __attribute__((aligned(4096)));
static uint8_t ro_page[4096] __attribute__((aligned(4096)));
static uint8_t other_page[4096] __attribute__((aligned(4096)));
static uint8_t own_page[4096] __attribute__((aligned(4096)));

static const char *parse_num(const char *s, unsigned long *out)
{
    while (s && *s == ' ')
        s++;
    unsigned long v = 0;
    const char *start = s;
    while (s && *s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    *out = v;
    return s == start ? 0 : s;
}

static uint8_t pattern(unsigned i, uint8_t seed)
{
    return (uint8_t)(i * 7 + seed);
}

static volatile uint64_t *word(uint64_t base, unsigned off)
{
    return (volatile uint64_t *)(uintptr_t)(base + off);
}

/* Waits for *w == want (the peer writes it); false on timeout. */
static bool wait_word(volatile uint64_t *w, uint64_t want)
{
    uint64_t deadline = monotonic_ns() + PEER_TIMEOUT_NS;
    while (*w != want)
        if (monotonic_ns() > deadline)
            return false;
        else
            sleep_ns(MS);
    return true;
}

static bool wait_unused(grant_ref_t ref)
{
    volatile grant_entry_v1_t *e = &gnttab_entries()[ref];
    uint64_t deadline = monotonic_ns() + PEER_TIMEOUT_NS;
    while (e->flags & (GTF_reading | GTF_writing))
        if (monotonic_ns() > deadline)
            return false;
        else
            sleep_ns(MS);
    return true;
}

static int role_a(domid_t peer)
{
    for (unsigned i = 0; i < 4096; i++) {
        rw_page[i] = pattern(i, 1);
        ro_page[i] = pattern(i, 2);
    }
    grant_ref_t rw, ro, other;
    if (gnttab_grant_access(peer, (uintptr_t)rw_page >> 12, false, &rw) ||
        gnttab_grant_access(peer, (uintptr_t)ro_page >> 12, true, &ro) ||
        gnttab_grant_access(0, (uintptr_t)other_page >> 12, false, &other)) {
        tap_check(false, "gntpair a: granting three pages");
        return tap_finish();
    }
    hv_printf("gntpair a: refs %u %u %u\n", rw, ro, other);
    bool seen = wait_word(word((uintptr_t)rw_page, OFF_B_MAGIC), B_MAGIC);
    tap_check(seen, "gntpair a: b's write through its mapping reaches my page");
    if (seen) {
        uint16_t frw = gnttab_entries()[rw].flags, fro = gnttab_entries()[ro].flags;
        tap_check((frw & (GTF_reading | GTF_writing)) == (GTF_reading | GTF_writing),
                  "gntpair a: the rw grant is marked reading+writing while b maps it (flags 0x%x)",
                  frw);
        tap_check((fro & (GTF_reading | GTF_writing)) == GTF_reading,
                  "gntpair a: the ro grant is marked reading only while b maps it (flags 0x%x)",
                  fro);
        tap_rc(gnttab_end_access(rw), -XEN_EBUSY,
               "gntpair a: end_access of the rw grant is refused while b maps it");
        *word((uintptr_t)rw_page, OFF_A_ACK) = A_ACK;
    }
    tap_check(wait_unused(rw) && wait_unused(ro),
              "gntpair a: both grants lose their in-use flags when b unmaps");
    tap_rc(gnttab_end_access(rw), 0, "gntpair a: end_access of the rw grant after b unmapped");
    tap_rc(gnttab_end_access(ro), 0, "gntpair a: end_access of the ro grant after b unmapped");
    tap_rc(gnttab_end_access(other), 0, "gntpair a: end_access of dom0's unused grant");
    return tap_finish();
}

static int16_t map(domid_t dom, grant_ref_t ref, uint64_t addr, bool ro, grant_handle_t *h)
{
    struct gnttab_map_grant_ref op = {.host_addr = addr,
                                      .dom = dom,
                                      .ref = ref,
                                      .flags = GNTMAP_host_map | (ro ? GNTMAP_readonly : 0)};
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (h)
        *h = op.handle;
    return rc ? (int16_t)-1000 : op.status;
}

static int16_t unmap(uint64_t addr, grant_handle_t h)
{
    struct gnttab_unmap_grant_ref op = {.host_addr = addr, .handle = h};
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    return rc ? (int16_t)-1000 : op.status;
}

static bool page_matches(uint64_t addr, uint8_t seed, unsigned len)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)addr;
    for (unsigned i = 0; i < len; i++)
        if (p[i] != pattern(i, seed))
            return false;
    return true;
}

/* "hold": maps both grants, says so through the page, and keeps them until the test script
 * destroys this domain: kxend must then release them so a can revoke. */
static int role_hold(domid_t a, grant_ref_t rw, grant_ref_t ro)
{
    grant_handle_t hrw, hro;
    bool ok = tap_rc(map(a, rw, MAP_BASE, false, &hrw), GNTST_okay, "gntpair hold: map rw") &
              tap_rc(map(a, ro, MAP_BASE + 0x1000, true, &hro), GNTST_okay, "gntpair hold: map ro");
    if (!ok)
        return tap_finish();
    *word(MAP_BASE, OFF_B_MAGIC) = B_MAGIC;
    tap_check(wait_word(word(MAP_BASE, OFF_A_ACK), A_ACK), "gntpair hold: a answered");
    hv_printf("gntpair hold: holding both maps\n");
    /* Until a is gone (then a fresh map of its grant gets GNTST_bad_domain) or we are. */
    grant_handle_t probe;
    int16_t st;
    while ((st = map(a, rw, MAP_BASE + 0x2000, true, &probe)) == GNTST_okay) {
        unmap(MAP_BASE + 0x2000, probe);
        sleep_ns(10 * MS);
    }
    /* bad_gntref: a new domain already took a's id (its table is empty). */
    tap_check(st == GNTST_bad_domain || st == GNTST_bad_gntref,
              "gntpair hold: a's grants go with a (status %d)", st);
    tap_check(page_matches(MAP_BASE + 0x1000, 2, 4096) && *word(MAP_BASE, OFF_B_MAGIC) == B_MAGIC &&
                  *word(MAP_BASE, OFF_A_ACK) == A_ACK,
              "gntpair hold: my maps still show a's last contents after a died");
    tap_rc(unmap(MAP_BASE, hrw), GNTST_okay, "gntpair hold: unmap rw after a died");
    tap_rc(unmap(MAP_BASE + 0x1000, hro), GNTST_okay, "gntpair hold: unmap ro after a died");
    return tap_finish();
}

static bool page_is_zero(uint64_t addr)
{
    const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)addr;
    for (unsigned i = 0; i < 4096 / 8; i++)
        if (p[i])
            return false;
    return true;
}

/* kvm only (on soft an address outside RAM with no map behind it is a fault): the slot that
 * held the rw map at `at` stays registered after the unmap, so these prove what it shows
 * then and that a map with the other access re-registers it. The ro map is still held, so a
 * waits and keeps the rw grant valid until b is done here. */
static void kvm_slot_reuse(domid_t a, grant_ref_t rw, uint64_t at)
{
    tap_check(page_is_zero(at), "gntpair b: after the unmap the address shows a zero page (kvm)");
    grant_handle_t h;
    bool ok = tap_rc(map(a, rw, at, true, &h), GNTST_okay,
                     "gntpair b: a read-only map where a writable one was unmapped (kvm)");
    if (ok) {
        *word(at, 0) = 0x5757575757575757ull;
        tap_check(page_matches(at, 1, 8),
                  "gntpair b: a write to the read-only map of the rw grant has no effect (kvm)");
        tap_rc(unmap(at, h), GNTST_okay, "gntpair b: unmap that read-only map (kvm)");
    }
    ok = tap_rc(map(a, rw, at, false, &h), GNTST_okay,
                "gntpair b: a writable map where a read-only one was unmapped (kvm)");
    if (ok) {
        *word(at, 8) = B_MAGIC;
        tap_check(*word(at, 8) == B_MAGIC && page_matches(at, 1, 8),
                  "gntpair b: the writable map takes writes again (kvm)");
        tap_rc(unmap(at, h), GNTST_okay, "gntpair b: unmap that writable map (kvm)");
    }
    tap_check(page_is_zero(at), "gntpair b: after the second unmap a zero page again (kvm)");
}

static int role_b(domid_t a, grant_ref_t rw, grant_ref_t ro, grant_ref_t other)
{
    const uint64_t rw_at = MAP_BASE, ro_at = MAP_BASE + 0x1000, spare = MAP_BASE + 0x2000;
    grant_handle_t hrw = ~0u, hro = ~0u, h;
    tap_rc(map(a, rw, rw_at, false, &hrw), GNTST_okay, "gntpair b: map a's rw grant");
    tap_rc(map(a, ro, ro_at, true, &hro), GNTST_okay, "gntpair b: map a's ro grant read-only");
    tap_check(hrw != hro, "gntpair b: the two maps have distinct handles (%u, %u)", hrw, hro);
    tap_check(page_matches(rw_at, 1, OFF_B_MAGIC), "gntpair b: the rw map shows a's pattern");
    tap_check(page_matches(ro_at, 2, 4096), "gntpair b: the ro map shows a's pattern");

    /* kvm only: a write to the read-only map is an MMIO exit that kxend drops (on soft it
     * would be a fault that crashes the domain: docs/grant-maps.md). */
    if (boot_info.kind == BOOT_KIND_PVH) {
        *(volatile uint8_t *)(uintptr_t)ro_at = 0xee;
        tap_check(page_matches(ro_at, 2, 4096),
                  "gntpair b: a write to the read-only map has no effect (kvm)");
    }

    /* Refusals, each with Xen's code. */
    tap_rc(map(a, ro, spare, false, &h), GNTST_general_error,
           "gntpair b: a writable map of a read-only grant is refused");
    tap_rc(map(a, other, spare, true, &h), GNTST_general_error,
           "gntpair b: a ref granted to dom0, not to me, is refused");
    tap_rc(map(a, 100000, spare, true, &h), GNTST_bad_gntref,
           "gntpair b: a ref beyond a's table is refused");
    tap_rc(map(a, rw, (uintptr_t)own_page, false, &h), GNTST_general_error,
           "gntpair b: host_addr inside my own RAM is refused");
    tap_rc(map(a, rw, rw_at, false, &h), GNTST_general_error,
           "gntpair b: host_addr where a grant is already mapped is refused");
    tap_rc(map(a, rw, spare + 1, false, &h), GNTST_general_error,
           "gntpair b: an unaligned host_addr is refused");
    tap_rc(map(a, rw, 0xfee00000ull, false, &h), GNTST_general_error,
           "gntpair b: host_addr on the local APIC's page is refused");
    tap_rc(map(a, rw, 1ull << 39, false, &h), GNTST_general_error,
           "gntpair b: host_addr at 2^39 is refused");
    tap_rc(map(30000, 1, spare, true, &h), GNTST_bad_domain,
           "gntpair b: a grant of a domain that does not exist is refused");

    /* Through the shared page: b writes, a answers. */
    *word(rw_at, OFF_B_MAGIC) = B_MAGIC;
    tap_check(wait_word(word(rw_at, OFF_A_ACK), A_ACK),
              "gntpair b: a's answer appears in my mapping of its page");

    tap_rc(unmap(rw_at + 0x1000, hrw), GNTST_general_error,
           "gntpair b: unmap with the wrong host_addr is refused");
    tap_rc(unmap(rw_at, 999), GNTST_bad_handle, "gntpair b: unmap of an unknown handle");
    tap_rc(unmap(rw_at, hrw), GNTST_okay, "gntpair b: unmap the rw grant");
    if (boot_info.kind == BOOT_KIND_PVH)
        kvm_slot_reuse(a, rw, rw_at);
    tap_rc(unmap(ro_at, hro), GNTST_okay, "gntpair b: unmap the ro grant");
    tap_rc(unmap(rw_at, hrw), GNTST_bad_handle, "gntpair b: a second unmap of the same handle");
    return tap_finish();
}

int main(void)
{
    const char *c = boot_info.cmdline;
    char role = c[0];
    unsigned long peer = 0, rw = 0, ro = 0, other = 0;
    c = (role == 'a' || role == 'b' || role == 'h') ? parse_num(c + 1, &peer) : 0;
    if (c && role != 'a') {
        c = parse_num(c, &rw);
        c = parse_num(c, &ro);
        c = parse_num(c, &other);
    }
    if (!c) {
        tap_check(false, "gntpair: command line \"a PEER\" or \"b PEER RW RO OTHER\" (got \"%s\")",
                  boot_info.cmdline);
        return tap_finish();
    }
    if (role == 'h')
        return role_hold((domid_t)peer, (grant_ref_t)rw, (grant_ref_t)ro);
    return role == 'a'
               ? role_a((domid_t)peer)
               : role_b((domid_t)peer, (grant_ref_t)rw, (grant_ref_t)ro, (grant_ref_t)other);
}
