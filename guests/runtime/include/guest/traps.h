/* The frame traps.S builds for every vector (lowest address first). */
#ifndef GUEST_TRAPS_H
#define GUEST_TRAPS_H

#include <stdbool.h>
#include <stdint.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU (or by kxend on soft) */
};

void trap_dispatch(struct trap_frame *f);

/* A test guest may take a trap itself (e.g. to check that int3 is reported): the hook returns
 * true when it handled the trap (it may advance f->rip). */
typedef bool (*trap_hook_fn)(struct trap_frame *f);
void traps_set_hook(trap_hook_fn fn);

#endif
