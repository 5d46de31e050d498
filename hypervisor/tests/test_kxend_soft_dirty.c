/* Dirty-page logging of the soft accelerator (accel_ops.dirty_log_start/collect/stop), driven
 * directly: a soft domain runs a few instructions that write known pages, and the collected
 * bitmap must hold exactly those pages -- a write straddling two pages marks both, collect
 * clears what it returns, and after stop the guest's writes are no longer recorded.
 * Nothing else writes this domain's RAM (no shared_info, no hypercalls), so "exactly" holds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../accel/soft_priv.h"
#include "../kxend/core.h"

#define RAM (2ull << 20) /* 512 pages: 8 bitmap words */
#define WORDS ((RAM >> 12) / 64)
#define CODE 0x10000ull /* page 16 */

/* Pages the guest touches. */
#define PG_A 32      /* byte store */
#define PG_B 40      /* 8-byte store at 0x28ffc: straddles pages 40 and 41 */
#define PG_C 100     /* byte store */
#define PG_DONE1 200 /* byte store: "first phase written" */
#define PG_GO 201    /* only read: the host sets it to release the second phase */
#define PG_D 150     /* byte store, second phase (logging stopped) */
#define PG_DONE2 202 /* byte store: "second phase written" */

/* 64-bit code; every store is `mov [disp32], imm` with an absolute address. */
static const uint8_t guest_code[] = {
    0xc6, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0x01,             /* mov byte [0x20000], 1 */
    0x48, 0xc7, 0x04, 0x25, 0xfc, 0x8f, 0x02, 0x00, 1, 0, 0, 0, /* mov qword [0x28ffc], 1 */
    0xc6, 0x04, 0x25, 0x00, 0x40, 0x06, 0x00, 0x01,             /* mov byte [0x64000], 1 */
    0xc6, 0x04, 0x25, 0x00, 0x80, 0x0c, 0x00, 0x01,             /* mov byte [0xc8000], 1 */
    0x80, 0x3c, 0x25, 0x00, 0x90, 0x0c, 0x00, 0x00,             /* 1: cmp byte [0xc9000], 0 */
    0x74, 0xf6,                                                 /* je 1b */
    0xc6, 0x04, 0x25, 0x00, 0x60, 0x09, 0x00, 0x01,             /* mov byte [0x96000], 1 */
    0xc6, 0x04, 0x25, 0x00, 0xa0, 0x0c, 0x00, 0x01,             /* mov byte [0xca000], 1 */
    0xeb, 0xfe,                                                 /* jmp . */
};

static struct domain *d;

static void setup(void)
{
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "dirty-test", .ram_bytes = RAM, .nr_vcpus = 1};
    cr_assert_eq(domain_create(&cfg, &d), 0);
}

static void teardown(void)
{
    domain_destroy(d);
    domain_put(d);
}

TestSuite(soft_dirty, .init = setup, .fini = teardown);

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits up to 10 s for the guest byte at page pg to become nonzero. */
static bool wait_page(unsigned pg)
{
    for (int i = 0; i < 10000; i++) {
        if (__atomic_load_n(&d->ram[(uint64_t)pg << 12], __ATOMIC_ACQUIRE))
            return true;
        sleep_ms(1);
    }
    return false;
}

static bool bit(const uint64_t *bm, unsigned pg)
{
    return bm[pg / 64] >> (pg % 64) & 1;
}

/* Every set bit of bm, as text, for failure messages. */
static const char *pages_of(const uint64_t *bm)
{
    static char buf[512];
    size_t n = 0;
    buf[0] = 0;
    for (unsigned pg = 0; pg < WORDS * 64 && n < sizeof(buf) - 8; pg++)
        if (bit(bm, pg))
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %u", pg);
    return buf;
}

Test(soft_dirty, collect_returns_exactly_the_pages_the_guest_wrote_and_stop_ends_logging)
{
    const struct accel_ops *ops = d->accel;
    cr_assert_not_null(ops->dirty_log_start);
    memcpy(d->ram + CODE, guest_code, sizeof(guest_code));
    struct vcpu_boot boot = {.mode = VCPU_BOOT_LONG64, .entry = CODE, .rsp = 0x8000};
    cr_assert_eq(domain_set_boot(d, &boot), 0);

    uint64_t bm[WORDS] = {0};
    cr_assert_eq(ops->dirty_log_collect(d, bm), -EINVAL, "collect before start");
    cr_assert_eq(ops->dirty_log_start(d), 0);
    cr_assert_eq(domain_start(d), 0);
    cr_assert(wait_page(PG_DONE1), "the guest never wrote its first phase");

    cr_assert_eq(ops->dirty_log_collect(d, bm), 0);
    uint64_t want[WORDS] = {0};
    unsigned pages[] = {PG_A, PG_B, PG_B + 1, PG_C, PG_DONE1};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        want[pages[i] / 64] |= 1ull << (pages[i] % 64);
    cr_assert_eq(memcmp(bm, want, sizeof(bm)), 0, "dirty pages:%s", pages_of(bm));
    cr_assert_not(bit(bm, CODE >> 12), "code that is only executed is not dirty");

    /* The guest now only reads (spins on PG_GO): a second collect finds nothing. */
    memset(bm, 0, sizeof(bm));
    cr_assert_eq(ops->dirty_log_collect(d, bm), 0);
    cr_assert_eq(memcmp(bm, (uint64_t[WORDS]){0}, sizeof(bm)), 0, "not cleared:%s", pages_of(bm));

    /* Stop, and wait until the vCPU re-entered the guest without its write hook. */
    ops->dirty_log_stop(d);
    struct soft_vcpu *sv = d->vcpus[0]->accel_priv;
    for (int i = 0; i < 10000 && __atomic_load_n(&sv->dirty_hooked, __ATOMIC_ACQUIRE); i++)
        sleep_ms(1);
    cr_assert_not(__atomic_load_n(&sv->dirty_hooked, __ATOMIC_ACQUIRE), "write hook kept");
    __atomic_store_n(&d->ram[(uint64_t)PG_GO << 12], 1, __ATOMIC_RELEASE);
    cr_assert(wait_page(PG_DONE2), "the guest never wrote its second phase");
    cr_assert_eq(d->ram[(uint64_t)PG_D << 12], 1);
    cr_assert_eq(ops->dirty_log_collect(d, bm), 0, "the bitmap outlives stop");
    cr_assert_eq(memcmp(bm, (uint64_t[WORDS]){0}, sizeof(bm)), 0, "pages recorded after stop:%s",
                 pages_of(bm));
}
