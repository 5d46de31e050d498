/* Building a type "hvm" domain: kxend's HVM_BUILD (SeaBIOS at the reset vector, or a kernel),
 * then the emulated PC's device list, one DEVICE_ADD each, in the order the models need
 * (hypervisor/devices/README.md): PCI host bridge, ISA bridge (with ACPI, its PCI interrupt
 * routes preset as kxend's tables name them), CMOS with the RAM size and boot order, for
 * SeaBIOS the firmware configuration device (its memory map, CPU count and, with acpi = 1,
 * kxend's ACPI tables), the ACPI PM device (acpi = 1), COM1 on a pty, the PS/2 and reset
 * controller, the IDE controller with the hd* disks, the Xen platform device, the emulated NIC
 * (hvm_nic.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_hvm.h"
#include "kxl_internal.h"

int kxl__hvm_device_add(struct kxl_ctx *ctx, uint16_t domid, const char *name, const char *options,
                        int fd)
{
    struct kxen_ctl_device_add a = {.domid = domid};
    snprintf(a.name, sizeof(a.name), "%s", name);
    if ((size_t)snprintf(a.options, sizeof(a.options), "%s", options) >= sizeof(a.options))
        return kxl_fail(ctx, -E2BIG, "device %s: options longer than %zu bytes", name,
                        sizeof(a.options) - 1);
    uint32_t len = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_DEVICE_ADD, &a, sizeof(a), &fd, fd >= 0 ? 1 : 0, NULL,
                           0, &len, NULL, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "kxend refused emulated device %s (%s): %s", name,
                        *options ? options : "no options", kxl_hv_reason(ctx, rc));
    return 0;
}

/* A pty whose master kxend's UART writes to (non-blocking: a full pty drops output instead
 * of stalling the vCPU); the slave's name goes to serial/0/tty for `xl console -t serial`. */
static int open_pty(struct kxl_ctx *ctx, char *tty, size_t ttylen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return kxl_fail(ctx, rc, "cannot open a pty for the serial port: %s", strerror(-rc));
    }
    if (ptsname_r(fd, tty, ttylen) != 0) {
        close(fd);
        return kxl_fail(ctx, -ENAMETOOLONG, "cannot name the serial pty");
    }
    /* Raw from the start: the guest's bytes reach a reader unchanged and are not echoed back
     * into the UART (termios settings stay with the pty while its master is open). */
    int slave = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (slave >= 0 && tcgetattr(slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(slave, TCSANOW, &t);
    }
    if (slave >= 0)
        close(slave);
    return fd;
}

/* The hd* disks on the IDE controller: hda..hdd are the primary/secondary master/slave. */
static int ide_options(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, char *out,
                       size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < dc->nr_disks; i++) {
        const struct kxl_disk *k = &dc->disks[i];
        if (!kxl__hvm_disk_is_ide(k))
            continue;
        if (!k->target || k->cdrom)
            return kxl_fail(ctx, -EOPNOTSUPP,
                            "disk %s: emulated CD-ROMs are not supported (an IDE hard disk "
                            "image only)",
                            k->vdev);
        if (k->vdev[2] > 'd' || k->vdev[3])
            return kxl_fail(ctx, -EINVAL, "disk %s: the IDE controller has hda to hdd only",
                            k->vdev);
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s=%s", n ? "," : "", k->vdev,
                              k->target);
        if (!k->readwrite)
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, ",%s-ro=1", k->vdev);
    }
    if (n >= cap)
        return kxl_fail(ctx, -E2BIG, "the IDE disk paths are too long");
    return 0;
}

bool kxl__hvm_disk_is_ide(const struct kxl_disk *k)
{
    return !strncmp(k->vdev, "hd", 2);
}

