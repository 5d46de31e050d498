/* CPU exceptions reach the guest's own IDT handlers on both accelerators: the handler sees the
 * vector and the faulting (or, for traps, the next) RIP, fixes RIP up and returns with iretq,
 * and the guest carries on. Page faults are not checked here: on soft an access outside RAM
 * crashes the domain (Unicorn does not report the faulting instruction; docs/kxend.md), so
 * the results would differ between the accelerators. */
#include <stddef.h>
#include <stdint.h>

#include "guest/tap.h"
#include "guest/traps.h"
#include "selftest.h"

static volatile struct {
    uint64_t vector, error, rip;
    unsigned count;
} seen;
static volatile uint64_t resume_at; /* where the handler sends the guest */

static bool exc_hook(struct trap_frame *f)
{
    if (f->vector >= 32 || !resume_at)
        return false;
    seen.vector = f->vector;
    seen.error = f->error;
    seen.rip = f->rip;
    seen.count++;
    f->rip = resume_at;
    resume_at = 0;
    return true;
}

void test_exceptions(void)
{
    uint64_t at, after;
    traps_set_hook(exc_hook);

    /* #UD: ud2, RIP at the instruction. */
    seen.count = 0;
    __asm__ volatile("lea 1f(%%rip), %0\n\t"
                     "lea 2f(%%rip), %1\n\t"
                     "movq %1, resume_at(%%rip)\n\t"
                     "1: ud2\n\t"
                     "2:"
                     : "=&r"(at), "=&r"(after)::"memory");
    tap_check(seen.count == 1 && seen.vector == 6 && seen.rip == at,
              "exceptions: #UD reaches the guest's handler at the ud2 (vector %lu rip 0x%lx, "
              "want 0x%lx) and the guest continues",
              (unsigned long)seen.vector, (unsigned long)seen.rip, (unsigned long)at);

    /* #DE: divide by zero, RIP at the div. */
    seen.count = 0;
    __asm__ volatile("lea 1f(%%rip), %0\n\t"
                     "lea 2f(%%rip), %1\n\t"
                     "movq %1, resume_at(%%rip)\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "movl $1, %%eax\n\t"
                     "xorl %%ecx, %%ecx\n\t"
                     "1: divl %%ecx\n\t"
                     "2:"
                     : "=&r"(at), "=&r"(after)::"rax", "rcx", "rdx", "memory");
    tap_check(seen.count == 1 && seen.vector == 0 && seen.rip == at,
              "exceptions: #DE reaches the guest's handler at the div (vector %lu rip 0x%lx, "
              "want 0x%lx)",
              (unsigned long)seen.vector, (unsigned long)seen.rip, (unsigned long)at);

    /* #BP: int3 is a trap, RIP after the instruction. */
    seen.count = 0;
    __asm__ volatile("lea 2f(%%rip), %0\n\t"
                     "movq %0, resume_at(%%rip)\n\t"
                     "int3\n\t"
                     "2:"
                     : "=&r"(after)::"memory");
    tap_check(seen.count == 1 && seen.vector == 3 && seen.rip == after,
              "exceptions: #BP (int3) reaches the handler with RIP after it (vector %lu rip "
              "0x%lx, want 0x%lx)",
              (unsigned long)seen.vector, (unsigned long)seen.rip, (unsigned long)after);

    traps_set_hook(NULL);
}
