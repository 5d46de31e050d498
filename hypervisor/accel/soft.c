/* The `soft` accelerator: Unicorn 2.0.1 engines (UC_MODE_64), designed around the limits in
 * docs/soft-accel.md:
 * - all vCPUs of a domain run on ONE host thread, round robin, so guest-shared words are only
 *   changed while no vCPU of the domain executes (lock prefixes are not atomic across engines);
 * - a kick of a running vCPU, and a per-domain ticker thread ending timeslices, set a flag that
 *   a block hook turns into uc_emu_stop() at the start of a block, where RIP is exact (Unicorn's
 *   own timeout spins a polling thread, too costly on a small host);
 * - an idle runner waits in the domain's event-channel epoll set: kicks are eventfd writes
 *   made outside the lock, and dom0 notifies for this domain wake it without a thread hop;
 * - hypercalls: the page's entries for calls that never block are `out %eax, $0xe8`, run
 *   inside the I/O hook (~0.2 us a round trip); those that block or change vCPU state (sched_op,
 * vcpu_op) are `vmcall`: UC_HOOK_INSN_INVALID gives the exact RIP, so the hook can stop the engine;
 * - interrupts (the event-channel upcall vector) and guest exceptions are delivered by hand
 *   through the guest IDT (soft_trap.c); register access is soft_regs.c;
 * - dirty tracking is a UC_HOOK_MEM_WRITE hook over RAM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#include <kxen/xen.h>

#include "../kxend/core.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/accel.h"
#include "kxend/evtchn.h"
#include "kxend/guest_mem.h"
#include "soft_priv.h"

#define SLICE_ONE_NS (50ull * 1000 * 1000) /* one runnable vCPU: only timers/kicks end it */
#define SLICE_RR_NS (5ull * 1000 * 1000)   /* several runnable vCPUs: round robin */
#define RESTOP_NS (1000ull * 1000)         /* re-send a stop that raced with uc_emu_start */
/* Dom0 notifies raised in guest code are held until a hypercall makes the vCPU leave guest
 * code or the engine stops, at most this many blocks later (a few microseconds of guest code): see
 * evtchn_dom0_defer_begin(). */
#define HOLD_MAX_BLOCKS 256

/* Engine creation and teardown are serialised across domains: uc_open/uc_close initialise
 * and free TCG state whose thread safety Unicorn 2.0.1 does not document, while other
 * domains' engines run on their own threads. */
static pthread_mutex_t uc_life_lock = PTHREAD_MUTEX_INITIALIZER;

/* Unicorn finishes setting an engine up at its first use, and the first engine of a process
 * costs ~20 ms more (the dynamic linker binds libunicorn's symbols as they are first called):
 * the probe pays that once at kxend's start, not the first domain's start, restore or
 * incoming migration. */
static int soft_probe(void)
{
    uc_engine *uc;
    pthread_mutex_lock(&uc_life_lock);
    uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    if (err == UC_ERR_OK) {
        uint64_t rip = 0;
        uc_reg_write(uc, UC_X86_REG_RIP, &rip);
        uc_close(uc);
    }
    pthread_mutex_unlock(&uc_life_lock);
    return err == UC_ERR_OK ? 0 : -ENODEV;
}

static int soft_domain_init(struct domain *d)
{
    struct soft_dom *sd = calloc(1, sizeof(*sd));
    if (!sd)
        return -ENOMEM;
    sd->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sd->wake_fd < 0) {
        free(sd);
        return -errno;
    }
    sd->wait_fd = -1;
    pthread_mutex_init(&sd->lock, NULL);
    pthread_cond_init(&sd->tick_cond, NULL);
    sd->ticker_until = UINT64_MAX;
    d->accel_priv = sd;
    return 0;
}

static void soft_domain_destroy(struct domain *d)
{
    struct soft_dom *sd = d->accel_priv;
    if (!sd)
        return;
    pthread_mutex_destroy(&sd->lock);
    pthread_cond_destroy(&sd->tick_cond);
    if (sd->own_wait_fd)
        close(sd->wait_fd);
    close(sd->wake_fd); /* also leaves the evtchn set it sat in */
    free(sd);
    d->accel_priv = NULL;
}

static int soft_vcpu_init(struct vcpu *v, const struct vcpu_boot *boot)
{
    if (boot->mode != VCPU_BOOT_LONG64)
        return -EINVAL; /* Unicorn cannot switch from 32-bit to long mode */
    struct soft_vcpu *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return -ENOMEM;
    sv->boot = *boot;
    sv->exc = -1;
    v->accel_priv = sv;
    return 0;
}

