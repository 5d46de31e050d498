/* The control ops that build an emulated PC (kxen/ctl_hvm.h): HVM_BUILD (RAM layout, firmware
 * or a Linux kernel, reset state; vCPUs created paused) and DEVICE_ADD (one emulated device
 * of the toolstack's list, with its file descriptors). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvm_internal.h"
#include "kxen/ctl_hvm.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"
#include "loader_internal.h"

static struct domain *building_domain(uint16_t domid, int *rc)
{
    struct domain *d = domid >= 1 && domid <= KXEN_MAX_DOMID ? domain_get(domid) : NULL;
    *rc = d ? 0 : -ESRCH;
    return d;
}

/* The kernel file, whole (the same bounds as DOMAIN_LOAD's). */
static int read_kernel(int fd, uint8_t **out, size_t *len, char *msg, size_t msglen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > KXEN_MAX_IMAGE)
        return loader_fail(msg, msglen, -ENOEXEC,
                           "the kernel must be a regular file of 1 byte to %u MiB",
                           KXEN_MAX_IMAGE >> 20);
    uint8_t *img = malloc((size_t)st.st_size);
    if (!img)
        return -ENOMEM;
    for (size_t got = 0; got < (size_t)st.st_size;) {
        ssize_t n = pread(fd, img + got, (size_t)st.st_size - got, (off_t)got);
        if (n <= 0) {
            free(img);
            return n < 0 ? -errno : -EIO;
        }
        got += (size_t)n;
    }
    *out = img;
    *len = (size_t)st.st_size;
    return 0;
}

static int build(struct domain *d, const struct kxen_ctl_hvm_build *a, const int *fds,
                 unsigned nfds, char *msg, size_t msglen)
{
    int rc;
    bool xen = a->flags & KXEN_HVM_BUILD_XEN;
    bool acpi = a->flags & KXEN_HVM_BUILD_ACPI;
    if (a->boot == KXEN_HVM_BOOT_RESTORE) /* the saved registers say which CPU modes */
        return hvm_prepare(d, false, xen, a->store_evtchn, a->console_evtchn, msg, msglen);
    if (a->boot == KXEN_HVM_BOOT_FIRMWARE) {
        if ((rc = hvm_prepare(d, true, xen, a->store_evtchn, a->console_evtchn, msg, msglen)) < 0)
            return rc;
        return hvm_load_firmware(d, fds[0], msg, msglen);
    }
    uint8_t *img = NULL;
    size_t len = 0;
    if ((rc = read_kernel(fds[0], &img, &len, msg, msglen)) < 0)
        return rc;
    bool is_linux = loader_is_bzimage(img, len);
    int ramdisk = nfds > 1 ? fds[1] : -1;
    /* An ELF test guest is entered as a PV/PVH guest is and keeps kxen's own interface. */
    rc = hvm_prepare(d, is_linux, xen && is_linux, a->store_evtchn, a->console_evtchn, msg, msglen);
    if (rc == 0)
        rc = is_linux ? hvm_load_linux(d, img, len, ramdisk, a->cmdline, acpi, msg, msglen)
                      : hvm_load_elf(d, img, len, ramdisk, a->cmdline, msg, msglen);
    free(img);
    return rc;
}

static int op_hvm_build(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_hvm_build a;
    char msg[KXEN_CTL_REASON_MAX] = "";
    int rc;

    memcpy(&a, req->payload, sizeof(a));
    bool restore = a.boot == KXEN_HVM_BOOT_RESTORE;
    unsigned min_fds = restore ? 0 : 1, max_fds = a.boot == KXEN_HVM_BOOT_KERNEL ? 2 : min_fds;
    if (a.boot > KXEN_HVM_BOOT_RESTORE || (a.flags & ~(KXEN_HVM_BUILD_XEN | KXEN_HVM_BUILD_ACPI)) ||
        req->nfds < min_fds || req->nfds > max_fds || !memchr(a.cmdline, 0, sizeof(a.cmdline)))
        return -EINVAL;
    struct domain *d = building_domain(a.domid, &rc);
    if (!d)
        return rc;
    rc = build(d, &a, req->fds, req->nfds, msg, sizeof(msg));
    if (rc == 0 && !restore && (rc = domain_start_ex(d, true)) < 0)
        snprintf(msg, sizeof(msg), "cannot create the vCPUs (%s)", strerror(-rc));
    if (rc < 0) {
        console_hv_printf("(XEN) d%u: HVM build refused: %s\n", d->domid, msg);
        domain_put(d);
        return ctl_refuse(rep, rc, "%s", msg[0] ? msg : strerror(-rc));
    }
    struct kxen_ctl_hvm_build_rep *r = rep->payload;
    memset(r, 0, sizeof(*r));
    r->ram_end = d->hvm->ram_end;
    r->store_pfn = d->store_pfn;
    r->console_pfn = d->console_pfn;
    r->entry = restore ? 0 : d->vcpus[0]->boot.entry;
    rep->len = sizeof(*r);
    static const char *const kinds[] = {"firmware boot", "kernel boot", "machine to restore"};
    log_info("domain %u: HVM %s, %llu MiB usable", d->domid, kinds[a.boot],
             (unsigned long long)(r->ram_end >> 20));
    domain_put(d);
    return 0;
}

