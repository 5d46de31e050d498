/* The kvm accelerator's CPU state for the save stream (KXEN_SREC_KVM_VCPU, kxen/ctl_save.h):
 * everything a vCPU holds beyond the registers the core saves through get_regs/get_sregs —
 * the FPU/XSAVE area and XCRs, every MSR KVM lists as saveable, the debug registers, pending
 * exceptions/interrupts/NMIs (vcpu events), the in-kernel local APIC of the split irqchip
 * and the MP state (halted, waiting for INIT/SIPI). A Linux guest needs all of it: its user
 * processes own FPU state, syscalls go through STAR/LSTAR, its secondary vCPUs sit in the
 * LAPIC.
 *
 * Invariant: called with the vCPU's thread stopped (save and restore stop the domain), so
 * nothing in KVM changes underneath; set runs after the core set the segment and control
 * registers (the LAPIC needs its APIC base, XSAVE needs CR4.OSXSAVE and XCR0 first).
 * The TSC MSRs are not restored: kvm.c keeps every guest's TSC equal to the host's, which
 * the pvclock fields kxend writes from host TSC readings rely on. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kxen/ctl_save.h"
#include "kxen/log.h"
#include "kvm_priv.h"

#define MSR_IA32_TSC 0x10u
#define MSR_IA32_TSC_ADJUST 0x3bu
#define MSR_IA32_TSC_DEADLINE 0x6e0u

_Static_assert(sizeof(struct kvm_vcpu_events) == 64, "events blob size");
_Static_assert(sizeof(struct kvm_debugregs) == 128, "debugregs blob size");
_Static_assert(sizeof(struct kvm_lapic_state) == 1024, "lapic blob size");
_Static_assert(sizeof(struct kvm_fpu) <= KXEN_KVM_MAX_FPU, "fpu fits");

static bool has_cap(struct vcpu *v, long cap)
{
    return ioctl(kvm_dom_of(v->dom)->sys_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

/* MSRs that do not travel: the TSC ones (see the header), and KVM's paravirtual ranges —
 * 0x40000000.. is Hyper-V's in KVM and Xen's hypercall-page MSR for kxen guests (kxend's
 * own, through the MSR filter), 0x4b564d00.. is KVM's kvmclock and friends, which a guest
 * shown Xen's CPUID leaves instead of KVM's never enables. */
static bool msr_skipped(uint32_t index)
{
    return index == MSR_IA32_TSC || index == MSR_IA32_TSC_ADJUST ||
           index == MSR_IA32_TSC_DEADLINE || (index >> 8) == 0x400000u || (index >> 8) == 0x4b564du;
}

