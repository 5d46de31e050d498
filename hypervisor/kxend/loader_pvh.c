/* The domain builder's PVH part (Xen's docs/misc/pvh.pandoc, as kxen's kvm accelerator boots
 * guests): the hvm_start_info page %ebx points at, and the ramdisk handed over as module 0
 * ("the first module is always the ramdisk" for Linux). Invariant: everything written here
 * lies in guest RAM below the special pages, inside [0, ram_end) of the memory map, or in the
 * start-info page itself. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kxen/hvm/start_info.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/accel.h"
#include "kxend/guest_mem.h"
#include "kxend/io.h"
#include "loader_internal.h"

/* Layout of the start-info page. */
#define SI_MEMMAP_OFF 256
#define SI_MODLIST_OFF 512
#define SI_CMDLINE_OFF 2048

int loader_ramdisk_load(struct domain *d, int fd, uint64_t image_end, uint64_t limit, uint64_t *gpa,
                        uint64_t *size, char *msg, size_t msglen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return loader_fail(msg, msglen, -errno, "ramdisk: cannot stat it");
    if (!S_ISREG(st.st_mode) || st.st_size <= 0)
        return loader_fail(msg, msglen, -EINVAL, "ramdisk: not a non-empty regular file");
    uint64_t len = (uint64_t)st.st_size;
    uint64_t at = KXEN_ALIGN_UP(image_end, (uint64_t)KXEN_PAGE_SIZE);
    if (at > limit || len > limit - at)
        return loader_fail(msg, msglen, -ENOMEM,
                           "ramdisk of %llu bytes does not fit: %llu bytes free between the "
                           "kernel's end (%#llx) and the special pages (%#llx); give the guest "
                           "more memory",
                           (unsigned long long)len,
                           (unsigned long long)(at < limit ? limit - at : 0),
                           (unsigned long long)image_end, (unsigned long long)limit);
    uint8_t *dst = guest_phys_ptr(d, at, len);
    if (!dst)
        return loader_fail(msg, msglen, -EFAULT, "ramdisk: [%#llx, +%llu) is not guest RAM",
                           (unsigned long long)at, (unsigned long long)len);
    uint64_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, dst + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return loader_fail(msg, msglen, n < 0 ? -errno : -EIO,
                               "ramdisk: read failed after %llu of %llu bytes",
                               (unsigned long long)got, (unsigned long long)len);
        got += (uint64_t)n;
    }
    *gpa = at;
    *size = len;
    return 0;
}

void loader_pvh_start_info(struct domain *d, uint64_t pg, uint64_t ram_end, const char *cmdline,
                           uint64_t ramdisk_gpa, uint64_t ramdisk_size, uint64_t rsdp)
{
    struct hvm_start_info hs;
    /* Reserved up to maxmem too: RAM never grows into it and grant maps are refused there
     * (gnttab_map.c), while Linux claims the first range its e820 leaves undescribed for the
     * pages it maps grants into (unpopulated-alloc). */
    uint64_t top =
        KXEN_MAX(ram_end + ((uint64_t)LOADER_SPECIAL_PAGES << KXEN_PAGE_SHIFT), d->max_ram_size);
    struct hvm_memmap_table_entry mm[2] = {
        {0, ram_end, XEN_HVM_MEMMAP_TYPE_RAM, 0},
        {ram_end, top - ram_end, XEN_HVM_MEMMAP_TYPE_RESERVED, 0},
    };
    memset(&hs, 0, sizeof(hs));
    hs.magic = XEN_HVM_START_MAGIC_VALUE;
    hs.version = 1;
    hs.flags = d->privileged ? SIF_PRIVILEGED : 0;
    hs.memmap_paddr = pg + SI_MEMMAP_OFF;
    hs.memmap_entries = 2;
    hs.cmdline_paddr = pg + SI_CMDLINE_OFF;
    hs.rsdp_paddr = rsdp;
    if (ramdisk_size) {
        struct hvm_modlist_entry mod = {.paddr = ramdisk_gpa, .size = ramdisk_size};
        hs.nr_modules = 1;
        hs.modlist_paddr = pg + SI_MODLIST_OFF;
        copy_to_guest_phys(d, pg + SI_MODLIST_OFF, &mod, sizeof(mod));
    }
    copy_to_guest_phys(d, pg, &hs, sizeof(hs));
    copy_to_guest_phys(d, pg + SI_MEMMAP_OFF, mm, sizeof(mm));
    /* The caller bounded the command line to MAX_GUEST_CMDLINE (1024) bytes, which fits
     * between SI_CMDLINE_OFF and the end of the page. */
    copy_to_guest_phys(d, pg + SI_CMDLINE_OFF, cmdline, strlen(cmdline) + 1);
}

