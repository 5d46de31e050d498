/* bzImages built here around a small PVH ELF (linked at a virtual address, loaded at a
 * physical one, as Linux is), with gzip and XZ payloads: they load, and every inconsistency
 * between the setup header, the compressed stream and its size trailer is refused by name. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <kxen/elfnote.h>

#include "../kxend/core.h"
#include "kxend/guest_mem.h"

#define RAM (16ull << 20)
#define PADDR 0x200000ull
#define VADDR 0xffffffff80200000ull
#define SETUP_SECTS 1
#define PM_START ((SETUP_SECTS + 1) * 512)

/* An ELF with one PT_LOAD (vaddr != paddr, 0x1000 file bytes starting "PVH!") and a
 * PHYS32_ENTRY note at PADDR + 0x10. */
static size_t build_elf(uint8_t *b)
{
    memset(b, 0, 0x2000);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    Elf64_Phdr *ph = (Elf64_Phdr *)(b + eh->e_phoff);
    ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
                         .p_offset = 0x1000,
                         .p_vaddr = VADDR,
                         .p_paddr = PADDR,
                         .p_filesz = 0x1000,
                         .p_memsz = 0x2000};
    uint32_t nh[3] = {4, 4, XEN_ELFNOTE_PHYS32_ENTRY};
    uint32_t entry = PADDR + 0x10;
    memcpy(b + 0x800, nh, 12);
    memcpy(b + 0x80c, "Xen", 4);
    memcpy(b + 0x810, &entry, 4);
    ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x800, .p_filesz = 20};
    memcpy(b + 0x1000, "PVH!", 4);
    return 0x2000;
}

struct bz {
    uint8_t b[0x8000];
    size_t len;
    uint32_t plen; /* payload bytes, size trailer included */
};

/* setup header + payload (compressed ELF + le32 decompressed size), as Linux lays it out. */
static void build_bz(struct bz *z, bool xz)
{
    uint8_t elf[0x2000];
    size_t elen = build_elf(elf);
    memset(z, 0, sizeof(*z));
    z->b[0x1f1] = SETUP_SECTS;
    z->b[0x1fe] = 0x55;
    z->b[0x1ff] = 0xaa;
    memcpy(z->b + 0x202, "HdrS", 4);
    z->b[0x206] = 0x0f, z->b[0x207] = 0x02; /* protocol 2.15 */
    uint8_t *p = z->b + PM_START;
    size_t cap = sizeof(z->b) - PM_START - 4, n = 0;
    if (xz) {
        cr_assert_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, elf, elen, p, &n, cap),
                     LZMA_OK);
    } else {
        z_stream s;
        memset(&s, 0, sizeof(s));
        cr_assert_eq(deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
        s.next_in = elf;
        s.avail_in = (uInt)elen;
        s.next_out = p;
        s.avail_out = (uInt)cap;
        cr_assert_eq(deflate(&s, Z_FINISH), Z_STREAM_END);
        n = s.total_out;
        deflateEnd(&s);
    }
    uint32_t size = (uint32_t)elen;
    memcpy(p + n, &size, 4);
    z->plen = (uint32_t)n + 4;
    memcpy(z->b + 0x24c, &z->plen, 4); /* payload_offset 0: right after the setup sectors */
    z->len = PM_START + z->plen;
}

static void set_trailer(struct bz *z, uint32_t v)
{
    memcpy(z->b + PM_START + z->plen - 4, &v, 4);
}

static void refused(struct bz *z, int want_rc, const char *needle)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char msg[256] = "";
    int rc = loader_bzimage_extract(z->b, z->len, &out, &len, msg, sizeof(msg));
    cr_assert_lt(rc, 0, "accepted, expected a refusal about '%s'", needle);
    cr_assert_null(out);
    if (want_rc)
        cr_assert_eq(rc, want_rc, "rc %d (%s)", rc, msg);
    cr_assert(strstr(msg, needle), "message '%s' does not mention '%s'", msg, needle);
}