/* KVM's list of MSRs that carry state, minus the skipped ones. Returns the count. */
static int msr_list(struct vcpu *v, uint32_t *out, uint32_t cap)
{
    struct kvm_msr_list *l = calloc(1, sizeof(*l) + 1024 * sizeof(uint32_t));
    if (!l)
        return -ENOMEM;
    l->nmsrs = 1024;
    int rc = ioctl(kvm_dom_of(v->dom)->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0 ? -errno : 0;
    uint32_t n = 0;
    for (uint32_t i = 0; rc == 0 && i < l->nmsrs && n < cap; i++)
        if (!msr_skipped(l->indices[i]))
            out[n++] = l->indices[i];
    free(l);
    return rc < 0 ? rc : (int)n;
}

/* KVM_GET_MSRS stops at the first MSR it cannot read (one this CPU model lacks): such an
 * MSR is left out and the read goes on after it. Returns the number kept in out. */
static int msrs_get(struct vcpu *v, struct kxen_srec_msr *out, uint32_t cap)
{
    uint32_t idx[KXEN_KVM_MAX_MSRS];
    int n = msr_list(v, idx, KXEN_KVM_MAX_MSRS < cap ? KXEN_KVM_MAX_MSRS : cap);
    if (n < 0)
        return n;
    struct kvm_msrs *m = calloc(1, sizeof(*m) + (size_t)n * sizeof(struct kvm_msr_entry));
    if (!m)
        return -ENOMEM;
    uint32_t kept = 0;
    for (int i = 0; i < n;) {
        m->nmsrs = (uint32_t)(n - i);
        for (int j = i; j < n; j++)
            m->entries[j - i] = (struct kvm_msr_entry){.index = idx[j]};
        int got = ioctl(kvm_vcpu_of(v)->fd, KVM_GET_MSRS, m);
        if (got < 0) {
            free(m);
            return -errno;
        }
        for (int j = 0; j < got; j++)
            out[kept++] =
                (struct kxen_srec_msr){.index = m->entries[j].index, .data = m->entries[j].data};
        i += got + 1; /* skip the one KVM refused */
    }
    free(m);
    return (int)kept;
}

static int fpu_get(struct vcpu *v, uint8_t *out, uint32_t cap, uint32_t *flags)
{
    int fd = kvm_vcpu_of(v)->fd;
    if (!has_cap(v, KVM_CAP_XSAVE)) {
        struct kvm_fpu f;
        if (cap < sizeof(f) || ioctl(fd, KVM_GET_FPU, &f) < 0)
            return cap < sizeof(f) ? -ENOSPC : -errno;
        memcpy(out, &f, sizeof(f));
        *flags |= KXEN_KVM_FPU_LEGACY;
        return (int)sizeof(f);
    }
    /* With dynamic XSAVE features (AMX) the area is larger than struct kvm_xsave: XSAVE2
     * reports and fills the full size. */
    int size = ioctl(kvm_dom_of(v->dom)->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    unsigned long req = KVM_GET_XSAVE;
    if (size > (int)sizeof(struct kvm_xsave))
        req = KVM_GET_XSAVE2;
    else
        size = (int)sizeof(struct kvm_xsave);
    if ((uint32_t)size > cap || (uint32_t)size > KXEN_KVM_MAX_FPU)
        return -ENOSPC;
    memset(out, 0, (size_t)size);
    if (ioctl(fd, req, out) < 0)
        return -errno;
    return size;
}

int kvm_get_cpu_state(struct vcpu *v, void *buf, uint32_t cap)
{
    int fd = kvm_vcpu_of(v)->fd;
    struct kxen_srec_kvm_vcpu *r = buf;
    if (cap < sizeof(*r))
        return -ENOSPC;
    memset(r, 0, sizeof(*r));
    struct kvm_mp_state mp;
    if (ioctl(fd, KVM_GET_MP_STATE, &mp) < 0)
        return -errno;
    r->mp_state = mp.mp_state;
    int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
    r->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
    if (has_cap(v, KVM_CAP_XCRS)) {
        struct kvm_xcrs x;
        if (ioctl(fd, KVM_GET_XCRS, &x) < 0)
            return -errno;
        r->nr_xcrs = x.nr_xcrs < 4 ? x.nr_xcrs : 4;
        for (uint32_t i = 0; i < r->nr_xcrs; i++)
            r->xcrs[i] = (struct kxen_srec_xcr){.xcr = x.xcrs[i].xcr, .value = x.xcrs[i].value};
        r->flags |= KXEN_KVM_HAS_XCRS;
    }
    if (has_cap(v, KVM_CAP_VCPU_EVENTS)) {
        struct kvm_vcpu_events e;
        if (ioctl(fd, KVM_GET_VCPU_EVENTS, &e) < 0)
            return -errno;
        memcpy(r->events, &e, sizeof(e));
        r->flags |= KXEN_KVM_HAS_EVENTS;
    }
    if (has_cap(v, KVM_CAP_DEBUGREGS)) {
        struct kvm_debugregs dr;
        if (ioctl(fd, KVM_GET_DEBUGREGS, &dr) < 0)
            return -errno;
        memcpy(r->debugregs, &dr, sizeof(dr));
        r->flags |= KXEN_KVM_HAS_DEBUGREGS;
    }
    if (kvm_dom_of(v->dom)->lapic) {
        struct kvm_lapic_state l;
        if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
            return -errno;
        memcpy(r->lapic, &l, sizeof(l));
        r->flags |= KXEN_KVM_HAS_LAPIC;
    }
    uint8_t *p = (uint8_t *)buf + sizeof(*r);
    uint32_t room = (cap - (uint32_t)sizeof(*r)) / sizeof(struct kxen_srec_msr);
    int n = msrs_get(v, (struct kxen_srec_msr *)p, room);
    if (n < 0)
        return n;
    r->nr_msrs = (uint32_t)n;
    p += (size_t)n * sizeof(struct kxen_srec_msr);
    int f = fpu_get(v, p, cap - (uint32_t)(p - (uint8_t *)buf), &r->flags);
    if (f < 0)
        return f;
    r->fpu_len = (uint32_t)f;
    return (int)(p - (uint8_t *)buf) + f;
}

static int msrs_set(struct vcpu *v, const struct kxen_srec_msr *in, uint32_t n)
{
    struct kvm_msrs *m = calloc(1, sizeof(*m) + (size_t)n * sizeof(struct kvm_msr_entry));
    if (!m)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct kxen_srec_msr e;
        memcpy(&e, &in[i], sizeof(e));
        if (!msr_skipped(e.index))
            m->entries[k++] = (struct kvm_msr_entry){.index = e.index, .data = e.data};
    }
    /* KVM_SET_MSRS stops at the first MSR it refuses (one the destination's CPU model lacks,
     * or a value it does not take): that one is named and the rest still set. */
    int rc = 0;
    struct kvm_msrs *rest = calloc(1, sizeof(*m) + (size_t)k * sizeof(struct kvm_msr_entry));
    for (uint32_t i = 0; rest && i < k;) {
        rest->nmsrs = k - i;
        memcpy(rest->entries, &m->entries[i], (k - i) * sizeof(m->entries[0]));
        int got = ioctl(kvm_vcpu_of(v)->fd, KVM_SET_MSRS, rest);
        if (got < 0) {
            rc = -errno;
            break;
        }
        if ((uint32_t)got < k - i)
            log_warn("kvm: dom%u vcpu%u: MSR %#x (value %#llx) refused on restore", v->dom->domid,
                     v->id, m->entries[i + (uint32_t)got].index,
                     (unsigned long long)m->entries[i + (uint32_t)got].data);
        i += (uint32_t)got + 1;
    }
    if (!rest)
        rc = -ENOMEM;
    free(rest);
    free(m);
    return rc;
}

static int fpu_set(struct vcpu *v, const struct kxen_srec_kvm_vcpu *r, const uint8_t *p)
{
    int fd = kvm_vcpu_of(v)->fd;
    if (r->flags & KXEN_KVM_FPU_LEGACY) {
        struct kvm_fpu f;
        if (r->fpu_len != sizeof(f))
            return -EINVAL;
        memcpy(&f, p, sizeof(f));
        return ioctl(fd, KVM_SET_FPU, &f) < 0 ? -errno : 0;
    }
    /* KVM_SET_XSAVE reads as many bytes as this host's XSAVE area has: a smaller saved area
     * is padded with zeros (features the source lacked start in their init state), a larger
     * one is refused. */
    int size = ioctl(kvm_dom_of(v->dom)->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    if (size < (int)sizeof(struct kvm_xsave))
        size = (int)sizeof(struct kvm_xsave);
    if (r->fpu_len > (uint32_t)size || !has_cap(v, KVM_CAP_XSAVE))
        return -EOPNOTSUPP;
    uint8_t *x = calloc(1, (size_t)size);
    if (!x)
        return -ENOMEM;
    memcpy(x, p, r->fpu_len);
    int rc = ioctl(fd, KVM_SET_XSAVE, x) < 0 ? -errno : 0;
    free(x);
    return rc;
}

/* Which step failed, for the log: a refusal here leaves a domain that cannot run. */
#define STEP(what, expr)                                                                           \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0) {                                                                             \
            log_err("kvm: dom%u vcpu%u: restoring %s: %s", v->dom->domid, v->id, what,             \
                    strerror(-rc_));                                                               \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)
#define IOCTL(req, arg) (ioctl(fd, req, arg) < 0 ? -errno : 0)

int kvm_set_cpu_state(struct vcpu *v, const void *buf, uint32_t len)
{
    int fd = kvm_vcpu_of(v)->fd;
    struct kxen_srec_kvm_vcpu r;
    if (len < sizeof(r))
        return -EINVAL;
    memcpy(&r, buf, sizeof(r));
    /* Buggy or hostile image: every variable part must lie inside the record. */
    if (r.nr_msrs > KXEN_KVM_MAX_MSRS || r.fpu_len > KXEN_KVM_MAX_FPU || r.nr_xcrs > 4 ||
        len != sizeof(r) + r.nr_msrs * sizeof(struct kxen_srec_msr) + r.fpu_len)
        return -EINVAL;
    if ((r.flags & KXEN_KVM_HAS_LAPIC) != (kvm_dom_of(v->dom)->lapic ? KXEN_KVM_HAS_LAPIC : 0))
        return -EINVAL; /* the domain was created with(out) a LAPIC the image lacks (has) */
    const uint8_t *p = (const uint8_t *)buf + sizeof(r);
    if (r.flags & KXEN_KVM_HAS_XCRS) {
        struct kvm_xcrs x = {.nr_xcrs = r.nr_xcrs};
        for (uint32_t i = 0; i < r.nr_xcrs; i++)
            x.xcrs[i] = (struct kvm_xcr){.xcr = r.xcrs[i].xcr, .value = r.xcrs[i].value};
        STEP("XCRs", IOCTL(KVM_SET_XCRS, &x));
    }
    STEP("the FPU/XSAVE area", fpu_set(v, &r, p + r.nr_msrs * sizeof(struct kxen_srec_msr)));
    if (r.flags & KXEN_KVM_HAS_LAPIC) {
        struct kvm_lapic_state l;
        memcpy(&l, r.lapic, sizeof(l));
        STEP("the local APIC", IOCTL(KVM_SET_LAPIC, &l));
    }
    STEP("MSRs", msrs_set(v, (const struct kxen_srec_msr *)p, r.nr_msrs));
    if (r.flags & KXEN_KVM_HAS_EVENTS) {
        struct kvm_vcpu_events e;
        memcpy(&e, r.events, sizeof(e));
        e.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
                   KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
        STEP("pending events", IOCTL(KVM_SET_VCPU_EVENTS, &e));
    }
    if (r.flags & KXEN_KVM_HAS_DEBUGREGS) {
        struct kvm_debugregs dr;
        memcpy(&dr, r.debugregs, sizeof(dr));
        dr.flags = 0;
        STEP("debug registers", IOCTL(KVM_SET_DEBUGREGS, &dr));
    }
    struct kvm_mp_state mp = {.mp_state = r.mp_state};
    STEP("the MP state", IOCTL(KVM_SET_MP_STATE, &mp));
    return 0;
}
#undef IOCTL
#undef STEP
