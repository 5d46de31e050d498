/* KVM's own Xen support (CONFIG_KVM_XEN), used for Linux PVH domains on hosts that have it:
 * - the hypercall intercept: the guest's vmcall/vmmcall exit to kxend as KVM_EXIT_XEN and are
 *   answered by hypercall_dispatch, so the domain builder leaves the kernel text alone;
 * - event delivery without a vCPU exit: kxend raises a port with KVM_XEN_HVM_EVTCHN_SEND and
 *   KVM sets the pending, selector and upcall bits and injects the vCPU's upcall vector into
 *   its in-kernel LAPIC itself.
 * On other hosts, or with KXEN_KVM_XEN=0, none of this is used and the builder rewrites the
 * two instructions into kxen's port trap (docs/linux-guest.md, "Hypercall transport").
 *
 * Invariant: kxend owns the event-channel state. KVM is told where the 2-level bitmaps already
 * are (shared_info, each vCPU's vcpu_info) and which vector each vCPU takes; it never holds a
 * copy. A send goes to KVM only while what KVM was told equals kxend's current view for that
 * vCPU; otherwise (not synced yet, remapped, no vector) the caller takes kxend's own path.
 * What KVM was told is updated only on the vCPU's own thread, before it enters the guest
 * (vCPU attributes must be set there), and the shared_info frame under xen_lock.
 * Nothing else of KVM's Xen support is enabled: no in-kernel timers, runstate or
 * EVTCHNOP_send, so every hypercall but SCHEDOP_yield/SCHEDOP_poll reaches kxend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <kxen/xen.h>

#include "../kxend/core.h"
#include "kxend/guest_mem.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kvm_priv.h"

#define KVM_XEN_PAGE_SHIFT 12
/* What KVM takes for "no shared_info" / "no vcpu_info". */
#define KVM_XEN_NO_GFN (~0ull)
#define KVM_XEN_NO_GPA (~0ull)
/* "KVM was told nothing usable": never a guest address, never KXEN_NO_GPA. */
#define KVM_XEN_UNSET (~0ull - 1)

/* KVM_CAP_XEN_HVM's feature bits, 0 when the host kernel has no Xen support. */
static int xen_caps(int sys_fd)
{
    int caps = ioctl(sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
    return caps > 0 ? caps : 0;
}

/* KXEN_KVM_XEN: "0" never uses KVM's Xen support (the builder's rewrite, as on hosts without
 * it), "1" requires it (a host without it says so in the log and falls back); unset: used
 * when the host has it. */
static int xen_wanted(void)
{
    const char *s = getenv("KXEN_KVM_XEN");
    if (!s || !*s)
        return -1;
    return strcmp(s, "0") != 0;
}

static int vm_attr(struct kvm_dom *kd, struct kvm_xen_hvm_attr *a)
{
    return ioctl(kd->vm_fd, KVM_XEN_HVM_SET_ATTR, a) < 0 ? -errno : 0;
}

/* Event delivery through KVM needs its 2-level support, shared_info and per-vCPU vectors. KVM
 * writes Xen's pvclock into every vcpu_info it knows (as kxend does on each entry): its clock
 * is set to kxend's system time here so both writers agree, and the wall clock KVM puts into
 * shared_info then matches kxend's too. */
static bool evtchn_setup(struct domain *d, int caps)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    const int need = KVM_XEN_HVM_CONFIG_SHARED_INFO | KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL |
                     KVM_XEN_HVM_CONFIG_EVTCHN_SEND;
    if ((caps & need) != need)
        return false;
    struct kvm_xen_hvm_attr lm = {.type = KVM_XEN_ATTR_TYPE_LONG_MODE, .u.long_mode = 1};
    struct kvm_clock_data clk = {.clock = kxen_system_time_ns()};
    int rc = vm_attr(kd, &lm);
    if (rc == 0 && ioctl(kd->vm_fd, KVM_SET_CLOCK, &clk) < 0)
        rc = -errno;
    if (rc < 0) {
        log_warn("kvm: dom%u: KVM's Xen event delivery unavailable (%s): kxend delivers", d->domid,
                 strerror(-rc));
        return false;
    }
    /* Compared with the middle of the read: the ioctl itself takes microseconds nested. */
    struct kvm_clock_data now = {0};
    uint64_t t0 = kxen_system_time_ns();
    if (ioctl(kd->vm_fd, KVM_GET_CLOCK, &now) == 0) {
        uint64_t mid = t0 + (kxen_system_time_ns() - t0) / 2;
        log_info("kvm: dom%u: kvmclock set to kxend's system time (off by %lld ns)", d->domid,
                 (long long)(now.clock - mid));
    }
    return true;
}

