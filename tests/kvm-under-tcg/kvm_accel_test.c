/* kvm_accel_test: drives accel_kvm_ops directly (no kxend) with the tiny guest in
 * accel_guest.S, and checks each exit path the accelerator owns. The core callbacks the
 * accelerator calls (hypercall_dispatch, io_port_access, ...) are test doubles here that record
 * what the guest did. Prints TAP lines; "RESULT PASS" at the end when every check passed.
 * Run inside the kvm-under-tcg VM (needs a working /dev/kvm); exit 77 without one.
 *   kvm_accel_test [--bench]   --bench also prints the timing figures. */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/accel.h"
#include "kxend/save.h"
#include "kxend/domain.h"
#include "../../hypervisor/accel/kvm_priv.h"

extern const uint8_t guest_start[], guest_end[], guest_entry_main[], guest_entry_fault[],
    guest_entry_spin[], guest_entry_real16[], guest_entry_fetch_outside[], guest_entry_xen[],
    guest_xen_hcall_1[], guest_xen_hcall_2[], guest_xen_hcall_3[];

#define GUEST_BASE 0x10000
#define GUEST_RAM (2u << 20)
#define START_INFO_MAGIC 0x7000
#define UPCALL_VECTOR 0xf3
#define HCALL_PAGE 0x2000
#define BENCH_N 1000
#define XEN_SHINFO 0x6000
#define XEN_UPCALLS 200

/* ---- What the guest did, recorded by the doubles (vCPU thread writes, main reads after
 * join) ---- */
static struct {
    uint32_t reports[16];
    unsigned nr_reports;
    uint64_t marks_ns[4];
    unsigned nr_marks;
    uint64_t first_exit_ns;
    uint64_t hc_nr[64], hc_args[64][5];
    unsigned nr_hc;
    uint64_t page_fill_gpa;
    int page_fill_calls;
    uint64_t mmio_gpa, mmio_val;
    unsigned mmio_size;
    int mmio_writes, mmio_reads;
    int translate_rc;
    uint64_t translated;
    uint64_t regs_rip, regs_rsp;
    _Atomic int upcalls_seen;
    _Atomic uint64_t upcall_ns; /* when the guest's handler last reported */
    _Atomic bool spinning;      /* guest_entry_xen waits for upcalls */
    _Atomic bool want_upcall;
    _Atomic uint64_t deadline_ns; /* a Xen timer armed by the guest (hypercall 52) */
    uint64_t timer_fired_late_ns;
    int waits;
    int blocked_runstates;
    unsigned shutdown_reason;
    int shutdowns;
} rec;

static struct domain *cur_dom;
/* The guest's upcall handler reported (port 0x13): the sender sleeps on this instead of
 * polling, so on the VM's one CPU the vCPU thread runs as soon as the event is sent. */
static pthread_mutex_t upcall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t upcall_cond = PTHREAD_COND_INITIALIZER;

/* ---- Test doubles of the core ---- */
int64_t hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5])
{
    if (rec.nr_hc < ARRAY_SIZE(rec.hc_nr)) {
        rec.hc_nr[rec.nr_hc] = nr;
        memcpy(rec.hc_args[rec.nr_hc], args, sizeof(rec.hc_args[0]));
        rec.nr_hc++;
    }
    switch (nr) {
    case 17:
        return 0x1234 + 17;
    case 34:
        return -38; /* -ENOSYS: must reach the guest sign-extended */
    case 50:
        atomic_store(&rec.want_upcall, true);
        return 0;
    case 51:
        atomic_store(&rec.want_upcall, false);
        return 0;
    case 52:
        atomic_store(&rec.deadline_ns, kxen_now_ns() + 20 * 1000 * 1000);
        return 0;
    case 29:
        domain_shutdown(v->dom, 0);
        return 0;
    }
    return -38;
}

