/* Emulated I/O dispatch under concurrency: vCPU threads dispatch while regions are
 * unregistered and moved, from outside and from inside callbacks. A fake device counts the
 * callbacks that ran after its region's unregister returned ("late"); there must be none. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "test_kxend_io.h"

static struct domain *d;

static void setup(void)
{
    d = io_test_domain("io-threads");
}

static void teardown(void)
{
    io_test_domain_free(d);
}

TestSuite(io_threads, .init = setup, .fini = teardown, .timeout = 120);

/* A vCPU thread reading a few addresses in a loop; check() judges every answer. */
struct hammer {
    pthread_t t;
    struct vcpu *v;
    bool mmio;
    uint64_t addr[4];
    unsigned nr_addr;
    bool (*check)(uint64_t addr, uint64_t val);
    _Atomic bool stop;
    _Atomic unsigned long accesses, bad;
};

static void *hammer_run(void *p)
{
    struct hammer *h = p;
    while (!atomic_load(&h->stop)) {
        for (unsigned i = 0; i < h->nr_addr; i++) {
            uint64_t val = 0;
            uint32_t pv = 0;
            if (h->mmio) {
                io_mmio_access(h->v, h->addr[i], 8, false, &val);
            } else {
                io_port_access(h->v, (uint16_t)h->addr[i], 4, false, &pv);
                val = pv;
            }
            if (h->check && !h->check(h->addr[i], val))
                atomic_fetch_add(&h->bad, 1);
            atomic_fetch_add(&h->accesses, 1);
        }
    }
    return NULL;
}

static void hammer_start(struct hammer *h, struct vcpu *v, bool mmio, uint64_t addr)
{
    h->v = v;
    h->mmio = mmio;
    h->addr[h->nr_addr++] = addr;
    cr_assert_eq(pthread_create(&h->t, NULL, hammer_run, h), 0);
}

static void hammer_stop(struct hammer *h)
{
    atomic_store(&h->stop, true);
    pthread_join(h->t, NULL);
}

/* Waits until dev has served n more callbacks, so the threads are really inside it. */
static void wait_calls(struct fake_dev *dev, unsigned n)
{
    unsigned target = atomic_load(&dev->calls) + n;
    while (atomic_load(&dev->calls) < target)
        sched_yield();
}

static void wait_accesses(struct hammer *h, unsigned long n)
{
    unsigned long target = atomic_load(&h->accesses) + n;
    while (atomic_load(&h->accesses) < target)
        sched_yield();
}

#define ROUNDS 200
static struct fake_dev devs[ROUNDS];

Test(io_threads, unregister_returns_only_after_every_callback_on_other_threads_has_finished)
{
    struct hammer h[2] = {0};
    hammer_start(&h[0], d->vcpus[0], true, 0x1000);
    hammer_start(&h[1], d->vcpus[1], true, 0x1008);
    for (unsigned k = 0; k < ROUNDS; k++) {
        struct fake_dev *dev = &devs[k];
        fake_init(dev, k);
        dev->spin = 2000;
        cr_assert_eq(io_register_mmio(d, 0x1000, 0x100, &fake_mmio_ops, dev, &dev->r), 0);
        wait_calls(dev, 2);
        io_region_unregister(dev->r);
        atomic_store(&dev->alive, false); /* the device would free its state here */
    }
    wait_accesses(&h[0], 10);
    hammer_stop(&h[0]);
    hammer_stop(&h[1]);
    unsigned late = 0;
    for (unsigned k = 0; k < ROUNDS; k++)
        late += atomic_load(&devs[k].late);
    cr_assert_eq(late, 0, "%u callbacks ran after their region's unregister returned", late);
}

/* R (tag 1, 0x2000 bytes) jumps between 0x10000 and 0x11000; S (tag 2) stays at 0x13000. */
static bool move_check(uint64_t addr, uint64_t val)
{
    switch (addr) {
    case 0x11800: /* inside R at both places */
        return val == FAKE_MMIO_VAL(1, 0x1800) || val == FAKE_MMIO_VAL(1, 0x800);
    case 0x10800:
        return val == FAKE_MMIO_VAL(1, 0x800) || val == ~0ull;
    case 0x12800:
        return val == FAKE_MMIO_VAL(1, 0x1800) || val == ~0ull;
    default:
        return val == FAKE_MMIO_VAL(2, 0);
    }
}

Test(io_threads, a_moving_region_is_never_missing_where_its_old_and_new_ranges_overlap)
{
    struct fake_dev r, s;
    struct io_region *rr, *rs;
    fake_init(&r, 1);
    fake_init(&s, 2);
    cr_assert_eq(io_register_mmio(d, 0x10000, 0x2000, &fake_mmio_ops, &r, &rr), 0);
    cr_assert_eq(io_register_mmio(d, 0x13000, 0x1000, &fake_mmio_ops, &s, &rs), 0);
    struct hammer h[2] = {0};
    h[0].check = h[1].check = move_check;
    h[0].addr[h[0].nr_addr++] = 0x10800;
    h[0].addr[h[0].nr_addr++] = 0x12800;
    hammer_start(&h[0], d->vcpus[0], true, 0x11800);
    h[1].addr[h[1].nr_addr++] = 0x13000;
    hammer_start(&h[1], d->vcpus[1], true, 0x11800);
    for (unsigned k = 0; k < 3000; k++) {
        cr_assert_eq(io_region_move(rr, k % 2 ? 0x10000 : 0x11000), 0);
        cr_assert_eq(io_region_move(rr, 0x12000), -EEXIST, "would overlap S");
        if (k % 100 == 0)
            wait_accesses(&h[0], 4);
    }
    hammer_stop(&h[0]);
    hammer_stop(&h[1]);
    cr_assert_eq(atomic_load(&h[0].bad) + atomic_load(&h[1].bad), 0,
                 "%lu accesses reached nothing or the wrong offset during moves",
                 atomic_load(&h[0].bad) + atomic_load(&h[1].bad));
    io_region_unregister(rr);
    io_region_unregister(rs);
}

