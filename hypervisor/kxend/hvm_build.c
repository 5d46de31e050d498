/* The HVM domain builder: an emulated PC. RAM from 0 up to the PCI hole (KXEN_HVM_PCI_HOLE),
 * the legacy areas (VGA window, option ROMs, BIOS) being plain RAM the firmware shadows; the
 * firmware image read-only just below 4 GiB with its last 128 KiB copied to end at 1 MiB, as
 * a PC's chipset aliases it; vCPU 0 at the reset vector (cs 0xf000, base 0xffff0000, ip
 * 0xfff0) in real mode, the others waiting for INIT/SIPI in the accelerator's LAPICs. Xen's
 * special pages (store and console rings, grant frames) sit at the top of RAM; the guest is
 * told RAM ends below them (hvm_domain.ram_end, which the toolstack passes on to the CMOS).
 * The debug ports 0x402 and 0xe9 write into the domain's console ring, which `xl dmesg` shows.
 * Invariant: nothing reaches guest RAM or the accelerator before every check that can refuse
 * the build has passed, except hvm_prepare's own state, which domain destroy releases. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kxen/hvm/params.h>

#include "hvm_internal.h"
#include "kxen/ctl_hvm.h"
#include "kxen/log.h"
#include "kxend/guest_mem.h"
#include "kxend/io.h"
#include "loader_internal.h"

/* Smallest RAM for an HVM guest: 1 MiB of legacy space, room above it, the special pages. */
#define HVM_MIN_RAM (4ull << 20)

static void debug_flush_locked(struct domain *d, struct hvm_domain *h)
{
    if (h->debug_len)
        console_domain_write(d, h->debug_line, h->debug_len);
    h->debug_len = 0;
}

/* SeaBIOS probes 0x402 by reading it back as 0xe9 (QEMU's debugcon answers so); 0xe9 answers
 * the same, as Bochs's port does. Only byte writes carry text. */
static uint64_t debug_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return HVM_DEBUG_PORT_XEN;
}

/* Lines are written whole so that the output of two domains (or two vCPUs) never
 * interleaves within a line in `xl dmesg`. */
static void debug_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct domain *d = opaque;
    struct hvm_domain *h = d->hvm;
    if (offset != 0 || size != 1)
        return;
    char c = (char)val;
    pthread_mutex_lock(&h->debug_lock);
    h->debug_line[h->debug_len++] = c;
    if (c == '\n' || h->debug_len == sizeof(h->debug_line))
        debug_flush_locked(d, h);
    pthread_mutex_unlock(&h->debug_lock);
}

static const struct io_region_ops debug_ops = {"debugcon", debug_read, debug_write};

/* Called by the HVM subsystem's destroy (hvm_devices.c) after the devices are gone. */
void hvm_domain_free(struct domain *d)
{
    struct hvm_domain *h = d->hvm;
    if (!h)
        return;
    pthread_mutex_lock(&h->debug_lock);
    debug_flush_locked(d, h); /* a last line without its newline */
    pthread_mutex_unlock(&h->debug_lock);
    for (unsigned i = 0; i < 2; i++)
        io_region_unregister(h->debug_port[i]);
    /* The ROM is mapped into the accelerator's guest space until the accelerator's domain
     * destroy, which runs after the subsystems: nothing touches it, the vCPUs are gone, and
     * KVM drops its own mappings when the memory goes away. */
    if (h->rom)
        munmap(h->rom, h->rom_len);
    pthread_mutex_destroy(&h->debug_lock);
    free(h->devs);
    free(h);
    d->hvm = NULL;
}

int hvm_prepare(struct domain *d, bool pc_modes, bool xen, uint32_t store_evtchn,
                uint32_t console_evtchn, char *msg, size_t msglen)
{
    if (d->hvm || atomic_load(&d->state) != DOM_BUILDING || d->vcpus[0]->boot_set)
        return loader_fail(msg, msglen, -EBUSY, "the domain already has an image");
    if (pc_modes && (!d->accel->hvm_init || !d->accel->irq_line || !d->accel->map_rom))
        return loader_fail(msg, msglen, -EOPNOTSUPP,
                           "the %s accelerator cannot run an HVM guest (an emulated PC starts in "
                           "16-bit real mode and needs interrupt controllers): use kxend "
                           "--accel kvm",
                           d->accel->name);
    if (d->ram_size > KXEN_HVM_MAX_LOW_RAM)
        return loader_fail(msg, msglen, -E2BIG,
                           "%llu MiB of RAM: an HVM guest has at most %llu MiB (RAM above the "
                           "PCI hole at 4 GiB is not supported)",
                           (unsigned long long)(d->ram_size >> 20),
                           (unsigned long long)(KXEN_HVM_MAX_LOW_RAM >> 20));
    if (d->ram_size < HVM_MIN_RAM)
        return loader_fail(msg, msglen, -ENOMEM, "%llu KiB of RAM: an HVM guest needs %llu MiB",
                           (unsigned long long)(d->ram_size >> 10),
                           (unsigned long long)(HVM_MIN_RAM >> 20));

    struct hvm_domain *h = calloc(1, sizeof(*h));
    if (!h)
        return loader_fail(msg, msglen, -ENOMEM, "out of memory");
    pthread_mutex_init(&h->debug_lock, NULL);
    h->xen = xen;
    d->hvm = h; /* from here on, domain destroy releases it (hvm_domain_free) */

    char why[200] = "";
    int rc = d->accel->hvm_init ? d->accel->hvm_init(d, why, sizeof(why)) : 0;
    if (rc < 0)
        return loader_fail(msg, msglen, rc, "the %s accelerator cannot set up the PC: %s",
                           d->accel->name, why[0] ? why : strerror(-rc));
    static const uint16_t ports[2] = {HVM_DEBUG_PORT_QEMU, HVM_DEBUG_PORT_XEN};
    for (unsigned i = 0; i < 2; i++)
        if ((rc = io_register_port(d, ports[i], 1, &debug_ops, d, &h->debug_port[i])) < 0)
            return loader_fail(msg, msglen, rc, "cannot claim debug port %#x", ports[i]);

    uint64_t base = (d->ram_size >> KXEN_PAGE_SHIFT) - LOADER_SPECIAL_PAGES;
    loader_place_special_pages(d, base, store_evtchn, console_evtchn);
    h->ram_end = base << KXEN_PAGE_SHIFT;
    return 0;
}

