/* The domain builder on Debian's own Linux kernel (/boot/vmlinuz-*, from linux-image-amd64;
 * every test skips when none is installed): the bzImage's XZ payload is decompressed, the PVH
 * entry found, the segments placed at their physical addresses, a ramdisk handed over as
 * hvm_start_info module 0; and truncated or corrupted copies are refused by name. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <kxen/elfnote.h>
#include <kxen/ctl_domain.h>
#include <kxen/hvm/start_info.h>

#include "../kxend/core.h"
#include "kxend/guest_mem.h"

#define RAM (512ull << 20)
/* Debian's x86-64 kernels are linked at 0xffffffff81000000 and loaded at 16 MiB. */
#define LINUX_LOAD 0x1000000ull

struct blob {
    uint8_t *b;
    size_t len;
};

static struct blob debian_kernel(void)
{
    glob_t g;
    struct blob k = {0};
    /* Debian 12's linux-image-amd64 (6.1, XZ payload) first: the messages checked below name
     * XZ, and the 6.12 kernel the kvm-under-TCG harness also installs is zstd-compressed. */
    if (glob("/boot/vmlinuz-6.1.*", 0, NULL, &g) != 0 && glob("/boot/vmlinuz-*", 0, NULL, &g) != 0)
        cr_skip_test("no /boot/vmlinuz-* (Debian's linux-image-amd64 is not installed)");
    FILE *f = fopen(g.gl_pathv[g.gl_pathc - 1], "rb");
    cr_assert(f, "cannot open %s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    fseek(f, 0, SEEK_END);
    k.len = (size_t)ftell(f);
    rewind(f);
    k.b = malloc(k.len);
    cr_assert(k.b && fread(k.b, 1, k.len, f) == k.len);
    fclose(f);
    return k;
}

/* A newc cpio with one file, "init", as an initramfs would hold it. */
static int make_cpio(size_t *len)
{
    static const char body[] = "#!/bin/sh\necho hello\n";
    char buf[1024];
    size_t n = 0;
    const char *names[2] = {"init", "TRAILER!!!"};
    for (int i = 0; i < 2; i++) {
        size_t fsz = i == 0 ? sizeof(body) - 1 : 0;
        n += (size_t)sprintf(
            buf + n, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", i + 1,
            i == 0 ? 0100755 : 0, 0, 0, 1, 0, fsz, 0, 0, 0, 0, strlen(names[i]) + 1, 0);
        n += (size_t)sprintf(buf + n, "%s", names[i]) + 1;
        while (n % 4)
            buf[n++] = 0;
        memcpy(buf + n, body, fsz);
        n += fsz;
        while (n % 4)
            buf[n++] = 0;
    }
    int fd = memfd_create("initramfs.cpio", MFD_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, buf, n), (ssize_t)n);
    *len = n;
    return fd;
}

/* A domain whose accelerator boots through the PVH entry, as kvm does; the soft ops with
 * pv_boot cleared stand in, so the test needs no /dev/kvm (the loader only reads pv_boot). */