/* Linux's xen_hypercall_amd and xen_hypercall_intel are `vmmcall; RET` and `vmcall; RET`,
 * where RET is `ret` or, with return thunks, `jmp __x86_return_thunk`. The two functions sit
 * next to each other (16 or 32 bytes apart, depending on function padding); both RETs are
 * the same kind and both jumps reach the same thunk. Requiring the pair keeps a stray
 * 0f 01 d9 in data from matching. */
#define VMMCALL_B2 0xd9
#define VMCALL_B2 0xc1
#define PATCH_PAIR_WINDOW 64

/* The RET after the instruction at p: 1 = `ret`, 2 = `jmp rel32` (target in *to), 0 = none. */
static int ret_kind(const uint8_t *p, uint64_t at, uint64_t *to)
{
    if (p[3] == 0xc3)
        return 1;
    if (p[3] != 0xe9)
        return 0;
    int32_t rel;
    memcpy(&rel, p + 4, 4);
    *to = at + 8 + (uint64_t)(int64_t)rel;
    return 2;
}

static bool is_insn(const uint8_t *p, uint8_t b2)
{
    return p[0] == 0x0f && p[1] == 0x01 && p[2] == b2;
}

unsigned loader_pvh_patch_hypercalls(struct domain *d, uint64_t lo, uint64_t hi)
{
    uint8_t *img = guest_phys_ptr(d, lo, hi - lo);
    if (!img || hi - lo < PATCH_PAIR_WINDOW + 8)
        return 0;
    uint64_t len = hi - lo;
    /* `out %eax, $0xe8; nop`: three bytes like the instruction it replaces; kxend's port
     * trap reads every argument register and writes rax, as the hypercall page does. */
    static const uint8_t trap[3] = {0xe7, KXEN_HYPERCALL_PORT, 0x90};
    unsigned n = 0;
    for (uint64_t i = 0; i + PATCH_PAIR_WINDOW + 8 <= len; i++) {
        if (!is_insn(img + i, VMMCALL_B2))
            continue;
        uint64_t ta = 0, tb = 0;
        int ka = ret_kind(img + i, i, &ta);
        if (!ka)
            continue;
        for (uint64_t j = i + 4; j < i + PATCH_PAIR_WINDOW; j++) {
            if (!is_insn(img + j, VMCALL_B2) || ret_kind(img + j, j, &tb) != ka ||
                (ka == 2 && ta != tb))
                continue;
            memcpy(img + i, trap, sizeof(trap));
            memcpy(img + j, trap, sizeof(trap));
            guest_mark_dirty(d, lo + i, sizeof(trap));
            guest_mark_dirty(d, lo + j, sizeof(trap));
            n += 2;
            break;
        }
    }
    return n;
}

void loader_pvh_hypercalls(struct domain *d, uint64_t lo, uint64_t hi)
{
    if (d->accel->linux_hypercalls && d->accel->linux_hypercalls(d)) {
        log_info("domain %u: Linux PVH kernel, hypercalls: KVM Xen intercept (kernel text not "
                 "rewritten)",
                 d->domid);
        console_hv_printf("(XEN) d%u: hypercalls: KVM Xen intercept\n", d->domid);
        return;
    }
    unsigned n = loader_pvh_patch_hypercalls(d, lo, hi);
    log_info("domain %u: Linux PVH kernel, hypercalls: routed by rewrite, %u hypercall "
             "instruction(s) routed to kxend",
             d->domid, n);
    console_hv_printf("(XEN) d%u: hypercalls: routed by rewrite (%u instructions)\n", d->domid, n);
}

static uint64_t debug_port_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return 0xe9; /* Bochs' answer: tells a probing guest the port is there */
}

static void debug_port_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    (void)offset;
    char c[4];
    memcpy(c, &val, sizeof(c));
    console_domain_write(opaque, c, KXEN_MIN(size, (unsigned)sizeof(c)));
}

int loader_pvh_debug_port(struct domain *d)
{
    static const struct io_region_ops ops = {"debug port 0xe9", debug_port_read, debug_port_write};
    struct io_region *r;
    return io_register_port(d, 0xe9, 1, &ops, d, &r);
}