static int build_op(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                    struct kxl_hvm_build *hb, const int image_fds[2])
{
    /* The platform device means PV-on-HVM: the guest also sees Xen's interface. */
    struct kxen_ctl_hvm_build req = {.domid = hb->domid,
                                     .flags = (dc->hvm.xen_platform_pci ? KXEN_HVM_BUILD_XEN : 0) |
                                              (dc->hvm.acpi ? KXEN_HVM_BUILD_ACPI : 0),
                                     .store_evtchn = hb->store_port,
                                     .console_evtchn = hb->console_port};
    int fds[2] = {image_fds[0], image_fds[1]};
    unsigned nfds = hb->restore ? 0 : fds[1] >= 0 ? 2 : 1;
    if (hb->restore) {
        req.boot = KXEN_HVM_BOOT_RESTORE;
    } else if (dc->kernel) {
        req.boot = KXEN_HVM_BOOT_KERNEL;
        snprintf(req.cmdline, sizeof(req.cmdline), "%s", dc->cmdline ? dc->cmdline : "");
    }
    struct kxen_ctl_hvm_build_rep rep;
    uint32_t len = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_HVM_BUILD, &req, sizeof(req), fds, nfds, &rep,
                           sizeof(rep), &len, NULL, NULL);
    if (rc == 0 && len < sizeof(rep))
        rc = -EPROTO;
    if (rc < 0)
        return kxl_fail(ctx, rc, "kxend refused to build HVM domain %u: %s", hb->domid,
                        kxl_hv_reason(ctx, rc));
    hb->ram_end = rep.ram_end;
    hb->store_pfn = rep.store_pfn;
    hb->console_pfn = rep.console_pfn;
    return 0;
}

int kxl__hvm_build(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                   struct kxl_hvm_build *hb, const int image_fds[2])
{
    int rc = build_op(ctx, dc, hb, image_fds);
    if (rc < 0)
        return rc;

    char opts[KXEN_CTL_DEVICE_OPTIONS_MAX], boot[8];
    size_t nb = 0;
    for (const char *c = dc->hvm.boot; *c && nb < sizeof(boot) - 1; c++)
        if (*c != 'n') /* network boot needs a NIC option ROM kxen does not have */
            boot[nb++] = *c;
    boot[nb] = 0;
    opts[0] = 0;
    if (dc->hvm.acpi)
        snprintf(opts, sizeof(opts), "pirqa=%u,pirqb=%u,pirqc=%u,pirqd=%u", KXEN_HVM_PIRQ_IRQ(0),
                 KXEN_HVM_PIRQ_IRQ(1), KXEN_HVM_PIRQ_IRQ(2), KXEN_HVM_PIRQ_IRQ(3));
    if ((rc = kxl__hvm_device_add(ctx, hb->domid, "pci-host", "", -1)) < 0 ||
        (rc = kxl__hvm_device_add(ctx, hb->domid, "piix3", opts, -1)) < 0)
        return rc;
    snprintf(opts, sizeof(opts), "lowmem=%llu,cpus=%u%s%s", (unsigned long long)hb->ram_end,
             dc->vcpus, nb ? ",boot=" : "", boot);
    if ((rc = kxl__hvm_device_add(ctx, hb->domid, "cmos", opts, -1)) < 0)
        return rc;
    /* A directly booted kernel gets kxend's tables in RAM instead (hvm_linux.c). */
    snprintf(opts, sizeof(opts), "lowmem=%llu,acpi=%d", (unsigned long long)hb->ram_end,
             dc->hvm.acpi ? 1 : 0);
    if (!dc->kernel && (rc = kxl__hvm_device_add(ctx, hb->domid, "fw-cfg", opts, -1)) < 0)
        return rc;
    if (dc->hvm.acpi && (rc = kxl__hvm_device_add(ctx, hb->domid, "acpi-pm", "", -1)) < 0)
        return rc;
    if (dc->hvm.serial_pty) {
        int fd = open_pty(ctx, hb->serial_tty, sizeof(hb->serial_tty));
        if (fd < 0)
            return fd;
        rc = kxl__hvm_device_add(ctx, hb->domid, "uart", "", fd);
        close(fd);
        if (rc < 0)
            return rc;
    }
    if ((rc = kxl__hvm_device_add(ctx, hb->domid, "i8042", "", -1)) < 0)
        return rc;
    if ((rc = ide_options(ctx, dc, opts, sizeof(opts))) < 0)
        return rc;
    if (opts[0] && (rc = kxl__hvm_device_add(ctx, hb->domid, "piix3-ide", opts, -1)) < 0)
        return rc;
    if (dc->hvm.xen_platform_pci &&
        (rc = kxl__hvm_device_add(ctx, hb->domid, "xen-platform", "", -1)) < 0)
        return rc;
    for (size_t i = 0; i < dc->nr_vifs; i++)
        if (dc->vifs[i].type_ioemu &&
            (rc = kxl__hvm_nic_add(ctx, hb->domid, &dc->vifs[i], (uint32_t)i)) < 0)
            return rc;
    return 0;
}

char *kxl_domain_serial_tty(struct kxl_ctx *ctx, uint16_t domid)
{
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%u/serial/0/tty", domid);
    return ctx->xs ? kxl_xs_read(ctx, path) : NULL;
}
