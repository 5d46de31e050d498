/* IDT and trap dispatch. Exceptions are fatal for these guests: the handler reports vector,
 * error code and RIP on the hypervisor console and shuts the domain down with SHUTDOWN_crash,
 * so a test sees a crash reason instead of a hang. The event-channel callback vector goes to
 * evtchn_do_upcall(). */
#include <stdint.h>

#include <kxen/sched.h>

#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/traps.h"

struct idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type_attr; /* present, DPL 0, 64-bit interrupt gate (IF cleared on entry) */
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern char trap_stubs[];

static const char *const exception_names[32] = {"divide error",
                                                "debug",
                                                "NMI",
                                                "breakpoint",
                                                "overflow",
                                                "bound range",
                                                "invalid opcode",
                                                "device not available",
                                                "double fault",
                                                "coprocessor overrun",
                                                "invalid TSS",
                                                "segment not present",
                                                "stack fault",
                                                "general protection",
                                                "page fault",
                                                "reserved",
                                                "x87 FP",
                                                "alignment check",
                                                "machine check",
                                                "SIMD FP",
                                                "virtualization",
                                                "control protection"};

void traps_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(trap_stubs + 16 * v);
        idt[v] = (struct idt_gate){
            .off_lo = (uint16_t)a,
            .sel = 0x08,
            .ist = 0,
            .type_attr = 0x8e,
            .off_mid = (uint16_t)(a >> 16),
            .off_hi = (uint32_t)(a >> 32),
        };
    }
    traps_load();
}

void traps_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) desc = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(desc) : "memory");
}

static trap_hook_fn trap_hook;

void traps_set_hook(trap_hook_fn fn)
{
    trap_hook = fn;
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector == EVTCHN_CALLBACK_VECTOR) {
        evtchn_callback_vector();
        return;
    }
    if (trap_hook && trap_hook(f))
        return;
    /* A fault while reporting a fault: do not recurse, just stop the domain. */
    static int reporting;
    if (reporting++)
        guest_shutdown(SHUTDOWN_crash);
    const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector]
                       : f->vector < 32                             ? "exception"
                                                                    : "unexpected interrupt";
    uint64_t cr2 = 0;
    if (f->vector == 14)
        __asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
    guest_panic("trap: vector %lu (%s) error 0x%lx at rip 0x%lx rsp 0x%lx cr2 0x%lx",
                (unsigned long)f->vector, name, (unsigned long)f->error, (unsigned long)f->rip,
                (unsigned long)f->rsp, (unsigned long)cr2);
}