static void soft_vcpu_destroy(struct vcpu *v)
{
    struct soft_vcpu *sv = v->accel_priv;
    if (!sv)
        return;
    if (sv->uc) {
        pthread_mutex_lock(&uc_life_lock);
        uc_close(sv->uc);
        pthread_mutex_unlock(&uc_life_lock);
    }
    free(sv);
    v->accel_priv = NULL;
}

/* ---- hooks (run on the domain's runner thread, inside uc_emu_start) ---- */

/* After a hypercall: does the vCPU have to leave guest code? It does when the call changed its
 * state (blocked, shut down, paused), another thread kicked it, or an event became deliverable
 * to it (a send to its own port does not kick: the upcall is delivered at the next entry). */
static bool hypercall_wants_exit(struct vcpu *v)
{
    if (atomic_load(&v->state) != VCPU_RUNNABLE || atomic_load(&v->kicked) ||
        atomic_load(&v->dom->state) != DOM_RUNNING)
        return true;
    uint64_t gpa = vcpu_info_gpa(v);
    uint8_t pm[2]; /* evtchn_upcall_pending, evtchn_upcall_mask */
    if (!v->upcall_vector || gpa == KXEN_NO_GPA || copy_from_guest_phys(v->dom, pm, gpa, 2) ||
        !pm[0] || pm[1])
        return false;
    struct soft_vcpu *sv = v->accel_priv;
    uint64_t rflags;
    uc_reg_read(sv->uc, UC_X86_REG_RFLAGS, &rflags);
    return rflags & RFLAGS_IF;
}

/* A hypercall may have armed a timer earlier than the slice end: wake the ticker for it. */
static void hypercall_update_slice(struct vcpu *v)
{
    struct soft_dom *sd = v->dom->accel_priv;
    uint64_t dl = vcpu_next_deadline(v);
    if (!dl)
        return;
    pthread_mutex_lock(&sd->lock);
    if (dl < sd->slice_end_ns) {
        sd->slice_end_ns = dl;
        pthread_cond_signal(&sd->tick_cond);
    }
    pthread_mutex_unlock(&sd->lock);
}

/* Reads Xen's x86-64 hypercall arguments (rdi, rsi, rdx, r10, r8) and runs the call. */
static uint64_t hypercall_run(uc_engine *uc, struct vcpu *v, uint64_t nr)
{
    int ids[5] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_R10, UC_X86_REG_R8};
    uint64_t args[5];
    void *ptrs[5];
    for (int i = 0; i < 5; i++)
        ptrs[i] = &args[i];
    uc_reg_read_batch(uc, ids, ptrs, 5);
    return (uint64_t)hypercall_dispatch(v, nr, args);
}

/* The slow entry (`vmcall`, for hypercalls that block or change vCPU state): RIP is exact in
 * this hook, so the engine can stop right here. */
static bool hook_invalid(uc_engine *uc, void *opaque)
{
    struct vcpu *v = opaque;
    struct soft_vcpu *sv = v->accel_priv;
    uint64_t rip, rax;
    uint8_t insn[3];

    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    if (copy_from_guest_phys(v->dom, insn, rip, 3) || insn[0] != 0x0f || insn[1] != 0x01 ||
        insn[2] != 0xc1) {
        sv->exc = 6; /* #UD: a real invalid opcode */
        return false;
    }
    vcpu_count_exit(v, VCPU_EXIT_HYPERCALL);
    uc_reg_read(uc, UC_X86_REG_RAX, &rax);
    rax = hypercall_run(uc, v, rax);
    rip += 3;
    uc_reg_write(uc, UC_X86_REG_RAX, &rax);
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
    if (hypercall_wants_exit(v)) {
        sv->hc_stop = true;
        evtchn_dom0_defer_flush(); /* leaving guest code now: no need to wait for the unwind */
        uc_emu_stop(uc);
    } else {
        hypercall_update_slice(v);
    }
    return true;
}

/* The fast entry (`out %eax, $KXEN_HYPERCALL_PORT`): handled entirely inside the I/O hook.
 * RIP is not exact here (docs/soft-accel.md), so the engine must not stop in this hook: when the
 * vCPU has to leave, hook_block stops it at the next block start (the stub's return). */
static void fast_hypercall(uc_engine *uc, struct vcpu *v, uint32_t nr)
{
    struct soft_vcpu *sv = v->accel_priv;
    vcpu_count_exit(v, VCPU_EXIT_HYPERCALL);
    uint64_t rax = hypercall_run(uc, v, nr);
    uc_reg_write(uc, UC_X86_REG_RAX, &rax);
    if (hypercall_wants_exit(v)) {
        sv->hc_stop = true;
        evtchn_dom0_defer_flush();
        atomic_store(&sv->stop_wanted, true);
    } else {
        hypercall_update_slice(v);
    }
}

