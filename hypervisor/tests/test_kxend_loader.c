/* The ELF loader refuses malformed images with a message naming what is wrong, and loads a
 * good one: segments, start_info, special pages, hypercall page, boot vCPU state. */
#include <criterion/criterion.h>
#include <errno.h>
#include <elf.h>
#include <string.h>

#include <kxen/elfnote.h>
#include <kxen/xen.h>

#include "../kxend/core.h"
#include "kxend/guest_mem.h"

#define RAM (16ull << 20)
#define BASE 0x100000ull

struct img {
    uint8_t b[16384];
    size_t len;
};

/* A valid image: 2 PT_LOAD segments (code at 1 MiB, a hypercall page at +0x1000) and a
 * PT_NOTE with XEN_ELFNOTE_ENTRY and HYPERCALL_PAGE. */
static void build(struct img *m)
{
    memset(m, 0, sizeof(*m));
    Elf64_Ehdr *eh = (Elf64_Ehdr *)m->b;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = BASE;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 3;
    eh->e_ehsize = sizeof(*eh);
    Elf64_Phdr *ph = (Elf64_Phdr *)(m->b + eh->e_phoff);
    ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
                         .p_offset = 0x1000,
                         .p_vaddr = BASE,
                         .p_paddr = BASE,
                         .p_filesz = 0x100,
                         .p_memsz = 0x1000,
                         .p_flags = PF_R | PF_X};
    ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
                         .p_offset = 0x2000,
                         .p_vaddr = BASE + 0x1000,
                         .p_paddr = BASE + 0x1000,
                         .p_filesz = 0x1000,
                         .p_memsz = 0x3000,
                         .p_flags = PF_R | PF_W};
    /* notes at 0x800 */
    uint8_t *n = m->b + 0x800;
    uint32_t hdr1[3] = {4, 8, XEN_ELFNOTE_ENTRY};
    uint64_t entry = BASE + 0x10, hpage = BASE + 0x1000;
    memcpy(n, hdr1, 12);
    memcpy(n + 12, "Xen", 4);
    memcpy(n + 16, &entry, 8);
    uint32_t hdr2[3] = {4, 8, XEN_ELFNOTE_HYPERCALL_PAGE};
    memcpy(n + 24, hdr2, 12);
    memcpy(n + 36, "Xen", 4);
    memcpy(n + 40, &hpage, 8);
    ph[2] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x800, .p_filesz = 48, .p_align = 4};
    m->b[0x1000] = 0xf4; /* hlt, so the segment has recognisable content */
    m->len = 0x3000;
}

static Elf64_Phdr *phdr(struct img *m, int i)
{
    return (Elf64_Phdr *)(m->b + sizeof(Elf64_Ehdr)) + i;
}

static void refused(struct img *m, const char *needle)
{
    struct elf_info info;
    char msg[256] = "";
    int rc = loader_parse(m->b, m->len, RAM, &info, msg, sizeof(msg));
    cr_assert_lt(rc, 0, "image accepted, expected refusal about '%s'", needle);
    cr_assert(strstr(msg, needle), "message '%s' does not mention '%s'", msg, needle);
}

