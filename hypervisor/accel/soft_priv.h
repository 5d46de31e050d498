/* State shared by the soft accelerator's files (soft.c: engines, hooks, runner and ticker
 * threads; soft_trap.c: interrupt and exception delivery; soft_regs.c: register access).
 * Private to hypervisor/accel/soft*.c. */
#ifndef KXEND_ACCEL_SOFT_PRIV_H
#define KXEND_ACCEL_SOFT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unicorn/unicorn.h>

#include "kxend/accel.h"
#include "kxend/domain.h"

#define RFLAGS_IF (1ull << 9)
#define RFLAGS_TF (1ull << 8)

struct soft_vcpu {
    uc_engine *uc;
    struct vcpu_boot boot;
    uc_hook h_dirty;
    bool dirty_hooked;
    bool hc_stop;             /* a hypercall asked to leave the engine */
    _Atomic bool stop_wanted; /* the ticker wants the engine back: hook_block stops it */
    unsigned flush_gen;
    unsigned held_blocks; /* blocks run since the entry first held a dom0 notify */
    int exc;              /* guest exception vector that ended the run, -1 = none */
    uint64_t fault_addr;  /* access outside RAM that ended the run (becomes #PF's CR2) */
    uint32_t fault_code;  /* its #PF error code: W (bit 1), I/D fetch (bit 4) */
    uint64_t exc_handler; /* handler of the last exception delivered (double-fault check) */
};

struct soft_dom {
    pthread_t runner, ticker;
    bool runner_started, ticker_started;
    pthread_mutex_t lock;
    pthread_cond_t tick_cond; /* ticker sleeps here */
    bool quit, kick_pending;
    /* The runner idles in epoll on wait_fd (the domain's evtchn_wait_fd, or its own set),
     * which holds wake_fd: a kick writes wake_fd after dropping the lock, only when the
     * runner is idle, so the woken runner never waits for the kicker's lock. */
    int wake_fd, wait_fd;
    bool own_wait_fd, idle;
    /* The entry in progress: */
    bool in_guest;
    struct vcpu *cur;
    uint64_t entry_gen, stopped_gen, stop_sent_ns;
    uint64_t slice_end_ns;
    uint64_t ticker_until; /* when the ticker wakes by itself (UINT64_MAX: only if told) */
    bool dirty_on;
    unsigned flush_gen; /* bumped by flush_code; each engine catches up before entry */
    unsigned next;      /* round-robin position */
    uint64_t entries, stops_hc, stops_ticker; /* statistics, logged at stop (debug) */
    /* Foreign (grant) pages mapped into every engine, and into engines created later; gpa 0
     * = free (gpa 0 is RAM). Changed only on the runner thread or with the domain stopped. */
    struct soft_foreign {
        uint64_t gpa;
        void *host;
        bool writable;
    } foreign[KXEN_ACCEL_MAX_FOREIGN];
};

/* soft.c: creates v's engine (hooks, RAM, boot registers); caller owns v's engine. */
int soft_engine_create(struct vcpu *v);

/* soft_trap.c */
bool soft_deliver_vector(struct vcpu *v, uint8_t vec, const uint64_t *err);
void soft_guest_exception(struct domain *d, struct vcpu *v, uc_err err, uint64_t rip);

/* soft_regs.c: the accel_ops register entries. */
int soft_get_regs(struct vcpu *v, struct vcpu_regs *r);
int soft_set_regs(struct vcpu *v, const struct vcpu_regs *r);
int soft_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
int soft_set_sregs(struct vcpu *v, const struct vcpu_sregs *s);

#endif