/* Hypercalls that block or change a vCPU's state keep the vmcall entry (they stop the engine
 * at once); the others go through the port, ~30x cheaper. */
static bool hypercall_is_slow(unsigned nr)
{
    return nr == __HYPERVISOR_sched_op || nr == __HYPERVISOR_vcpu_op ||
           nr == __HYPERVISOR_sched_op_compat;
}

static void soft_hypercall_entry(unsigned nr, uint8_t e[32])
{
    uint32_t n = nr;
    memset(e, 0xcc, 32); /* int3 padding: a stray jump into the page faults loudly */
    e[0] = 0xb8;         /* mov $nr, %eax */
    memcpy(e + 1, &n, 4);
    if (hypercall_is_slow(nr)) {
        e[5] = 0x0f; /* vmcall */
        e[6] = 0x01;
        e[7] = 0xc1;
        e[8] = 0xc3; /* ret */
    } else {
        e[5] = 0xe7; /* out %eax, $port */
        e[6] = KXEN_HYPERCALL_PORT;
        e[7] = 0xc3; /* ret */
    }
}

static int hook_cpuid(uc_engine *uc, void *opaque)
{
    struct vcpu *v = opaque;
    uint64_t rax, rcx;
    uint32_t out[4];
    uc_reg_read(uc, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
    cpuid_emulate(v, (uint32_t)rax, (uint32_t)rcx, out);
    uint64_t a = out[0], b = out[1], c = out[2], dd = out[3];
    uc_reg_write(uc, UC_X86_REG_RAX, &a);
    uc_reg_write(uc, UC_X86_REG_RBX, &b);
    uc_reg_write(uc, UC_X86_REG_RCX, &c);
    uc_reg_write(uc, UC_X86_REG_RDX, &dd);
    return 1;
}

static uint32_t hook_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    (void)uc;
    uint32_t val = 0;
    vcpu_count_exit(opaque, VCPU_EXIT_IO);
    io_port_access(opaque, (uint16_t)port, (unsigned)size, false, &val);
    return val;
}

static void hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
    if (port == KXEN_HYPERCALL_PORT && size == 4) {
        fast_hypercall(uc, opaque, value);
        return;
    }
    vcpu_count_exit(opaque, VCPU_EXIT_IO);
    io_port_access(opaque, (uint16_t)port, (unsigned)size, true, &value);
}

/* Runs before the first instruction of every translated block, so nothing of the block has
 * executed: stopping here leaves RIP exact. uc_emu_stop() from another thread does not (the
 * interrupted instruction has taken effect but RIP still points at it, so it runs twice:
 * unicorn-engine/unicorn#1355; reproduced in guests/tests/test_soft_boot.c). */
static void hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
    (void)address;
    (void)size;
    struct vcpu *v = opaque;
    struct soft_vcpu *sv = v->accel_priv;
    /* A plain load first: a locked exchange in every block of guest code costs more than the
     * rest of this hook. */
    if ((atomic_load_explicit(&sv->stop_wanted, memory_order_relaxed) &&
         atomic_exchange(&sv->stop_wanted, false)) ||
        (evtchn_dom0_deferred() && ++sv->held_blocks >= HOLD_MAX_BLOCKS))
        uc_emu_stop(uc);
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
    struct vcpu *v = opaque;
    struct soft_vcpu *sv = v->accel_priv;
    sv->exc = (int)intno; /* delivered through the guest IDT by run_vcpu */
    uc_emu_stop(uc);
}

/* Guest RAM is the only mapping: an access outside it ends the run (returning false). The
 * address and kind are kept for the crash report. */
static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                          void *opaque)
{
    (void)uc;
    (void)size;
    (void)value;
    struct soft_vcpu *sv = ((struct vcpu *)opaque)->accel_priv;
    sv->fault_addr = addr;
    sv->fault_code = type == UC_MEM_WRITE_UNMAPPED ? 2u : type == UC_MEM_FETCH_UNMAPPED ? 16u : 0;
    return false;
}

static void hook_dirty(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *opaque)
{
    (void)uc;
    (void)type;
    (void)value;
    struct domain *d = opaque;
    _Atomic uint64_t *bm = d->dirty_bitmap;
    if (!bm || addr >= d->ram_size)
        return;
    uint64_t first = addr >> KXEN_PAGE_SHIFT;
    uint64_t last = KXEN_MIN(addr + (uint64_t)size - 1, d->ram_size - 1) >> KXEN_PAGE_SHIFT;
    for (uint64_t pfn = first; pfn <= last; pfn++)
        atomic_fetch_or(&bm[pfn / 64], 1ull << (pfn % 64));
}