void io_port_access(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    (void)size;
    if (!rec.first_exit_ns)
        rec.first_exit_ns = kxen_now_ns();
    if (!write) {
        *val = ~0u;
        return;
    }
    switch (port) {
    case 0x10:
        if (rec.nr_reports < ARRAY_SIZE(rec.reports))
            rec.reports[rec.nr_reports++] = *val;
        break;
    case 0x11:
        if (rec.nr_marks < ARRAY_SIZE(rec.marks_ns))
            rec.marks_ns[rec.nr_marks++] = kxen_now_ns();
        break;
    case 0x12: {
        rec.translate_rc = v->dom->accel->translate(v, 0x40000000u + GUEST_BASE, &rec.translated);
        struct vcpu_regs r;
        if (v->dom->accel->get_regs(v, &r) == 0)
            rec.regs_rip = r.rip, rec.regs_rsp = r.rsp;
        break;
    }
    case 0x13:
        atomic_store(&rec.upcall_ns, kxen_now_ns());
        atomic_store(&rec.want_upcall, false); /* the guest consumed it */
        pthread_mutex_lock(&upcall_lock);
        rec.upcalls_seen++;
        pthread_cond_broadcast(&upcall_cond);
        pthread_mutex_unlock(&upcall_lock);
        break;
    case 0x15:
        atomic_store(&rec.spinning, true);
        break;
    }
}

void io_mmio_access(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    (void)v;
    if (write) {
        rec.mmio_writes++;
        rec.mmio_gpa = gpa, rec.mmio_size = size, rec.mmio_val = *val;
    } else {
        rec.mmio_reads++;
        *val = 0xcafef00d;
    }
}

void cpuid_emulate(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)v;
    memset(out, 0, 16);
    if (leaf == 0x40000000u) {
        out[0] = 0x40000002u;
        memcpy(&out[1], "XenV", 4), memcpy(&out[2], "MMXe", 4), memcpy(&out[3], "nVMM", 4);
    } else if (leaf == 0x40000001u) {
        out[0] = 4u << 16 | 17;
    } else if (leaf == 0x40000002u) {
        out[0] = 1, out[1] = KXEN_HYPERCALL_MSR;
    } else {
        __cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
    }
}

int hypercall_page_fill(struct domain *d, uint64_t gpa)
{
    rec.page_fill_calls++;
    rec.page_fill_gpa = gpa;
    for (unsigned nr = 0; nr < 128; nr++)
        d->accel->hypercall_entry(nr, d->ram + gpa + 32 * nr);
    return 0;
}

/* The test's guests are PVH ones: no emulated PC ever reaches its kernel-entry trap. */
void hvm_kernel_entered(struct domain *d)
{
    (void)d;
}

/* Nor is one saved: the save stream is kxend's (kvm_hvm_state.c writes into it). */
int kxend_save_put(struct kxend_save_ctx *ctx, uint32_t type, uint32_t instance, const void *body,
                   uint32_t len)
{
    (void)ctx, (void)type, (void)instance, (void)body, (void)len;
    return -ENOSYS;
}

int kxend_save_get(struct kxend_save_ctx *ctx, uint32_t type, uint32_t instance, void *body,
                   uint32_t cap)
{
    (void)ctx, (void)type, (void)instance, (void)body, (void)cap;
    return -ENOENT;
}

int kxend_load_refuse(struct kxend_save_ctx *ctx, const char *fmt, ...)
{
    (void)ctx, (void)fmt;
    return -EINVAL;
}

void vcpu_wait(struct vcpu *v)
{
    rec.waits++;
    int expect = VCPU_BLOCKED;
    atomic_compare_exchange_strong(&v->state, &expect, VCPU_RUNNABLE);
}

/* The hypervisor console (xl dmesg): crash reasons land here. */
static char hv_console[512];
void console_hv_printf(const char *fmt, ...);
void console_hv_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = strlen(hv_console);
    vsnprintf(hv_console + n, sizeof(hv_console) - n, fmt, ap);
    va_end(ap);
}

const char *hypercall_name(unsigned nr)
{
    (void)nr;
    return NULL;
}

void vcpu_runstate_set(struct vcpu *v, int runstate);
void vcpu_runstate_set(struct vcpu *v, int runstate)
{
    if (runstate == 2)
        rec.blocked_runstates++;
    v->runstate = runstate;
}

uint64_t kxen_system_time_ns(void)
{
    return kxen_now_ns();
}

uint64_t vcpu_next_deadline(struct vcpu *v);
uint64_t vcpu_next_deadline(struct vcpu *v)
{
    (void)v;
    return atomic_load(&rec.deadline_ns);
}

/* Like the core: an expired timer raises the upcall before the next entry. */
bool domain_sync_before_entry(struct vcpu *v)
{
    (void)v;
    uint64_t dl = atomic_load(&rec.deadline_ns), now = kxen_now_ns();
    if (dl && now >= dl) {
        atomic_store(&rec.deadline_ns, 0);
        rec.timer_fired_late_ns = now - dl;
        atomic_store(&rec.want_upcall, true);
    }
    return atomic_load(&rec.want_upcall);
}

