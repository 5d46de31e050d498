/* hcfuzz: seeded random hypercalls against kxend. Command line: `seed=N secs=S max=M`
 * (defaults 1, 3, 200000). Every call's arguments come from families.c; this file owns the
 * random numbers, the pointer kinds and the memory plan that keeps kxend's legitimate writes
 * off our own code, and checks after the run that kxend wrote nowhere it was not told to
 * (our code's checksum), that the basic calls still answer, and prints the figures and
 * RESULT PASS. A crash of this guest, a hang or a kxend failure makes the test fail. */
#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/memory.h>
#include <kxen/sched.h>
#include <kxen/vcpu.h>
#include <kxen/version.h>
#include <kxen/xen.h>

#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/time.h"
#include "hcfuzz.h"

extern char __image_start[], __image_end[];

struct plan plan;
static uint64_t rng_state;
static uint8_t vcpu_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t hc_page_copy[PAGE_SIZE];
static uint8_t coverage[65][32]; /* [nr (64 = beyond)][sub]: 1 issued, 2 answered != ENOSYS */
static uint64_t arena_cursor;
/* The call in flight and its index, where a debugger or dom0 (foreign map) can read them. */
struct call hcfuzz_current;
volatile uint64_t hcfuzz_current_index;
/* In .data, which starts on the page after our read-only parts (code, hypercall page, rodata,
 * notes): the page it lies in bounds the region kxend must never write. */
static volatile uint64_t data_marker = 1;

uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t rnd_count(void)
{
    switch (rnd_below(8)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return rnd_below(16);
    case 3:
        return 1ull << rnd_below(64);
    case 4:
        return ~0ull;
    case 5:
        return (uint64_t) - (int64_t)(1 + rnd_below(4096)); /* "negative" */
    case 6:
        return 0x80000000ull + rnd_below(4);
    default:
        return rnd();
    }
}

uint16_t rnd_domid(void)
{
    switch (rnd_below(7)) {
    case 0:
        return DOMID_SELF;
    case 1:
        return (uint16_t)plan.domid;
    case 2:
        return 0;
    case 3:
        return (uint16_t)(1 + rnd_below(8)); /* the neighbour is nearby */
    case 4:
        return (uint16_t)(0x7ff0 + rnd_below(16));
    case 5:
        return 0x7000;
    default:
        return (uint16_t)rnd();
    }
}

static bool runtime_port(uint32_t p)
{
    for (unsigned i = 0; i < plan.nr_rt_ports; i++)
        if (plan.rt_ports[i] == p)
            return true;
    return false;
}

static uint32_t port_pool[64];
static unsigned port_pool_n;

void port_pool_add(uint32_t port)
{
    if (runtime_port(port))
        return;
    port_pool[port_pool_n < ARRAY_SIZE(port_pool) ? port_pool_n++
                                                  : rnd_below(ARRAY_SIZE(port_pool))] = port;
}

uint32_t rnd_port(bool harmless)
{
    uint32_t p;
    if (port_pool_n && chance(40))
        return port_pool[rnd_below(port_pool_n)];
    switch (rnd_below(5)) {
    case 0:
        p = (uint32_t)rnd_below(64);
        break;
    case 1:
        p = (uint32_t)rnd_below(4096);
        break;
    case 2:
        p = 4096 + (uint32_t)rnd_below(100000);
        break;
    case 3:
        p = 0xffffffffu - (uint32_t)rnd_below(4);
        break;
    default:
        p = (uint32_t)rnd();
        break;
    }
    if (harmless && runtime_port(p))
        p = 0; /* port 0 is never bound */
    return p;
}

uint64_t badptr(void)
{
    switch (rnd_below(7)) {
    case 0:
        return plan.ram_end - 1 - rnd_below(64); /* straddles the end of RAM */
    case 1:
        return plan.ram_end + rnd_below(1 << 20); /* just past RAM */
    case 2:
        return 0xffff800000000000ull + rnd_below(1ull << 40); /* kernel-looking */
    case 3:
        return 0x0000800000000000ull + rnd_below(4096); /* non-canonical */
    case 4:
        return ~0ull - rnd_below(64); /* any length wraps */
    case 5:
        return 1ull << (32 + rnd_below(31)); /* huge */
    default:
        return rnd();
    }
}

uint64_t wptr(void)
{
    uint64_t hp = (uint64_t)(uintptr_t)hypercall_page;
    switch (rnd_below(10)) {
    case 0:
        return rnd_below(64); /* null and near it */
    case 1:
        return 4096 + rnd_below(0x100000 - 8192); /* the low megabyte */
    case 2:
        return plan.usable_end + rnd_below(plan.ram_end - plan.usable_end); /* special */
    /* stubs we only call after a restore; 1 KiB short of the page's end, as no single
     * write asked here is longer (a batch of records is never aimed at a wptr) */
    case 3:
        return hp + 2048 + rnd_below(1024);
    case 4:
        return badptr();
    default:
        return plan.arena + rnd_below(plan.arena_end - plan.arena);
    }
}

