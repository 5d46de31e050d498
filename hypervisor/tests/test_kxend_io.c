/* Emulated I/O dispatch, one thread: validation, access sizes, per-domain spaces, moves, and
 * lookup checked against a brute-force model over random regions. */
#include <errno.h>
#include <stdlib.h>

#include "test_kxend_io.h"

static struct domain *d;

static void setup(void)
{
    d = io_test_domain("io-test");
}

static void teardown(void)
{
    io_test_domain_free(d);
}

TestSuite(io, .init = setup, .fini = teardown);

Test(io, registration_refuses_empty_wrapping_and_out_of_range_ranges_and_missing_callbacks)
{
    struct fake_dev dev;
    struct io_region *r = (struct io_region *)&dev;
    fake_init(&dev, 1);
    const struct io_region_ops no_read = {"no-read", NULL, fake_write};
    cr_assert_eq(io_register_port(d, 0x60, 0, &fake_port_ops, &dev, &r), -EINVAL);
    cr_assert_null(r, "the handle is cleared on failure");
    cr_assert_eq(io_register_port(d, 0xffff, 2, &fake_port_ops, &dev, &r), -EINVAL);
    cr_assert_eq(io_register_port(d, 0x10000, 1, &fake_port_ops, &dev, &r), -EINVAL);
    cr_assert_eq(io_register_port(d, 0, 0x10001, &fake_port_ops, &dev, &r), -EINVAL);
    cr_assert_eq(io_register_mmio(d, ~0ull, 2, &fake_mmio_ops, &dev, &r), -EINVAL, "wraps");
    cr_assert_eq(io_register_mmio(d, 2, ~0ull, &fake_mmio_ops, &dev, &r), -EINVAL, "wraps");
    cr_assert_eq(io_register_mmio(d, 0x1000, 8, NULL, &dev, &r), -EINVAL);
    cr_assert_eq(io_register_mmio(d, 0x1000, 8, &no_read, &dev, &r), -EINVAL);

    cr_assert_eq(io_register_port(d, 0xffff, 1, &fake_port_ops, &dev, &r), 0, "last port");
    cr_assert_eq(port_in(d, 0xffff, 1), FAKE_PORT_VAL(1, 0) & 0xff);
    io_region_unregister(r);
    cr_assert_eq(io_register_port(d, 0, 0x10000, &fake_port_ops, &dev, &r), 0, "every port");
    io_region_unregister(r);
    cr_assert_eq(io_register_mmio(d, ~0ull - 0xfff, 0x1000, &fake_mmio_ops, &dev, &r), 0,
                 "a range may end at the top of the address space");
    cr_assert_eq(mmio_in(d, ~0ull, 8), FAKE_MMIO_VAL(1, 0xfff));
    io_region_unregister(r);
    io_region_unregister(NULL);
}

Test(io, overlapping_ranges_are_refused_but_ports_mmio_and_domains_are_separate)
{
    struct fake_dev a, b;
    struct io_region *ra, *rb, *rc, *rd;
    fake_init(&a, 0xa);
    fake_init(&b, 0xb);
    cr_assert_eq(io_register_port(d, 0x3f8, 8, &fake_port_ops, &a, &ra), 0);
    cr_assert_eq(io_register_port(d, 0x3ff, 1, &fake_port_ops, &b, &rb), -EEXIST);
    cr_assert_eq(io_register_port(d, 0x3f0, 9, &fake_port_ops, &b, &rb), -EEXIST);
    cr_assert_eq(io_register_port(d, 0x3f0, 0x20, &fake_port_ops, &b, &rb), -EEXIST, "covers");
    cr_assert_eq(io_register_port(d, 0x3f0, 8, &fake_port_ops, &b, &rb), 0, "adjacent below");
    cr_assert_eq(io_register_mmio(d, 0x3f8, 8, &fake_mmio_ops, &b, &rc), 0, "MMIO is apart");

    struct domain *d2 = io_test_domain("io-test-2");
    cr_assert_eq(io_register_port(d2, 0x3f8, 8, &fake_port_ops, &b, &rd), 0, "per domain");
    cr_assert_eq(port_in(d2, 0x3f9, 2), FAKE_PORT_VAL(0xb, 1) & 0xffff);
    cr_assert_eq(port_in(d, 0x3f9, 2), FAKE_PORT_VAL(0xa, 1) & 0xffff);
    cr_assert_eq(port_in(d, 0x3f7, 1), FAKE_PORT_VAL(0xb, 7) & 0xff);
    io_test_domain_free(d2); /* frees rd with the domain */
    cr_assert_eq(port_in(d, 0x3f9, 2), FAKE_PORT_VAL(0xa, 1) & 0xffff);
    io_region_unregister(ra);
    io_region_unregister(rb);
    io_region_unregister(rc);
}

