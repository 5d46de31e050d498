/* The kvm accelerator's vCPU threads: one host thread per vCPU runs KVM_RUN in a loop and
 * routes each exit (port I/O, MMIO, hypercall port, hypercall MSR, HLT, triple fault) to the
 * shared core. Kicks are a signal plus kvm_run.immediate_exit, which closes the window between
 * the last check and the next KVM_RUN. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kxend/core.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kvm_priv.h"

#define KVM_SHUTDOWN_CRASH 3 /* SHUTDOWN_crash (kxen/sched.h) */
#define KVM_EFER_LMA (1ull << 10)
#define KVM_XEN_EPERM 1

static void flush_sync_regs(struct vcpu *v);

int kvm_kick_signal(void)
{
    return SIGRTMIN + 2;
}

/* The vCPU thread's kvm_run, for the signal handler. */
static __thread struct kvm_run *tls_run;

/* The signal interrupts KVM_RUN with EINTR; setting immediate_exit here too covers a signal
 * (a kick or the vCPU's timer) that lands between the last check and KVM_RUN. */
static void kick_handler(int sig)
{
    (void)sig;
    if (tls_run)
        __atomic_store_n(&tls_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static void kick_install(void)
{
    /* SA_RESTART keeps the core's own syscalls on the vCPU thread unaffected; KVM_RUN still
     * returns EINTR (the kernel never restarts it). */
    struct sigaction sa = {.sa_handler = kick_handler, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(kvm_kick_signal(), &sa, NULL);
}

void kvm_kick_signal_install(void)
{
    pthread_once(&kick_once, kick_install);
}

/* Hypercall page entry: mov $nr,%eax; out %eax,$port; ret; int3 padding. The `out` leaves every
 * argument register untouched; kxend reads them on the I/O exit and writes rax back. */
void kvm_hypercall_entry(unsigned nr, uint8_t e[32])
{
    uint32_t n = nr;
    memset(e, 0xcc, 32);
    e[0] = 0xb8;
    memcpy(e + 1, &n, 4);
    e[5] = 0xe7;
    e[6] = KXEN_KVM_HCALL_PORT;
    e[7] = 0xc3;
}

static void crash(struct vcpu *v, const char *why, unsigned long long detail)
{
    log_err("kvm: dom%u vcpu%u: %s (0x%llx): domain crashed", v->dom->domid, v->id, why, detail);
    console_hv_printf("(XEN) d%u v%u crashed: %s (%#llx)\n", v->dom->domid, v->id, why, detail);
    domain_shutdown(v->dom, KVM_SHUTDOWN_CRASH);
}

/* Register state of the current exit: from the kvm_run sync area when the kernel fills it. */
static int exit_regs(struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (kvm_dom_of(v->dom)->sync_regs) {
        /* Only the general registers are synced on every exit: filling the special ones
         * costs every exit (~2 us nested), and only hypercalls need them (mode, CPL). */
        *r = kv->run->s.regs.regs;
        return ioctl(kv->fd, KVM_GET_SREGS, s) < 0 ? -errno : 0;
    }
    if (ioctl(kv->fd, KVM_GET_REGS, r) < 0 || ioctl(kv->fd, KVM_GET_SREGS, s) < 0)
        return -errno;
    return 0;
}

static void set_rax(struct vcpu *v, uint64_t rax)
{
    struct vcpu_regs r;
    if (kvm_vcpu_get_regs(v, &r) == 0) {
        r.rax = rax;
        if (kvm_vcpu_set_regs(v, &r) == 0)
            return;
    }
    crash(v, "cannot write the hypercall result", rax);
}

/* The first -ENOSYS per hypercall and sub-op of a domain is logged: that list is what a
 * guest (Linux) needed and did not get. The sub-op is the first argument, as for every
 * multiplexed Xen hypercall (a plain one logs its first argument's value, harmlessly). */
static void note_enosys(struct vcpu *v, uint64_t nr, uint64_t sub)
{
    struct kvm_dom *kd = kvm_dom_of(v->dom);
    if (nr >= ARRAY_SIZE(kd->enosys_seen))
        return;
    uint64_t bit = 1ull << KXEN_MIN(sub, (uint64_t)63);
    if (atomic_fetch_or(&kd->enosys_seen[nr], bit) & bit)
        return;
    const char *name = hypercall_name((unsigned)nr);
    log_info("kvm: dom%u: hypercall %s (%llu) sub-op %llu: -ENOSYS (logged once)", v->dom->domid,
             name ? name : "unknown", (unsigned long long)nr, (unsigned long long)sub);
}

int64_t kvm_hypercall_call(struct vcpu *v, bool cpl0, uint64_t nr, const uint64_t args[5])
{
    int64_t ret = cpl0 ? hypercall_dispatch(v, nr, args) : -KVM_XEN_EPERM;
    if (ret == -ENOSYS)
        note_enosys(v, nr, args[0]);
    return ret;
}

/* Xen's HVM convention: in long mode nr=rax, args rdi rsi rdx r10 r8; in 32-bit mode nr=eax,
 * args ebx ecx edx esi edi. Hypercalls from CPL > 0 fail with -EPERM as on Xen. */
static void handle_hypercall(struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (exit_regs(v, &r, &s) < 0) {
        crash(v, "cannot read registers for a hypercall", 0);
        return;
    }
    bool lm = (s.efer & KVM_EFER_LMA) && s.cs.l;
    uint64_t nr, args[5];
    if (lm) {
        nr = r.rax;
        args[0] = r.rdi, args[1] = r.rsi, args[2] = r.rdx, args[3] = r.r10, args[4] = r.r8;
    } else {
        nr = (uint32_t)r.rax;
        args[0] = (uint32_t)r.rbx, args[1] = (uint32_t)r.rcx, args[2] = (uint32_t)r.rdx;
        args[3] = (uint32_t)r.rsi, args[4] = (uint32_t)r.rdi;
    }
    int64_t ret = kvm_hypercall_call(v, s.ss.dpl == 0, nr, args);
    set_rax(v, lm ? (uint64_t)ret : (uint32_t)ret);
}

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    bool write = run->io.direction == KVM_EXIT_IO_OUT;
    if (run->io.port == KXEN_KVM_HCALL_PORT && write && run->io.size == 4 && run->io.count == 1) {
        handle_hypercall(v);
        return;
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    unsigned size = run->io.size;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint32_t val = 0;
        if (write)
            memcpy(&val, data, size);
        io_port_access(v, run->io.port, size, write, &val);
        if (!write)
            memcpy(data, &val, size);
    }
}

static void handle_mmio(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    unsigned len = KXEN_MIN(run->mmio.len, 8u);
    uint64_t val = 0;
    if (run->mmio.is_write)
        memcpy(&val, run->mmio.data, len);
    io_mmio_access(v, run->mmio.phys_addr, len, run->mmio.is_write, &val);
    if (!run->mmio.is_write)
        memcpy(run->mmio.data, &val, len);
}

/* The guest installs its hypercall page: value = page gpa | page index (only index 0 exists,
 * as on Xen for a one-page hypercall area). A bad value gets #GP, as on real hardware. */
static void handle_wrmsr(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    struct domain *d = v->dom;
    run->msr.error = 1;
    if (kvm_hvm_kernel_entry(v))
        return;
    if (run->msr.index != KXEN_HYPERCALL_MSR)
        return;
    uint64_t gpa = run->msr.data & ~(KXEN_PAGE_SIZE - 1);
    unsigned idx = run->msr.data & (KXEN_PAGE_SIZE - 1);
    if (idx != 0) {
        log_dom_warn(d->domid,
                     "kvm: dom%u vcpu%u: hypercall MSR write 0x%llx: page index %u (only 0 "
                     "exists): #GP",
                     d->domid, v->id, (unsigned long long)run->msr.data, idx);
        return;
    }
    if (gpa >= d->ram_size || d->ram_size - gpa < KXEN_PAGE_SIZE) {
        log_dom_warn(d->domid,
                     "kvm: dom%u vcpu%u: hypercall MSR write 0x%llx: page outside the domain's "
                     "%llu MiB of RAM: #GP",
                     d->domid, v->id, (unsigned long long)run->msr.data,
                     (unsigned long long)(d->ram_size >> 20));
        return;
    }
    int rc = hypercall_page_fill(d, gpa);
    if (rc < 0) {
        log_dom_warn(d->domid, "kvm: dom%u: hypercall page at 0x%llx: %s", d->domid,
                     (unsigned long long)gpa, strerror(-rc));
        return;
    }
    run->msr.error = 0;
}

/* KVM could not handle something itself (suberror 1: an instruction it had to emulate and
 * could not). Log everything that names the instruction: KVM's own data words (recent kernels
 * put the GPA, instruction length and bytes there), the guest's rip and mode, and the bytes at
 * rip read from guest RAM, so the instruction can be found with objdump. */
static void log_internal_error(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    struct domain *d = v->dom;
    char buf[256];
    int n = 0;
    unsigned nd = KXEN_MIN(run->internal.ndata, (uint32_t)ARRAY_SIZE(run->internal.data));
    for (unsigned i = 0; i < nd && n < (int)sizeof(buf) - 20; i++)
        n += snprintf(buf + n, sizeof(buf) - n, " %llx", (unsigned long long)run->internal.data[i]);
    buf[n] = 0;
    log_err("kvm: dom%u vcpu%u: internal error suberror %u, %u data words:%s", d->domid, v->id,
            run->internal.suberror, run->internal.ndata, nd ? buf : " (none)");
    /* Emulation failures (Linux 5.14+) carry the bytes KVM fetched: flags, size, bytes. */
    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && nd >= 3 &&
        (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        unsigned len = KXEN_MIN(run->emulation_failure.insn_size,
                                (unsigned)sizeof(run->emulation_failure.insn_bytes));
        n = 0;
        for (unsigned i = 0; i < len; i++)
            n += snprintf(buf + n, sizeof(buf) - n, " %02x", run->emulation_failure.insn_bytes[i]);
        buf[n] = 0;
        log_err("kvm: dom%u vcpu%u: instruction KVM could not emulate (%u bytes fetched):%s",
                d->domid, v->id, len, len ? buf : " (none)");
    }
    struct kvm_regs r;
    struct kvm_sregs s;
    if (exit_regs(v, &r, &s) < 0) {
        log_err("kvm: dom%u vcpu%u: cannot read registers after the internal error", d->domid,
                v->id);
        return;
    }
    uint64_t lin = s.cs.base + r.rip, gpa = lin;
    int trc = 0;
    if (s.cr0 & 0x80000000u) {
        struct kvm_translation t = {.linear_address = lin};
        trc = ioctl(kvm_vcpu_of(v)->fd, KVM_TRANSLATE, &t) < 0 ? -errno : t.valid ? 0 : -EFAULT;
        gpa = t.physical_address;
    }
    n = 0;
    if (trc == 0 && gpa < d->ram_size) {
        uint64_t len = KXEN_MIN(d->ram_size - gpa, (uint64_t)15);
        for (uint64_t i = 0; i < len; i++)
            n += snprintf(buf + n, sizeof(buf) - n, " %02x", d->ram[gpa + i]);
    } else {
        n = snprintf(buf, sizeof(buf),
                     trc ? " (rip not mapped by the guest: %s)" : " (rip not in RAM)",
                     trc ? strerror(-trc) : "");
    }
    log_err("kvm: dom%u vcpu%u: at rip 0x%llx (cs 0x%x %s, cpl %u, gpa 0x%llx) rsp 0x%llx "
            "rflags 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx; bytes at rip:%s",
            d->domid, v->id, (unsigned long long)r.rip, s.cs.selector,
            (s.efer & KVM_EFER_LMA) && s.cs.l ? "64-bit"
            : s.cs.db                         ? "32-bit"
                                              : "16-bit",
            s.cs.dpl, (unsigned long long)gpa, (unsigned long long)r.rsp,
            (unsigned long long)r.rflags, (unsigned long long)s.cr0, (unsigned long long)s.cr3,
            (unsigned long long)s.cr4, (unsigned long long)s.efer, buf);
}

static enum vcpu_exit_kind exit_kind(const struct kvm_run *run)
{
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return run->io.port == KXEN_KVM_HCALL_PORT ? VCPU_EXIT_HYPERCALL : VCPU_EXIT_IO;
    case KVM_EXIT_MMIO:
        return VCPU_EXIT_MMIO;
    case KVM_EXIT_X86_WRMSR: /* the hypercall page's installation */
        return VCPU_EXIT_HYPERCALL;
    case KVM_EXIT_HLT:
        return VCPU_EXIT_HALT;
    default:
        return VCPU_EXIT_OTHER;
    }
}

/* Returns false when the vCPU thread must leave (domain gone, shut down or crashed). */
static bool handle_exit(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    vcpu_count_exit(v, exit_kind(run));
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(v);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(v);
        return true;
    case KVM_EXIT_X86_WRMSR:
        handle_wrmsr(v);
        return true;
    case KVM_EXIT_X86_RDMSR:
        run->msr.error = 1;
        return true;
    case KVM_EXIT_XEN: /* a hypercall KVM's Xen intercept sent here (kvm_xen.c) */
        if (kvm_xen_handle_exit(v))
            return true;
        crash(v, "unexpected KVM Xen exit type", run->xen.type);
        return false;
    case KVM_EXIT_HLT: {
        /* Halted: blocked until an event (Xen's HVM hlt); with IF=0 only a kick ends it. */
        int expect = VCPU_RUNNABLE;
        if (atomic_compare_exchange_strong(&v->state, &expect, VCPU_BLOCKED)) {
            v->halted_noirq = !run->if_flag;
            vcpu_runstate_set(v, 2 /* RUNSTATE_blocked */);
            flush_sync_regs(v);
            vcpu_wait(v);
        }
        return true;
    }
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR:
    case KVM_EXIT_IOAPIC_EOI: /* split irqchip: no IOAPIC routes, nothing to complete */
        return true;          /* the loop delivers pending upcalls before re-entry */
    case KVM_EXIT_SHUTDOWN:
        crash(v, "triple fault", 0);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        crash(v, "VM entry failed, hardware reason", run->fail_entry.hardware_entry_failure_reason);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        log_internal_error(v);
        crash(v, "KVM internal error, suberror", run->internal.suberror);
        return false;
    default:
        crash(v, "unexpected KVM exit reason", run->exit_reason);
        return false;
    }
}

