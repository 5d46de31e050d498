/* The administrator's knobs on a running domain, as Xen's libxl turns them: memory target and
 * maximum (the balloon protocol: memory/target in xenstore, the maximum in the hypervisor),
 * vCPU availability (cpu/N/availability), host affinity and credit parameters (kxend's
 * scheduling ops), sysrq (control/sysrq) and triggers. Each refusal names the value and the
 * limit it broke. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_hvm.h"
#include <kxen/hvm/params.h>
#include "xenstore.h"

#include "kxl_internal.h"

static int domain_info(struct kxl_ctx *ctx, uint16_t domid, struct kxl_dominfo *info)
{
    int rc = kxl_hv_getinfo(ctx, domid, false, info);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u: %s", domid, kxl_hv_reason(ctx, rc));
    return 0;
}

static uint64_t read_kb(struct kxl_ctx *ctx, uint16_t domid, const char *key, uint64_t dflt)
{
    char p[96];
    snprintf(p, sizeof(p), "/local/domain/%u/memory/%s", domid, key);
    char *v = kxl_xs_read(ctx, p);
    uint64_t kb = v ? strtoull(v, NULL, 10) : dflt;
    free(v);
    return kb;
}

static int write_kb(struct kxl_ctx *ctx, uint16_t domid, const char *key, uint64_t kb)
{
    char p[96];
    snprintf(p, sizeof(p), "/local/domain/%u/memory/%s", domid, key);
    int rc = kxl_xs_printf(ctx, XBT_NULL, p, "%llu", (unsigned long long)kb);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u: cannot write %s: %s", domid, p, strerror(-rc));
    return 0;
}

int kxl_set_memory_target(struct kxl_ctx *ctx, uint16_t domid, uint64_t target_kb)
{
    struct kxl_dominfo info;
    int rc = domain_info(ctx, domid, &info);
    if (rc < 0)
        return rc;
    if (target_kb < KXL_MIN_TARGET_KB)
        return kxl_fail(ctx, -EINVAL, "memory target %llu KiB: below the %u KiB a guest needs",
                        (unsigned long long)target_kb, KXL_MIN_TARGET_KB);
    if (target_kb > info.max_memory_kb)
        return kxl_fail(ctx, -EINVAL,
                        "memory target %llu KiB: above domain %u's maximum of %llu KiB "
                        "(raise it with xl mem-max)",
                        (unsigned long long)target_kb, domid,
                        (unsigned long long)info.max_memory_kb);
    return write_kb(ctx, domid, "target", target_kb);
}

int kxl_set_max_memory(struct kxl_ctx *ctx, uint16_t domid, uint64_t max_kb)
{
    struct kxl_dominfo info;
    int rc = domain_info(ctx, domid, &info);
    if (rc < 0)
        return rc;
    /* As Xen's libxl: the maximum may not fall under the target the guest is asked to keep. */
    uint64_t target = read_kb(ctx, domid, "target", info.memory_kb);
    if (max_kb < target)
        return kxl_fail(ctx, -EINVAL,
                        "maximum %llu KiB: below domain %u's memory target of %llu KiB "
                        "(lower it with xl mem-set first)",
                        (unsigned long long)max_kb, domid, (unsigned long long)target);
    struct kxen_ctl_setmaxmem a = {.domid = domid, .max_memory_kb = max_kb};
    rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_DOMAIN_SETMAXMEM, &a, sizeof(a), NULL, 0, NULL, 0, NULL,
                       NULL, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u: %s", domid, kxl_hv_reason(ctx, rc));
    return write_kb(ctx, domid, "static-max", max_kb);
}