Test(io, unclaimed_reads_return_all_ones_of_the_access_size_and_writes_are_dropped)
{
    struct fake_dev dev;
    struct io_region *r;
    fake_init(&dev, 1);
    cr_assert_eq(port_in(d, 0x80, 1), 0xffu);
    cr_assert_eq(port_in(d, 0x80, 2), 0xffffu);
    cr_assert_eq(port_in(d, 0x80, 4), 0xffffffffu);
    cr_assert_eq(mmio_in(d, 0xfee00000, 8), ~0ull);
    cr_assert_eq(mmio_in(d, 0xfee00000, 4), 0xffffffffull);
    cr_assert_eq(io_register_mmio(d, 0x2000, 0x10, &fake_mmio_ops, &dev, &r), 0);
    uint64_t v = 5;
    io_mmio_access(d->vcpus[1], 0x1fff, 1, true, &v);
    io_mmio_access(d->vcpus[1], 0x2010, 1, true, &v);
    cr_assert_eq(atomic_load(&dev.calls), 0, "neighbours of a region are not the region");
    cr_assert_eq(mmio_in(d, 0x1fff, 2), 0xffffull, "an access starting below is unclaimed");
    io_region_unregister(r);
    cr_assert_eq(mmio_in(d, 0x2000, 4), 0xffffffffull, "unregistered");
}

Test(io, accesses_are_masked_to_their_size_and_odd_sizes_are_unclaimed)
{
    struct fake_dev p, m;
    struct io_region *rp, *rm;
    fake_init(&p, 0x1234);
    fake_init(&m, 0x89abcdef);
    cr_assert_eq(io_register_port(d, 0x60, 4, &fake_port_ops, &p, &rp), 0);
    cr_assert_eq(io_register_mmio(d, 0xa0000, 0x100, &fake_mmio_ops, &m, &rm), 0);
    cr_assert_eq(port_in(d, 0x61, 1), 0x01u);
    cr_assert_eq(port_in(d, 0x61, 2), 0x0001u);
    cr_assert_eq(port_in(d, 0x61, 4), 0x12340001u);
    cr_assert_eq(mmio_in(d, 0xa0010, 8), 0x89abcdef00000010ull);
    cr_assert_eq(mmio_in(d, 0xa0010, 4), 0x10ull);
    uint32_t pv = 0xcafef00d;
    io_port_access(d->vcpus[0], 0x60, 1, true, &pv);
    cr_assert_eq(atomic_load(&p.last_write), 0x0dull);
    uint64_t mv = 0x1122334455667788ull;
    io_mmio_access(d->vcpus[0], 0xa0000, 2, true, &mv);
    cr_assert_eq(atomic_load(&m.last_write), 0x7788ull);
    io_mmio_access(d->vcpus[0], 0xa0000, 8, true, &mv);
    cr_assert_eq(atomic_load(&m.last_write), 0x1122334455667788ull);

    unsigned before = atomic_load(&p.calls) + atomic_load(&m.calls);
    cr_assert_eq(port_in(d, 0x60, 3), 0xffffffu, "3 bytes: no such port access");
    cr_assert_eq(port_in(d, 0x60, 8), 0xffffffffu, "8 bytes: no such port access");
    cr_assert_eq(mmio_in(d, 0xa0000, 3), 0xffffffull);
    cr_assert_eq(mmio_in(d, 0xa0000, 0), 0ull);
    cr_assert_eq(atomic_load(&p.calls) + atomic_load(&m.calls), before);
    io_region_unregister(rp);
    io_region_unregister(rm);
}