bool kvm_xen_linux_hypercalls(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    int want = xen_wanted();
    if (!kd || want == 0)
        return false;
    int caps = xen_caps(kd->sys_fd);
    if (!(caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)) {
        if (want == 1)
            log_warn("kvm: dom%u: KXEN_KVM_XEN=1 but this host's KVM has no Xen hypercall "
                     "intercept (no CONFIG_KVM_XEN): the builder rewrites the instructions",
                     d->domid);
        return false;
    }
    /* KVM turns its Xen support on only for a VM that names a hypercall-page MSR. The MSR
     * named is kxen's own: KVM's MSR filter check runs before its Xen MSR handler, so a write
     * still exits to kxend (kvm.c), which fills the page with port traps as for every other
     * guest. KVM never writes a hypercall page here. */
    struct kvm_xen_hvm_config cfg = {
        .flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
        .msr = KXEN_HYPERCALL_MSR,
    };
    if (ioctl(kd->vm_fd, KVM_XEN_HVM_CONFIG, &cfg) < 0) {
        log_warn("kvm: dom%u: KVM_XEN_HVM_CONFIG: %s: the builder rewrites the instructions",
                 d->domid, strerror(errno));
        return false;
    }
    kd->xen = true;
    /* KVM writes the pvclock from its kvmclock now: no time offset (domain.h), whichever of
     * this and the restore's time_restore comes first. */
    d->clock_by_accel = true;
    atomic_store(&d->time_offset_ns, 0);
    kd->xen_evtchn = evtchn_setup(d, caps);
    log_info("kvm: dom%u: KVM Xen hypercall intercept on; event delivery by %s", d->domid,
             kd->xen_evtchn ? "KVM (KVM_XEN_HVM_EVTCHN_SEND)" : "kxend");
    atomic_store(&kd->xen_shinfo_gpa, KVM_XEN_UNSET);
    atomic_store(&kd->xen_shinfo_tried, KVM_XEN_UNSET);
    return true;
}

bool kvm_xen_evtchn_enabled(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    return kd && kd->xen_evtchn;
}

void kvm_xen_vcpu_init(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    kv->xen_vcpu_info_tried = KXEN_NO_GPA;
    kv->xen_vector_tried = 0;
    atomic_store(&kv->xen_vcpu_info_gpa, KVM_XEN_UNSET);
    atomic_store(&kv->xen_vector, 0);
}

/* The shared_info frame as kxend knows it now, told to KVM once per change (a refused value
 * is not retried until it changes again; sends keep kxend's path meanwhile). */
static void sync_shared_info(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    uint64_t gpa = d->shared_info_gpa;
    if (atomic_load(&kd->xen_shinfo_tried) == gpa)
        return;
    pthread_mutex_lock(&kd->xen_lock);
    if (atomic_load(&kd->xen_shinfo_tried) != gpa) {
        struct kvm_xen_hvm_attr a = {
            .type = KVM_XEN_ATTR_TYPE_SHARED_INFO,
            .u.shared_info.gfn = gpa == KXEN_NO_GPA ? KVM_XEN_NO_GFN : gpa >> KVM_XEN_PAGE_SHIFT,
        };
        int rc = (gpa != KXEN_NO_GPA && (gpa & (KXEN_PAGE_SIZE - 1))) ? -EINVAL : vm_attr(kd, &a);
        atomic_store(&kd->xen_shinfo_gpa, rc == 0 ? gpa : KVM_XEN_UNSET);
        atomic_store(&kd->xen_shinfo_tried, gpa);
        if (rc < 0)
            log_dom_warn(d->domid, "kvm: dom%u: shared_info at %#llx for KVM: %s", d->domid,
                         (unsigned long long)gpa, strerror(-rc));
    }
    pthread_mutex_unlock(&kd->xen_lock);
}

