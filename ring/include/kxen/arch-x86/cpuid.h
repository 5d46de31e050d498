/* Hypervisor CPUID leaves. Xen's numbers (checked by ring/tests); kxen's text.
 *
 * Base leaf B = 0x40000000 (a guest may also scan B + 0x100*k):
 *   B+0: eax = highest hypervisor leaf; ebx,ecx,edx = "XenVMMXenVMM".
 *   B+1: eax = (major << 16) | minor version.
 *   B+2: eax = number of hypercall pages (1); ebx = the MSR that installs the hypercall page:
 *        the guest writes (guest physical page address | page index) to it.
 *   B+3: TSC information (sub-leaves 0..2).
 *   B+4: HVM features (XEN_HVM_CPUID_*), ebx = vcpu id, ecx = domid when flagged.
 *   B+5: PV parameters. */
#ifndef KXEN_ARCH_X86_CPUID_H
#define KXEN_ARCH_X86_CPUID_H

#define XEN_CPUID_FIRST_LEAF 0x40000000
#define XEN_CPUID_LEAF(i) (XEN_CPUID_FIRST_LEAF + (i))

#define XEN_CPUID_SIGNATURE_EBX 0x566e6558 /* "XenV" */
#define XEN_CPUID_SIGNATURE_ECX 0x65584d4d /* "MMXe" */
#define XEN_CPUID_SIGNATURE_EDX 0x4d4d566e /* "nVMM" */

#define _XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD 0
#define XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD (1u << 0)

#define XEN_HVM_CPUID_APIC_ACCESS_VIRT (1u << 0)
#define XEN_HVM_CPUID_X2APIC_VIRT (1u << 1)
#define XEN_HVM_CPUID_IOMMU_MAPPINGS (1u << 2)
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3)
#define XEN_HVM_CPUID_DOMID_PRESENT (1u << 4)
#define XEN_HVM_CPUID_EXT_DEST_ID (1u << 5)
#define XEN_HVM_CPUID_UPCALL_VECTOR (1u << 6)

#define XEN_CPUID_MACHINE_ADDRESS_WIDTH_MASK (0xffu << 0)
#define XEN_CPUID_MAX_NUM_LEAVES 5

/* The hypercall-page MSR number kxen reports in B+2 ebx (Xen's usual choice). */
#define KXEN_HYPERCALL_PAGE_MSR 0x40000000

#endif