Test(io, an_access_running_past_a_regions_end_goes_whole_to_that_region)
{
    struct fake_dev dev;
    struct io_region *r;
    fake_init(&dev, 7);
    cr_assert_eq(io_register_port(d, 0x70, 2, &fake_port_ops, &dev, &r), 0);
    cr_assert_eq(port_in(d, 0x71, 4), FAKE_PORT_VAL(7, 1));
    cr_assert_eq(atomic_load(&dev.last_offset), 1ull);
    cr_assert_eq(atomic_load(&dev.last_size), 4ull);
    io_region_unregister(r);
}

Test(io, a_move_keeps_the_length_refuses_overlap_and_leaves_the_region_in_place)
{
    struct fake_dev a, b;
    struct io_region *ra, *rb;
    fake_init(&a, 0xa);
    fake_init(&b, 0xb);
    cr_assert_eq(io_register_mmio(d, 0xe0000000, 0x1000, &fake_mmio_ops, &a, &ra), 0);
    cr_assert_eq(io_register_mmio(d, 0xe0010000, 0x1000, &fake_mmio_ops, &b, &rb), 0);
    cr_assert_eq(io_region_move(ra, 0xe000f800), -EEXIST);
    cr_assert_eq(io_region_base(ra), 0xe0000000ull);
    cr_assert_eq(mmio_in(d, 0xe0000008, 8), FAKE_MMIO_VAL(0xa, 8), "still at the old base");
    cr_assert_eq(io_region_move(ra, ~0ull - 0x800), -EINVAL);
    cr_assert_eq(io_region_move(ra, 0xe0000800), 0, "onto part of its own old range");
    cr_assert_eq(mmio_in(d, 0xe0000808, 8), FAKE_MMIO_VAL(0xa, 8));
    cr_assert_eq(mmio_in(d, 0xe0000008, 8), ~0ull);
    cr_assert_eq(io_region_move(ra, 0xe0020000), 0);
    cr_assert_eq(mmio_in(d, 0xe0020ff8, 8), FAKE_MMIO_VAL(0xa, 0xff8));
    cr_assert_eq(mmio_in(d, 0xe0010000, 8), FAKE_MMIO_VAL(0xb, 0), "the other one is untouched");

    struct io_region *rp;
    cr_assert_eq(io_register_port(d, 0xc000, 0x40, &fake_port_ops, &b, &rp), 0);
    cr_assert_eq(io_region_move(rp, 0xffc1), -EINVAL, "past port 0xffff");
    cr_assert_eq(io_region_move(rp, 0xffc0), 0);
    cr_assert_eq(port_in(d, 0xffff, 1), FAKE_PORT_VAL(0xb, 0x3f) & 0xff);
    io_region_unregister(ra);
    io_region_unregister(rb);
    io_region_unregister(rp);
}

static void register_from_callback(struct fake_dev *dev, uint64_t offset, uint64_t val)
{
    (void)offset;
    struct fake_dev *child = dev->ctx;
    cr_assert_eq(io_register_port(d, val, 4, &fake_port_ops, child, &child->r), 0);
}

Test(io, leftover_regions_are_freed_with_the_domain_and_callbacks_may_register)
{
    struct fake_dev parent, child;
    struct io_region *r;
    fake_init(&parent, 1);
    fake_init(&child, 2);
    parent.on_write = register_from_callback;
    parent.ctx = &child;
    cr_assert_eq(io_register_port(d, 0x500, 4, &fake_port_ops, &parent, &r), 0);
    uint32_t v = 0x600;
    io_port_access(d->vcpus[0], 0x500, 2, true, &v);
    cr_assert_eq(port_in(d, 0x602, 1), FAKE_PORT_VAL(2, 2) & 0xff);
    /* Neither is unregistered: LeakSanitizer checks the domain frees both. */
}

