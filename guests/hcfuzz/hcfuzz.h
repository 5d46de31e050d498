/* hcfuzz: a guest that throws random hypercalls at kxend. Shared pieces of the driver
 * (main.c: random numbers, pointer kinds, the memory plan, bookkeeping) and the per-family
 * argument builders (families.c). */
#ifndef HCFUZZ_H
#define HCFUZZ_H

#include <stdbool.h>
#include <stdint.h>

/* xorshift64*: reproducible from the seed on the command line. */
uint64_t rnd(void);
static inline uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}
static inline bool chance(unsigned percent)
{
    return rnd_below(100) < percent;
}
/* 0, 1, small, a power of two, all ones, negative as 32 bits, fully random. */
uint64_t rnd_count(void);
/* A domain id: ourselves (DOMID_SELF or our number), dom0, the well-behaved neighbour's
 * range, reserved ids, random. */
uint16_t rnd_domid(void);
/* An event-channel port: small, one of ours, past the table, random. Never a port the
 * runtime itself depends on when `harmless` is set (close, rebind). */
uint32_t rnd_port(bool harmless);

/* Guest addresses kxend may be asked to WRITE: random spots of the scratch arena, the low
 * megabyte, the special pages at the top of RAM, the unused half of the hypercall page (restored
 * after each call), null, straddling the end of RAM, past RAM, kernel-looking, non-canonical,
 * the top of the address space. Never our code, data or stack. */
uint64_t wptr(void);
/* Addresses kxend may only READ: all of the above plus our own image. */
uint64_t rptr(void);
/* Addresses nothing may use: straddling the end of RAM, past RAM, kernel-looking,
 * non-canonical, the top of the address space. */
uint64_t badptr(void);
/* A scratch buffer of at least len bytes in the arena (structured garbage inside). */
void *slot(uint64_t len);
/* Fills a buffer with structured garbage: random words mixed with counts, domids, ports,
 * pointers. */
void garbage(void *buf, uint64_t len);

/* The memory plan (set up once in main.c). */
struct plan {
    uint64_t ram_end;    /* bytes of RAM (nr_pages * 4096) */
    uint64_t usable_end; /* end of ordinary RAM: the special pages start here */
    uint64_t zone;       /* kxend-persistent writes: runstate areas, moved frames */
    uint64_t zone_pages;
    uint64_t arena;     /* scratch for arguments: zone end .. usable_end */
    uint64_t arena_end; /* a zeroed guard page follows (long batches start there) */
    uint32_t domid;
    uint32_t rt_ports[64]; /* ports bound before main(): the runtime's own */
    unsigned nr_rt_ports;
};
extern struct plan plan;

/* One fuzzed call: the builders fill nr and args and may veto dangerous ones. */
struct call {
    uint64_t nr;
    uint64_t a[5];
    unsigned sub;          /* sub-op bucket for the coverage count (0..31, 31 = other) */
    bool raw;              /* issue with rax = nr through a stub's body (any 64-bit nr) */
    bool arm_timer;        /* may block: arm a 2 ms singleshot timer first */
    bool move_back_shinfo; /* a successful shared_info move must be undone */
    uint32_t *out_port;    /* a port kxend returns on success: joins the pool */
};
/* Ports this guest obtained (alloc_unbound, bind_*): later calls reuse them, so sends,
 * closes, rebinds and loopback interdomain binds meet live channels, not only bad numbers. */
void port_pool_add(uint32_t port);
/* Builds a random call for hypercall family nr (a known one) into c. Returns false when the
 * draw was one of the few calls that legitimately end the guest (counted as avoided). */
bool build_call(struct call *c);

#endif