static void loads_in_a_pvh_domain(bool xz)
{
    struct bz z;
    build_bz(&z, xz);
    static struct accel_ops pvh;
    pvh = *accel_find("soft");
    pvh.pv_boot = false;
    kxend_accel = &pvh;
    struct domain_config cfg = {.name = "bz", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    struct load_params p = {.cmdline = "x"};
    struct load_result r;
    char msg[256] = "";
    cr_assert_eq(loader_load_image(d, z.b, z.len, &p, &r, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(r.entry, PADDR + 0x10);
    cr_assert_eq(r.image_end, PADDR + 0x2000);
    cr_assert(!memcmp(guest_phys_ptr(d, PADDR, 4), "PVH!", 4), "segment at its p_paddr");
    domain_destroy(d);
    domain_put(d);
}

Test(loader_bzimage, a_gzip_bzimage_loads_at_the_physical_addresses)
{
    loads_in_a_pvh_domain(false);
}

Test(loader_bzimage, an_xz_bzimage_loads_at_the_physical_addresses)
{
    loads_in_a_pvh_domain(true);
}

Test(loader_bzimage, a_soft_domain_refuses_any_bzimage)
{
    struct bz z;
    build_bz(&z, false);
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "bz", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    struct load_params p = {0};
    struct load_result r;
    char msg[256] = "";
    cr_assert_eq(loader_load_image(d, z.b, z.len, &p, &r, msg, sizeof(msg)), -EOPNOTSUPP);
    cr_assert(strstr(msg, "soft cannot run Linux PVH"), "%s", msg);
    domain_destroy(d);
    domain_put(d);
}

Test(loader_bzimage, size_trailer_disagreeing_with_the_stream_is_refused)
{
    for (int xz = 0; xz < 2; xz++) {
        struct bz z;
        build_bz(&z, xz);
        set_trailer(&z, 0x3000); /* stream ends first */
        refused(&z, -EINVAL, "its trailer states 12288");
        build_bz(&z, xz);
        set_trailer(&z, 0x1000); /* more data than stated */
        refused(&z, -EINVAL, "decompresses to more than the 4096 bytes");
        build_bz(&z, xz);
        set_trailer(&z, 0);
        refused(&z, -EFBIG, "stated decompressed size 0");
    }
}

Test(loader_bzimage, truncated_or_corrupt_streams_are_refused_by_format)
{
    struct bz z;
    build_bz(&z, false);
    uint32_t keep = z.plen;
    /* Cut the stream to half, keep the trailer after it. */
    uint32_t half = (keep - 4) / 2, size;
    memcpy(&size, z.b + PM_START + keep - 4, 4);
    z.plen = half + 4;
    memcpy(z.b + PM_START + half, &size, 4);
    memcpy(z.b + 0x24c, &z.plen, 4);
    z.len = PM_START + z.plen;
    refused(&z, -EINVAL, "bzImage payload (gzip): truncated");
    build_bz(&z, true);
    z.b[PM_START + z.plen / 2] ^= 0xff;
    refused(&z, -EINVAL, "bzImage payload (XZ)");
    build_bz(&z, false);
    memset(z.b + PM_START + 10, 0xff, 16);
    refused(&z, -EINVAL, "bzImage payload (gzip): corrupt");
}

Test(loader_bzimage, bad_setup_headers_are_refused_by_field)
{
    struct bz z;
    build_bz(&z, false);
    z.b[0x206] = 0x07; /* 2.07: no payload fields */
    refused(&z, -ENOEXEC, "boot protocol 2.07");
    build_bz(&z, false);
    z.len -= 1;
    refused(&z, -EINVAL, "bzImage: truncated");
    build_bz(&z, false);
    uint32_t far = 0xfffffff0;
    memcpy(z.b + 0x248, &far, 4);
    refused(&z, -EINVAL, "bzImage: truncated");
    build_bz(&z, false);
    uint32_t tiny = 8;
    memcpy(z.b + 0x24c, &tiny, 4);
    refused(&z, -EINVAL, "too short");
    build_bz(&z, false);
    memcpy(z.b + PM_START, "\x01\x02\x03\x04", 4);
    refused(&z, -EINVAL, "unknown compression (first bytes 01 02 03 04)");
    build_bz(&z, false);
    memcpy(z.b + PM_START, "\x28\xb5\x2f\xfd", 4);
    refused(&z, 0, "zstd");
    build_bz(&z, false);
    memcpy(z.b + 0x202, "HdrX", 4);
    refused(&z, -ENOEXEC, "no setup header");
}