/* Delivers the callback vector like an external interrupt when the guest can take one now,
 * else asks KVM to exit as soon as it can (Xen re-injects while upcall_pending stays set). */
static void arm_upcall(struct vcpu *v, bool want)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    struct kvm_run *run = kv->run;
    run->request_interrupt_window = 0;
    if (!want || !v->upcall_vector)
        return;
    if (run->ready_for_interrupt_injection && run->if_flag) {
        struct kvm_interrupt irq = {.irq = v->upcall_vector};
        if (ioctl(kv->fd, KVM_INTERRUPT, &irq) < 0)
            log_dom_warn(v->dom->domid, "kvm: dom%u vcpu%u: KVM_INTERRUPT: %s", v->dom->domid,
                         v->id, strerror(errno));
        return;
    }
    run->request_interrupt_window = 1;
}

/* Register writes held in the sync area reach KVM before anyone else reads the vCPU. */
static void flush_sync_regs(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (kv->run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
        if (ioctl(kv->fd, KVM_SET_REGS, &kv->run->s.regs.regs) < 0)
            crash(v, "cannot write back registers", 0);
        kv->run->kvm_dirty_regs = 0;
    }
}

static void reload_sync_regs(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (kvm_dom_of(v->dom)->sync_regs) {
        ioctl(kv->fd, KVM_GET_REGS, &kv->run->s.regs.regs);
    }
}

