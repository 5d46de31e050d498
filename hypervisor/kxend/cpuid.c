/* CPUID as guests see it: the host's leaves with the hypervisor bit set and features the
 * accelerators cannot virtualise hidden, plus Xen's leaves at 0x40000000.
 *
 * Invariant: the host is asked each (leaf, subleaf) once per kxend. Its answers do not change
 * while kxend runs, and where kxend itself runs in a VM each CPUID instruction traps to that
 * VM's hypervisor (microseconds each): a kvm vCPU's set-up alone asks about 75 leaves, three
 * instructions apiece, on the path of every create and restore. The few values that depend
 * on the CPU executing the instruction (APIC ids) are those of the first asker, so a guest
 * sees the same answer every time. */
#include <cpuid.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <kxen/arch-x86/cpuid.h>

#include "kxend/accel.h"

#define XEN_MAX_LEAF XEN_CPUID_LEAF(4)

/* Open addressing with short probes: a key whose probe run is full is asked of the host
 * every time (the table holds far more entries than a host has leaves and subleaves; a guest
 * asking for arbitrary subleaves only fills it, it never makes a lookup long). */
#define HOST_CACHE_SIZE 512
#define HOST_CACHE_PROBES 16

struct host_leaf {
    bool valid;
    uint32_t leaf, sub;
    uint32_t out[4];
};

static struct host_leaf host_cache[HOST_CACHE_SIZE];
static pthread_mutex_t host_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    uint32_t h = (leaf * 0x9e3779b1u) ^ (sub * 0x85ebca6bu) ^ (leaf >> 16);
    pthread_mutex_lock(&host_cache_lock);
    for (uint32_t i = 0; i < HOST_CACHE_PROBES; i++) {
        struct host_leaf *e = &host_cache[(h + i) % HOST_CACHE_SIZE];
        if (e->valid && e->leaf == leaf && e->sub == sub) {
            memcpy(out, e->out, sizeof(e->out));
            pthread_mutex_unlock(&host_cache_lock);
            return;
        }
        if (!e->valid) {
            __cpuid_count(leaf, sub, e->out[0], e->out[1], e->out[2], e->out[3]);
            e->leaf = leaf;
            e->sub = sub;
            e->valid = true;
            memcpy(out, e->out, sizeof(e->out));
            pthread_mutex_unlock(&host_cache_lock);
            return;
        }
    }
    pthread_mutex_unlock(&host_cache_lock);
    __cpuid_count(leaf, sub, out[0], out[1], out[2], out[3]);
}

void cpuid_emulate(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    memset(out, 0, 4 * sizeof(uint32_t));
    if (leaf >= XEN_CPUID_FIRST_LEAF && leaf < XEN_CPUID_FIRST_LEAF + 0x10000) {
        /* Only the first range (base 0x40000000) answers; scans at +0x100*k find nothing. */
        switch (leaf) {
        case XEN_CPUID_LEAF(0):
            out[0] = XEN_MAX_LEAF;
            out[1] = XEN_CPUID_SIGNATURE_EBX;
            out[2] = XEN_CPUID_SIGNATURE_ECX;
            out[3] = XEN_CPUID_SIGNATURE_EDX;
            break;
        case XEN_CPUID_LEAF(1):
            out[0] = (4u << 16) | 17u; /* Xen 4.17 */
            break;
        case XEN_CPUID_LEAF(2):
            out[0] = 1; /* one hypercall page */
            out[1] = KXEN_HYPERCALL_MSR;
            break;
        case XEN_CPUID_LEAF(3):
            break; /* TSC mode: defaults (zeros) */
        case XEN_CPUID_LEAF(4):
            out[0] = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT |
                     XEN_HVM_CPUID_UPCALL_VECTOR;
            out[1] = v ? v->id : 0;
            out[2] = v ? v->dom->domid : 0;
            break;
        default:
            break;
        }
        return;
    }
    uint32_t max_basic[4], max_ext[4];
    host_cpuid(0, 0, max_basic);
    host_cpuid(0x80000000u, 0, max_ext);
    if ((leaf < 0x80000000u && leaf > max_basic[0]) || (leaf >= 0x80000000u && leaf > max_ext[0]))
        return;
    host_cpuid(leaf, subleaf, out);
    switch (leaf) {
    case 1:
        out[2] |= 1u << 31;    /* hypervisor present */
        out[2] &= ~(1u << 5);  /* no VMX inside the guest */
        out[2] &= ~(1u << 27); /* OSXSAVE reflects the guest's CR4, not ours */
        out[1] = (out[1] & 0x00ffffffu) | ((v ? v->id : 0u) << 24); /* APIC id = vCPU id */
        break;
    case 0x80000001u:
        out[2] &= ~(1u << 2); /* no SVM inside the guest */
        break;
    default:
        break;
    }
}