/* ---- engine setup, on the runner thread ---- */

static int engine_create_locked(struct vcpu *v);

int soft_engine_create(struct vcpu *v)
{
    pthread_mutex_lock(&uc_life_lock);
    int rc = engine_create_locked(v);
    pthread_mutex_unlock(&uc_life_lock);
    return rc;
}

static int engine_create_locked(struct vcpu *v)
{
    struct soft_vcpu *sv = v->accel_priv;
    struct domain *d = v->dom;
    uc_engine *uc;
    uc_hook h;

    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
        return -ENOMEM;
    if (uc_mem_map_ptr(uc, 0, d->ram_size, UC_PROT_ALL, d->ram) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_INSN_INVALID, hook_invalid, v, 1, 0) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_INSN, hook_cpuid, v, 1, 0, UC_X86_INS_CPUID) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_INSN, hook_in, v, 1, 0, UC_X86_INS_IN) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_INSN, hook_out, v, 1, 0, UC_X86_INS_OUT) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_INTR, hook_intr, v, 1, 0) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_MEM_UNMAPPED, hook_unmapped, v, 1, 0) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_BLOCK, hook_block, v, 1, 0) != UC_ERR_OK) {
        uc_close(uc);
        return -EIO;
    }
    struct soft_dom *sd = d->accel_priv;
    for (unsigned i = 0; i < KXEN_ACCEL_MAX_FOREIGN; i++) {
        const struct soft_foreign *f = &sd->foreign[i];
        if (f->gpa &&
            uc_mem_map_ptr(uc, f->gpa, KXEN_PAGE_SIZE,
                           UC_PROT_READ | UC_PROT_EXEC | (f->writable ? UC_PROT_WRITE : 0),
                           f->host) != UC_ERR_OK) {
            uc_close(uc);
            return -EIO;
        }
    }
    uint64_t rip = sv->boot.entry, rsi = sv->boot.rsi, rsp = sv->boot.rsp, rbx = sv->boot.rbx;
    uint64_t rflags = 0x2;
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
    uc_reg_write(uc, UC_X86_REG_RSI, &rsi);
    uc_reg_write(uc, UC_X86_REG_RBX, &rbx);
    uc_reg_write(uc, UC_X86_REG_RSP, &rsp);
    uc_reg_write(uc, UC_X86_REG_RFLAGS, &rflags);
    sv->uc = uc;
    return 0;
}

static void apply_dirty_hook(struct vcpu *v, bool on)
{
    struct soft_vcpu *sv = v->accel_priv;
    if (on && !sv->dirty_hooked) {
        if (uc_hook_add(sv->uc, &sv->h_dirty, UC_HOOK_MEM_WRITE, hook_dirty, v->dom, 0,
                        v->dom->ram_size - 1) == UC_ERR_OK)
            sv->dirty_hooked = true;
    } else if (!on && sv->dirty_hooked) {
        uc_hook_del(sv->uc, sv->h_dirty);
        sv->dirty_hooked = false;
    }
}

