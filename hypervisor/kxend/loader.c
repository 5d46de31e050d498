/* The domain builder: parses an ELF64 x86-64 guest image with full bounds checking, loads
 * its PT_LOAD segments, reads the Xen ELF notes, places the special pages at the top of RAM,
 * fills the boot information (PV start_info or PVH hvm_start_info) and the boot vCPU state. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kxen/elfnote.h>
#include <kxen/hvm/params.h>
#include <kxen/hvm/start_info.h>
#include <kxen/memory.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/util.h"
#include "kxend/gnttab.h"
#include "kxend/guest_mem.h"

#define MAX_PHDRS 64
/* Special pages, from the top of RAM down: start info, shared_info, store ring, console ring,
 * then the grant frames. */
#define SPECIAL_PAGES (4 + KXEN_GNTTAB_MAX_FRAMES)

static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (msg && len)
        vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return rc;
}

/* [off, off+len) inside a buffer of size total, without overflow. */
static bool in_file(uint64_t off, uint64_t len, size_t total)
{
    return off <= total && len <= total - off;
}

static int parse_notes(const uint8_t *img, uint64_t off, uint64_t size, struct elf_info *info,
                       unsigned seg, char *msg, size_t msglen)
{
    uint64_t pos = 0;
    while (pos < size) {
        Elf64_Nhdr nh;
        if (size - pos < sizeof(nh))
            return fail(msg, msglen, -EINVAL, "note segment %u: truncated note header at +%llu",
                        seg, (unsigned long long)pos);
        memcpy(&nh, img + off + pos, sizeof(nh));
        uint64_t name_al = KXEN_ALIGN_UP((uint64_t)nh.n_namesz, 4);
        uint64_t desc_al = KXEN_ALIGN_UP((uint64_t)nh.n_descsz, 4);
        uint64_t body = sizeof(nh);
        if (name_al > size - pos - body || desc_al > size - pos - body - name_al)
            return fail(msg, msglen, -EINVAL,
                        "note segment %u: note at +%llu (type %u) runs past the segment", seg,
                        (unsigned long long)pos, nh.n_type);
        const uint8_t *name = img + off + pos + body;
        const uint8_t *desc = name + name_al;
        if (nh.n_namesz == 4 && !memcmp(name, "Xen", 4)) {
            uint64_t val = 0;
            bool addr_note = nh.n_type == XEN_ELFNOTE_ENTRY ||
                             nh.n_type == XEN_ELFNOTE_HYPERCALL_PAGE ||
                             nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY;
            if (addr_note) {
                if (nh.n_descsz != 4 && nh.n_descsz != 8)
                    return fail(msg, msglen, -EINVAL,
                                "Xen note type %u: descriptor of %u bytes (want 4 or 8)", nh.n_type,
                                nh.n_descsz);
                memcpy(&val, desc, nh.n_descsz);
            }
            switch (nh.n_type) {
            case XEN_ELFNOTE_ENTRY:
                info->pv_entry = val;
                info->has_pv_entry = true;
                break;
            case XEN_ELFNOTE_HYPERCALL_PAGE:
                info->hypercall_page = val;
                info->has_hypercall_page = true;
                break;
            case XEN_ELFNOTE_PHYS32_ENTRY:
                info->phys32_entry = val & 0xffffffffu;
                info->has_phys32_entry = true;
                break;
            default:
                break;
            }
        }
        pos += body + name_al + desc_al;
    }
    return 0;
}

