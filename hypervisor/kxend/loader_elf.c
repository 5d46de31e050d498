/* The domain builder's ELF part: parses an ELF64 x86-64 kernel image (untrusted: every offset,
 * size and address is bounds-checked before use), reads the Xen ELF notes and copies the
 * PT_LOAD segments' placement: physical addresses (p_paddr, as Xen's PVH builder loads them;
 * a kernel linked at virtual addresses such as Linux's vmlinux keeps its virtual ones for its
 * own page tables). Parsing only: it touches no domain, so the fuzzer runs it alone. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kxen/elfnote.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/util.h"
#include "loader_internal.h"

#define MAX_PHDRS 64

int loader_fail(char *msg, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (msg && len)
        vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return rc;
}

static int parse_notes(const uint8_t *img, uint64_t off, uint64_t size, struct elf_info *info,
                       unsigned seg, char *msg, size_t msglen)
{
    uint64_t pos = 0;
    while (pos < size) {
        Elf64_Nhdr nh;
        if (size - pos < sizeof(nh))
            return loader_fail(msg, msglen, -EINVAL,
                               "note segment %u: truncated note header at +%llu", seg,
                               (unsigned long long)pos);
        memcpy(&nh, img + off + pos, sizeof(nh));
        uint64_t name_al = KXEN_ALIGN_UP((uint64_t)nh.n_namesz, 4);
        uint64_t desc_al = KXEN_ALIGN_UP((uint64_t)nh.n_descsz, 4);
        uint64_t body = sizeof(nh);
        if (name_al > size - pos - body || desc_al > size - pos - body - name_al)
            return loader_fail(msg, msglen, -EINVAL,
                               "note segment %u: note at +%llu (type %u) runs past the segment",
                               seg, (unsigned long long)pos, nh.n_type);
        const uint8_t *name = img + off + pos + body;
        const uint8_t *desc = name + name_al;
        if (nh.n_namesz == 4 && !memcmp(name, "Xen", 4)) {
            uint64_t val = 0;
            bool addr_note = nh.n_type == XEN_ELFNOTE_ENTRY ||
                             nh.n_type == XEN_ELFNOTE_HYPERCALL_PAGE ||
                             nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY;
            if (addr_note) {
                if (nh.n_descsz != 4 && nh.n_descsz != 8)
                    return loader_fail(msg, msglen, -EINVAL,
                                       "Xen note type %u: descriptor of %u bytes (want 4 or 8)",
                                       nh.n_type, nh.n_descsz);
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
        return loader_fail(msg, msglen, -ENOEXEC,
                           "image of %zu bytes is shorter than an ELF header", len);
    memcpy(&eh, img, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
        return loader_fail(msg, msglen, -ENOEXEC, "not an ELF image (bad magic)");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return loader_fail(msg, msglen, -ENOEXEC, "ELF header: not a 64-bit little-endian image");
    if (eh.e_machine != EM_X86_64)
        return loader_fail(msg, msglen, -ENOEXEC, "ELF header: machine %u is not x86-64",
                           eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return loader_fail(msg, msglen, -ENOEXEC, "ELF header: type %u is not ET_EXEC (static)%s",
                           eh.e_type,
                           eh.e_type == ET_DYN ? " (ET_DYN: a PIE or shared object)" : "");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
        return loader_fail(msg, msglen, -EINVAL,
                           "ELF header: bad program header table (entsize %u, count %u)",
                           eh.e_phentsize, eh.e_phnum);
    if (!loader_in_range(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
        return loader_fail(msg, msglen, -EINVAL,
                           "ELF header: program headers at %llu lie outside the "
                           "%zu-byte image",
                           (unsigned long long)eh.e_phoff, len);

    Elf64_Phdr ph[MAX_PHDRS];
    memcpy(ph, img + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));
    info->lo = info->vlo = ~0ull;
    unsigned nload = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_NOTE) {
            if (!loader_in_range(p->p_offset, p->p_filesz, len))
                return loader_fail(msg, msglen, -EINVAL,
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
        if (!loader_in_range(p->p_offset, p->p_filesz, len))
            return loader_fail(msg, msglen, -EINVAL,
                               "segment %u (PT_LOAD): file range %llu+%llu "
                               "outside the %zu-byte image",
                               i, (unsigned long long)p->p_offset, (unsigned long long)p->p_filesz,
                               len);
        if (p->p_filesz > p->p_memsz)
            return loader_fail(msg, msglen, -EINVAL,
                               "segment %u (PT_LOAD): file size above memory "
                               "size",
                               i);
        if (p->p_paddr >= ram_size || p->p_memsz > ram_size - p->p_paddr)
            return loader_fail(msg, msglen, -EINVAL,
                               "segment %u (PT_LOAD): [%#llx, +%#llx) lies "
                               "outside guest RAM (%llu MiB)",
                               i, (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz,
                               (unsigned long long)(ram_size >> 20));
        if (p->p_vaddr > UINT64_MAX - p->p_memsz)
            return loader_fail(msg, msglen, -EINVAL,
                               "segment %u (PT_LOAD): virtual range %#llx+%#llx wraps", i,
                               (unsigned long long)p->p_vaddr, (unsigned long long)p->p_memsz);
        if (p->p_vaddr != p->p_paddr)
            info->virt_differs = true;
        for (unsigned j = 0; j < i; j++) {
            Elf64_Phdr *q = &ph[j];
            if (q->p_type != PT_LOAD || q->p_memsz == 0)
                continue;
            if (p->p_paddr < q->p_paddr + q->p_memsz && q->p_paddr < p->p_paddr + p->p_memsz)
                return loader_fail(msg, msglen, -EINVAL, "segments %u and %u (PT_LOAD) overlap", j,
                                   i);
        }
        info->lo = KXEN_MIN(info->lo, p->p_paddr);
        info->hi = KXEN_MAX(info->hi, p->p_paddr + p->p_memsz);
        info->vlo = KXEN_MIN(info->vlo, p->p_vaddr);
        info->vhi = KXEN_MAX(info->vhi, p->p_vaddr + p->p_memsz);
        nload++;
    }
    if (!nload)
        return loader_fail(msg, msglen, -EINVAL, "no PT_LOAD segment");
    if (!info->has_pv_entry) {
        info->pv_entry = eh.e_entry;
        info->has_pv_entry = eh.e_entry != 0;
    }
    /* ENTRY and HYPERCALL_PAGE are virtual addresses (Xen's PV ABI); PHYS32_ENTRY is
     * physical. For identity-mapped images both ranges are the same. */
    if (info->has_pv_entry && (info->pv_entry < info->vlo || info->pv_entry >= info->vhi))
        return loader_fail(msg, msglen, -EINVAL, "entry point %#llx is outside the loaded image",
                           (unsigned long long)info->pv_entry);
    if (info->has_phys32_entry && (info->phys32_entry < info->lo || info->phys32_entry >= info->hi))
        return loader_fail(msg, msglen, -EINVAL,
                           "Xen note PHYS32_ENTRY %#llx is outside the loaded "
                           "image",
                           (unsigned long long)info->phys32_entry);
    if (info->has_hypercall_page &&
        ((info->hypercall_page & 0xfff) || info->hypercall_page < info->vlo ||
         info->hypercall_page > info->vhi - 4096 || info->vhi < 4096))
        return loader_fail(msg, msglen, -EINVAL,
                           "Xen note HYPERCALL_PAGE %#llx is not a page-aligned "
                           "page of the image",
                           (unsigned long long)info->hypercall_page);
    return 0;
}