static bool must_leave(struct vcpu *v)
{
    struct domain *d = v->dom;
    int ds = atomic_load(&d->state);
    return atomic_load(&kvm_dom_of(d)->stopping) || ds == DOM_SHUTDOWN || ds == DOM_DYING ||
           atomic_load(&v->state) == VCPU_STOPPED;
}

/* A secondary vCPU of a LAPIC domain is DOWN until the guest starts it with INIT/SIPI, which
 * KVM handles while the vCPU sits in KVM_RUN: it must not park. */
static bool must_park(struct vcpu *v)
{
    int ds = atomic_load(&v->dom->state);
    return ds == DOM_PAUSED || ds == DOM_BUILDING ||
           (atomic_load(&v->state) == VCPU_DOWN && !kvm_dom_of(v->dom)->lapic);
}

/* The core learns that a LAPIC domain's secondary vCPU came up (vcpu_up's bookkeeping). */
static void note_sipi(struct vcpu *v)
{
    if (!kvm_dom_of(v->dom)->lapic || atomic_load(&v->state) != VCPU_DOWN ||
        !kvm_irqchip_vcpu_started(v))
        return;
    int expect = VCPU_DOWN;
    if (atomic_compare_exchange_strong(&v->state, &expect, VCPU_RUNNABLE))
        vcpu_runstate_set(v, 0 /* RUNSTATE_running */);
}

