/* The accelerator's own vCPU state in the save stream: one record per vCPU (its type is the
 * accelerator's cpu_state_rec, KXEN_SREC_KVM_VCPU on kvm) with what get_cpu_state returns —
 * on kvm the FPU/XSAVE area, MSRs, local APIC, pending events and MP state a Linux guest
 * needs. Soft keeps nothing beyond the registers and writes no record. Invariant: loads
 * after the core's vCPU records (its order is higher), so the accelerator finds the
 * control registers and APIC base already set, as its set_cpu_state requires. */
#include <errno.h>
#include <stdlib.h>

#include "kxend/accel.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

/* Room for one vCPU's record: the fixed part, every MSR and the largest XSAVE area. */
#define CPU_STATE_MAX                                                                              \
    (sizeof(struct kxen_srec_kvm_vcpu) + KXEN_KVM_MAX_MSRS * sizeof(struct kxen_srec_msr) +        \
     KXEN_KVM_MAX_FPU)

static int cpu_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    if (!d->accel->get_cpu_state)
        return 0;
    uint8_t *buf = malloc(CPU_STATE_MAX);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (unsigned i = 0; i < d->nr_vcpus && rc >= 0; i++) {
        if (!d->vcpus[i]->accel_priv)
            continue; /* never created: nothing to carry */
        rc = d->accel->get_cpu_state(d->vcpus[i], buf, CPU_STATE_MAX);
        if (rc >= 0)
            rc = kxend_save_put(ctx, d->accel->cpu_state_rec, i, buf, (uint32_t)rc);
    }
    free(buf);
    return rc < 0 ? rc : 0;
}

static int cpu_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    if (!d->accel->set_cpu_state)
        return 0;
    uint8_t *buf = malloc(CPU_STATE_MAX);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (unsigned i = 0; i < d->nr_vcpus && rc >= 0; i++) {
        int len = kxend_save_get(ctx, d->accel->cpu_state_rec, i, buf, CPU_STATE_MAX);
        if (len == -ENOENT)
            continue; /* saved before it ran, or by a kxend that did not write it */
        if (len < 0 || (uint32_t)len > CPU_STATE_MAX)
            rc = -EINVAL;
        else
            rc = d->accel->set_cpu_state(d->vcpus[i], buf, (uint32_t)len);
    }
    free(buf);
    return rc < 0 ? rc : 0;
}

static const struct domain_subsys cpu_save_subsys = {
    .name = "cpu-state",
    .order = SUBSYS_ORDER_LATE + 10,
    .save = cpu_save,
    .load = cpu_load,
};
DOMAIN_SUBSYS_REGISTER(cpu_save_subsys);