/* KVM's Xen event delivery (kvm_xen.c) asks where a vCPU's vcpu_info is and marks what KVM
 * wrote; these tests run without shared_info. */
uint64_t vcpu_info_gpa(struct vcpu *v)
{
    return v->dom->shared_info_gpa ? v->dom->shared_info_gpa : ~0ull;
}

void guest_mark_dirty(struct domain *d, uint64_t gpa, uint64_t len)
{
    (void)d, (void)gpa, (void)len;
}

void domain_shutdown(struct domain *d, unsigned reason)
{
    rec.shutdowns++;
    d->shutdown_reason = rec.shutdown_reason = reason;
    atomic_store(&d->state, DOM_SHUTDOWN);
}

/* ---- Helpers ---- */
static int tap_n, tap_failed;
static void check(bool cond, const char *what)
{
    tap_n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, what);
    if (!cond)
        tap_failed++;
}

static enum vcpu_boot_mode boot_mode = VCPU_BOOT_PROT32;
static bool boot_lapic;

static struct domain *dom_new(const uint8_t *entry, uint64_t *create_ns)
{
    uint64_t t0 = kxen_now_ns();
    struct domain *d = calloc(1, sizeof(*d));
    struct vcpu *v = calloc(1, sizeof(*v));
    d->ram_size = GUEST_RAM;
    d->ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    d->accel = &accel_kvm_ops;
    d->domid = 1;
    atomic_store(&d->state, DOM_BUILDING);
    memcpy(d->ram + GUEST_BASE, guest_start, (size_t)(guest_end - guest_start));
    v->dom = d;
    v->upcall_vector = UPCALL_VECTOR;
    atomic_store(&v->state, VCPU_RUNNABLE);
    pthread_mutex_init(&v->wait_lock, NULL);
    pthread_cond_init(&v->wait_cond, NULL);
    d->vcpus[0] = v;
    d->nr_vcpus = 1;
    struct vcpu_boot boot = {.mode = boot_mode,
                             .entry = GUEST_BASE + (uint64_t)(entry - guest_start),
                             .rbx = START_INFO_MAGIC,
                             .lapic = boot_lapic};
    int rc = accel_kvm_ops.domain_init(d);
    if (rc == 0)
        rc = accel_kvm_ops.vcpu_init(v, &boot);
    if (rc < 0) {
        printf("# domain setup failed: %s\n", strerror(-rc));
        return NULL;
    }
    atomic_store(&d->state, DOM_RUNNING);
    cur_dom = d;
    if (create_ns)
        *create_ns = t0;
    return d;
}

static void dom_free(struct domain *d)
{
    accel_kvm_ops.stop(d);
    accel_kvm_ops.vcpu_destroy(d->vcpus[0]);
    accel_kvm_ops.domain_destroy(d);
    munmap(d->ram, d->ram_size);
    free((void *)d->dirty_bitmap);
    free(d->vcpus[0]);
    free(d);
}

/* Waits up to ms for the domain to shut down; returns true when it did. */
static bool wait_shutdown(struct domain *d, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        if (atomic_load(&d->state) == DOM_SHUTDOWN)
            return true;
        usleep(1000);
    }
    return false;
}

