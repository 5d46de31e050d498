/* The domain builder: takes the kernel the toolstack passed (an ELF image, or a Linux
 * bzImage whose payload is decompressed to one), loads its segments, places the special pages
 * at the top of RAM and an optional ramdisk page-aligned above the kernel, fills the boot
 * information (PV start_info on soft, PVH hvm_start_info on kvm) and the boot vCPU state.
 * Invariant: nothing is written to guest RAM before every check that can refuse the image
 * has passed, except the ramdisk, which is read last before the boot information. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/hvm/params.h>
#include <kxen/memory.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/guest_mem.h"
#include "loader_internal.h"

/* The soft accelerator runs guests identity-mapped without paging, so a kernel that needs its
 * own page tables (Linux: linked at 0xffffffff81000000, loaded at 16 MiB) cannot run there. */
#define SOFT_NO_LINUX                                                                              \
    "soft cannot run Linux PVH (the kernel needs paging, which Unicorn's "                         \
    "identity-mapped soft accelerator lacks): use kxend --accel kvm"

/* Copies the PT_LOAD segments of an image loader_parse accepted to their p_paddr. */
static void load_segments(struct domain *d, const uint8_t *img)
{
    Elf64_Ehdr eh;
    memcpy(&eh, img, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr p;
        memcpy(&p, img + eh.e_phoff + i * sizeof(p), sizeof(p));
        if (p.p_type != PT_LOAD || p.p_memsz == 0)
            continue;
        /* Bounds were checked by loader_parse. */
        copy_to_guest_phys(d, p.p_paddr, img + p.p_offset, p.p_filesz);
        uint8_t *bss = guest_phys_ptr(d, p.p_paddr + p.p_filesz, p.p_memsz - p.p_filesz);
        if (bss)
            memset(bss, 0, p.p_memsz - p.p_filesz);
    }
}

static void pv_start_info(struct domain *d, uint64_t si_gpa, uint64_t ram_pages,
                          const struct load_params *prm, uint64_t rd_gpa, uint64_t rd_size)
{
    struct start_info si;
    memset(&si, 0, sizeof(si));
    snprintf(si.magic, sizeof(si.magic), "%s", KXEN_PV_START_MAGIC);
    si.nr_pages = ram_pages;
    si.shared_info = d->shared_info_gpa;
    si.flags = d->privileged ? SIF_PRIVILEGED : 0;
    si.store_mfn = d->store_pfn;
    si.store_evtchn = prm->store_evtchn;
    si.console.domU.mfn = d->console_pfn;
    si.console.domU.evtchn = prm->console_evtchn;
    /* Identity-mapped guests: the module's virtual address is its physical one. */
    si.mod_start = rd_gpa;
    si.mod_len = rd_size;
    snprintf((char *)si.cmd_line, sizeof(si.cmd_line), "%s", prm->cmdline ? prm->cmdline : "");
    copy_to_guest_phys(d, si_gpa, &si, sizeof(si));
}

void loader_place_special_pages(struct domain *d, uint64_t base, uint32_t store_evtchn,
                                uint32_t console_evtchn)
{
    memset(guest_phys_ptr(d, base << KXEN_PAGE_SHIFT, LOADER_SPECIAL_PAGES * KXEN_PAGE_SIZE), 0,
           LOADER_SPECIAL_PAGES * KXEN_PAGE_SIZE);
    d->reserved_base_pfn = base;
    d->start_info_pfn = base;
    d->shared_info_pfn = base + 1;
    d->shared_info_gpa = (base + 1) << KXEN_PAGE_SHIFT;
    d->store_pfn = base + 2;
    d->console_pfn = base + 3;
    d->gnttab_base_pfn = base + 4;
    d->hvm_params[HVM_PARAM_STORE_PFN] = d->store_pfn;
    d->hvm_params[HVM_PARAM_STORE_EVTCHN] = store_evtchn;
    d->hvm_params[HVM_PARAM_CONSOLE_PFN] = d->console_pfn;
    d->hvm_params[HVM_PARAM_CONSOLE_EVTCHN] = console_evtchn;
}

static int load_elf(struct domain *d, const uint8_t *img, size_t len, const struct load_params *prm,
                    struct load_result *res, char *msg, size_t msglen)
{
    struct elf_info info;
    bool pv = d->accel->pv_boot;
    int rc = loader_parse(img, len, d->ram_size, &info, msg, msglen);
    if (rc < 0)
        return rc;
    if (pv && info.virt_differs)
        return loader_fail(msg, msglen, -EOPNOTSUPP, "%s", SOFT_NO_LINUX);
    if (pv && !info.has_pv_entry)
        return loader_fail(msg, msglen, -EINVAL,
                           "the soft accelerator needs a 64-bit entry "
                           "(XEN_ELFNOTE_ENTRY or e_entry)");
    if (!pv && !info.has_phys32_entry)
        return loader_fail(msg, msglen, -EINVAL,
                           "the kernel has no XEN_ELFNOTE_PHYS32_ENTRY: not a PVH kernel (the "
                           "kvm accelerator boots guests through the PVH entry)");