static void unregister_self(struct fake_dev *dev, uint64_t offset, uint64_t val)
{
    (void)offset;
    (void)val;
    io_region_unregister(dev->r);
}

Test(io_threads, a_callback_may_unregister_its_own_region_while_other_threads_dispatch_to_it)
{
    struct hammer h = {0};
    hammer_start(&h, d->vcpus[1], false, 0x2f8);
    for (unsigned k = 0; k < ROUNDS; k++) {
        struct fake_dev *dev = &devs[k];
        fake_init(dev, k);
        dev->spin = 500;
        dev->on_write = unregister_self;
        cr_assert_eq(io_register_port(d, 0x2f8, 8, &fake_port_ops, dev, &dev->r), 0);
        wait_calls(dev, 1);
        uint32_t v = 1;
        io_port_access(d->vcpus[0], 0x2f9, 1, true, &v);
        atomic_store(&dev->alive, false);
        cr_assert_eq(port_in(d, 0x2f8, 1), 0xffu, "gone once the write returned");
    }
    hammer_stop(&h);
    unsigned late = 0;
    for (unsigned k = 0; k < ROUNDS; k++)
        late += atomic_load(&devs[k].late);
    cr_assert_eq(late, 0, "%u callbacks ran after their region's unregister returned", late);
}

/* A PCI-like config port: a write moves the BAR, unregisters another device, or moves the
 * config port itself, all from inside its callback. */
struct config_ctx {
    struct io_region *bar, *self;
    struct fake_dev *victim;
    int last_rc;
};

static void config_write(struct fake_dev *dev, uint64_t offset, uint64_t val)
{
    (void)offset;
    struct config_ctx *c = dev->ctx;
    if (val == 1) {
        io_region_unregister(c->victim->r);
        c->victim->r = NULL;
    } else if (val == 2) {
        c->last_rc = io_region_move(c->self, 0xcf0);
    } else {
        c->last_rc = io_region_move(c->bar, val);
    }
}

static bool bar_check(uint64_t addr, uint64_t val)
{
    (void)addr;
    return val == FAKE_MMIO_VAL(3, 0x10) || val == ~0ull;
}

Test(io_threads, a_config_write_may_move_a_bar_and_remove_a_busy_device_from_its_callback)
{
    struct fake_dev cfg, bar, nb, victim;
    struct io_region *rbar, *rnb;
    struct config_ctx c = {0};
    fake_init(&cfg, 0xcf);
    fake_init(&bar, 3);
    fake_init(&nb, 4);
    fake_init(&victim, 5);
    victim.spin = 2000;
    cfg.on_write = config_write;
    cfg.ctx = &c;
    cr_assert_eq(io_register_port(d, 0xcf8, 8, &fake_port_ops, &cfg, &c.self), 0);
    cr_assert_eq(io_register_mmio(d, 0xe0000000, 0x1000, &fake_mmio_ops, &bar, &rbar), 0);
    cr_assert_eq(io_register_mmio(d, 0xe0002000, 0x1000, &fake_mmio_ops, &nb, &rnb), 0);
    cr_assert_eq(io_register_mmio(d, 0xd0000000, 0x1000, &fake_mmio_ops, &victim, &victim.r), 0);
    c.bar = rbar;
    c.victim = &victim;

    struct hammer hb = {0}, hv = {0};
    hb.check = bar_check;
    hb.addr[hb.nr_addr++] = 0xe0001010;
    hammer_start(&hb, d->vcpus[1], true, 0xe0000010);
    hammer_start(&hv, d->vcpus[1], true, 0xd0000000);
    for (unsigned k = 0; k < 2000; k++) {
        uint32_t v = k % 2 ? 0xe0000000 : 0xe0001000;
        io_port_access(d->vcpus[0], 0xcf8, 4, true, &v);
        cr_assert_eq(c.last_rc, 0);
        v = 0xe0002000;
        io_port_access(d->vcpus[0], 0xcf8, 4, true, &v);
        cr_assert_eq(c.last_rc, -EEXIST, "the neighbour is there");
    }
    wait_calls(&victim, 2);
    uint32_t v = 1;
    io_port_access(d->vcpus[0], 0xcfc, 4, true, &v);
    atomic_store(&victim.alive, false);
    v = 2;
    io_port_access(d->vcpus[0], 0xcf8, 4, true, &v);
    cr_assert_eq(c.last_rc, 0);
    cr_assert_eq(io_region_base(c.self), 0xcf0ull, "the config port moved itself");
    v = 0xe0000000;
    io_port_access(d->vcpus[0], 0xcf0, 4, true, &v);
    cr_assert_eq(io_region_base(rbar), 0xe0000000ull);
    wait_accesses(&hv, 10);
    hammer_stop(&hb);
    hammer_stop(&hv);
    cr_assert_eq(atomic_load(&hb.bad), 0, "an access to the BAR reached another device");
    cr_assert_eq(atomic_load(&victim.late), 0, "the removed device ran after its unregister");
    cr_assert_eq(mmio_in(d, 0xd0000000, 4), 0xffffffffull);
    io_region_unregister(c.self);
    io_region_unregister(rbar);
    io_region_unregister(rnb);
}
