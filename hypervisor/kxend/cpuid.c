/* CPUID as guests see it: the host's leaves with the hypervisor bit set and features the
 * accelerators cannot virtualise hidden, plus Xen's leaves at 0x40000000. */
#include <cpuid.h>
#include <string.h>

#include <kxen/arch-x86/cpuid.h>

#include "kxend/accel.h"

#define XEN_MAX_LEAF XEN_CPUID_LEAF(4)

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
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