    uint64_t ram_pages = d->ram_size >> KXEN_PAGE_SHIFT;
    uint64_t base = ram_pages - LOADER_SPECIAL_PAGES;
    if (ram_pages < LOADER_SPECIAL_PAGES || (base << KXEN_PAGE_SHIFT) < info.hi)
        return loader_fail(msg, msglen, -ENOMEM,
                           "guest RAM (%llu KiB) too small for the image "
                           "(ends at %#llx) plus %u special pages",
                           (unsigned long long)(d->ram_size >> 10), (unsigned long long)info.hi,
                           LOADER_SPECIAL_PAGES);
    if (prm->cmdline && strnlen(prm->cmdline, MAX_GUEST_CMDLINE) >= MAX_GUEST_CMDLINE)
        return loader_fail(msg, msglen, -EINVAL, "command line longer than %d bytes",
                           MAX_GUEST_CMDLINE - 1);

    uint64_t ram_end = base << KXEN_PAGE_SHIFT, rd_gpa = 0, rd_size = 0;
    if (prm->has_ramdisk && (rc = loader_ramdisk_load(d, prm->ramdisk_fd, info.hi, ram_end, &rd_gpa,
                                                      &rd_size, msg, msglen)) < 0)
        return rc;
    load_segments(d, img);
    loader_place_special_pages(d, base, prm->store_evtchn, prm->console_evtchn);

    struct vcpu_boot boot;
    memset(&boot, 0, sizeof(boot));
    if (pv) {
        pv_start_info(d, ram_end, ram_pages, prm, rd_gpa, rd_size);
        if (info.has_hypercall_page && (rc = hypercall_page_fill(d, info.hypercall_page)) < 0)
            return loader_fail(msg, msglen, rc, "cannot fill the hypercall page");
        boot.mode = VCPU_BOOT_LONG64;
        boot.entry = info.pv_entry;
        boot.rsi = ram_end;
    } else {
        /* A kernel linked at virtual addresses other than its load addresses is Linux (kxen's
         * own PVH guests run identity-mapped): it needs a local APIC, its hypercall
         * instructions routed to kxend (by the accelerator or by a rewrite), the 0xE9 debug port,
         * and ACPI tables for its vCPUs and its power button. */
        uint64_t rsdp = 0;
        if (info.virt_differs) {
            boot.lapic = true;
            loader_pvh_hypercalls(d, info.lo, info.hi);
            if ((rc = loader_pvh_debug_port(d)) < 0)
                return loader_fail(msg, msglen, rc, "cannot claim the 0xE9 debug port");
            if ((rc = loader_pvh_acpi_ports(d)) < 0)
                return loader_fail(msg, msglen, rc, "cannot claim the ACPI registers");
            rsdp = loader_pvh_acpi_tables(d, d->nr_vcpus);
            if (!rsdp)
                return loader_fail(msg, msglen, -EINVAL,
                                   "cannot write the ACPI tables for %u vCPUs", d->nr_vcpus);
        }
        loader_pvh_start_info(d, ram_end, ram_end, prm->cmdline ? prm->cmdline : "", rd_gpa,
                              rd_size, rsdp);
        boot.mode = VCPU_BOOT_PROT32;
        boot.entry = info.phys32_entry;
        boot.rbx = ram_end;
    }
    /* A usable stack below the special pages; guests normally switch to their own. */
    boot.rsp = ram_end;
    if ((rc = domain_set_boot(d, &boot)) < 0)
        return loader_fail(msg, msglen, rc, "the domain is not being built");

    memset(res, 0, sizeof(*res));
    res->entry = boot.entry;
    res->start_info_pfn = d->start_info_pfn;
    res->shared_info_pfn = d->shared_info_pfn;
    res->store_pfn = d->store_pfn;
    res->console_pfn = d->console_pfn;
    res->gnttab_base_pfn = d->gnttab_base_pfn;
    res->nr_gnttab_frames = KXEN_GNTTAB_MAX_FRAMES;
    res->hypercall_page_gpa = pv && info.has_hypercall_page ? info.hypercall_page : 0;
    res->image_end = info.hi;
    res->ramdisk_gpa = rd_gpa;
    res->ramdisk_size = rd_size;
    res->boot_mode = pv ? 0 : 1;
    return 0;
}

int loader_load_image(struct domain *d, const uint8_t *img, size_t len,
                      const struct load_params *prm, struct load_result *res, char *msg,
                      size_t msglen)
{
    if (atomic_load(&d->state) != DOM_BUILDING || d->vcpus[0]->boot_set)
        return loader_fail(msg, msglen, -EBUSY, "the domain already has an image");
    if (!loader_is_bzimage(img, len))
        return load_elf(d, img, len, prm, res, msg, msglen);
    /* A bzImage is always a Linux kernel: refuse it on soft before decompressing. */
    if (d->accel->pv_boot)
        return loader_fail(msg, msglen, -EOPNOTSUPP, "%s", SOFT_NO_LINUX);
    uint8_t *elf;
    size_t elf_len;
    int rc = loader_bzimage_extract(img, len, &elf, &elf_len, msg, msglen);
    if (rc < 0)
        return rc;
    rc = load_elf(d, elf, elf_len, prm, res, msg, msglen);
    free(elf);
    return rc;
}