int hvm_load_firmware(struct domain *d, int fd, char *msg, size_t msglen)
{
    struct hvm_domain *h = d->hvm;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return loader_fail(msg, msglen, -errno, "cannot stat the firmware");
    if (!S_ISREG(st.st_mode) || st.st_size < HVM_ROM_MIN || st.st_size > HVM_ROM_MAX ||
        st.st_size % HVM_ROM_MIN)
        return loader_fail(msg, msglen, -ENOEXEC,
                           "the firmware must be a file of 64 to 256 KiB in 64 KiB steps (a "
                           "SeaBIOS bios.bin), not %lld bytes",
                           (long long)st.st_size);
    size_t len = (size_t)st.st_size;
    uint8_t *rom = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rom == MAP_FAILED)
        return loader_fail(msg, msglen, -ENOMEM, "no memory for the firmware");
    for (size_t got = 0; got < len;) {
        ssize_t n = pread(fd, rom + got, len - got, (off_t)got);
        if (n <= 0) {
            munmap(rom, len);
            return loader_fail(msg, msglen, n < 0 ? -errno : -EIO, "cannot read the firmware");
        }
        got += (size_t)n;
    }
    mprotect(rom, len, PROT_READ);
    h->rom = rom;
    h->rom_len = len;
    int rc = d->accel->map_rom(d, (1ull << 32) - len, rom, len);
    if (rc < 0)
        return loader_fail(msg, msglen, rc, "cannot map the firmware below 4 GiB");
    size_t low = len < HVM_ROM_LOW_MAX ? len : HVM_ROM_LOW_MAX;
    copy_to_guest_phys(d, HVM_HIGH_MEM - low, rom + len - low, low);

    struct vcpu_boot boot = {
        .mode = VCPU_BOOT_REAL16, .entry = HVM_RESET_VECTOR, .lapic = h->xen, .xen_hvm = h->xen};
    if ((rc = domain_set_boot(d, &boot)) < 0)
        return loader_fail(msg, msglen, rc, "the domain is not being built");
    hvm_aps_wait_for_sipi(d);
    return 0;
}

void hvm_aps_wait_for_sipi(struct domain *d)
{
    for (unsigned i = 1; i < d->nr_vcpus; i++) {
        atomic_store(&d->vcpus[i]->state, VCPU_RUNNABLE);
        d->vcpus[i]->runstate = 1; /* RUNSTATE_runnable */
    }
}

int hvm_load_elf(struct domain *d, const uint8_t *img, size_t len, int ramdisk_fd,
                 const char *cmdline, char *msg, size_t msglen)
{
    /* The PV/PVH builder places the special pages exactly where hvm_prepare did. */
    struct load_params p = {.image_fd = -1,
                            .has_ramdisk = ramdisk_fd >= 0,
                            .ramdisk_fd = ramdisk_fd,
                            .cmdline = cmdline,
                            .store_evtchn = (uint32_t)d->hvm_params[HVM_PARAM_STORE_EVTCHN],
                            .console_evtchn = (uint32_t)d->hvm_params[HVM_PARAM_CONSOLE_EVTCHN]};
    struct load_result res;
    return loader_load_image(d, img, len, &p, &res, msg, msglen);
}

/* The accelerator saw the guest's kernel proper start (kvm: its first write of GS_BASE, done
 * by Linux's startup_64 after the decompressor has put the kernel at its final address):
 * its hypercall instructions are in RAM now, wherever the kernel placed itself. */
void hvm_kernel_entered(struct domain *d)
{
    struct hvm_domain *h = d->hvm;
    if (!h || !h->xen)
        return;
    unsigned n = loader_pvh_patch_hypercalls(d, HVM_HIGH_MEM, h->ram_end);
    log_info("domain %u: the HVM guest's kernel runs: %u hypercall instruction(s) routed to kxend",
             d->domid, n);
}