int loader_parse(const uint8_t *img, size_t len, uint64_t ram_size, struct elf_info *info,
                 char *msg, size_t msglen)
{
    Elf64_Ehdr eh;
    memset(info, 0, sizeof(*info));
    if (len < sizeof(eh))
        return fail(msg, msglen, -ENOEXEC, "image of %zu bytes is shorter than an ELF header", len);
    memcpy(&eh, img, sizeof(eh));
    /* A bzImage carries the Linux boot protocol's "HdrS" signature at 0x202. */
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) && len > 0x206 && !memcmp(img + 0x202, "HdrS", 4))
        return fail(msg, msglen, -ENOEXEC,
                    "a bzImage, not an ELF image: kxen boots the ELF vmlinux (PVH entry)");
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
        return fail(msg, msglen, -ENOEXEC, "not an ELF image (bad magic)");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return fail(msg, msglen, -ENOEXEC, "ELF header: not a 64-bit little-endian image");
    if (eh.e_machine != EM_X86_64)
        return fail(msg, msglen, -ENOEXEC, "ELF header: machine %u is not x86-64", eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return fail(msg, msglen, -ENOEXEC, "ELF header: type %u%s is not ET_EXEC (static)",
                    eh.e_type, eh.e_type == ET_DYN ? " (ET_DYN: a PIE or shared object)" : "");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
        return fail(msg, msglen, -EINVAL,
                    "ELF header: bad program header table (entsize %u, count %u)", eh.e_phentsize,
                    eh.e_phnum);
    if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
        return fail(msg, msglen, -EINVAL,
                    "ELF header: program headers at %llu lie outside the "
                    "%zu-byte image",
                    (unsigned long long)eh.e_phoff, len);

    Elf64_Phdr ph[MAX_PHDRS];
    memcpy(ph, img + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));
    info->lo = ~0ull;
    unsigned nload = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_NOTE) {
            if (!in_file(p->p_offset, p->p_filesz, len))
                return fail(msg, msglen, -EINVAL,
                            "segment %u (PT_NOTE): file range outside "
                            "the image",
                            i);
            int rc = parse_notes(img, p->p_offset, p->p_filesz, info, i, msg, msglen);
            if (rc < 0)
                return rc;
            continue;
        }
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        if (!in_file(p->p_offset, p->p_filesz, len))
            return fail(msg, msglen, -EINVAL,
                        "segment %u (PT_LOAD): file range %llu+%llu "
                        "outside the %zu-byte image",
                        i, (unsigned long long)p->p_offset, (unsigned long long)p->p_filesz, len);
        if (p->p_filesz > p->p_memsz)
            return fail(msg, msglen, -EINVAL,
                        "segment %u (PT_LOAD): file size above memory "
                        "size",
                        i);
        if (p->p_paddr >= ram_size || p->p_memsz > ram_size - p->p_paddr)
            return fail(msg, msglen, -EINVAL,
                        "segment %u (PT_LOAD): [%#llx, +%#llx) lies "
                        "outside guest RAM (%llu MiB)",
                        i, (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz,
                        (unsigned long long)(ram_size >> 20));
        if (p->p_vaddr != p->p_paddr)
            return fail(msg, msglen, -EINVAL,
                        "segment %u (PT_LOAD): virtual %#llx != physical "
                        "%#llx (kxen guests run identity-mapped)",
                        i, (unsigned long long)p->p_vaddr, (unsigned long long)p->p_paddr);
        for (unsigned j = 0; j < i; j++) {
            Elf64_Phdr *q = &ph[j];
            if (q->p_type != PT_LOAD || q->p_memsz == 0)
                continue;
            if (p->p_paddr < q->p_paddr + q->p_memsz && q->p_paddr < p->p_paddr + p->p_memsz)
                return fail(msg, msglen, -EINVAL, "segments %u and %u (PT_LOAD) overlap", j, i);
        }
        info->lo = KXEN_MIN(info->lo, p->p_paddr);
        info->hi = KXEN_MAX(info->hi, p->p_paddr + p->p_memsz);
        nload++;
    }
    if (!nload)
        return fail(msg, msglen, -EINVAL, "no PT_LOAD segment");
    if (!info->has_pv_entry) {
        info->pv_entry = eh.e_entry;
        info->has_pv_entry = eh.e_entry != 0;
    }
    if (info->has_pv_entry && (info->pv_entry < info->lo || info->pv_entry >= info->hi))
        return fail(msg, msglen, -EINVAL, "entry point %#llx is outside the loaded image",
                    (unsigned long long)info->pv_entry);
    if (info->has_phys32_entry && (info->phys32_entry < info->lo || info->phys32_entry >= info->hi))
        return fail(msg, msglen, -EINVAL,
                    "Xen note PHYS32_ENTRY %#llx is outside the loaded "
                    "image",
                    (unsigned long long)info->phys32_entry);
    if (info->has_hypercall_page &&
        ((info->hypercall_page & 0xfff) || info->hypercall_page < info->lo ||
         info->hypercall_page + 4096 > info->hi))
        return fail(msg, msglen, -EINVAL,
                    "Xen note HYPERCALL_PAGE %#llx is not a page-aligned "
                    "page of the image",
                    (unsigned long long)info->hypercall_page);
    return 0;
}

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