static struct domain *pvh_domain(uint64_t ram)
{
    static struct accel_ops pvh;
    pvh = *accel_find("soft");
    pvh.pv_boot = false;
    kxend_accel = &pvh;
    struct domain_config cfg = {.name = "linux", .ram_bytes = ram, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    return d;
}

static void drop(struct domain *d)
{
    domain_destroy(d);
    domain_put(d);
}

static void load_refused(struct domain *d, const struct blob *k, const struct load_params *p,
                         int want_rc, const char *needle)
{
    struct load_result r;
    char msg[512] = "";
    int rc = loader_load_image(d, k->b, k->len, p, &r, msg, sizeof(msg));
    cr_assert_lt(rc, 0, "image accepted, expected refusal about '%s'", needle);
    if (want_rc)
        cr_assert_eq(rc, want_rc, "rc %d (%s)", rc, msg);
    cr_assert(strstr(msg, needle), "message '%s' does not mention '%s'", msg, needle);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

Test(loader_linux, decompresses_debians_bzimage_and_finds_the_pvh_entry)
{
    struct blob k = debian_kernel();
    cr_assert(loader_is_bzimage(k.b, k.len));
    uint8_t *elf;
    size_t len;
    char msg[512] = "";
    cr_assert_eq(loader_bzimage_extract(k.b, k.len, &elf, &len, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert(len > (16u << 20) && !memcmp(elf, ELFMAG, SELFMAG), "an ELF vmlinux of %zu bytes",
              len);
    struct elf_info info;
    cr_assert_eq(loader_parse(elf, len, RAM, &info, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert(info.virt_differs, "linked at virtual addresses, loaded at physical ones");
    cr_assert_eq(info.lo, LINUX_LOAD);
    cr_assert(info.has_phys32_entry);
    cr_assert(info.phys32_entry >= info.lo && info.phys32_entry < info.hi, "entry %#llx",
              (unsigned long long)info.phys32_entry);
    cr_assert(info.has_pv_entry && info.pv_entry >= 0xffffffff80000000ull,
              "XEN_ELFNOTE_ENTRY is virtual");
    free(elf);
    free(k.b);
}

Test(loader_linux, loads_debians_kernel_at_its_physical_addresses_with_a_ramdisk)
{
    struct blob k = debian_kernel();
    struct domain *d = pvh_domain(RAM);
    size_t cpio_len;
    int fd = make_cpio(&cpio_len);
    struct load_params p = {.cmdline = "console=hvc0 rdinit=/init",
                            .has_ramdisk = true,
                            .ramdisk_fd = fd,
                            .store_evtchn = 1,
                            .console_evtchn = 2};
    struct load_result r;
    char msg[512] = "";
    cr_assert_eq(loader_load_image(d, k.b, k.len, &p, &r, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(r.boot_mode, KXEN_BOOT_PVH32);
    cr_assert(r.entry > LINUX_LOAD && r.entry < r.image_end, "entry %#llx",
              (unsigned long long)r.entry);
    cr_assert_eq(d->vcpus[0]->boot.entry, r.entry);
    /* The first segment's bytes at 16 MiB: Linux's startup_64 begins with its code, not
     * zeros. */
    uint8_t *text = guest_phys_ptr(d, LINUX_LOAD, 4096);
    size_t nz = 0;
    for (int i = 0; i < 4096; i++)
        nz += text[i] != 0;
    cr_assert_gt(nz, 100, "kernel text loaded at its p_paddr");

    cr_assert_eq(r.ramdisk_size, cpio_len);
    cr_assert_eq(r.ramdisk_gpa & 0xfff, 0, "page-aligned");
    cr_assert_geq(r.ramdisk_gpa, r.image_end, "above the kernel");
    cr_assert_leq(r.ramdisk_gpa + r.ramdisk_size, r.start_info_pfn << 12,
                  "below the special pages");
    uint8_t *rd = guest_phys_ptr(d, r.ramdisk_gpa, cpio_len);
    cr_assert(rd && !memcmp(rd, "070701", 6), "the cpio in guest RAM");

    struct hvm_start_info *hs = guest_phys_ptr(d, d->vcpus[0]->boot.rbx, sizeof(*hs));
    cr_assert(hs);
    cr_assert_eq(hs->magic, XEN_HVM_START_MAGIC_VALUE);
    cr_assert_eq(hs->nr_modules, 1);
    struct hvm_modlist_entry *m = guest_phys_ptr(d, hs->modlist_paddr, sizeof(*m));
    cr_assert(m);
    cr_assert_eq(m->paddr, r.ramdisk_gpa);
    cr_assert_eq(m->size, cpio_len);
    struct hvm_memmap_table_entry *mm = guest_phys_ptr(d, hs->memmap_paddr, sizeof(*mm));
    cr_assert(mm && mm->addr == 0 && mm->type == XEN_HVM_MEMMAP_TYPE_RAM, "RAM from 0");
    cr_assert_geq(mm->size, r.ramdisk_gpa + r.ramdisk_size);
    cr_assert_str_eq((char *)guest_phys_ptr(d, hs->cmdline_paddr, 1), "console=hvc0 rdinit=/init");
    close(fd);
    drop(d);
    free(k.b);
}

Test(loader_linux, refuses_a_ramdisk_that_does_not_fit_naming_the_sizes)
{
    struct blob k = debian_kernel();
    struct domain *d = pvh_domain(128ull << 20);
    int fd = memfd_create("big.cpio", MFD_CLOEXEC);
    cr_assert_eq(ftruncate(fd, 100ll << 20), 0); /* sparse: the kernel ends near 80 MiB */
    struct load_params p = {.has_ramdisk = true, .ramdisk_fd = fd};
    load_refused(d, &k, &p, -ENOMEM, "ramdisk of 104857600 bytes does not fit");
    close(fd);
    drop(d);
    free(k.b);
}

Test(loader_linux, refuses_truncated_and_corrupted_copies_by_name)
{
    struct blob k = debian_kernel();
    struct domain *d = pvh_domain(RAM);
    struct load_params p = {0};
    uint32_t poff = rd32(k.b + 0x248) + (k.b[0x1f1] + 1u) * 512, plen = rd32(k.b + 0x24c);

    struct blob cut = {k.b, k.len / 2};
    load_refused(d, &cut, &p, -EINVAL, "bzImage: truncated");

    /* The XZ stream cut in half, the size trailer kept: the payload is truncated. */
    struct blob half = {malloc(poff + plen / 2 + 4), poff + plen / 2 + 4};
    memcpy(half.b, k.b, poff + plen / 2);
    memcpy(half.b + poff + plen / 2, k.b + poff + plen - 4, 4);
    uint32_t hl = plen / 2 + 4;
    memcpy(half.b + 0x24c, &hl, 4);
    load_refused(d, &half, &p, -EINVAL, "bzImage payload (XZ): truncated");
    free(half.b);

    /* Bytes flipped inside the compressed stream: liblzma's checks catch it. */
    uint8_t *bad = malloc(k.len);
    memcpy(bad, k.b, k.len);
    for (uint32_t i = 0; i < 64; i++)
        bad[poff + plen / 3 + i] ^= 0x5a;
    struct blob corrupt = {bad, k.len};
    load_refused(d, &corrupt, &p, -EINVAL, "bzImage payload (XZ): corrupt");

    memcpy(bad, k.b, k.len);
    bad[0x206] = 0x02, bad[0x207] = 0x02; /* boot protocol 2.02 */
    load_refused(d, &corrupt, &p, -ENOEXEC, "boot protocol 2.02");

    memcpy(bad, k.b, k.len);
    uint32_t huge = 0xfffffff0;
    memcpy(bad + poff + plen - 4, &huge, 4);
    load_refused(d, &corrupt, &p, -EFBIG, "stated decompressed size");

    memcpy(bad, k.b, k.len);
    memcpy(bad + poff, "BZh9", 4);
    load_refused(d, &corrupt, &p, -ENOEXEC, "bzip2-compressed");
    free(bad);
    cr_assert_not(d->vcpus[0]->boot_set, "no refusal left a boot state behind");
    drop(d);
    free(k.b);
}

Test(loader_linux, refuses_a_kernel_without_the_pvh_note)
{
    struct blob k = debian_kernel();
    uint8_t *elf;
    size_t len;
    char msg[512] = "";
    cr_assert_eq(loader_bzimage_extract(k.b, k.len, &elf, &len, msg, sizeof(msg)), 0, "%s", msg);
    /* Rename every PHYS32_ENTRY note: the kernel is then a PV-only one. */
    size_t renamed = 0;
    for (size_t i = 0; i + 20 <= len; i += 4) {
        uint32_t h[3];
        memcpy(h, elf + i, 12);
        if (h[0] == 4 && h[2] == XEN_ELFNOTE_PHYS32_ENTRY && !memcmp(elf + i + 12, "Xen", 4)) {
            h[2] = 0x7777;
            memcpy(elf + i, h, 12);
            renamed++;
        }
    }
    cr_assert_geq(renamed, 1);
    struct domain *d = pvh_domain(RAM);
    struct load_params p = {0};
    struct blob vmlinux = {elf, len};
    load_refused(d, &vmlinux, &p, -EINVAL, "has no XEN_ELFNOTE_PHYS32_ENTRY: not a PVH kernel");
    drop(d);
    free(elf);
    free(k.b);
}

Test(loader_linux, soft_refuses_linux_and_says_to_use_kvm)
{
    struct blob k = debian_kernel();
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "soft-linux", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    struct load_params p = {0};
    load_refused(d, &k, &p, -EOPNOTSUPP, "soft cannot run Linux PVH");
    load_refused(d, &k, &p, -EOPNOTSUPP, "use kxend --accel kvm");
    /* The plain vmlinux too: its segments need paging. */
    uint8_t *elf;
    size_t len;
    char msg[512] = "";
    cr_assert_eq(loader_bzimage_extract(k.b, k.len, &elf, &len, msg, sizeof(msg)), 0, "%s", msg);
    struct blob vmlinux = {elf, len};
    load_refused(d, &vmlinux, &p, -EOPNOTSUPP, "soft cannot run Linux PVH");
    free(elf);
    drop(d);
    free(k.b);
}

Test(loader_linux, loads_the_plain_vmlinux_as_well)
{
    struct blob k = debian_kernel();
    uint8_t *elf;
    size_t len;
    char msg[512] = "";
    cr_assert_eq(loader_bzimage_extract(k.b, k.len, &elf, &len, msg, sizeof(msg)), 0, "%s", msg);
    struct domain *d = pvh_domain(RAM);
    struct load_params p = {.cmdline = "console=hvc0"};
    struct load_result r;
    cr_assert_eq(loader_load_image(d, elf, len, &p, &r, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(r.boot_mode, KXEN_BOOT_PVH32);
    cr_assert(r.entry > LINUX_LOAD && r.entry < r.image_end);
    cr_assert_eq(r.ramdisk_size, 0);
    struct hvm_start_info *hs = guest_phys_ptr(d, d->vcpus[0]->boot.rbx, sizeof(*hs));
    cr_assert(hs && hs->nr_modules == 0, "no ramdisk, no module");
    drop(d);
    free(elf);
    free(k.b);
}