Test(loader, accepts_a_well_formed_image_and_reads_the_xen_notes)
{
    struct img m;
    struct elf_info info;
    char msg[256] = "";
    build(&m);
    cr_assert_eq(loader_parse(m.b, m.len, RAM, &info, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert(info.has_pv_entry);
    cr_assert_eq(info.pv_entry, BASE + 0x10);
    cr_assert(info.has_hypercall_page);
    cr_assert_eq(info.hypercall_page, BASE + 0x1000);
    cr_assert_eq(info.lo, BASE);
    cr_assert_eq(info.hi, BASE + 0x4000);
}

Test(loader, refuses_an_image_shorter_than_the_elf_header)
{
    struct img m;
    build(&m);
    m.len = 20;
    refused(&m, "shorter than an ELF header");
}

Test(loader, refuses_bad_magic_and_wrong_machine)
{
    struct img m;
    build(&m);
    m.b[1] = 'X';
    refused(&m, "bad magic");
    build(&m);
    ((Elf64_Ehdr *)m.b)->e_machine = EM_386;
    refused(&m, "not x86-64");
    build(&m);
    ((Elf64_Ehdr *)m.b)->e_type = ET_DYN;
    refused(&m, "ET_EXEC");
}

Test(loader, refuses_program_headers_outside_the_file)
{
    struct img m;
    build(&m);
    ((Elf64_Ehdr *)m.b)->e_phoff = m.len - 10;
    refused(&m, "program headers");
    build(&m);
    ((Elf64_Ehdr *)m.b)->e_phoff = ~0ull - 8; /* offset + size wraps */
    refused(&m, "program headers");
    build(&m);
    ((Elf64_Ehdr *)m.b)->e_phentsize = 32;
    refused(&m, "bad program header table");
}

Test(loader, refuses_a_truncated_segment)
{
    struct img m;
    build(&m);
    m.len = 0x2800; /* segment 1's file bytes end at 0x3000 */
    refused(&m, "segment 1 (PT_LOAD): file range");
}

Test(loader, refuses_segments_outside_ram_or_wrapping)
{
    struct img m;
    build(&m);
    phdr(&m, 1)->p_paddr = phdr(&m, 1)->p_vaddr = RAM - 0x1000;
    refused(&m, "outside guest RAM");
    build(&m);
    phdr(&m, 1)->p_paddr = phdr(&m, 1)->p_vaddr = ~0ull - 0x800;
    refused(&m, "outside guest RAM");
    build(&m);
    phdr(&m, 0)->p_filesz = 0x2000; /* file size above memory size */
    refused(&m, "file size above memory size");
}

Test(loader, refuses_overlapping_segments)
{
    struct img m;
    build(&m);
    phdr(&m, 1)->p_paddr = phdr(&m, 1)->p_vaddr = BASE + 0x800;
    refused(&m, "overlap");
}

Test(loader, refuses_bad_notes)
{
    struct img m;
    build(&m);
    phdr(&m, 2)->p_filesz = 30; /* second note header cut */
    refused(&m, "truncated note header");
    build(&m);
    phdr(&m, 2)->p_filesz = 40; /* second note's descriptor cut */
    refused(&m, "runs past the segment");
    build(&m);
    uint32_t big = 0x10000000;
    memcpy(m.b + 0x800 + 4, &big, 4); /* descsz far past the segment */
    refused(&m, "runs past the segment");
    build(&m);
    uint32_t three = 3;
    memcpy(m.b + 0x800 + 4, &three, 4); /* ENTRY with a 3-byte descriptor */
    phdr(&m, 2)->p_filesz = 24;
    refused(&m, "descriptor of 3 bytes");
    build(&m);
    phdr(&m, 2)->p_offset = m.len + 100;
    refused(&m, "PT_NOTE");
}

Test(loader, refuses_entry_or_hypercall_page_outside_the_image)
{
    struct img m;
    build(&m);
    uint64_t bad = 0x5000;
    memcpy(m.b + 0x800 + 16, &bad, 8);
    refused(&m, "entry point");
    build(&m);
    uint64_t unaligned = BASE + 0x1010;
    memcpy(m.b + 0x800 + 40, &unaligned, 8);
    refused(&m, "HYPERCALL_PAGE");
}

Test(loader, loads_an_image_into_a_soft_domain_with_start_info_and_hypercall_page)
{
    struct img m;
    build(&m);
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "ldr", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    struct load_params p = {.cmdline = "console=hvc0 x=1", .store_evtchn = 3, .console_evtchn = 4};
    struct load_result r;
    char msg[256] = "";
    cr_assert_eq(loader_load_image(d, m.b, m.len, &p, &r, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(r.entry, BASE + 0x10);
    cr_assert_eq(d->ram[BASE], 0xf4, "segment content loaded");
    cr_assert_eq(r.hypercall_page_gpa, BASE + 0x1000);
    uint8_t *hp = d->ram + BASE + 0x1000 + 17 * 32; /* xen_version stub */
    cr_assert_eq(hp[0], 0xb8);
    cr_assert_eq(hp[1], 17);
    cr_assert(hp[5] == 0xe7 && hp[6] == 0xe8 && hp[7] == 0xc3,
              "xen_version never blocks: out %%eax,$0xe8; ret (the fast entry)");
    uint8_t *hs = d->ram + BASE + 0x1000 + 29 * 32; /* sched_op stub */
    cr_assert(hs[0] == 0xb8 && hs[1] == 29 && hs[5] == 0x0f && hs[6] == 0x01 && hs[7] == 0xc1 &&
                  hs[8] == 0xc3,
              "sched_op blocks: mov $29,%%eax; vmcall; ret");
    struct start_info *si = guest_phys_ptr(d, r.start_info_pfn << 12, sizeof(*si));
    cr_assert(si);
    cr_assert_eq(strncmp(si->magic, "xen-3.0-x86_64", 14), 0);
    cr_assert_str_eq((char *)si->cmd_line, "console=hvc0 x=1");
    cr_assert_eq(si->store_mfn, r.store_pfn);
    cr_assert_eq(si->store_evtchn, 3);
    cr_assert_eq(si->console.domU.evtchn, 4);
    cr_assert_eq(si->nr_pages, RAM >> 12);
    cr_assert_lt(r.gnttab_base_pfn + r.nr_gnttab_frames, (RAM >> 12) + 1);
    cr_assert_geq(r.start_info_pfn << 12, r.image_end, "special pages above the image");
    cr_assert(d->vcpus[0]->boot_set);
    cr_assert_eq(d->vcpus[0]->boot.rsi, r.start_info_pfn << 12);
    /* A second load is refused: the domain already has its boot state. */
    cr_assert_lt(loader_load_image(d, m.b, m.len, &p, &r, msg, sizeof(msg)), 0);
    domain_destroy(d);
    domain_put(d);
}

Test(loader, refuses_an_image_when_ram_cannot_hold_the_special_pages)
{
    struct img m;
    build(&m);
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "small",
                                .ram_bytes = 1ull << 20 | 0x4000 /* image
ends at 1 MiB + 16 KiB: no room above */
                                ,
                                .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    struct load_params p = {.cmdline = ""};
    struct load_result r;
    char msg[256] = "";
    cr_assert_eq(loader_load_image(d, m.b, m.len, &p, &r, msg, sizeof(msg)), -ENOMEM);
    cr_assert(strstr(msg, "too small"), "%s", msg);
    domain_destroy(d);
    domain_put(d);
}