uint64_t rptr(void)
{
    if (chance(15)) {
        uint64_t img = (uint64_t)(uintptr_t)__image_start;
        return img + rnd_below((uint64_t)(__image_end - __image_start));
    }
    return chance(10) ? (uint64_t)(uintptr_t)hypercall_page + rnd_below(4096) : wptr();
}

void *slot(uint64_t len)
{
    len = (len + 15) & ~15ull;
    if (arena_cursor + len > plan.arena_end || arena_cursor < plan.arena)
        arena_cursor = plan.arena + rnd_below(1 << 20) * 16 % (plan.arena_end - plan.arena - 65536);
    void *p = (void *)(uintptr_t)arena_cursor;
    arena_cursor += len;
    return p;
}

void garbage(void *buf, uint64_t len)
{
    uint8_t *b = buf;
    for (uint64_t off = 0; off + 8 <= len; off += 8) {
        uint64_t v;
        switch (rnd_below(6)) {
        case 0:
            v = rnd_count();
            break;
        case 1:
            v = rnd_domid() | (uint64_t)rnd_port(true) << 32;
            break;
        case 2:
            v = wptr();
            break; /* output pointers read from garbage stay harmless */
        case 3:
            v = 0;
            break;
        default:
            v = rnd();
            break;
        }
        memcpy(b + off, &v, 8);
    }
}

static uint64_t checksum(const uint8_t *p, uint64_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint64_t arg_u64(const char *key, uint64_t def)
{
    const char *s = boot_info.cmdline;
    size_t k = strlen(key);
    for (; *s; s++) {
        if ((s == boot_info.cmdline || s[-1] == ' ') && !strncmp(s, key, k) && s[k] == '=') {
            uint64_t v = 0;
            for (s += k + 1; *s >= '0' && *s <= '9'; s++)
                v = v * 10 + (uint64_t)(*s - '0');
            return v;
        }
    }
    return def;
}

/* Issues rax = nr through the body of a stub (after its `mov $imm32,%eax`), so numbers past
 * the page and past 32 bits reach kxend as they are. */
static long raw_call(uint64_t nr, const uint64_t a[5])
{
    unsigned stub = (unsigned)rnd_below(64);
    uint8_t *entry = (uint8_t *)hypercall_page + stub * KXEN_HYPERCALL_STUB_SIZE;
    if (entry[0] != 0xb8)
        return -XEN_ENOSYS; /* a page layout we do not know: skip */
    register unsigned long r10 __asm__("r10") = a[3];
    register unsigned long r8 __asm__("r8") = a[4];
    unsigned long rax = nr, rdi = a[0], rsi = a[1], rdx = a[2];
    __asm__ volatile("call *%[entry]"
                     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8)
                     : [entry] "b"(entry + 5)
                     : "memory", "rcx", "r11", "r9");
    return (long)rax;
}

/* kxend may have been pointed at the page's upper half. Only differing bytes are written back:
 * a store into a page of translated code is expensive on the soft accelerator. */
static void restore_hypercall_page(void)
{
    if (!memcmp(hypercall_page, hc_page_copy, PAGE_SIZE))
        return;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        if (hypercall_page[i] != (char)hc_page_copy[i])
            hypercall_page[i] = (char)hc_page_copy[i];
}

/* Fixed edge cases found while fuzzing, checked after the random run; returns how many were
 * answered wrongly (each printed). */
static unsigned edge_checks(void)
{
    unsigned bad = 0;
    /* A frame number whose end wraps past 2^64 must not pass the RAM bounds check. */
    static const struct {
        unsigned cmd, order;
        uint64_t pfn;
    } wrap[] = {
        {XENMEM_populate_physmap, 0, ~0ull},
        {XENMEM_populate_physmap, 1, ~0ull - 1},
        {XENMEM_decrease_reservation, 1, ~0ull - 1},
    };
    for (unsigned i = 0; i < ARRAY_SIZE(wrap); i++) {
        uint64_t *list = slot(8);
        *list = wrap[i].pfn;
        struct xen_memory_reservation *r = slot(sizeof(*r));
        memset(r, 0, sizeof(*r));
        r->extent_start.q = (uint64_t)(uintptr_t)list;
        r->nr_extents = 1;
        r->extent_order = wrap[i].order;
        r->domid = DOMID_SELF;
        long rc = HYPERVISOR_memory_op(wrap[i].cmd, r);
        if (rc != 0) {
            hv_printf("hcfuzz: edge: memory_op %u of frame 0x%lx order %u did %ld extents, "
                      "want 0\n",
                      wrap[i].cmd, (unsigned long)wrap[i].pfn, wrap[i].order, rc);
            bad++;
        }
    }
    return bad;
}