/* One entry of v into guest code: sync, maybe inject, run until stopped. */
static void run_vcpu(struct domain *d, struct soft_dom *sd, struct vcpu *v)
{
    struct soft_vcpu *sv = v->accel_priv;

    if (!sv->uc && soft_engine_create(v) < 0) {
        log_err("domain %u vcpu %u: cannot create the Unicorn engine", d->domid, v->id);
        domain_shutdown(d, 3 /* SHUTDOWN_crash */);
        return;
    }
    pthread_mutex_lock(&sd->lock);
    sd->kick_pending = false;
    bool dirty = sd->dirty_on;
    unsigned flush_gen = sd->flush_gen;
    pthread_mutex_unlock(&sd->lock);
    apply_dirty_hook(v, dirty);
    if (flush_gen != sv->flush_gen) {
        uc_ctl_remove_cache(sv->uc, 0, d->ram_size - 1);
        sv->flush_gen = flush_gen;
    }

    bool upcall = domain_sync_before_entry(v);
    if (atomic_load(&v->state) != VCPU_RUNNABLE)
        return;
    uint64_t rflags;
    uc_reg_read(sv->uc, UC_X86_REG_RFLAGS, &rflags);
    if (upcall && (rflags & RFLAGS_IF))
        soft_deliver_vector(v, v->upcall_vector, NULL);
    if (v->runstate != 0)
        vcpu_runstate_set(v, 0);

    uint64_t now = kxen_system_time_ns();
    unsigned runnable = 0;
    uint64_t end = now + SLICE_ONE_NS;
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *o = d->vcpus[i];
        int st = atomic_load(&o->state);
        runnable += st == VCPU_RUNNABLE;
        uint64_t dl = vcpu_next_deadline(o);
        if (dl && dl < end && (st == VCPU_RUNNABLE || st == VCPU_BLOCKED))
            end = dl > now ? dl : now;
    }
    if (runnable > 1 && end > now + SLICE_RR_NS)
        end = now + SLICE_RR_NS;

    pthread_mutex_lock(&sd->lock);
    sd->in_guest = true;
    sd->cur = v;
    sd->entry_gen++;
    /* A request for an earlier entry is void; a kick since this entry began its checks
     * stops it at the first block (whoever kicked found no engine running to flag). */
    atomic_store(&sv->stop_wanted, sd->kick_pending);
    if (sd->kick_pending) {
        sd->stopped_gen = sd->entry_gen;
        sd->stop_sent_ns = now;
    }
    sd->slice_end_ns = end;
    /* Waking the ticker costs two context switches (and a third when it then waits for this
     * lock): only when it would sleep past the slice end, and after the lock is dropped. An
     * entry of a vCPU that blocks again at once (event ping-pong) finds the ticker still
     * asleep until an earlier slice end and leaves it there. */
    bool tick = end < sd->ticker_until;
    pthread_mutex_unlock(&sd->lock);
    if (tick)
        pthread_cond_signal(&sd->tick_cond);

    uint64_t rip, t0 = kxen_now_ns();
    sv->hc_stop = false;
    sv->exc = -1;
    uc_reg_read(sv->uc, UC_X86_REG_RIP, &rip);
    sv->held_blocks = 0;
    evtchn_dom0_defer_begin();
    uc_err err = uc_emu_start(sv->uc, rip, ~0ull, 0, 0);
    evtchn_dom0_defer_flush();
    atomic_fetch_add(&v->cpu_time_ns, kxen_now_ns() - t0);

    pthread_mutex_lock(&sd->lock);
    sd->in_guest = false;
    sd->cur = NULL;
    bool ticker_stopped = sd->stopped_gen == sd->entry_gen;
    sd->entries++;
    sd->stops_hc += sv->hc_stop;
    sd->stops_ticker += ticker_stopped;
    pthread_mutex_unlock(&sd->lock);

    uc_reg_read(sv->uc, UC_X86_REG_RIP, &rip);
    /* A hypercall that stopped the engine was counted as that hypercall. */
    if (err != UC_ERR_OK || sv->exc >= 0 || (ticker_stopped && !sv->hc_stop))
        vcpu_count_exit(v, VCPU_EXIT_OTHER);
    if (err != UC_ERR_OK || sv->exc >= 0) {
        if (atomic_load(&d->state) == DOM_RUNNING || atomic_load(&d->state) == DOM_PAUSED)
            soft_guest_exception(d, v, err, rip);
        return;
    }
    if (sv->hc_stop || ticker_stopped)
        return;
    /* Neither a hypercall nor the ticker stopped the engine: hlt. */
    uint8_t prev;
    bool hlt = rip && copy_from_guest_phys(d, &prev, rip - 1, 1) == 0 && prev == 0xf4;
    vcpu_count_exit(v, hlt ? VCPU_EXIT_HALT : VCPU_EXIT_OTHER);
    if (hlt) {
        uc_reg_read(sv->uc, UC_X86_REG_RFLAGS, &rflags);
        v->halted_noirq = !(rflags & RFLAGS_IF);
        atomic_store(&v->state, VCPU_BLOCKED);
        vcpu_runstate_set(v, 2);
    }
}