/* The options with ",fd=N" appended per descriptor (kxen/ctl_hvm.h), N being a duplicate
 * the instance keeps: the server closes the request's own descriptors after the handler. */
static int options_with_fds(const struct kxen_ctl_device_add *a, const int *fds, unsigned nfds,
                            char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%s", a->options);
    for (unsigned i = 0; i < nfds && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%sfd=%d", n ? "," : "", fds[i]);
    return n < cap ? 0 : -E2BIG;
}

static int dup_fds(const struct ctl_request *req, int *out)
{
    for (unsigned i = 0; i < req->nfds; i++) {
        out[i] = fcntl(req->fds[i], F_DUPFD_CLOEXEC, 0);
        if (out[i] < 0) {
            int rc = -errno;
            while (i-- > 0)
                close(out[i]);
            return rc;
        }
    }
    return 0;
}

static int op_device_add(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_device_add a;
    char opts[KXEN_CTL_DEVICE_OPTIONS_MAX + KXEN_CTL_MAX_FDS * 16];
    int fds[KXEN_CTL_MAX_FDS];
    int rc;

    memcpy(&a, req->payload, sizeof(a));
    if (!memchr(a.name, 0, sizeof(a.name)) || !memchr(a.options, 0, sizeof(a.options)) ||
        req->nfds > KXEN_CTL_MAX_FDS)
        return -EINVAL;
    const struct device_model *m = device_model_find(a.name);
    if (!m) {
        char names[160] = "";
        size_t n = 0;
        for (KXEND_FOREACH(kxend_device_models, struct device_model, it))
            if (n < sizeof(names))
                n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? " " : "",
                                      (*it)->name);
        return ctl_refuse(rep, -ENOENT, "no device model '%s' (kxend has: %s)", a.name,
                          n ? names : "none");
    }
    struct domain *d = building_domain(a.domid, &rc);
    if (!d)
        return rc;
    /* Only while paused after the build: a device appearing under a running guest would be
     * hot-plug, which no model supports. */
    int st = atomic_load(&d->state);
    if (!d->hvm || (st != DOM_PAUSED && st != DOM_BUILDING)) {
        domain_put(d);
        return ctl_refuse(rep, -EBUSY, "device %s: domain %u is not an HVM domain being built",
                          a.name, a.domid);
    }
    if ((rc = dup_fds(req, fds)) < 0) {
        domain_put(d);
        return rc;
    }
    if ((rc = options_with_fds(&a, fds, req->nfds, opts, sizeof(opts))) == 0)
        rc = hvm_device_add(d, m, opts, fds, req->nfds);
    else
        for (unsigned i = 0; i < req->nfds; i++)
            close(fds[i]);
    bool had_devs = d->hvm->nr_devs > 0;
    domain_put(d);
    if (rc == -EINVAL && had_devs)
        return ctl_refuse(rep, rc,
                          "device %s: refused its options '%s', or it comes after a device "
                          "it must precede",
                          a.name, a.options);
    if (rc < 0)
        return ctl_refuse(rep, rc, "device %s (%s): %s", a.name, a.options, strerror(-rc));
    return 0;
}

static const char *const trigger_names[] = {"nmi", "reset", "init", "power", "sleep", "s3resume"};

/* Only a running (or paused) machine takes a button press: one being built has no devices
 * yet, one shut down has no CPU left to see it. */
static int op_hvm_trigger(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_hvm_trigger a;
    memcpy(&a, req->payload, sizeof(a));
    if (a.trigger >= ARRAY_SIZE(trigger_names))
        return -EINVAL;
    struct domain *d = a.domid >= 1 && a.domid <= KXEN_MAX_DOMID ? domain_get(a.domid) : NULL;
    if (!d)
        return -ESRCH;
    int st = atomic_load(&d->state);
    int rc;
    if (!d->hvm)
        rc = ctl_refuse(rep, -EINVAL, "domain %u is not an HVM domain", a.domid);
    else if (st != DOM_RUNNING && st != DOM_PAUSED)
        rc = ctl_refuse(rep, -EBUSY, "domain %u is not running", a.domid);
    else if ((rc = hvm_device_trigger(d, a.trigger)) == -EOPNOTSUPP)
        rc = ctl_refuse(rep, rc,
                        "trigger %s: domain %u's emulated PC has no such input (kxen's HVM "
                        "machine has the ACPI power button only: no sleep button, S3, NMI, "
                        "reset or INIT line)",
                        trigger_names[a.trigger], a.domid);
    else if (rc == 0)
        log_info("domain %u: trigger %s delivered", a.domid, trigger_names[a.trigger]);
    domain_put(d);
    return rc;
}

static const struct ctl_op hvm_ops[] = {
    {KXEN_CTL_HVM_BUILD, "hvm_build", true, sizeof(struct kxen_ctl_hvm_build), op_hvm_build},
    {KXEN_CTL_DEVICE_ADD, "device_add", true, sizeof(struct kxen_ctl_device_add), op_device_add},
    {KXEN_CTL_HVM_TRIGGER, "hvm_trigger", true, sizeof(struct kxen_ctl_hvm_trigger),
     op_hvm_trigger},
};

static const struct ctl_op_group ctl_hvm_group = {"hvm", hvm_ops, ARRAY_SIZE(hvm_ops)};
CTL_OP_GROUP_REGISTER(ctl_hvm_group);
