/* The built guest images follow the boot conventions kxend relies on: static ELF64 loaded at
 * 1 MiB with virtual = physical, the Xen notes for both entry paths, a page-aligned hypercall
 * page inside the code segment. And the PVH path really reaches 64-bit C code: booted under
 * QEMU (no Xen there), the runtime reports the missing hypervisor on the debug port. */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kxen/elfnote.h>

static const char *const images[] = {"selftest", "hostile", "spin", "hello"};

static void image_path(const char *name, char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    cr_assert(n > 0);
    exe[n] = 0;
    snprintf(out, len, "%s/../guests/%s.elf", dirname(exe), name);
}

struct image {
    uint8_t *data;
    size_t size;
    const Elf64_Ehdr *eh;
    const Elf64_Phdr *ph;
};

static struct image load(const char *name)
{
    char path[PATH_MAX];
    image_path(name, path, sizeof(path));
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0, "guest image %s is built", path);
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    struct image im = {.size = (size_t)st.st_size};
    im.data = mmap(NULL, im.size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    cr_assert(im.data != MAP_FAILED);
    cr_assert(im.size >= sizeof(Elf64_Ehdr));
    im.eh = (const Elf64_Ehdr *)im.data;
    cr_assert(im.eh->e_phoff + (size_t)im.eh->e_phnum * sizeof(Elf64_Phdr) <= im.size);
    im.ph = (const Elf64_Phdr *)(im.data + im.eh->e_phoff);
    return im;
}

/* The PT_LOAD segment holding [addr, addr+len), or NULL. */
static const Elf64_Phdr *segment_of(const struct image *im, uint64_t addr, uint64_t len)
{
    for (int i = 0; i < im->eh->e_phnum; i++) {
        const Elf64_Phdr *p = &im->ph[i];
        if (p->p_type == PT_LOAD && addr >= p->p_vaddr && addr + len <= p->p_vaddr + p->p_filesz)
            return p;
    }
    return NULL;
}

struct notes {
    uint64_t entry, hypercall_page;
    uint32_t phys32_entry;
    int have_entry, have_hypercall_page, have_phys32;
    char guest_os[32];
};

static struct notes read_notes(const struct image *im)
{
    struct notes n = {0};
    for (int i = 0; i < im->eh->e_phnum; i++) {
        const Elf64_Phdr *p = &im->ph[i];
        if (p->p_type != PT_NOTE)
            continue;
        cr_assert(p->p_offset + p->p_filesz <= im->size);
        size_t off = 0;
        while (off + sizeof(Elf64_Nhdr) <= p->p_filesz) {
            const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(im->data + p->p_offset + off);
            const char *name = (const char *)(nh + 1);
            const uint8_t *desc = (const uint8_t *)name + ((nh->n_namesz + 3) & ~3u);
            off += sizeof(*nh) + ((nh->n_namesz + 3) & ~3u) + ((nh->n_descsz + 3) & ~3u);
            if (nh->n_namesz != 4 || memcmp(name, "Xen", 4) != 0)
                continue;
            switch (nh->n_type) {
            case XEN_ELFNOTE_ENTRY:
                cr_assert_eq(nh->n_descsz, 8, "ENTRY note is a 64-bit address");
                memcpy(&n.entry, desc, 8);
                n.have_entry = 1;
                break;
            case XEN_ELFNOTE_HYPERCALL_PAGE:
                cr_assert_eq(nh->n_descsz, 8, "HYPERCALL_PAGE note is a 64-bit address");
                memcpy(&n.hypercall_page, desc, 8);
                n.have_hypercall_page = 1;
                break;
            case XEN_ELFNOTE_PHYS32_ENTRY:
                cr_assert_eq(nh->n_descsz, 4, "PHYS32_ENTRY note is a 32-bit address");
                memcpy(&n.phys32_entry, desc, 4);
                n.have_phys32 = 1;
                break;
            case XEN_ELFNOTE_GUEST_OS:
                snprintf(n.guest_os, sizeof(n.guest_os), "%.*s", (int)nh->n_descsz, desc);
                break;
            }
        }
    }
    return n;
}