int kxl_set_vcpus_online(struct kxl_ctx *ctx, uint16_t domid, unsigned nr)
{
    struct kxl_dominfo info;
    int rc = domain_info(ctx, domid, &info);
    if (rc < 0)
        return rc;
    if (nr == 0 || nr > info.nr_vcpus)
        return kxl_fail(ctx, -EINVAL, "%u vcpus: domain %u has maxvcpus %u (at least 1)", nr, domid,
                        info.nr_vcpus);
    /* One transaction, as Xen's libxl: the guest sees the whole new set at once. */
    struct xs_handle *xs = ctx->xs;
    for (int attempt = 0; attempt < 8; attempt++) {
        xs_transaction_t t = xs_transaction_start(xs);
        if (t == XBT_NULL)
            return kxl_fail(ctx, -errno, "domain %u: xenstore transaction: %s", domid,
                            strerror(errno));
        for (unsigned i = 0; i < info.nr_vcpus && rc == 0; i++) {
            char p[96];
            snprintf(p, sizeof(p), "/local/domain/%u/cpu/%u/availability", domid, i);
            rc = kxl_xs_printf(ctx, t, p, "%s", i < nr ? "online" : "offline");
        }
        if (rc < 0) {
            xs_transaction_end(xs, t, true);
            return kxl_fail(ctx, rc, "domain %u: cannot write cpu/N/availability: %s", domid,
                            strerror(-rc));
        }
        if (xs_transaction_end(xs, t, false))
            return 0;
        if (errno != EAGAIN)
            break;
    }
    return kxl_fail(ctx, -errno, "domain %u: cannot commit cpu/N/availability: %s", domid,
                    strerror(errno));
}

int kxl_vcpu_set_affinity(struct kxl_ctx *ctx, uint16_t domid, unsigned vcpu,
                          const uint64_t cpumap[KXL_CPUMAP_WORDS])
{
    struct kxen_ctl_vcpu_affinity a = {.domid = domid, .vcpu = vcpu};
    memcpy(a.cpumap, cpumap, sizeof(a.cpumap));
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_VCPU_SETAFFINITY, &a, sizeof(a), NULL, 0, NULL, 0,
                           NULL, NULL, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "%s", kxl_hv_reason(ctx, rc));
    return 0;
}

int kxl_vcpu_get_affinity(struct kxl_ctx *ctx, uint16_t domid, unsigned vcpu,
                          uint64_t cpumap[KXL_CPUMAP_WORDS], int *host_cpu)
{
    struct kxen_ctl_vcpu_req a = {.domid = domid, .vcpu = vcpu};
    struct kxen_ctl_vcpu_affinity r;
    uint32_t len = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_VCPU_GETAFFINITY, &a, sizeof(a), NULL, 0, &r,
                           sizeof(r), &len, NULL, NULL);
    if (rc == 0 && len < sizeof(r))
        rc = -EPROTO;
    if (rc < 0)
        return kxl_fail(ctx, rc, "%s", kxl_hv_reason(ctx, rc));
    memcpy(cpumap, r.cpumap, sizeof(r.cpumap));
    *host_cpu = r.host_cpu;
    return 0;
}

int kxl_sched_credit_get(struct kxl_ctx *ctx, uint16_t domid, struct kxl_sched_credit *out)
{
    struct kxen_ctl_domid_arg a = {.domid = domid};
    struct kxen_ctl_sched_credit r;
    uint32_t len = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_SCHED_CREDIT_GET, &a, sizeof(a), NULL, 0, &r,
                           sizeof(r), &len, NULL, NULL);
    if (rc == 0 && len < sizeof(r))
        rc = -EPROTO;
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u: %s", domid, kxl_hv_reason(ctx, rc));
    out->weight = r.weight;
    out->cap = r.cap;
    out->nice = r.nice;
    return 0;
}

int kxl_sched_credit_set(struct kxl_ctx *ctx, uint16_t domid, int weight, int cap)
{
    if (weight == 0 || weight > KXEN_SCHED_WEIGHT_MAX)
        return kxl_fail(ctx, -EINVAL, "weight %d: Xen's credit weights are 1..%u", weight,
                        KXEN_SCHED_WEIGHT_MAX);
    if (cap < -1)
        return kxl_fail(ctx, -EINVAL, "cap %d: a percentage of one CPU, 0 for none", cap);
    struct kxen_ctl_sched_credit a = {
        .domid = domid,
        .weight = weight < 0 ? 0 : (uint32_t)weight,
        .cap = cap < 0 ? KXEN_SCHED_CAP_KEEP : (uint32_t)cap,
    };
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_SCHED_CREDIT_SET, &a, sizeof(a), NULL, 0, NULL, 0,
                           NULL, NULL, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u: %s", domid, kxl_hv_reason(ctx, rc));
    return 0;
}