/* Paused domain or a vCPU not brought up: sleep until a kick. The timed wait is a safety
 * net only; kicks broadcast the condition. */
static void park(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    flush_sync_regs(v);
    pthread_mutex_lock(&kv->park_lock);
    while (must_park(v) && !must_leave(v)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&kv->park_cond, &kv->park_lock, &ts);
    }
    pthread_mutex_unlock(&kv->park_lock);
    reload_sync_regs(v); /* a restore may have set registers meanwhile */
}

/* Xen timers (singleshot, poll timeout, watchdog) must fire while the guest runs without
 * exits: a per-thread POSIX timer signals this thread at the next deadline, which interrupts
 * KVM_RUN; domain_sync_before_entry() then fires the timer and raises the upcall. */
struct deadline_timer {
    timer_t id;
    bool ok;
    uint64_t armed; /* deadline (kxen_system_time_ns clock) currently armed, 0 = none */
};

static void deadline_timer_init(struct deadline_timer *t)
{
    struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = kvm_kick_signal()};
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    t->ok = timer_create(CLOCK_MONOTONIC, &sev, &t->id) == 0;
    t->armed = 0;
}

static void deadline_timer_arm(struct deadline_timer *t, uint64_t dl)
{
    if (!t->ok || dl == t->armed)
        return;
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (dl) {
        uint64_t now = kxen_system_time_ns();
        uint64_t rel = dl > now ? dl - now : 1;
        its.it_value.tv_sec = (time_t)(rel / 1000000000ull);
        its.it_value.tv_nsec = (long)(rel % 1000000000ull);
    }
    timer_settime(t->id, 0, &its, NULL);
    t->armed = dl;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    struct kvm_run *run = kv->run;
    tls_run = run;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kvm_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    struct deadline_timer timer;
    deadline_timer_init(&timer);
    reload_sync_regs(v); /* the sync area is valid before the first exit too */

    while (!must_leave(v)) {
        if (must_park(v)) {
            park(v);
            continue;
        }
        if (atomic_load(&v->state) == VCPU_BLOCKED) {
            flush_sync_regs(v);
            vcpu_wait(v);
            continue;
        }
        uint64_t again = 0; /* a LAPIC upcall still pending is looked at again then */
        if (kvm_dom_of(v->dom)->lapic) {
            kvm_xen_vcpu_sync(v);
            again = kvm_irqchip_upcall(v, domain_sync_before_entry(v));
        } else {
            arm_upcall(v, domain_sync_before_entry(v));
        }
        uint64_t dl = vcpu_next_deadline(v);
        deadline_timer_arm(&timer, again && (!dl || again < dl) ? again : dl);
        if (v->runstate != 0)
            vcpu_runstate_set(v, 0 /* RUNSTATE_running */);
        uint64_t t0 = kxen_now_ns();
        int rc = ioctl(kv->fd, KVM_RUN, 0);
        int err = errno;
        atomic_fetch_add(&v->cpu_time_ns, kxen_now_ns() - t0);
        /* A kick after this store is seen by the checks above or by the next KVM_RUN. */
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (rc < 0) {
            if (err == EINTR || err == EAGAIN)
                continue;
            crash(v, "KVM_RUN failed, errno", (unsigned)err);
            break;
        }
        note_sipi(v);
        if (!handle_exit(v))
            break;
    }
    flush_sync_regs(v);
    /* An exit KVM has not finished (port input, MMIO read) completes only inside KVM_RUN: one
     * with immediate_exit finishes it without entering the guest, so registers read after the
     * join (save) are exact. */
    __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (ioctl(kv->fd, KVM_RUN, 0) == 0 && kvm_dom_of(v->dom)->sync_regs)
        ioctl(kv->fd, KVM_GET_REGS, &run->s.regs.regs);
    __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (timer.ok)
        timer_delete(timer.id);
    tls_run = NULL;
    atomic_store(&kv->thread_running, false);
    return NULL;
}