static void test_main_guest(bool bench)
{
    uint64_t t_create;
    struct domain *d = dom_new(guest_entry_main, &t_create);
    check(d != NULL, "domain_init and vcpu_init with PVH (PROT32) boot state");
    if (!d)
        return;
    memset(d->ram + 0x100000, 0, 4096);
    check(accel_kvm_ops.dirty_log_start(d) == 0, "dirty logging starts");
    uint64_t *bitmap = calloc(GUEST_RAM / 4096 / 64, 8);
    accel_kvm_ops.dirty_log_collect(d, bitmap); /* drop the loader's writes */
    memset(bitmap, 0, GUEST_RAM / 4096 / 8);
    check(accel_kvm_ops.start(d) == 0, "vCPU thread starts");
    bool down = wait_shutdown(d, 60000);
    check(down && rec.shutdown_reason == 0, "guest ran to its poweroff hypercall");
    check(rec.nr_reports >= 1 && rec.reports[0] == START_INFO_MAGIC,
          "guest entered with %ebx = start info address");
    check(rec.nr_reports >= 2 && (rec.reports[1] & 1) && !(rec.reports[1] & 0x80000000u),
          "guest entered in protected mode with paging off");
    check(rec.nr_reports >= 5 && !memcmp(&rec.reports[2], "XenVMMXenVMM", 12),
          "CPUID 0x40000000 shows the XenVMMXenVMM signature from cpuid_emulate");
    check(rec.page_fill_calls >= 1 && rec.page_fill_gpa == HCALL_PAGE,
          "hypercall MSR write reached hypercall_page_fill with the page address");
    check(rec.nr_hc >= 1 && rec.hc_nr[0] == 17 && rec.hc_args[0][0] == 0x11 &&
              rec.hc_args[0][1] == 0x22 && rec.hc_args[0][2] == 0x33 && rec.hc_args[0][3] == 0x44 &&
              rec.hc_args[0][4] == 0x55,
          "32-bit hypercall passes nr in eax and args in ebx ecx edx esi edi");
    check(rec.nr_reports >= 6 && rec.reports[5] == 0x1234 + 17,
          "32-bit hypercall result reaches eax");
    check(rec.nr_hc >= 2 && rec.hc_nr[1] == 34 && rec.hc_args[1][0] == 0x1111111111111111ull &&
              rec.hc_args[1][1] == 0x2222222222222222ull &&
              rec.hc_args[1][2] == 0x3333333333333333ull &&
              rec.hc_args[1][3] == 0x4444444444444444ull &&
              rec.hc_args[1][4] == 0x5555555555555555ull,
          "64-bit hypercall passes args in rdi rsi rdx r10 r8");
    check(rec.nr_reports >= 8 && rec.reports[6] == (uint32_t)-38 && rec.reports[7] == ~0u,
          "64-bit hypercall error reaches rax sign-extended");
    check(rec.mmio_writes == 1 && rec.mmio_gpa == 0x10000000 && rec.mmio_size == 4 &&
              rec.mmio_val == 0xdeadbeef,
          "store outside RAM is an MMIO write with address, size and value");
    check(rec.mmio_reads == 1 && rec.nr_reports >= 9 && rec.reports[8] == 0xcafef00d,
          "load outside RAM returns the MMIO handler's value");
    check(rec.nr_reports >= 10 && rec.reports[9] == 2,
          "hypercall MSR write with a page index or a page outside RAM raises #GP");
    check(rec.page_fill_calls == 2, "only the good hypercall MSR writes fill the page");
    check(rec.translate_rc == 0 && rec.translated == GUEST_BASE,
          "translate walks the guest's page tables (alias at 1 GiB)");
    check(rec.regs_rsp == 0x9000 && rec.regs_rip > GUEST_BASE && rec.regs_rip < 0x20000,
          "get_regs on the vCPU thread sees the guest's rsp and rip");
    check(rec.upcalls_seen >= 1, "upcall vector injected and handled by the guest IDT");
    check(rec.upcalls_seen == 2 && atomic_load(&rec.deadline_ns) == 0,
          "a timer deadline interrupts a guest spinning without exits and its upcall arrives");
    printf("# timer upcall fired %.2f ms after its deadline\n", rec.timer_fired_late_ns / 1e6);
    check(rec.waits >= 1 && rec.blocked_runstates >= 1,
          "hlt marks the vCPU blocked (runstate too) and waits through vcpu_wait()");
    check(atomic_load(&d->vcpus[0]->cpu_time_ns) > 0, "guest run time is accounted");
    int rc = accel_kvm_ops.dirty_log_collect(d, bitmap);
    check(rc == 0 && (bitmap[0x100 / 64] >> (0x100 % 64) & 1),
          "dirty log shows the page the guest wrote");
    check(rc == 0 && !(bitmap[0x180 / 64] >> (0x180 % 64) & 1),
          "dirty log leaves untouched pages clean");
    /* kxend's own writes (guest_mark_dirty) are reported with the guest's */
    memset(bitmap, 0, GUEST_RAM / 4096 / 8);
    d->dirty_bitmap[0x1a0 / 64] |= 1ull << (0x1a0 % 64);
    rc = accel_kvm_ops.dirty_log_collect(d, bitmap);
    check(rc == 0 && (bitmap[0x1a0 / 64] >> (0x1a0 % 64) & 1) && !d->dirty_bitmap[0x1a0 / 64],
          "dirty log also reports (and clears) pages kxend marked dirty");
    accel_kvm_ops.dirty_log_stop(d);
    free(bitmap);
    check(rec.nr_marks == 3, "benchmark markers seen");
    if (bench && rec.nr_marks == 3 && rec.first_exit_ns) {
        double hc = (double)(rec.marks_ns[1] - rec.marks_ns[0]) / BENCH_N / 1000.0;
        double io = (double)(rec.marks_ns[2] - rec.marks_ns[1]) / BENCH_N / 1000.0;
        printf("BENCH kvm hypercall round trip: %.2f us\n", hc);
        printf("BENCH kvm bare trapped port write: %.2f us\n", io);
        printf("BENCH kvm domain create to first guest exit: %.2f ms\n",
               (double)(rec.first_exit_ns - t_create) / 1e6);
    }
    dom_free(d);
}