static bool setup_plan(void)
{
    plan.ram_end = boot_info.nr_pages << PAGE_SHIFT;
    plan.usable_end = plan.ram_end;
    for (unsigned i = 0; i < boot_info.nr_memmap; i++)
        if (boot_info.memmap[i].type == 1 && boot_info.memmap[i].addr == 0)
            plan.usable_end = boot_info.memmap[i].addr + boot_info.memmap[i].size;
    plan.zone = ((uint64_t)(uintptr_t)__image_end + 0x10000 + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    plan.zone_pages = 64;
    plan.arena = plan.zone + plan.zone_pages * PAGE_SIZE;
    plan.arena_end = plan.usable_end - PAGE_SIZE;
    if (plan.arena + (4u << 20) > plan.arena_end)
        return false;
    memset((void *)(uintptr_t)plan.zone, 0, plan.zone_pages * PAGE_SIZE);
    memset((void *)(uintptr_t)plan.arena_end, 0, PAGE_SIZE);
    int id = xen_self_domid();
    plan.domid = id > 0 ? (uint32_t)id : 0x7ff0;
    for (uint32_t p = 1; p < 64 && plan.nr_rt_ports < ARRAY_SIZE(plan.rt_ports); p++) {
        struct evtchn_status st;
        if (evtchn_status(DOMID_SELF, p, &st) == 0 && st.status != EVTCHNSTAT_closed)
            plan.rt_ports[plan.nr_rt_ports++] = p;
    }
    return true;
}

int main(void)
{
    rng_state = arg_u64("seed", 1) * 0x9e3779b97f4a7c15ull | 1;
    uint64_t secs = arg_u64("secs", 3), max = arg_u64("max", 200000);
    /* trace=1: each call on the console, for a reproducer; trace=2: the ones that may block */
    uint64_t trace = arg_u64("trace", 0);
    bool check = arg_u64("check", 0) != 0; /* the read-only checksum after every call */
    hv_printf("hcfuzz: seed=%lu secs=%lu max=%lu via %s\n", (unsigned long)arg_u64("seed", 1),
              (unsigned long)secs, (unsigned long)max, boot_info.accel_path);
    if (!setup_plan())
        guest_panic("hcfuzz: RAM too small for the arena (%lu pages)",
                    (unsigned long)boot_info.nr_pages);
    /* Our own vcpu_info, registered once: later attempts can only fail (Xen: once per vCPU). */
    if (evtchn_register_vcpu_info(vcpu_info_page, 0) != 0)
        guest_panic("hcfuzz: register_vcpu_info failed");
    uint64_t code_len = (uint64_t)(hypercall_page - __image_start);
    const uint8_t *ro = (const uint8_t *)hypercall_page + PAGE_SIZE;
    uint64_t ro_len =
        (((uint64_t)(uintptr_t)&data_marker) & ~(PAGE_SIZE - 1)) - (uint64_t)(uintptr_t)ro;
    uint64_t code_sum =
        checksum((const uint8_t *)__image_start, code_len) ^ checksum(ro, ro_len) * 3 ^ data_marker;
    memcpy(hc_page_copy, hypercall_page, PAGE_SIZE);
    uint64_t shinfo_pfn = (uint64_t)(uintptr_t)HYPERVISOR_shared_info >> PAGE_SHIFT;
    long want_version = HYPERVISOR_xen_version(XENVER_version, 0);

    uint64_t calls = 0, avoided = 0, not_enosys = 0, blocked = 0, wrong = 0, ok = 0, ports = 0;
    uint64_t t0 = monotonic_ns(), deadline = t0 + secs * 1000000000ull;
    struct call c;
    while (calls < max) {
        if ((calls & 63) == 0 && monotonic_ns() >= deadline)
            break;
        if (!build_call(&c)) {
            avoided++;
            continue;
        }
        /* A call that may block gets a timer 2 ms ahead. Armed with interrupts and upcalls
         * off, as the runtime's wait loop does: otherwise the timer can fire and its upcall
         * be handled just before SCHEDOP_block, which then rightly sleeps for good. */
        /* A shared_info move away and back runs masked too: an upcall in between would make
         * the runtime scan the page it no longer is, and lose the event for good. */
        bool masked = c.arm_timer || c.move_back_shinfo;
        if (masked) {
            local_irq_disable();
            WRITE_ONCE(evtchn_vcpu_info->evtchn_upcall_mask, 1);
        }
        if (c.arm_timer) {
            HYPERVISOR_set_timer_op(monotonic_ns() + 2000000);
            blocked++;
        }
        if (trace == 1 || (trace == 2 && c.arm_timer))
            hv_printf("hcfuzz: #%lu nr=0x%lx 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx\n", (unsigned long)calls,
                      (unsigned long)c.nr, (unsigned long)c.a[0], (unsigned long)c.a[1],
                      (unsigned long)c.a[2], (unsigned long)c.a[3], (unsigned long)c.a[4]);
        hcfuzz_current = c;
        hcfuzz_current_index = calls;
        long rc = c.raw ? raw_call(c.nr, c.a)
                        : hypercall5((unsigned)c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4]);
        calls++;
        ok += rc == 0;
        if (rc == 0 && c.out_port) {
            port_pool_add(*c.out_port);
            ports++;
        }
        restore_hypercall_page();
        if (c.move_back_shinfo && rc == 0) {
            struct xen_add_to_physmap x = {.domid = DOMID_SELF,
                                           .space = XENMAPSPACE_shared_info,
                                           .idx = 0,
                                           .gpfn = shinfo_pfn};
            if (HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x) != 0)
                guest_panic("hcfuzz: could not move shared_info back (call %lu)",
                            (unsigned long)calls);
        }
        if (masked) {
            WRITE_ONCE(evtchn_vcpu_info->evtchn_upcall_mask, 0);
            local_irq_enable();
        }
        if (check && (checksum((const uint8_t *)__image_start, code_len) ^
                      checksum(ro, ro_len) * 3 ^ data_marker) != code_sum)
            guest_panic("hcfuzz: call %lu wrote into our image: nr=0x%lx 0x%lx 0x%lx 0x%lx "
                        "0x%lx 0x%lx rc=%ld",
                        (unsigned long)calls, (unsigned long)c.nr, (unsigned long)c.a[0],
                        (unsigned long)c.a[1], (unsigned long)c.a[2], (unsigned long)c.a[3],
                        (unsigned long)c.a[4], rc);
        unsigned nb = c.nr < 64 ? (unsigned)c.nr : 64;
        coverage[nb][c.sub] |= 1;
        if (rc != -XEN_ENOSYS) {
            coverage[nb][c.sub] |= 2;
            not_enosys++;
        }
        if ((calls & 1023) == 0 && HYPERVISOR_xen_version(XENVER_version, 0) != want_version)
            wrong++;
    }
    uint64_t dt = monotonic_ns() - t0;
    unsigned pairs = 0, served = 0;
    for (unsigned n = 0; n < 65; n++)
        for (unsigned s = 0; s < 32; s++) {
            pairs += coverage[n][s] != 0;
            served += (coverage[n][s] & 2) != 0;
        }
    bool code_ok = (checksum((const uint8_t *)__image_start, code_len) ^ checksum(ro, ro_len) * 3 ^
                    data_marker) == code_sum;
    struct evtchn_status st;
    bool ports_ok = true;
    for (unsigned i = 0; i < plan.nr_rt_ports; i++)
        if (evtchn_status(DOMID_SELF, plan.rt_ports[i], &st) != 0 || st.status == EVTCHNSTAT_closed)
            ports_ok = false;
    unsigned edge_bad = edge_checks();
    uint64_t t1 = monotonic_ns();
    sleep_ns(3000000); /* time and the timer still work after the storm */
    bool time_ok = monotonic_ns() >= t1 + 3000000;

    hv_printf("\nhcfuzz: calls=%lu avoided=%lu answered_not_enosys=%lu succeeded=%lu "
              "ports_obtained=%lu may_block=%lu pairs=%u pairs_served=%u ns_per_call=%lu\n",
              (unsigned long)calls, (unsigned long)avoided, (unsigned long)not_enosys,
              (unsigned long)ok, (unsigned long)ports, (unsigned long)blocked, pairs, served,
              (unsigned long)(calls ? dt / calls : 0));
    hv_printf("hcfuzz: code+rodata (%lu bytes) intact=%d runtime ports intact=%d (%u) version "
              "answers wrong=%lu "
              "timer=%d\n",
              (unsigned long)(code_len + ro_len), code_ok, ports_ok, plan.nr_rt_ports,
              (unsigned long)wrong, time_ok);
    hv_printf("hcfuzz: edge cases answered wrongly: %u\n", edge_bad);
    bool pass = code_ok && ports_ok && wrong == 0 && time_ok && calls > 0 && edge_bad == 0;
    hv_printf("RESULT %s\n", pass ? "PASS" : "FAIL");
    guest_shutdown(pass ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}