static uint64_t abs_deadline_to_ts(uint64_t dl, struct timespec *ts)
{
    uint64_t now = kxen_system_time_ns();
    uint64_t wait = dl > now ? dl - now : 0;
    clock_gettime(CLOCK_REALTIME, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + wait;
    ts->tv_sec += (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
    return wait;
}

static void runner_wake(struct soft_dom *sd)
{
    uint64_t one = 1;
    if (write(sd->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("soft: wake eventfd write: %s", strerror(errno));
}

/* The runner's idle wait: a kick (wake_fd) or a dom0 notify for this domain (taken here, on
 * the thread that will run the guest) ends it, or the absolute deadline dl (0: none). */
static void runner_idle(struct soft_dom *sd, uint64_t dl)
{
    struct timespec rel, *timeout = NULL;
    if (dl) {
        uint64_t now = kxen_system_time_ns(), wait = dl > now ? dl - now : 0;
        if (!wait)
            return;
        rel.tv_sec = (time_t)(wait / 1000000000ull);
        rel.tv_nsec = (long)(wait % 1000000000ull);
        timeout = &rel;
    }
    struct epoll_event ev[16];
    int n = epoll_pwait2(sd->wait_fd, ev, ARRAY_SIZE(ev), timeout, NULL);
    /* Awake before taking the kicks: raising the guest end kicks this very runner, which
     * must not write its own wake_fd (a system call, and a spurious return of the next
     * wait). */
    pthread_mutex_lock(&sd->lock);
    sd->idle = false;
    pthread_mutex_unlock(&sd->lock);
    int kicks = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == EVTCHN_WAIT_OWN) {
            uint64_t cnt;
            if (read(sd->wake_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
                log_warn("soft: wake eventfd read: %s", strerror(errno));
        } else {
            ev[kicks++] = ev[i];
        }
    }
    if (kicks)
        evtchn_dom0_kicks(ev, kicks);
}

static void *soft_runner(void *arg)
{
    struct domain *d = arg;
    struct soft_dom *sd = d->accel_priv;

    for (;;) {
        pthread_mutex_lock(&sd->lock);
        bool quit = sd->quit;
        pthread_mutex_unlock(&sd->lock);
        if (quit)
            break;
        bool ran = false;
        if (atomic_load(&d->state) == DOM_RUNNING) {
            for (unsigned k = 0; k < d->nr_vcpus; k++) {
                struct vcpu *v = d->vcpus[(sd->next + k) % d->nr_vcpus];
                if (atomic_load(&v->state) == VCPU_BLOCKED && !v->halted_noirq)
                    vcpu_runnable_check(v);
                if (atomic_load(&v->state) != VCPU_RUNNABLE)
                    continue;
                sd->next = (v->id + 1) % d->nr_vcpus;
                run_vcpu(d, sd, v);
                ran = true;
                break;
            }
        }
        if (ran)
            continue;
        /* Nothing to run: sleep until a kick, a dom0 notify or the earliest timer. */
        uint64_t dl = 0;
        if (atomic_load(&d->state) == DOM_RUNNING)
            for (unsigned i = 0; i < d->nr_vcpus; i++) {
                uint64_t x = vcpu_next_deadline(d->vcpus[i]);
                if (x && (!dl || x < dl))
                    dl = x;
            }
        pthread_mutex_lock(&sd->lock);
        sd->idle = !sd->kick_pending && !sd->quit;
        bool sleep = sd->idle;
        pthread_mutex_unlock(&sd->lock);
        if (sleep)
            runner_idle(sd, dl);
        pthread_mutex_lock(&sd->lock);
        sd->idle = false;
        sd->kick_pending = false;
        pthread_mutex_unlock(&sd->lock);
    }
    return NULL;
}

/* Ends timeslices and forwards kicks: asks hook_block to stop the engine at the next block. */
static void *soft_ticker(void *arg)
{
    struct domain *d = arg;
    struct soft_dom *sd = d->accel_priv;

    pthread_mutex_lock(&sd->lock);
    while (!sd->quit || sd->in_guest) {
        uint64_t now = kxen_system_time_ns();
        if (!sd->in_guest) {
            if (sd->quit)
                break;
            /* Between entries the ticker keeps its deadline: a new entry whose slice ends
             * later need not wake it (run_vcpu compares with ticker_until). */
            if (sd->ticker_until > now && sd->ticker_until != UINT64_MAX) {
                struct timespec ts;
                abs_deadline_to_ts(sd->ticker_until, &ts);
                pthread_cond_timedwait(&sd->tick_cond, &sd->lock, &ts);
            } else {
                sd->ticker_until = UINT64_MAX;
                pthread_cond_wait(&sd->tick_cond, &sd->lock);
            }
            continue;
        }
        bool want_stop = sd->quit || sd->kick_pending || now >= sd->slice_end_ns;
        if (want_stop) {
            if (sd->stopped_gen != sd->entry_gen || now - sd->stop_sent_ns >= RESTOP_NS) {
                struct soft_vcpu *sv = sd->cur->accel_priv;
                atomic_store(&sv->stop_wanted, true); /* acted on by hook_block, RIP exact */
                sd->stopped_gen = sd->entry_gen;
                sd->stop_sent_ns = now;
            }
            struct timespec ts;
            sd->ticker_until = now + RESTOP_NS;
            abs_deadline_to_ts(now + RESTOP_NS, &ts);
            pthread_cond_timedwait(&sd->tick_cond, &sd->lock, &ts);
        } else {
            struct timespec ts;
            sd->ticker_until = sd->slice_end_ns;
            abs_deadline_to_ts(sd->slice_end_ns, &ts);
            pthread_cond_timedwait(&sd->tick_cond, &sd->lock, &ts);
        }
    }
    pthread_mutex_unlock(&sd->lock);
    return NULL;
}

/* The runner's wait set: the domain's event-channel set (dom0 kicks come straight to the
 * runner), else a set of its own; wake_fd goes in either. */
static int runner_wait_set(struct domain *d, struct soft_dom *sd)
{
    if (sd->wait_fd >= 0)
        return 0;
    sd->wait_fd = evtchn_wait_fd(d);
    sd->own_wait_fd = sd->wait_fd < 0;
    if (sd->own_wait_fd && (sd->wait_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EVTCHN_WAIT_OWN};
    if (epoll_ctl(sd->wait_fd, EPOLL_CTL_ADD, sd->wake_fd, &ev) < 0) {
        int rc = -errno;
        if (sd->own_wait_fd)
            close(sd->wait_fd);
        sd->wait_fd = -1;
        return rc;
    }
    return 0;
}

static int soft_start(struct domain *d)
{
    struct soft_dom *sd = d->accel_priv;
    int rc = runner_wait_set(d, sd);
    if (rc)
        return rc;
    sd->quit = false; /* a start after stop (save parks the vCPUs by stopping the threads) */
    rc = pthread_create(&sd->ticker, NULL, soft_ticker, d);
    if (rc)
        return -rc;
    sd->ticker_started = true;
    rc = pthread_create(&sd->runner, NULL, soft_runner, d);
    if (rc) {
        pthread_mutex_lock(&sd->lock);
        sd->quit = true;
        pthread_cond_broadcast(&sd->tick_cond);
        pthread_mutex_unlock(&sd->lock);
        pthread_join(sd->ticker, NULL);
        sd->ticker_started = false;
        return -rc;
    }
    sd->runner_started = true;
    return 0;
}

static void soft_stop(struct domain *d)
{
    struct soft_dom *sd = d->accel_priv;
    pthread_mutex_lock(&sd->lock);
    sd->quit = true;
    pthread_cond_broadcast(&sd->tick_cond);
    pthread_mutex_unlock(&sd->lock);
    runner_wake(sd);
    if (sd->runner_started)
        pthread_join(sd->runner, NULL);
    pthread_mutex_lock(&sd->lock);
    pthread_cond_broadcast(&sd->tick_cond);
    pthread_mutex_unlock(&sd->lock);
    if (sd->ticker_started)
        pthread_join(sd->ticker, NULL);
    sd->runner_started = sd->ticker_started = false;
    log_debug("domain %u: %llu guest entries, %llu ended by blocking hypercalls, %llu by the "
              "ticker",
              d->domid, (unsigned long long)sd->entries, (unsigned long long)sd->stops_hc,
              (unsigned long long)sd->stops_ticker);
}

/* A kick of an idle runner is one eventfd write, after the lock is dropped. A kick while a vCPU
 * runs asks hook_block to stop it at once, with no other thread involved: hook_block runs in
 * every block, so the flag is seen within a block. The ticker, at its next wake-up, re-sends
 * a stop still unanswered after RESTOP_NS (a safety net only: waking it here would cost two
 * context switches on every kick of a running vCPU). */
static void soft_kick(struct vcpu *v)
{
    struct soft_dom *sd = v->dom->accel_priv;
    if (!sd)
        return;
    pthread_mutex_lock(&sd->lock);
    sd->kick_pending = true;
    bool wake = sd->idle;
    sd->idle = false; /* one write per idle period is enough */
    if (sd->in_guest && sd->stopped_gen != sd->entry_gen) {
        struct soft_vcpu *sv = sd->cur->accel_priv;
        atomic_store(&sv->stop_wanted, true);
        sd->stopped_gen = sd->entry_gen;
        sd->stop_sent_ns = kxen_system_time_ns();
    }
    pthread_mutex_unlock(&sd->lock);
    if (wake)
        runner_wake(sd);
}

static int soft_dirty_log_start(struct domain *d)
{
    struct soft_dom *sd = d->accel_priv;
    uint64_t words = ((d->ram_size >> KXEN_PAGE_SHIFT) + 63) / 64;
    if (!d->dirty_bitmap) {
        _Atomic uint64_t *bm = calloc(words, sizeof(uint64_t));
        if (!bm)
            return -ENOMEM;
        d->dirty_bitmap = bm;
    }
    pthread_mutex_lock(&sd->lock);
    sd->dirty_on = true;
    pthread_mutex_unlock(&sd->lock);
    domain_kick_all(d); /* the runner adds the write hooks before the next entry */
    return 0;
}

static int soft_dirty_log_collect(struct domain *d, uint64_t *bitmap)
{
    if (!d->dirty_bitmap)
        return -EINVAL;
    uint64_t words = ((d->ram_size >> KXEN_PAGE_SHIFT) + 63) / 64;
    for (uint64_t i = 0; i < words; i++)
        bitmap[i] |= atomic_exchange(&d->dirty_bitmap[i], 0);
    return 0;
}

static void soft_dirty_log_stop(struct domain *d)
{
    struct soft_dom *sd = d->accel_priv;
    pthread_mutex_lock(&sd->lock);
    sd->dirty_on = false;
    pthread_mutex_unlock(&sd->lock);
    domain_kick_all(d); /* bitmap stays allocated until the domain is freed */
}

/* Grant maps: the page goes into every engine that exists now (the hypercall runs on the
 * runner thread, so none of them is executing except the caller's, which is inside a hook);
 * engine_create_locked adds it to later ones. */
static void foreign_unmap_engines(struct domain *d, uint64_t gpa)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct soft_vcpu *sv = d->vcpus[i] ? d->vcpus[i]->accel_priv : NULL;
        if (sv && sv->uc) {
            uc_mem_unmap(sv->uc, gpa, KXEN_PAGE_SIZE);
            /* Translations of code in that page must not outlive it. */
            uc_ctl_remove_cache(sv->uc, gpa, gpa + KXEN_PAGE_SIZE - 1);
        }
    }
}

static int soft_map_foreign_page(struct domain *d, uint64_t gpa, void *host, bool writable)
{
    struct soft_dom *sd = d->accel_priv;
    unsigned slot = 0;
    while (slot < KXEN_ACCEL_MAX_FOREIGN && sd->foreign[slot].gpa)
        slot++;
    if (slot == KXEN_ACCEL_MAX_FOREIGN)
        return -ENOSPC;
    uint32_t prot = UC_PROT_READ | UC_PROT_EXEC | (writable ? UC_PROT_WRITE : 0);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct soft_vcpu *sv = d->vcpus[i] ? d->vcpus[i]->accel_priv : NULL;
        if (sv && sv->uc && uc_mem_map_ptr(sv->uc, gpa, KXEN_PAGE_SIZE, prot, host) != UC_ERR_OK) {
            for (unsigned j = 0; j < i; j++) {
                struct soft_vcpu *o = d->vcpus[j] ? d->vcpus[j]->accel_priv : NULL;
                if (o && o->uc)
                    uc_mem_unmap(o->uc, gpa, KXEN_PAGE_SIZE);
            }
            return -EIO;
        }
    }
    sd->foreign[slot] = (struct soft_foreign){.gpa = gpa, .host = host, .writable = writable};
    return 0;
}

static void soft_unmap_foreign_page(struct domain *d, uint64_t gpa)
{
    struct soft_dom *sd = d->accel_priv;
    for (unsigned i = 0; i < KXEN_ACCEL_MAX_FOREIGN; i++) {
        if (gpa && sd->foreign[i].gpa == gpa) {
            foreign_unmap_engines(d, gpa);
            sd->foreign[i].gpa = 0;
        }
    }
}

static void soft_flush_code(struct domain *d)
{
    struct soft_dom *sd = d->accel_priv;
    pthread_mutex_lock(&sd->lock);
    sd->flush_gen++;
    pthread_mutex_unlock(&sd->lock);
    domain_kick_all(d);
}

static const struct accel_ops accel_soft_ops = {
    .name = "soft",
    .auto_rank = 20,
    .pv_boot = true,
    .probe = soft_probe,
    .domain_init = soft_domain_init,
    .domain_destroy = soft_domain_destroy,
    .vcpu_init = soft_vcpu_init,
    .vcpu_destroy = soft_vcpu_destroy,
    .start = soft_start,
    .stop = soft_stop,
    .kick = soft_kick,
    .get_regs = soft_get_regs,
    .set_regs = soft_set_regs,
    .get_sregs = soft_get_sregs,
    .set_sregs = soft_set_sregs,
    .translate = NULL,
    .dirty_log_start = soft_dirty_log_start,
    .dirty_log_collect = soft_dirty_log_collect,
    .dirty_log_stop = soft_dirty_log_stop,
    .flush_code = soft_flush_code,
    .hypercall_entry = soft_hypercall_entry,
    .map_foreign_page = soft_map_foreign_page,
    .unmap_foreign_page = soft_unmap_foreign_page,
};
ACCEL_REGISTER(accel_soft_ops);
