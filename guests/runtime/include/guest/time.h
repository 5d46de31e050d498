/* Time and waiting: system time from vcpu_time_info (pvclock), the VIRQ_TIMER singleshot
 * timer, and the one blocking primitive the runtime uses (wait_until). */
#ifndef GUEST_TIME_H
#define GUEST_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* Nanoseconds of system time (the clock timer deadlines use). */
uint64_t monotonic_ns(void);
/* Binds VIRQ_TIMER on vCPU 0. */
int timer_init(void);
/* Arms the singleshot timer at absolute system time abs_ns (VCPUOP_set_singleshot_timer). */
int timer_set_deadline(uint64_t abs_ns);
/* VIRQ_TIMER events seen so far. */
extern volatile uint64_t timer_fired_count;

/* Blocks (SCHEDOP_block) until cond(ctx) is true, processing events while waiting. With
 * deadline_ns != 0 gives up at that system time with -ETIMEDOUT. The check-then-block race is
 * closed as Xen guests close it: interrupts off and upcalls masked while checking, and block
 * returns at once when an event is already pending. A timer backstop (WAIT_BACKSTOP_NS)
 * re-checks periodically so a missed wake-up costs time, not a hang. */
int wait_until(bool (*cond)(void *ctx), void *ctx, uint64_t deadline_ns);
#define WAIT_BACKSTOP_NS 20000000ULL

void sleep_ns(uint64_t ns);

#endif