/* A model of the space: the owner (index + 1) of every address in a small window. */
#define WIN 512
#define NREG 48

struct model {
    struct fake_dev dev[NREG];
    struct io_region *r[NREG];
    uint64_t base[NREG], len[NREG];
    uint8_t owner[WIN];
};

static bool model_free(const struct model *m, uint64_t base, uint64_t len, int self)
{
    for (uint64_t a = base; a < base + len; a++)
        if (a < WIN && m->owner[a] && m->owner[a] != self + 1)
            return false;
    return true;
}

static void model_set(struct model *m, int i, uint8_t who)
{
    for (uint64_t a = m->base[i]; a < m->base[i] + m->len[i] && a < WIN; a++)
        m->owner[a] = who;
}

static void model_check(const struct model *m, bool mmio, uint64_t origin)
{
    for (uint64_t a = 0; a < WIN; a++) {
        uint64_t got = mmio ? mmio_in(d, origin + a, 8) : port_in(d, (uint16_t)(origin + a), 4);
        int o = m->owner[a] - 1;
        uint64_t want = o < 0  ? (mmio ? ~0ull : 0xffffffffull)
                        : mmio ? FAKE_MMIO_VAL(o + 1, a - m->base[o])
                               : FAKE_PORT_VAL(o + 1, a - m->base[o]);
        cr_assert_eq(got, want, "address 0x%llx: got 0x%llx want 0x%llx (owner %d)",
                     (unsigned long long)(origin + a), (unsigned long long)got,
                     (unsigned long long)want, o);
    }
}

static void lookup_matches_the_model(bool mmio, uint64_t origin, unsigned seed)
{
    struct model *m = calloc(1, sizeof(*m));
    cr_assert_not_null(m);
    for (int i = 0; i < NREG; i++)
        fake_init(&m->dev[i], (uint64_t)i + 1);
    for (int step = 0; step < 3000; step++) {
        int i = rand_r(&seed) % NREG;
        uint64_t base = rand_r(&seed) % (WIN - 8), len = 1 + rand_r(&seed) % 24;
        if (base + len > WIN)
            len = WIN - base;
        int rc;
        if (!m->r[i]) {
            rc =
                mmio
                    ? io_register_mmio(d, origin + base, len, &fake_mmio_ops, &m->dev[i], &m->r[i])
                    : io_register_port(d, origin + base, len, &fake_port_ops, &m->dev[i], &m->r[i]);
            cr_assert_eq(rc, model_free(m, base, len, -1) ? 0 : -EEXIST);
            if (rc == 0) {
                m->base[i] = base, m->len[i] = len;
                model_set(m, i, (uint8_t)(i + 1));
            }
        } else if (rand_r(&seed) % 3) {
            base = rand_r(&seed) % (WIN - m->len[i] + 1);
            rc = io_region_move(m->r[i], origin + base);
            cr_assert_eq(rc, model_free(m, base, m->len[i], i) ? 0 : -EEXIST);
            if (rc == 0) {
                model_set(m, i, 0);
                m->base[i] = base;
                model_set(m, i, (uint8_t)(i + 1));
            }
        } else {
            io_region_unregister(m->r[i]);
            m->r[i] = NULL;
            model_set(m, i, 0);
        }
        if (step % 100 == 99)
            model_check(m, mmio, origin);
    }
    model_check(m, mmio, origin);
    for (int i = 0; i < NREG; i++)
        io_region_unregister(m->r[i]);
    free(m);
}

Test(io, port_lookup_matches_a_brute_force_model_over_random_regions)
{
    lookup_matches_the_model(false, 0x10000 - WIN, 1);
}

Test(io, mmio_lookup_matches_a_brute_force_model_over_random_regions)
{
    lookup_matches_the_model(true, 0xfebf0000, 2);
    lookup_matches_the_model(true, ~0ull - WIN + 1, 3);
}