uint64_t kvm_accel_layout_id(void)
{
    return KXEN_KVM_LAYOUT_ID;
}

int kvm_accel_start(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    kvm_kick_signal_install();
    atomic_store(&kd->stopping, false);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpus[i];
        struct kvm_vcpu *kv = v ? kvm_vcpu_of(v) : NULL;
        if (!kv || kv->thread_started)
            continue;
        atomic_store(&kv->thread_running, true);
        int rc = pthread_create(&kv->thread, NULL, vcpu_thread, v);
        if (rc != 0) {
            atomic_store(&kv->thread_running, false);
            kvm_accel_stop(d);
            return -rc;
        }
        pthread_mutex_lock(&kv->park_lock);
        kv->thread_started = true;
        pthread_mutex_unlock(&kv->park_lock);
        char name[16];
        snprintf(name, sizeof(name), "kvm-d%u-v%u", d->domid, v->id);
        pthread_setname_np(kv->thread, name);
    }
    kd->started = true;
    return 0;
}

void kvm_accel_kick(struct vcpu *v)
{
    struct kvm_vcpu *kv = v ? kvm_vcpu_of(v) : NULL;
    if (!kv)
        return;
    __atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&kv->park_lock);
    pthread_cond_broadcast(&kv->park_cond);
    /* Under the lock: stop() clears thread_started before joining, so the id stays valid. */
    if (kv->thread_started && atomic_load(&kv->thread_running) &&
        !pthread_equal(pthread_self(), kv->thread))
        pthread_kill(kv->thread, kvm_kick_signal());
    pthread_mutex_unlock(&kv->park_lock);
}

void kvm_accel_stop(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    if (!kd)
        return;
    atomic_store(&kd->stopping, true);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpus[i];
        struct kvm_vcpu *kv = v ? kvm_vcpu_of(v) : NULL;
        if (!kv)
            continue;
        kvm_accel_kick(v);
        pthread_mutex_lock(&v->wait_lock); /* wakes a vCPU inside vcpu_wait() */
        pthread_cond_broadcast(&v->wait_cond);
        pthread_mutex_unlock(&v->wait_lock);
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpus[i];
        struct kvm_vcpu *kv = v ? kvm_vcpu_of(v) : NULL;
        if (!kv)
            continue;
        pthread_mutex_lock(&kv->park_lock);
        bool joinable = kv->thread_started;
        kv->thread_started = false;
        pthread_mutex_unlock(&kv->park_lock);
        if (joinable && pthread_equal(pthread_self(), kv->thread)) {
            pthread_detach(kv->thread); /* stopped from its own hypercall: cannot join */
            continue;
        }
        if (joinable)
            pthread_join(kv->thread, NULL);
    }
    kd->started = false;
}
