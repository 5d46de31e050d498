/* Hypercalls through the hypercall page: entry nr at hypercall_page + 32 * nr, Xen's x86-64
 * register convention (rax = number in / result out, args in rdi, rsi, rdx, r10, r8). The
 * page's content is kxend's (vmcall or a trapped port write); the guest only calls into it. */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/xen.h>

extern char hypercall_page[4096];

#define HYPERCALL_PAGE_ENTRIES (4096 / KXEN_HYPERCALL_STUB_SIZE)

/* Raw call with up to five arguments. A number past the page has no entry: -ENOSYS, as Xen
 * answers an unknown hypercall. */
static inline long hypercall5(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3,
                              unsigned long a4, unsigned long a5)
{
    if (nr >= HYPERCALL_PAGE_ENTRIES)
        return -XEN_ENOSYS;
    register unsigned long r10 __asm__("r10") = a4;
    register unsigned long r8 __asm__("r8") = a5;
    unsigned long rax = nr;
    void *entry = hypercall_page + nr * KXEN_HYPERCALL_STUB_SIZE;
    __asm__ volatile("call *%[entry]"
                     : "+a"(rax), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : [entry] "b"(entry)
                     : "memory", "rcx", "r11", "r9");
    return (long)rax;
}

#define hypercall0(nr) hypercall5((nr), 0, 0, 0, 0, 0)
#define hypercall1(nr, a) hypercall5((nr), (unsigned long)(a), 0, 0, 0, 0)
#define hypercall2(nr, a, b) hypercall5((nr), (unsigned long)(a), (unsigned long)(b), 0, 0, 0)
#define hypercall3(nr, a, b, c)                                                                    \
    hypercall5((nr), (unsigned long)(a), (unsigned long)(b), (unsigned long)(c), 0, 0)

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}
static inline long HYPERVISOR_console_io(int cmd, unsigned long count, const void *buf)
{
    return hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}
static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}
static inline long HYPERVISOR_memory_op(unsigned cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}
static inline long HYPERVISOR_hvm_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_hvm_op, cmd, arg);
}
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned vcpu, void *arg)
{
    return hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}
static inline long HYPERVISOR_set_timer_op(uint64_t timeout_abs_ns)
{
    return hypercall1(__HYPERVISOR_set_timer_op, timeout_abs_ns);
}
static inline long HYPERVISOR_grant_table_op(unsigned cmd, void *args, unsigned count)
{
    return hypercall3(__HYPERVISOR_grant_table_op, cmd, args, count);
}
static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

/* Installs the hypercall page through the MSR CPUID names (PVH path) or checks that the
 * domain builder filled it (PV path). Set by the boot code; see setup.c. */
int hypercall_page_install(void);

#endif