static void test_triple_fault(void)
{
    memset(&rec, 0, sizeof(rec));
    struct domain *d = dom_new(guest_entry_fault, NULL);
    if (!d || accel_kvm_ops.start(d) < 0) {
        check(false, "triple fault domain starts");
        return;
    }
    bool down = wait_shutdown(d, 20000);
    check(down && rec.shutdown_reason == 3, "triple fault shuts the domain down as crashed");
    check(strstr(hv_console, "d1 v0 crashed: ") != NULL,
          "the crash reason is on the hypervisor console");
    printf("# console: %s", hv_console);
    dom_free(d);
}

/* An instruction KVM cannot emulate (here: fetched from outside RAM) ends in a KVM internal
 * error; kxend crashes the domain and logs what names the instruction: rip and KVM's data. */
static void test_internal_error_logged(void)
{
    memset(&rec, 0, sizeof(rec));
    hv_console[0] = 0;
    char path[] = "/tmp/kvm_accel_test_log.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || klog_init("kvm_accel_test", KLOG_INFO, path) < 0) {
        check(false, "internal error test: log file");
        return;
    }
    struct domain *d = dom_new(guest_entry_fetch_outside, NULL);
    if (!d || accel_kvm_ops.start(d) < 0) {
        check(false, "fetch-outside-RAM domain starts");
        klog_init("kvm_accel_test", KLOG_INFO, NULL);
        return;
    }
    bool down = wait_shutdown(d, 20000);
    dom_free(d);
    klog_init("kvm_accel_test", KLOG_INFO, NULL);
    char log[4096] = "";
    ssize_t n = pread(fd, log, sizeof(log) - 1, 0);
    log[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    check(down && rec.shutdown_reason == 3 && strstr(hv_console, "KVM internal error"),
          "an instruction fetch outside RAM crashes the domain with a KVM internal error");
    check(strstr(log, "internal error suberror 1,") && strstr(log, "at rip 0xe0000000 ") &&
              strstr(log, "rip not in RAM"),
          "the internal error is logged with KVM's suberror, the guest rip and where it points");
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
        printf("# log: %s\n", line);
}

static void test_kick_and_stop(void)
{
    memset(&rec, 0, sizeof(rec));
    struct domain *d = dom_new(guest_entry_spin, NULL);
    if (!d || accel_kvm_ops.start(d) < 0) {
        check(false, "spinning domain starts");
        return;
    }
    usleep(200 * 1000);
    atomic_store(&d->state, DOM_PAUSED);
    accel_kvm_ops.kick(d->vcpus[0]);
    usleep(100 * 1000);
    struct vcpu_regs r;
    int rc = accel_kvm_ops.get_regs(d->vcpus[0], &r); /* blocks if the vCPU were still running */
    check(rc == 0 && r.rip == GUEST_BASE + (uint64_t)(guest_entry_spin - guest_start),
          "kick parks a spinning vCPU of a paused domain and its registers are readable");
    r.rax = 0x5eed;
    rc = accel_kvm_ops.set_regs(d->vcpus[0], &r);
    struct vcpu_regs r2;
    accel_kvm_ops.get_regs(d->vcpus[0], &r2);
    check(rc == 0 && r2.rax == 0x5eed, "set_regs on a parked vCPU is read back");
    struct vcpu_sregs s;
    rc = accel_kvm_ops.get_sregs(d->vcpus[0], &s);
    check(rc == 0 && s.cs.selector == 0x08 && (s.cr0 & 1) && (s.cs.attrib & 0x80),
          "get_sregs shows the flat protected-mode CS");
    check(rc == 0 && accel_kvm_ops.set_sregs(d->vcpus[0], &s) == 0, "set_sregs accepts it back");
    atomic_store(&d->state, DOM_RUNNING);
    accel_kvm_ops.kick(d->vcpus[0]);
    usleep(100 * 1000);
    uint64_t t0 = kxen_now_ns();
    accel_kvm_ops.stop(d);
    uint64_t ms = (kxen_now_ns() - t0) / 1000000;
    check(ms < 5000, "stop() leaves guest code and joins the vCPU thread");
    printf("# stop took %llu ms\n", (unsigned long long)ms);
    dom_free(d);
}