Test(guest_images, are_static_elf64_loaded_at_1mib_with_virtual_equal_physical)
{
    for (size_t k = 0; k < sizeof(images) / sizeof(images[0]); k++) {
        struct image im = load(images[k]);
        cr_assert(memcmp(im.eh->e_ident, ELFMAG, SELFMAG) == 0);
        cr_assert_eq(im.eh->e_ident[EI_CLASS], ELFCLASS64, "%s is ELF64", images[k]);
        cr_assert_eq(im.eh->e_machine, EM_X86_64);
        cr_assert_eq(im.eh->e_type, ET_EXEC, "%s is a static executable", images[k]);
        uint64_t lowest = UINT64_MAX;
        int exec_segments = 0;
        for (int i = 0; i < im.eh->e_phnum; i++) {
            const Elf64_Phdr *p = &im.ph[i];
            cr_assert_neq(p->p_type, PT_INTERP, "%s has no interpreter", images[k]);
            cr_assert_neq(p->p_type, PT_DYNAMIC, "%s is not dynamic", images[k]);
            if (p->p_type != PT_LOAD)
                continue;
            cr_assert_eq(p->p_vaddr, p->p_paddr, "%s: identity mapped", images[k]);
            cr_assert_eq(p->p_vaddr % 4096, 0);
            cr_assert(p->p_memsz >= p->p_filesz);
            lowest = p->p_vaddr < lowest ? p->p_vaddr : lowest;
            if (p->p_flags & PF_X)
                exec_segments++;
            cr_assert(!((p->p_flags & PF_X) && (p->p_flags & PF_W)), "%s: no W+X segment",
                      images[k]);
        }
        cr_assert_eq(lowest, 0x100000, "%s is loaded at 1 MiB", images[k]);
        cr_assert_eq(exec_segments, 1);
        munmap(im.data, im.size);
    }
}

Test(guest_images, carry_xen_notes_for_both_entry_paths)
{
    for (size_t k = 0; k < sizeof(images) / sizeof(images[0]); k++) {
        struct image im = load(images[k]);
        struct notes n = read_notes(&im);
        cr_assert(n.have_entry && n.have_phys32 && n.have_hypercall_page,
                  "%s has ENTRY, PHYS32_ENTRY and HYPERCALL_PAGE notes", images[k]);
        cr_assert_str_eq(n.guest_os, "kxen-guest");
        cr_assert_eq(n.entry, im.eh->e_entry, "%s: ELF entry is the 64-bit entry", images[k]);
        cr_assert_neq(n.entry, n.phys32_entry);
        const Elf64_Phdr *p64 = segment_of(&im, n.entry, 1);
        const Elf64_Phdr *p32 = segment_of(&im, n.phys32_entry, 1);
        cr_assert(p64 && (p64->p_flags & PF_X), "%s: 64-bit entry in code", images[k]);
        cr_assert(p32 && (p32->p_flags & PF_X), "%s: 32-bit entry in code", images[k]);
        cr_assert_eq(n.hypercall_page % 4096, 0, "%s: hypercall page aligned", images[k]);
        const Elf64_Phdr *hp = segment_of(&im, n.hypercall_page, 4096);
        cr_assert(hp && (hp->p_flags & PF_X),
                  "%s: hypercall page is an executable page in the "
                  "file",
                  images[k]);
        /* the unfilled page traps (int3) rather than running into garbage */
        const uint8_t *page = im.data + hp->p_offset + (n.hypercall_page - hp->p_vaddr);
        for (int i = 0; i < 4096; i++)
            cr_assert_eq(page[i], 0xcc);
        munmap(im.data, im.size);
    }
}

Test(guest_images, pvh_entry_reaches_64bit_c_code_under_qemu, .timeout = 60)
{
    if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
        cr_skip_test("qemu-system-x86_64 not installed");
    char path[PATH_MAX], log[] = "/tmp/kxen-guest-pvh-XXXXXX", arg[PATH_MAX + 16];
    image_path("spin", path, sizeof(path));
    int fd = mkstemp(log);
    cr_assert(fd >= 0);
    close(fd);
    snprintf(arg, sizeof(arg), "file:%s", log);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl("/usr/bin/timeout", "timeout", "30", "/usr/bin/qemu-system-x86_64", "-M", "q35",
              "-accel", "tcg", "-m", "64", "-display", "none", "-no-reboot", "-serial", "none",
              "-monitor", "none", "-nodefaults", "-kernel", path, "-debugcon", arg, "-device",
              "isa-debug-exit,iobase=0xf4,iosize=1", (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert(waitpid(pid, &status, 0) == pid);
    char out[256] = "";
    FILE *f = fopen(log, "r");
    if (f) {
        size_t n = fread(out, 1, sizeof(out) - 1, f);
        out[n] = 0;
        fclose(f);
    }
    unlink(log);
    /* isa-debug-exit: status (0x10 << 1) | 1 = 33 means our early_fail() ran in long mode */
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 33, "qemu exit status %d, output: %s",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
    cr_assert(strstr(out, "kxen guest: no Xen hypervisor") != NULL, "debug port output: %s", out);
}