static int vcpu_attr(struct vcpu *v, struct kvm_xen_vcpu_attr *a)
{
    return ioctl(kvm_vcpu_of(v)->fd, KVM_XEN_VCPU_SET_ATTR, a) < 0 ? -errno : 0;
}

void kvm_xen_vcpu_sync(struct vcpu *v)
{
    struct domain *d = v->dom;
    if (!kvm_xen_evtchn_enabled(d))
        return;
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    sync_shared_info(d);
    uint64_t gpa = vcpu_info_gpa(v);
    if (kv->xen_vcpu_info_tried != gpa) {
        struct kvm_xen_vcpu_attr a = {.type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO,
                                      .u.gpa = gpa == KXEN_NO_GPA ? KVM_XEN_NO_GPA : gpa};
        int rc = vcpu_attr(v, &a);
        kv->xen_vcpu_info_tried = gpa;
        atomic_store(&kv->xen_vcpu_info_gpa, rc == 0 ? gpa : KVM_XEN_UNSET);
        if (rc < 0)
            log_dom_warn(d->domid, "kvm: dom%u vcpu%u: vcpu_info at %#llx for KVM: %s", d->domid,
                         v->id, (unsigned long long)gpa, strerror(-rc));
    }
    unsigned vec = v->upcall_vector;
    if (kv->xen_vector_tried != vec) {
        struct kvm_xen_vcpu_attr a = {.type = KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR,
                                      .u.vector = (uint8_t)vec};
        int rc = vcpu_attr(v, &a);
        kv->xen_vector_tried = vec;
        atomic_store(&kv->xen_vector, rc == 0 ? vec : 0);
        if (rc < 0)
            log_dom_warn(d->domid, "kvm: dom%u vcpu%u: upcall vector %#x for KVM: %s", d->domid,
                         v->id, vec, strerror(-rc));
    }
}

int kvm_xen_evtchn_send(struct vcpu *v, uint32_t port)
{
    struct domain *d = v->dom;
    struct kvm_dom *kd = kvm_dom_of(d);
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (!kd || !kd->xen_evtchn || !kv)
        return -EOPNOTSUPP;
    /* KVM must know the same bitmaps and vector kxend would use, else it sets bits the guest
     * does not read or injects nothing. */
    uint64_t si = d->shared_info_gpa;
    unsigned vec = v->upcall_vector;
    uint64_t vi = vcpu_info_gpa(v);
    if (si == KXEN_NO_GPA || atomic_load(&kd->xen_shinfo_gpa) != si || !vec ||
        atomic_load(&kv->xen_vector) != vec || vi == KXEN_NO_GPA ||
        atomic_load(&kv->xen_vcpu_info_gpa) != vi)
        return -EAGAIN;
    struct kvm_irq_routing_xen_evtchn e = {
        .port = port, .vcpu = v->id, .priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL};
    if (ioctl(kd->vm_fd, KVM_XEN_HVM_EVTCHN_SEND, &e) < 0)
        return -errno;
    /* KVM writes through its own mapping and logs nothing: a save or migration must still
     * see these pages change. */
    guest_mark_dirty(d, si, KXEN_PAGE_SIZE);
    guest_mark_dirty(d, vi, sizeof(struct vcpu_info));
    if (!atomic_exchange(&kd->xen_sent, true))
        log_info("kvm: dom%u: first event delivered by KVM (port %u, vcpu%u)", d->domid, port,
                 v->id);
    return 0;
}

/* A hypercall KVM intercepted: number and arguments in kvm_run, result written back by KVM
 * (rax, and rip past the instruction) when the vCPU next enters. */
bool kvm_xen_handle_exit(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    if (run->xen.type != KVM_EXIT_XEN_HCALL)
        return false;
    uint64_t args[5];
    for (int i = 0; i < 5; i++)
        args[i] = run->xen.u.hcall.params[i];
    bool lm = run->xen.u.hcall.longmode;
    uint64_t nr = lm ? run->xen.u.hcall.input : (uint32_t)run->xen.u.hcall.input;
    int64_t ret = kvm_hypercall_call(v, run->xen.u.hcall.cpl == 0, nr, args);
    run->xen.u.hcall.result = lm ? (uint64_t)ret : (uint32_t)ret;
    return true;
}