static void test_real16_boot(void)
{
    memset(&rec, 0, sizeof(rec));
    boot_mode = VCPU_BOOT_REAL16;
    struct domain *d = dom_new(guest_entry_real16, NULL);
    boot_mode = VCPU_BOOT_PROT32;
    if (!d || accel_kvm_ops.start(d) < 0) {
        check(false, "real-mode domain starts");
        return;
    }
    for (int i = 0; i < 20000 && rec.nr_reports < 2; i++)
        usleep(1000);
    uint64_t entry = GUEST_BASE + (uint64_t)(guest_entry_real16 - guest_start);
    check(rec.nr_reports == 2 && rec.reports[0] == (entry >> 4 & 0xf000) && !(rec.reports[1] & 1),
          "REAL16 boot runs 16-bit code in real mode with cs:ip at the entry");
    dom_free(d);
}

/* One upcall on port 1 through KVM (kvm) or kxend's own path (want_upcall, kick, MSI before
 * the next entry); returns how long until the guest's handler reported, 0 on timeout. */
static uint64_t xen_upcall_once(struct vcpu *v, bool kvm)
{
    pthread_mutex_lock(&upcall_lock);
    int before = atomic_load(&rec.upcalls_seen);
    uint64_t t0 = kxen_now_ns();
    if (kvm) {
        if (accel_kvm_ops.evtchn_send(v, 1) < 0) {
            pthread_mutex_unlock(&upcall_lock);
            return 0;
        }
    } else {
        atomic_store(&rec.want_upcall, true);
        accel_kvm_ops.kick(v);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (atomic_load(&rec.upcalls_seen) == before)
        if (pthread_cond_timedwait(&upcall_cond, &upcall_lock, &ts) != 0)
            break;
    bool seen = atomic_load(&rec.upcalls_seen) != before;
    pthread_mutex_unlock(&upcall_lock);
    return seen ? atomic_load(&rec.upcall_ns) - t0 : 0;
}

/* KVM's Xen support as a Linux domain uses it: vmmcall intercepted (KVM_EXIT_XEN) and sends
 * through KVM_XEN_HVM_EVTCHN_SEND. Skipped where KVM has no Xen support (6.1). */
static void test_xen_intercept(bool bench)
{
    memset(&rec, 0, sizeof(rec));
    boot_lapic = true;
    struct domain *d = dom_new(guest_entry_xen, NULL);
    boot_lapic = false;
    if (!d) {
        check(false, "domain with a LAPIC for the Xen intercept");
        return;
    }
    if (!accel_kvm_ops.linux_hypercalls(d)) {
        printf("ok %d - KVM's Xen hypercall intercept # SKIP this host's KVM has none\n", ++tap_n);
        dom_free(d);
        return;
    }
    /* The guest's three vmmcall become vmcall on Intel ("GenuineIntel": ebx "Genu"). */
    unsigned a, b, c, dx;
    __cpuid(0, a, b, c, dx);
    if (b == 0x756e6547u) {
        const uint8_t *at[] = {guest_xen_hcall_1, guest_xen_hcall_2, guest_xen_hcall_3};
        for (size_t i = 0; i < ARRAY_SIZE(at); i++)
            d->ram[GUEST_BASE + (uint64_t)(at[i] - guest_start) + 2] = 0xc1;
    }
    d->shared_info_gpa = XEN_SHINFO;
    struct vcpu *v = d->vcpus[0];
    if (accel_kvm_ops.start(d) < 0) {
        check(false, "Xen intercept domain starts");
        dom_free(d);
        return;
    }
    for (int i = 0;
         i < 20000 && !atomic_load(&rec.spinning) && atomic_load(&d->state) != DOM_SHUTDOWN; i++)
        usleep(1000);
    check(rec.nr_hc >= 1 && rec.hc_nr[0] == 17 && rec.hc_args[0][0] == 0x11 &&
              rec.hc_args[0][4] == 0x55 && rec.nr_reports >= 1 && rec.reports[0] == 0x1234 + 17,
          "vmmcall/vmcall reaches hypercall_dispatch through KVM's Xen intercept (KVM_EXIT_XEN), "
          "with the 32-bit arguments, and its result reaches eax");
    check(atomic_load(&rec.spinning), "the guest runs on after intercepted hypercalls");
    check(rec.page_fill_calls == 1 && d->ram[HCALL_PAGE + 17 * 32 + 5] == 0xe7 &&
              rec.nr_reports >= 2 && rec.reports[1] == 0x1234 + 17,
          "with the intercept on, the hypercall MSR still reaches kxend, which fills the page "
          "with port traps (KVM writes no page of its own)");
    uint64_t sum[2] = {0, 0};
    int got[2] = {0, 0};
    /* Alternating, so that a change in the host's load shifts both figures alike. */
    for (int i = 0; i < 2 * XEN_UPCALLS && atomic_load(&rec.spinning); i++) {
        uint64_t ns = xen_upcall_once(v, i % 2 == 0);
        if (!ns)
            break;
        sum[i % 2] += ns;
        got[i % 2]++;
    }
    check(got[0] == XEN_UPCALLS,
          "KVM_XEN_HVM_EVTCHN_SEND sets port 1 in shared_info and KVM injects the vCPU's upcall "
          "vector into its LAPIC, each time the guest consumed the last one");
    check(got[1] == XEN_UPCALLS, "kxend's own upcall path (kick, MSI) works in the same domain");
    bool down = wait_shutdown(d, 20000);
    check(down && rec.shutdown_reason == 0, "the guest's last intercepted hypercall powers it off");
    if (bench && rec.nr_marks == 3 && got[0] && got[1]) {
        printf("BENCH kvm-xen hypercall round trip, KVM Xen intercept: %.2f us\n",
               (double)(rec.marks_ns[1] - rec.marks_ns[0]) / BENCH_N / 1000.0);
        printf("BENCH kvm-xen hypercall round trip, port trap (rewrite): %.2f us\n",
               (double)(rec.marks_ns[2] - rec.marks_ns[1]) / BENCH_N / 1000.0);
        printf("BENCH kvm-xen upcall latency, KVM_XEN_HVM_EVTCHN_SEND: %.2f us\n",
               (double)sum[0] / got[0] / 1000.0);
        printf("BENCH kvm-xen upcall latency, kxend kick + MSI: %.2f us\n",
               (double)sum[1] / got[1] / 1000.0);
    }
    dom_free(d);
}

int main(int argc, char **argv)
{
    bool bench = argc > 1 && !strcmp(argv[1], "--bench");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = accel_kvm_ops.probe();
    if (rc < 0) {
        printf("SKIP no usable /dev/kvm (%s)\n", strerror(-rc));
        return 77;
    }
    if (rc == KXEN_KVM_PROBE_LIMITED)
        printf("# probe: this /dev/kvm does not deliver a guest's int3 (see the warning)\n");
    check(rc == 0, "probe finds /dev/kvm with the capabilities kxen needs, and its test guest's "
                   "int3 reaches the guest's own #BP handler");
    /* Every check below reads the core's structs that kvm.c/kvm_run.c write: a stale object
     * built against another layout would fail them for reasons unrelated to the code. */
    bool same_layout = kvm_accel_layout_id() == KXEN_KVM_LAYOUT_ID;
    check(same_layout, "the accelerator objects and this test agree on the core's struct "
                       "layout (else: a stale object, rebuild)");
    if (!same_layout) {
        printf("RESULT FAIL\n");
        return 1;
    }
    uint8_t e[32];
    accel_kvm_ops.hypercall_entry(29, e);
    check(e[0] == 0xb8 && e[1] == 29 && e[5] == 0xe7 && e[7] == 0xc3,
          "hypercall page entry is mov $nr,%eax; out; ret");
    test_main_guest(bench);
    test_triple_fault();
    test_internal_error_logged();
    test_kick_and_stop();
    test_real16_boot();
    test_xen_intercept(bench);
    printf("RESULT %s\n", tap_failed ? "FAIL" : "PASS");
    return tap_failed ? 1 : 0;
}