int kxl_send_sysrq(struct kxl_ctx *ctx, uint16_t domid, char key)
{
    char p[96];
    if (domid == 0)
        return kxl_fail(ctx, -EINVAL, "sysrq: Domain-0 is the host (use the host's own sysrq)");
    snprintf(p, sizeof(p), "/local/domain/%u/control/sysrq", domid);
    int rc = kxl_xs_printf(ctx, XBT_NULL, p, "%c", key);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u: cannot write %s: %s", domid, p, strerror(-rc));
    return 0;
}

/* The domain's type as the toolstack recorded it (/vm/<uuid>/image/ostype): malloc'd, NULL
 * when unknown (a domain xl did not create). */
static char *domain_ostype(struct kxl_ctx *ctx, uint16_t domid)
{
    char p[96];
    snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
    char *vm = kxl_xs_read(ctx, p);
    char *type = NULL;
    if (vm) {
        snprintf(p, sizeof(p), "%s/image/ostype", vm);
        type = kxl_xs_read(ctx, p);
        free(vm);
    }
    return type;
}

int kxl__domain_pv_control(struct kxl_ctx *ctx, uint16_t domid)
{
    char *type = domain_ostype(ctx, domid);
    bool hvm = type && !strcmp(type, "hvm");
    free(type);
    if (!hvm)
        return 1;
    /* As Xen's libxl: PV drivers that listen for control/shutdown have set the callback. */
    struct kxen_ctl_hvm_param a = {.domid = domid, .index = HVM_PARAM_CALLBACK_IRQ};
    uint32_t len = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_HVM_PARAM_GET, &a, sizeof(a), NULL, 0, &a, sizeof(a),
                           &len, NULL, NULL);
    if (rc == 0 && len < sizeof(a))
        rc = -EPROTO;
    return rc < 0 ? rc : a.value != 0;
}

int kxl_send_trigger(struct kxl_ctx *ctx, uint16_t domid, const char *trigger)
{
    static const char *const xen_triggers[] = {"nmi",   "reset", "init",
                                               "power", "sleep", "s3resume"};
    uint32_t index = 0;
    bool known = false;
    for (uint32_t i = 0; i < sizeof(xen_triggers) / sizeof(xen_triggers[0]); i++)
        if (!strcmp(trigger, xen_triggers[i]))
            known = true, index = i;
    if (!known)
        return kxl_fail(ctx, -EINVAL,
                        "trigger '%s': Xen's triggers are nmi, reset, init, power, sleep, "
                        "s3resume",
                        trigger);
    char *type = domain_ostype(ctx, domid);
    int rc;
    if (type && !strcmp(type, "hvm")) {
        /* The emulated PC's devices take it (kxend: the ACPI power button). */
        struct kxen_ctl_hvm_trigger a = {.domid = domid, .trigger = index};
        rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_HVM_TRIGGER, &a, sizeof(a), NULL, 0, NULL);
        if (rc < 0)
            rc = kxl_fail(ctx, rc, "trigger '%s': %s", trigger, kxl_hv_reason(ctx, rc));
    } else {
        /* Triggers are emulated-platform events (ACPI button, NMI pin, reset line): Xen
         * delivers them to hvm guests only; pv and pvh guests have none. */
        rc = kxl_fail(ctx, -EOPNOTSUPP,
                      "trigger '%s': domain %u is a %s guest, which has no emulated platform "
                      "(ACPI buttons, NMI or reset lines): Xen sends triggers to hvm guests "
                      "only; use xl shutdown, xl reboot or xl sysrq",
                      trigger, domid, type ? type : "pv");
    }
    free(type);
    return rc;
}
