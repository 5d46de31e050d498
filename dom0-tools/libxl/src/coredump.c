/* Core dumps (xl dump-core, and the on_* coredump-destroy / coredump-restart actions): the guest's
 * RAM as an ELF64 ET_CORE file with one PT_LOAD segment over all of guest-physical memory (guests
 * run identity-mapped, so virtual = physical addresses). The RAM comes from kxend's FOREIGN_MAP
 * (the domain's memfd), which only privileged callers get. */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_gnttab.h"
#include "kxen/util.h"

#include "kxl_internal.h"

#define CORE_DATA_OFFSET 4096 /* headers in the first page, RAM page-aligned after it */

static int write_header(int fd, uint64_t ram_size)
{
    unsigned char page[CORE_DATA_OFFSET];
    memset(page, 0, sizeof(page));
    Elf64_Ehdr *eh = (Elf64_Ehdr *)page;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_CORE;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 1;
    Elf64_Phdr *ph = (Elf64_Phdr *)(page + sizeof(*eh));
    ph->p_type = PT_LOAD;
    ph->p_flags = PF_R | PF_W | PF_X;
    ph->p_offset = CORE_DATA_OFFSET;
    ph->p_vaddr = 0;
    ph->p_paddr = 0;
    ph->p_filesz = ram_size;
    ph->p_memsz = ram_size;
    ph->p_align = 4096;
    return kxen_write_full(fd, page, sizeof(page));
}

static bool page_is_zero(const char *p)
{
    static const char zero[4096];
    return memcmp(p, zero, sizeof(zero)) == 0;
}

/* The file is sparse: a page of zeros (never touched, or ballooned out) is skipped with lseek
 * and the size set at the end, so a dump costs the disk what the guest really uses. */
static int copy_ram(int out, int mem_fd, uint64_t ram_size)
{
    static char buf[1 << 16];
    for (uint64_t off = 0; off < ram_size;) {
        size_t n = ram_size - off < sizeof(buf) ? (size_t)(ram_size - off) : sizeof(buf);
        ssize_t r = pread(mem_fd, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        for (size_t p = 0; p < (size_t)r; p += 4096) {
            size_t len = (size_t)r - p < 4096 ? (size_t)r - p : 4096;
            off_t at = (off_t)(CORE_DATA_OFFSET + off + p);
            if (len == 4096 && page_is_zero(buf + p))
                continue;
            if (lseek(out, at, SEEK_SET) < 0)
                return -errno;
            int rc = kxen_write_full(out, buf + p, len);
            if (rc < 0)
                return rc;
        }
        off += (uint64_t)r;
    }
    return ftruncate(out, (off_t)(CORE_DATA_OFFSET + ram_size)) < 0 ? -errno : 0;
}

int kxl_domain_core_dump(struct kxl_ctx *ctx, uint16_t domid, const char *path)
{
    struct kxen_ctl_foreign_map req = {.domid = domid};
    struct kxen_ctl_foreign_map_rep rep;
    uint32_t len = 0;
    int fds[KXEN_CTL_MAX_FDS];
    unsigned nfds = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_FOREIGN_MAP, &req, sizeof(req), NULL, 0, &rep,
                           sizeof(rep), &len, fds, &nfds);
    if (rc == 0 && (nfds != 1 || len < sizeof(rep)))
        rc = -EPROTO;
    for (unsigned i = rc == 0 ? 1 : 0; i < nfds; i++)
        close(fds[i]);
    if (rc < 0)
        return kxl_fail(ctx, rc, "core dump of domain %u: kxend refused its memory: %s", domid,
                        strerror(-rc));
    int mem_fd = fds[0];
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = -errno;
        close(mem_fd);
        return kxl_fail(ctx, rc, "core dump of domain %u: cannot create %s: %s", domid, path,
                        strerror(-rc));
    }
    rc = write_header(out, rep.ram_size);
    if (rc == 0)
        rc = copy_ram(out, mem_fd, rep.ram_size);
    close(mem_fd);
    if (close(out) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        unlink(path);
        return kxl_fail(ctx, rc, "core dump of domain %u: writing %s failed: %s", domid, path,
                        strerror(-rc));
    }
    return 0;
}