int loader_load_image(struct domain *d, const uint8_t *img, size_t len,
                      const struct load_params *prm, struct load_result *res, char *msg,
                      size_t msglen)
{
    struct elf_info info;
    bool pv = d->accel->pv_boot;
    if (atomic_load(&d->state) != DOM_BUILDING || d->vcpus[0]->boot_set)
        return fail(msg, msglen, -EBUSY, "the domain already has an image");
    int rc = loader_parse(img, len, d->ram_size, &info, msg, msglen);
    if (rc < 0)
        return rc;
    if (pv && !info.has_pv_entry)
        return fail(msg, msglen, -EINVAL,
                    "the soft accelerator needs a 64-bit entry "
                    "(XEN_ELFNOTE_ENTRY or e_entry)");
    if (!pv && !info.has_phys32_entry)
        return fail(msg, msglen, -EINVAL, "the kvm accelerator needs XEN_ELFNOTE_PHYS32_ENTRY");

    uint64_t ram_pages = d->ram_size >> KXEN_PAGE_SHIFT;
    uint64_t base = ram_pages - SPECIAL_PAGES;
    if (ram_pages < SPECIAL_PAGES || (base << KXEN_PAGE_SHIFT) < info.hi)
        return fail(msg, msglen, -ENOMEM,
                    "guest RAM (%llu KiB) too small for the image "
                    "(ends at %#llx) plus %u special pages",
                    (unsigned long long)(d->ram_size >> 10), (unsigned long long)info.hi,
                    SPECIAL_PAGES);
    if (prm->cmdline && strnlen(prm->cmdline, MAX_GUEST_CMDLINE) >= MAX_GUEST_CMDLINE)
        return fail(msg, msglen, -EINVAL, "command line longer than %d bytes",
                    MAX_GUEST_CMDLINE - 1);

    load_segments(d, img);
    uint64_t si_pfn = base, shinfo_pfn = base + 1, store_pfn = base + 2, cons_pfn = base + 3;
    memset(guest_phys_ptr(d, base << KXEN_PAGE_SHIFT, SPECIAL_PAGES * KXEN_PAGE_SIZE), 0,
           SPECIAL_PAGES * KXEN_PAGE_SIZE);
    d->reserved_base_pfn = base;
    d->start_info_pfn = si_pfn;
    d->shared_info_pfn = shinfo_pfn;
    d->shared_info_gpa = shinfo_pfn << KXEN_PAGE_SHIFT;
    d->store_pfn = store_pfn;
    d->console_pfn = cons_pfn;
    d->gnttab_base_pfn = base + 4;
    d->hvm_params[HVM_PARAM_STORE_PFN] = store_pfn;
    d->hvm_params[HVM_PARAM_STORE_EVTCHN] = prm->store_evtchn;
    d->hvm_params[HVM_PARAM_CONSOLE_PFN] = cons_pfn;
    d->hvm_params[HVM_PARAM_CONSOLE_EVTCHN] = prm->console_evtchn;

    const char *cmd = prm->cmdline ? prm->cmdline : "";
    struct vcpu_boot boot;
    memset(&boot, 0, sizeof(boot));
    if (pv) {
        struct start_info si;
        memset(&si, 0, sizeof(si));
        snprintf(si.magic, sizeof(si.magic), "%s", KXEN_PV_START_MAGIC);
        si.nr_pages = ram_pages;
        si.shared_info = shinfo_pfn << KXEN_PAGE_SHIFT;
        si.flags = d->privileged ? SIF_PRIVILEGED : 0;
        si.store_mfn = store_pfn;
        si.store_evtchn = prm->store_evtchn;
        si.console.domU.mfn = cons_pfn;
        si.console.domU.evtchn = prm->console_evtchn;
        snprintf((char *)si.cmd_line, sizeof(si.cmd_line), "%s", cmd);
        copy_to_guest_phys(d, si_pfn << KXEN_PAGE_SHIFT, &si, sizeof(si));
        if (info.has_hypercall_page && (rc = hypercall_page_fill(d, info.hypercall_page)) < 0)
            return fail(msg, msglen, rc, "cannot fill the hypercall page");
        boot.mode = VCPU_BOOT_LONG64;
        boot.entry = info.pv_entry;
        boot.rsi = si_pfn << KXEN_PAGE_SHIFT;
    } else {
        /* One page: hvm_start_info, then the memory map, then the command line. */
        uint64_t pg = si_pfn << KXEN_PAGE_SHIFT;
        struct hvm_start_info hs;
        struct hvm_memmap_table_entry mm[2] = {
            {0, base << KXEN_PAGE_SHIFT, XEN_HVM_MEMMAP_TYPE_RAM, 0},
            {base << KXEN_PAGE_SHIFT, (uint64_t)SPECIAL_PAGES << KXEN_PAGE_SHIFT,
             XEN_HVM_MEMMAP_TYPE_RESERVED, 0},
        };
        memset(&hs, 0, sizeof(hs));
        hs.magic = XEN_HVM_START_MAGIC_VALUE;
        hs.version = 1;
        hs.flags = d->privileged ? SIF_PRIVILEGED : 0;
        hs.memmap_paddr = pg + 256;
        hs.memmap_entries = 2;
        hs.cmdline_paddr = pg + 2048;
        copy_to_guest_phys(d, pg, &hs, sizeof(hs));
        copy_to_guest_phys(d, pg + 256, mm, sizeof(mm));
        copy_to_guest_phys(d, pg + 2048, cmd, strlen(cmd) + 1);
        boot.mode = VCPU_BOOT_PROT32;
        boot.entry = info.phys32_entry;
        boot.rbx = pg;
    }
    /* A usable stack below the special pages; guests normally switch to their own. */
    boot.rsp = base << KXEN_PAGE_SHIFT;
    if ((rc = domain_set_boot(d, &boot)) < 0)
        return fail(msg, msglen, rc, "the domain is not being built");

    memset(res, 0, sizeof(*res));
    res->entry = boot.entry;
    res->start_info_pfn = si_pfn;
    res->shared_info_pfn = shinfo_pfn;
    res->store_pfn = store_pfn;
    res->console_pfn = cons_pfn;
    res->gnttab_base_pfn = d->gnttab_base_pfn;
    res->nr_gnttab_frames = KXEN_GNTTAB_MAX_FRAMES;
    res->hypercall_page_gpa = pv && info.has_hypercall_page ? info.hypercall_page : 0;
    res->image_end = info.hi;
    res->boot_mode = pv ? 0 : 1;
    return 0;
}
