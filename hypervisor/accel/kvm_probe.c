/* The kvm accelerator's probe: can /dev/kvm run our guests on this host? Opens the device,
 * checks the capabilities kvm.c relies on, then runs a one-page protected-mode guest whose
 * int3 must reach its #BP handler (nested hosts that cannot deliver it are "limited"). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "kvm_priv.h"

#define KVM_API_VERSION_WANTED 12

int kvm_open_system(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ver = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (ver != KVM_API_VERSION_WANTED) {
        close(fd);
        return -ENODEV;
    }
    return fd;
}

/* Capabilities this accelerator cannot work without. */
static int kvm_check_caps(int sys_fd)
{
    static const struct {
        int cap;
        const char *name;
    } need[] = {
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
        {KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR"},
        {KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER"},
        {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
        if (ioctl(sys_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
            log_warn("kvm: host kernel lacks %s", need[i].name);
            return -ENOTSUP;
        }
    }
    return 0;
}

struct probe_watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    pthread_t runner;
    struct kvm_run *run;
};

/* Interrupts the probe's KVM_RUN if the one-instruction guest has not exited in time. */
static void *probe_watchdog(void *arg)
{
    struct probe_watch *w = arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += KXEN_KVM_PROBE_TIMEOUT_S;
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT)
            break;
    if (!w->done) {
        __atomic_store_n(&w->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        pthread_kill(w->runner, kvm_kick_signal());
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The probe guest's page: code at 0, GDT and IDT behind it, stack at the top. */
#define PROBE_HANDLER 0x10u
#define PROBE_GDT 0x100u
#define PROBE_IDT 0x200u

/* A flat 32-bit protected-mode guest: `int3` at 0, whose #BP gate (vector 3) leads to `hlt`
 * at PROBE_HANDLER. A `hlt` follows the int3 too, so an int3 that is skipped is told apart. */
static void probe_guest_build(uint8_t *mem)
{
    static const uint64_t gdt[3] = {0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull};
    /* 32-bit interrupt gate: offset PROBE_HANDLER, selector 0x08, present, DPL 0. */
    uint64_t gate = PROBE_HANDLER | (uint64_t)0x08 << 16 | (uint64_t)0x8e << 40;
    mem[0] = 0xcc; /* int3 */
    mem[1] = 0xf4; /* hlt */
    mem[PROBE_HANDLER] = 0xf4;
    memcpy(mem + PROBE_GDT, gdt, sizeof(gdt));
    memcpy(mem + PROBE_IDT + 3 * 8, &gate, sizeof(gate));
}

/* Judges the probe guest's exit: 0 when it halted in its #BP handler. */
static int probe_verdict(int ret, int err, const struct kvm_run *run, const struct kvm_regs *r)
{
    if (ret < 0) {
        log_warn("kvm: /dev/kvm does not run guests here (test guest: %s)",
                 err == EINTR ? "no exit within the time limit" : strerror(err));
        return -ENODEV;
    }
    if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
        run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        /* Seen on a nested "PVM" /dev/kvm (Firecracker, nested_pvm=1): software interrupts
         * trap to KVM there, and KVM's instruction emulator delivers them in real mode only.
         * Real VMX/SVM deliver them in the guest without an exit. */
        log_warn("kvm: this host's KVM cannot deliver a guest's int3 in protected mode (KVM "
                 "internal error: it emulates the instruction and fails); --accel auto uses "
                 "soft, --accel kvm crashes any guest that executes int3 or int N");
        return KXEN_KVM_PROBE_LIMITED;
    }
    if (run->exit_reason != KVM_EXIT_HLT) {
        log_warn("kvm: test guest exited with reason %u instead of hlt", run->exit_reason);
        return -ENODEV;
    }
    if (r->rip != PROBE_HANDLER + 1) {
        log_warn("kvm: test guest halted at 0x%llx, not in its #BP handler: this host's KVM "
                 "does not deliver int3 to the guest; --accel auto uses soft",
                 (unsigned long long)r->rip);
        return KXEN_KVM_PROBE_LIMITED;
    }
    return 0;
}

/* Some hosts expose a /dev/kvm whose KVM_RUN never returns (nested virtualization that does
 * not work), others one that runs guests but cannot deliver their software interrupts. Run a
 * tiny protected-mode guest whose int3 must reach its own IDT handler (which halts) within a
 * time limit, so that `--accel auto` falls back to soft on such hosts instead of hanging or
 * crashing guests. Returns KXEN_KVM_PROBE_LIMITED (> 0) for the second kind: accel_select()
 * then uses kvm only when asked for by name. */
static int kvm_probe_run(int vm_fd, int sys_fd)
{
    int rc = 0, vcpu = -1;
    struct kvm_run *run = MAP_FAILED;
    int run_size = ioctl(sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    uint8_t *mem =
        mmap(NULL, KXEN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED || run_size <= 0)
        return -ENOMEM;
    probe_guest_build(mem);
    struct kvm_userspace_memory_region r = {
        .slot = 0, .memory_size = KXEN_PAGE_SIZE, .userspace_addr = (uint64_t)(uintptr_t)mem};
    struct kvm_sregs s;
    struct kvm_regs regs = {.rip = 0, .rflags = 0x2, .rsp = KXEN_PAGE_SIZE};
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ||
        (vcpu = ioctl(vm_fd, KVM_CREATE_VCPU, 0)) < 0 ||
        (run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0)) == MAP_FAILED ||
        ioctl(vcpu, KVM_GET_SREGS, &s) < 0) {
        rc = -errno;
        goto out;
    }
    kvm_seg_flat(&s.cs, 0x08, 0xb);
    kvm_seg_flat(&s.ds, 0x10, 0x3);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.gdt = (struct kvm_dtable){.base = PROBE_GDT, .limit = 3 * 8 - 1};
    s.idt = (struct kvm_dtable){.base = PROBE_IDT, .limit = 4 * 8 - 1};
    s.cr0 = 0x11; /* PE | ET, paging off */
    s.cr4 = 0, s.efer = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        rc = -errno;
        goto out;
    }
    kvm_kick_signal_install();
    struct probe_watch w = {.runner = pthread_self(), .run = run};
    pthread_mutex_init(&w.lock, NULL);
    kvm_cond_init_monotonic(&w.cond);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, kvm_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, &old);
    pthread_t wd;
    bool wd_started = pthread_create(&wd, NULL, probe_watchdog, &w) == 0;
    int ret = ioctl(vcpu, KVM_RUN, 0);
    int err = errno;
    pthread_mutex_lock(&w.lock);
    w.done = true;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
    if (wd_started)
        pthread_join(wd, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    struct kvm_regs after = {0};
    if (ret == 0 && ioctl(vcpu, KVM_GET_REGS, &after) < 0)
        after.rip = ~0ull;
    rc = probe_verdict(ret, err, run, &after);
out:
    if (run != MAP_FAILED)
        munmap(run, run_size);
    if (vcpu >= 0)
        close(vcpu);
    munmap(mem, KXEN_PAGE_SIZE);
    return rc;
}

int kvm_probe(void)
{
    int fd = kvm_open_system();
    if (fd < 0)
        return fd;
    int rc = kvm_check_caps(fd);
    if (rc == 0) {
        int vm = ioctl(fd, KVM_CREATE_VM, 0);
        if (vm < 0) {
            rc = -errno;
        } else {
            rc = kvm_probe_run(vm, fd);
            close(vm);
        }
    }
    close(fd);
    return rc;
}
