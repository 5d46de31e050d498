/* Domain build and teardown as Xen's toolstack does it: create the domain in kxend, allocate
 * the store and console event channels (remote end dom0), load the kernel (kxend places the
 * special pages), write /local/domain/N and /vm/<uuid> with Xen's permissions, introduce the
 * domain to xenstored, unpause. A failure at any step undoes every earlier step. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_evtchn.h"
#include "kxen/util.h"
#include "xenstore.h"

#include "kxl_device.h"

/* Xen's default console ring log limit (bytes) written to console/limit. */
#define KXL_CONSOLE_LIMIT 1048576

/* Writes the formatted value to path inside transaction t: 0 or -errno. */
__attribute__((format(printf, 4, 0))) static int
xs_vprintf(struct kxl_ctx *ctx, uint32_t t, const char *path, const char *fmt, va_list ap)
{
    char *val;
    int n = vasprintf(&val, fmt, ap);
    if (n < 0)
        return -ENOMEM;
    bool ok = xs_write(ctx->xs, t, path, val, (unsigned)n);
    int e = errno;
    free(val);
    return ok ? 0 : -(e ? e : EIO);
}

int kxl_xs_printf(struct kxl_ctx *ctx, uint32_t t, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = xs_vprintf(ctx, t, path, fmt, ap);
    va_end(ap);
    return rc;
}

char *kxl_xs_read(struct kxl_ctx *ctx, const char *path)
{
    unsigned len;
    return xs_read(ctx->xs, XBT_NULL, path, &len);
}

/* A new domain's tree as requests collected first and sent together (xs_request_batch): the
 * daemon answers them in order, so the whole tree costs one round trip to xenstored instead of
 * one per node and permission set, on the path of every create, restore and migration. Each
 * request owns its path and data. */
struct tree_ops {
    struct xs_request_op *ops;
    size_t n, cap;
    int err; /* first failure to collect (-ENOMEM): reported when the tree is sent */
};

static void tree_add(struct tree_ops *to, enum xsd_sockmsg_type type, const char *path,
                     const void *data, unsigned len)
{
    if (to->err)
        return;
    if (to->n == to->cap) {
        size_t cap = to->cap ? to->cap * 2 : 64;
        struct xs_request_op *o = realloc(to->ops, cap * sizeof(*o));
        if (!o) {
            to->err = -ENOMEM;
            return;
        }
        to->ops = o;
        to->cap = cap;
    }
    char *p = strdup(path);
    void *d = len ? malloc(len) : NULL;
    if (!p || (len && !d)) {
        free(p);
        free(d);
        to->err = -ENOMEM;
        return;
    }
    if (len)
        memcpy(d, data, len);
    to->ops[to->n++] = (struct xs_request_op){type, p, d, len};
}

static void tree_free(struct tree_ops *to)
{
    for (size_t i = 0; i < to->n; i++) {
        free((void *)to->ops[i].path);
        free((void *)to->ops[i].data);
    }
    free(to->ops);
    *to = (struct tree_ops){0};
}

/* One xenstore node with a value and a permission set (p NULL: its parent's, which
 * xenstored gives a node dom0 creates, saving a request). */
static void node(struct tree_ops *to, struct xs_permissions *p, unsigned np, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void node(struct tree_ops *to, struct xs_permissions *p, unsigned np, const char *path,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *val;
    int n = vasprintf(&val, fmt, ap);
    va_end(ap);
    if (n < 0) {
        to->err = to->err ? to->err : -ENOMEM;
        return;
    }
    tree_add(to, XS_WRITE, path, val, (unsigned)n);
    free(val);
    if (!p)
        return;
    char perms[8 * (MAX_STRLEN(unsigned) + 2)];
    size_t used = 0;
    for (unsigned i = 0; i < np && used < sizeof(perms); i++) {
        if (!xs_perm_to_string(&p[i], perms + used, sizeof(perms) - used)) {
            to->err = to->err ? to->err : -EINVAL;
            return;
        }
        used += strlen(perms + used) + 1;
    }
    tree_add(to, XS_SET_PERMS, path, perms, (unsigned)used);
}

/* Sends the collected tree inside transaction t; names the first node that failed. */
static int tree_send(struct kxl_ctx *ctx, uint32_t t, struct tree_ops *to)
{
    if (to->err)
        return kxl_fail(ctx, to->err, "building the xenstore tree failed: %s", strerror(-to->err));
    int *errs = calloc(to->n ? to->n : 1, sizeof(*errs));
    if (!errs)
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    int rc = 0;
    if (!xs_request_batch(ctx->xs, t, to->ops, (unsigned)to->n, errs))
        rc = kxl_fail(ctx, -(errno ? errno : EIO), "writing the xenstore tree failed: %s",
                      strerror(errno ? errno : EIO));
    for (size_t i = 0; i < to->n && !rc; i++)
        if (errs[i])
            rc = kxl_fail(ctx, -errs[i], "writing xenstore node %s failed: %s", to->ops[i].path,
                          strerror(errs[i]));
    free(errs);
    return rc;
}

struct build_state {
    uint16_t domid;
    bool created, introduced, xs_written;
    struct kxl_devnodes *devs; /* disks then vifs, built once so retries write the same */
    size_t nr_devs;
    uint32_t store_port, console_port;
    uint64_t store_pfn, console_pfn;
    char uuid_str[37];
    int image_fds[2]; /* kernel, ramdisk (-1: none) */
};

/* Xen's layout: /local/domain/N readable by the domain, owned by dom0; the nodes the guest
 * itself fills (control/shutdown, data, device, ...) owned by the domain. /vm/<uuid>
 * readable by the domain. Other domains see nothing (n default). A node whose permissions
 * are its parent's is only written (I, V): each permission set is one more round trip to
 * xenstored, and the tree is on the path of every create, restore and migration. */
static void collect_tree(const struct kxl_domain_config *dc, struct build_state *b,
                         struct tree_ops *to)
{
    unsigned d = b->domid;
    struct xs_permissions ro[2] = {{.id = 0, .perms = XS_PERM_NONE},
                                   {.id = d, .perms = XS_PERM_READ}};
    struct xs_permissions rw[1] = {{.id = d, .perms = XS_PERM_NONE}};
    char dp[64], vm[64], p[160];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);

    snprintf(dp, sizeof(dp), "/local/domain/%u", d);
    snprintf(vm, sizeof(vm), "/vm/%s", b->uuid_str);
#define N(perm, sub, ...)                                                                          \
    do {                                                                                           \
        snprintf(p, sizeof(p), "%s%s", dp, sub);                                                   \
        node(to, perm, ARRAY_SIZE(perm), p, __VA_ARGS__);                                          \
    } while (0)
#define I(sub, ...)                                                                                \
    do {                                                                                           \
        snprintf(p, sizeof(p), "%s%s", dp, sub);                                                   \
        node(to, NULL, 0, p, __VA_ARGS__);                                                         \
    } while (0)
#define V(sub, ...)                                                                                \
    do {                                                                                           \
        snprintf(p, sizeof(p), "%s%s", vm, sub);                                                   \
        node(to, NULL, 0, p, __VA_ARGS__);                                                         \
    } while (0)

    N(ro, "", "%s", "");
    I("/name", "%s", dc->name);
    I("/domid", "%u", d);
    I("/vm", "%s", vm);
    I("/memory", "%s", "");
    I("/memory/static-max", "%llu", (unsigned long long)dc->maxmem_mb * 1024);
    I("/memory/target", "%llu", (unsigned long long)dc->memory_mb * 1024);
    I("/cpu", "%s", "");
    for (unsigned i = 0; i < dc->vcpus; i++) {
        char sub[48];
        snprintf(sub, sizeof(sub), "/cpu/%u", i);
        I(sub, "%s", "");
        snprintf(sub, sizeof(sub), "/cpu/%u/availability", i);
        I(sub, "%s", "online");
    }
    I("/store", "%s", "");
    I("/store/ring-ref", "%llu", (unsigned long long)b->store_pfn);
    I("/store/port", "%u", b->store_port);
    I("/console", "%s", "");
    I("/console/ring-ref", "%llu", (unsigned long long)b->console_pfn);
    I("/console/port", "%u", b->console_port);
    I("/console/type", "%s", "xenconsoled");
    I("/console/limit", "%d", KXL_CONSOLE_LIMIT);
    I("/console/output", "%s", "pty");
    I("/control", "%s", "");
    N(rw, "/control/shutdown", "%s", "");
    N(rw, "/control/feature-poweroff", "%s", "");
    N(rw, "/control/feature-reboot", "%s", "");
    N(rw, "/control/feature-suspend", "%s", "");
    N(rw, "/control/sysrq", "%s", "");
    I("/control/platform-feature-multiprocessor-suspend", "%s", "1");
    I("/control/platform-feature-xs_reset_watches", "%s", "1");
    I("/device", "%s", "");
    N(rw, "/data", "%s", "");
    N(rw, "/drivers", "%s", "");
    N(rw, "/feature", "%s", "");
    N(rw, "/attr", "%s", "");
    N(rw, "/error", "%s", "");
    /* As libxl for driver_domain=1: the domain owns the tree its backends live in (each
     * device's own directory is written with its own permissions in any case). */
    if (dc->driver_domain) {
        N(rw, "/backend", "%s", "");
        N(rw, "/libxl", "%s", "");
        /* dom0's own record (the domain cannot forge it): its clients do not wait for it. */
        struct xs_permissions no[1] = {{.id = 0, .perms = XS_PERM_NONE}};
        snprintf(p, sizeof(p), "/libxl/%u", d);
        node(to, no, 1, p, "%s", "");
        snprintf(p, sizeof(p), "/libxl/%u/driver_domain", d);
        node(to, no, 1, p, "%s", "1");
    }
    I("/image", "%s", "");
    I("/image/os_type", "%s", kxl_domain_type_name(dc->type));

    snprintf(p, sizeof(p), "%s", vm);
    node(to, ro, ARRAY_SIZE(ro), p, "%s", "");
    V("/uuid", "%s", b->uuid_str);
    V("/name", "%s", dc->name);
    V("/start_time", "%lld.%02ld", (long long)now.tv_sec, now.tv_nsec / 10000000);
    V("/image", "%s", "");
    V("/image/ostype", "%s", kxl_domain_type_name(dc->type));
    V("/image/kernel", "%s", dc->kernel ? dc->kernel : "");
    V("/image/cmdline", "%s", dc->cmdline ? dc->cmdline : "");
    V("/on_poweroff", "%s", kxl_action_name(dc->on_poweroff));
    V("/on_reboot", "%s", kxl_action_name(dc->on_reboot));
    V("/on_crash", "%s", kxl_action_name(dc->on_crash));
#undef N
#undef I
#undef V
}

static int write_tree(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                      struct build_state *b, uint32_t t)
{
    struct tree_ops to = {0};
    collect_tree(dc, b, &to);
    int rc = tree_send(ctx, t, &to);
    tree_free(&to);
    for (size_t i = 0; i < b->nr_devs && !rc; i++)
        rc = kxl__dev_write(ctx, t, &b->devs[i]);
    return rc;
}

/* Everything about the devices that can be refused before a domain exists: each entry on its
 * own, then the duplicates. */
static int check_devices(struct kxl_ctx *ctx, const struct kxl_domain_config *dc)
{
    int rc;
    for (size_t i = 0; i < dc->nr_disks; i++) {
        if ((rc = kxl__disk_check(ctx, &dc->disks[i], NULL)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (dc->disks[j].virtual_dev == dc->disks[i].virtual_dev)
                return kxl_fail(ctx, -EEXIST, "disk %s (%s): vdev %s is used twice (also by %s)",
                                dc->disks[i].vdev,
                                dc->disks[i].target ? dc->disks[i].target : "empty cdrom",
                                dc->disks[i].vdev, dc->disks[j].vdev);
    }
    for (size_t i = 0; i < dc->nr_vifs; i++) {
        char label[96];
        snprintf(label, sizeof(label), "vif %zu (bridge %s)", i,
                 dc->vifs[i].bridge ? dc->vifs[i].bridge : "xenbr0");
        if (dc->type == KXL_TYPE_HVM && dc->vifs[i].type_ioemu)
            rc = kxl__hvm_nic_check(ctx, &dc->vifs[i], label);
        else
            rc = kxl__nic_check(ctx, &dc->vifs[i], label);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (dc->vifs[i].has_mac && dc->vifs[j].has_mac &&
                !memcmp(dc->vifs[i].mac, dc->vifs[j].mac, 6))
                return kxl_fail(ctx, -EEXIST, "%s: its mac is also vif %zu's", label, j);
    }
    return 0;
}

static int build_devices(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                         struct build_state *b)
{
    size_t n = dc->nr_disks + dc->nr_vifs;
    if (!n)
        return 0;
    b->devs = calloc(n, sizeof(*b->devs));
    if (!b->devs)
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    int rc = 0;
    /* An HVM guest's hd* disks are on the emulated IDE controller (hvm.c); with the platform
     * device (PV-on-HVM) each is a PV vbd of the same image as well, as on Xen: the guest
     * unplugs the emulated disk before its blkfront uses the vbd. */
    bool pv_ide = dc->type == KXL_TYPE_HVM && dc->hvm.xen_platform_pci;
    for (size_t i = 0; i < dc->nr_disks && !rc; i++)
        if (dc->type != KXL_TYPE_HVM || pv_ide || !kxl__hvm_disk_is_ide(&dc->disks[i]))
            rc = kxl__disk_nodes(ctx, &dc->disks[i], b->domid, &b->devs[b->nr_devs++]);
    for (size_t i = 0; i < dc->nr_vifs && !rc; i++)
        if (dc->type != KXL_TYPE_HVM || !dc->vifs[i].type_ioemu)
            rc = kxl__nic_nodes(ctx, &dc->vifs[i], b->domid, (uint32_t)i, &b->devs[b->nr_devs++]);
    return rc;
}

struct tree_txn {
    const struct kxl_domain_config *dc;
    struct build_state *b;
};

static int write_tree_body(struct kxl_ctx *ctx, uint32_t t, void *arg)
{
    struct tree_txn *tt = arg;
    return write_tree(ctx, tt->dc, tt->b, t);
}

/* Writes the tree in one transaction, retried on conflicts (kxl__xs_txn). */
static int write_tree_txn(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                          struct build_state *b)
{
    struct tree_txn tt = {dc, b};
    return kxl__xs_txn(ctx, write_tree_body, &tt);
}

static int alloc_unbound(struct kxl_ctx *ctx, uint16_t domid, uint32_t *port)
{
    struct kxen_ctl_evtchn_dom_arg a = {.domid = domid, .remote_domid = 0};
    struct kxen_ctl_evtchn_port_rep r;
    uint32_t len = 0;
    int rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_EVTCHN_ALLOC_UNBOUND_FOR, &a, sizeof(a), &r,
                             sizeof(r), &len);
    if (rc == 0 && len < sizeof(r))
        rc = -EPROTO;
    if (rc == 0)
        *port = r.port;
    return rc;
}

static void remove_tree(struct kxl_ctx *ctx, uint16_t domid, const char *uuid_str)
{
    char p[64];
    if (!ctx->xs)
        return;
    snprintf(p, sizeof(p), "/local/domain/%u", domid);
    xs_rm(ctx->xs, XBT_NULL, p);
    if (uuid_str && *uuid_str) {
        snprintf(p, sizeof(p), "/vm/%s", uuid_str);
        xs_rm(ctx->xs, XBT_NULL, p);
    }
}

static void undo(struct kxl_ctx *ctx, struct build_state *b)
{
    if (b->xs_written)
        kxl_devices_destroy(ctx, b->domid);
    if (b->introduced)
        xs_release_domain(ctx->xs, b->domid);
    if (b->xs_written)
        remove_tree(ctx, b->domid, b->uuid_str);
    if (b->created)
        kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_DESTROY, b->domid, 0);
}

/* Kernel and ramdisk are opened and checked before the domain exists, so that a file that
 * is missing, unreadable or not a regular file (a FIFO would block the open, then the read)
 * is refused without leaving a half-built domain. O_NONBLOCK keeps the open itself from
 * waiting for a FIFO's writer. */
static int open_image(struct kxl_ctx *ctx, const char *path, const char *what, int *fd_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return kxl_fail(ctx, -errno, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return kxl_fail(ctx, rc, "cannot stat %s %s: %s", what, path, strerror(-rc));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return kxl_fail(ctx, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, "%s %s is %s", what, path,
                        S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    }
    *fd_out = fd;
    return 0;
}

static int load_kernel(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                       struct build_state *b, int fds[2])
{
    struct kxen_ctl_domain_load req = {.domid = b->domid,
                                       .store_evtchn = b->store_port,
                                       .console_evtchn = b->console_port,
                                       .flags = KXEN_LOAD_PAUSED};
    snprintf(req.cmdline, sizeof(req.cmdline), "%s", dc->cmdline ? dc->cmdline : "");
    struct kxen_ctl_domain_load_rep rep;
    uint32_t len = 0;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_DOMAIN_LOAD, &req, sizeof(req), fds,
                           dc->ramdisk ? 2 : 1, &rep, sizeof(rep), &len, NULL, NULL);
    if (rc == 0 && len < sizeof(rep))
        rc = -EPROTO;
    /* kxend refuses a kernel that needs paging (Linux) with -EOPNOTSUPP on soft. */
    if (rc == -EOPNOTSUPP && !strcmp(kxl_accel(ctx), "soft"))
        return kxl_fail(ctx, rc,
                        "kxend refused to load kernel %s: soft cannot run Linux PVH (the kernel "
                        "needs paging): use --accel kvm",
                        dc->kernel);
    if (rc < 0)
        return kxl_fail(ctx, rc, "kxend refused to load kernel %s: %s", dc->kernel,
                        kxl_hv_reason(ctx, rc));
    b->store_pfn = rep.store_pfn;
    b->console_pfn = rep.console_pfn;
    return 0;
}

/* xenconsoled attaches a console on @introduceDomain and then writes console/tty. Waiting for
 * it before unpausing means the guest's first line is logged and reaches `xl create -c`
 * from the start. Without a running xenconsoled there is nothing to wait for; one that does
 * not attach within the bound is not fatal (the ring keeps the early output). */
#define KXL_CONSOLE_ATTACH_MS 5000
static void wait_console_attached(struct kxl_ctx *ctx, uint16_t domid)
{
    const char *rundir = kxl_rundir(ctx);
    if (!rundir || !kxl_service_answers(rundir, "xenconsoled.sock"))
        return;
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%u/console/tty", domid);
    for (int waited = 0; waited < KXL_CONSOLE_ATTACH_MS; waited += 5) {
        char *v = kxl_xs_read(ctx, path);
        if (v) {
            free(v);
            return;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int kxl_domain_create(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, bool paused,
                      uint16_t *domid_out)
{
    return kxl__domain_build(ctx, dc, paused, NULL, domid_out);
}

int kxl__domain_build(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, bool paused,
                      const struct kxl__loader *ld, uint16_t *domid_out)
{
    struct build_state b = {.image_fds = {-1, -1}};
    struct kxl_hvm_build hb = {0};
    struct kxen_ctl_domain_create cr = {0};
    int rc;

    if (!ctx->xs)
        return kxl_fail(ctx, -ENOTCONN, "domain build needs xenstored");
    if (!dc->kernel && dc->type != KXL_TYPE_HVM && !ld)
        return kxl_fail(ctx, -EINVAL, "no kernel given");
    uint16_t existing;
    if (kxl_domain_lookup(ctx, dc->name, &existing) == 0)
        return kxl_fail(ctx, -EEXIST, "domain '%s' already exists (id %u)", dc->name, existing);
    if ((rc = check_devices(ctx, dc)) < 0)
        return rc;

    snprintf(cr.name, sizeof(cr.name), "%s", dc->name);
    if (dc->has_uuid) {
        memcpy(cr.uuid, dc->uuid, 16);
    } else {
        if (getrandom(cr.uuid, 16, 0) != 16)
            return kxl_fail(ctx, -EIO, "no random bytes for a uuid");
        cr.uuid[6] = (cr.uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
        cr.uuid[8] = (cr.uuid[8] & 0x3f) | 0x80;
    }
    kxl_format_uuid(cr.uuid, b.uuid_str);
    cr.memory_kb = dc->memory_mb * 1024;
    cr.max_memory_kb = dc->maxmem_mb * 1024;
    cr.nr_vcpus = dc->vcpus;

    cr.flags = KXEN_CTL_CREATE_BUILDING; /* kxend destroys it if we die before the end */
    /* An HVM domain without kernel= boots its firmware: that is the image to check. A
     * restore (ld) loads the saved image instead of any kernel. */
    bool firmware = dc->type == KXL_TYPE_HVM && !dc->kernel;
    if (!ld) {
        if ((rc = open_image(ctx, firmware ? dc->hvm.firmware : dc->kernel,
                             firmware ? "firmware" : "kernel", &b.image_fds[0])) < 0)
            return rc;
        if (!firmware && dc->ramdisk &&
            (rc = open_image(ctx, dc->ramdisk, "ramdisk", &b.image_fds[1])) < 0)
            goto fail;
    }

    struct kxen_ctl_domid_rep dr;
    uint32_t len = 0;
    rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), &dr, sizeof(dr), &len);
    if (rc == 0 && len < sizeof(dr))
        rc = -EPROTO;
    if (rc < 0) {
        kxl_fail(ctx, rc, "kxend refused to create domain '%s': %s", dc->name,
                 kxl_hv_reason(ctx, rc));
        goto fail;
    }
    b.domid = dr.domid;
    b.created = true;
    /* Before anything else exists for it: a builder killed from here on leaves something
     * only kxend's id and uuid can name (orphan.c). */
    kxl__build_event(ctx, KXL_BUILD_STARTED, b.domid, cr.uuid);

    if ((rc = alloc_unbound(ctx, b.domid, &b.store_port)) < 0 ||
        (rc = alloc_unbound(ctx, b.domid, &b.console_port)) < 0) {
        kxl_fail(ctx, rc, "allocating the store/console event channels failed: %s", strerror(-rc));
        goto fail;
    }
    if (ld) {
        /* A restored emulated PC gets its machine and devices again before kxend takes the
         * saved state, which names them (docs/save-format.md). */
        hb = (struct kxl_hvm_build){.domid = b.domid,
                                    .store_port = b.store_port,
                                    .console_port = b.console_port,
                                    .restore = true};
        if (dc->type == KXL_TYPE_HVM && (rc = kxl__hvm_build(ctx, dc, &hb, b.image_fds)) < 0)
            goto fail;
        rc = ld->load(ctx, b.domid, b.store_port, b.console_port, &b.store_pfn, &b.console_pfn,
                      ld->arg);
        if (rc < 0)
            goto fail;
        kxl__rt_phase(ctx, &ctx->rt.create_ns);
    } else if (dc->type == KXL_TYPE_HVM) {
        hb.domid = b.domid;
        hb.store_port = b.store_port;
        hb.console_port = b.console_port;
        if ((rc = kxl__hvm_build(ctx, dc, &hb, b.image_fds)) < 0)
            goto fail;
        b.store_pfn = hb.store_pfn;
        b.console_pfn = hb.console_pfn;
    } else if ((rc = load_kernel(ctx, dc, &b, b.image_fds)) < 0) {
        goto fail;
    }
    /* The domain was loaded paused (KXEN_LOAD_PAUSED): as with Xen's domain builder, no guest
     * instruction runs before its xenstore tree exists, it is introduced and its console is
     * attached. */
    if ((rc = build_devices(ctx, dc, &b)) < 0)
        goto fail;
    b.xs_written = true; /* a partial tree is removed on failure too */
    if ((rc = write_tree_txn(ctx, dc, &b)) < 0)
        goto fail;
    /* A driver domain that comes back serves again the clients its predecessor served. */
    if (dc->driver_domain)
        kxl__devices_adopt(ctx, b.domid, dc->name);
    /* Where QEMU would announce its serial pty, for `xl console -t serial`. */
    char serial_path[64];
    snprintf(serial_path, sizeof(serial_path), "/local/domain/%u/serial/0/tty", b.domid);
    if (hb.serial_tty[0] &&
        (rc = kxl_xs_printf(ctx, XBT_NULL, serial_path, "%s", hb.serial_tty)) < 0) {
        kxl_fail(ctx, rc, "cannot write the serial pty's name: %s", strerror(-rc));
        goto fail;
    }
    kxl__rt_phase(ctx, &ctx->rt.tree_ns);
    /* xenstored keeps its ring indexes to itself from the introduce on: the ring page (with
     * the rest of a restored guest's memory) must be in place before. */
    if (ld && ld->finish && (rc = ld->finish(ctx, b.domid, ld->arg)) < 0)
        goto fail;
    kxl__build_hold();
    if (!xs_introduce_domain(ctx->xs, b.domid, b.store_pfn, b.store_port)) {
        rc = -(errno ? errno : EIO);
        kxl_fail(ctx, rc, "xenstored refused to introduce domain %u: %s", b.domid, strerror(-rc));
        goto fail;
    }
    b.introduced = true;
    kxl__rt_phase(ctx, &ctx->rt.introduce_ns);
    /* As libxl: every backend in InitWait and its hotplug script done before the guest runs. */
    for (size_t i = 0; i < b.nr_devs; i++)
        if ((rc = kxl__dev_bring_up(ctx, &b.devs[i])) < 0)
            goto fail;
    kxl__rt_phase(ctx, &ctx->rt.backends_ns);
    /* A restored guest's console output waits in its ring for xenconsoled, and its downtime
     * should not wait for the attach. */
    if (!ld)
        wait_console_attached(ctx, b.domid);
    if ((rc = kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_UNPAUSE, b.domid,
                              paused ? KXEN_CTL_UNPAUSE_BUILT_ONLY : 0)) < 0) {
        kxl_fail(ctx, rc, "unpausing domain %u failed: %s", b.domid, strerror(-rc));
        goto fail;
    }
    *domid_out = b.domid;
    rc = 0;
    goto out;
fail:
    undo(ctx, &b);
out:
    for (int i = 0; i < 2; i++)
        if (b.image_fds[i] >= 0)
            close(b.image_fds[i]);
    free(b.devs);
    return rc;
}

#define KXL_DEVD_WORKER_STOP_MS 2000
static void wait_devd_worker_gone(struct kxl_ctx *ctx, uint16_t domid)
{
    char path[PATH_MAX];
    if (!ctx->rundir[0] ||
        snprintf(path, sizeof(path), "%s/devd-d%u.pid", ctx->rundir, domid) >= (int)sizeof(path))
        return;
    for (int waited = 0; waited < KXL_DEVD_WORKER_STOP_MS && access(path, F_OK) == 0; waited += 5) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int kxl_domain_destroy(struct kxl_ctx *ctx, uint16_t domid)
{
    if (domid == 0)
        return kxl_fail(ctx, -EPERM, "Domain-0 cannot be destroyed");
    char uuid_str[37] = "";
    struct kxl_dominfo di;
    int rc = kxl_hv_getinfo(ctx, domid, false, &di);
    if (rc == 0)
        kxl_format_uuid(di.uuid, uuid_str);
    else if (ctx->xs) {
        /* kxend already forgot it: find the vm path xenstore still holds */
        char p[64];
        snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
        char *vm = kxl_xs_read(ctx, p);
        if (vm && strncmp(vm, "/vm/", 4) == 0)
            snprintf(uuid_str, sizeof(uuid_str), "%s", vm + 4);
        free(vm);
    }
    /* The backends let go of the guest's rings before the guest goes away: devd stops the
     * guest's worker once its last device is gone (bounded: a stuck worker does not hold up
     * the destroy). */
    kxl_devices_destroy(ctx, domid);
    wait_devd_worker_gone(ctx, domid);
    int hv_rc = rc == 0 ? kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_DESTROY, domid, 0) : rc;
    if (ctx->xs) {
        if (xs_is_domain_introduced(ctx->xs, domid))
            xs_release_domain(ctx->xs, domid);
        remove_tree(ctx, domid, uuid_str);
    }
    if (hv_rc < 0 && !(rc < 0 && *uuid_str))
        return kxl_fail(ctx, hv_rc, "destroying domain %u failed: %s", domid, strerror(-hv_rc));
    return 0;
}

int kxl_domain_request_shutdown(struct kxl_ctx *ctx, uint16_t domid, const char *how)
{
    char p[64];
    if (domid == 0)
        return kxl_fail(ctx, -EPERM, "Domain-0 is the host; shut it down from the host");
    /* A domain xenstored does not serve (a new, empty xenstored after a crash) would never
     * see the request: waiting for it would be for ever (docs/reliability.md). */
    if (ctx->xs && !xs_is_domain_introduced(ctx->xs, domid))
        return kxl_fail(ctx, -ENOTCONN,
                        "domain %u is not connected to xenstored (xenstored was restarted and "
                        "the guest lost its xenstore connection): it cannot see a shutdown "
                        "request; use xl destroy",
                        domid);
    /* An HVM guest without PV drivers would never read the request (Xen: ERROR_NOPARAVIRT). */
    int rc = kxl__domain_pv_control(ctx, domid);
    if (rc == 0)
        return kxl_fail(ctx, -EOPNOTSUPP,
                        "domain %u: PV control interface not available (an HVM guest without "
                        "PV drivers)",
                        domid);
    snprintf(p, sizeof(p), "/local/domain/%u/control/shutdown", domid);
    rc = kxl_xs_printf(ctx, XBT_NULL, p, "%s", how);
    if (rc < 0)
        return kxl_fail(ctx, rc, "writing %s failed: %s", p, strerror(-rc));
    return 0;
}

int kxl_domain_pause(struct kxl_ctx *ctx, uint16_t domid)
{
    int rc = domid ? kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_PAUSE, domid, 0) : -EPERM;
    return rc < 0 ? kxl_fail(ctx, rc, "pausing domain %u failed: %s", domid, strerror(-rc)) : 0;
}

int kxl_domain_unpause(struct kxl_ctx *ctx, uint16_t domid)
{
    int rc = domid ? kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_UNPAUSE, domid, 0) : -EPERM;
    return rc < 0 ? kxl_fail(ctx, rc, "unpausing domain %u failed: %s", domid, strerror(-rc)) : 0;
}

int kxl_domain_rename(struct kxl_ctx *ctx, uint16_t domid, const char *new_name)
{
    char why[200];
    uint16_t other;
    if (domid == 0)
        return kxl_fail(ctx, -EPERM, "Domain-0 cannot be renamed");
    if (kxl_validate_domain_name(new_name, why, sizeof(why)) < 0)
        return kxl_fail(ctx, -EINVAL, "%s", why);
    if (kxl_domain_lookup(ctx, new_name, &other) == 0 && other != domid)
        return kxl_fail(ctx, -EEXIST, "domain name '%s' is already used by domain %u", new_name,
                        other);
    struct kxen_ctl_domain_rename r = {.domid = domid};
    snprintf(r.name, sizeof(r.name), "%s", new_name);
    int rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_DOMAIN_RENAME, &r, sizeof(r), NULL, 0, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "renaming domain %u failed: %s", domid, strerror(-rc));
    if (ctx->xs) {
        char p[64];
        snprintf(p, sizeof(p), "/local/domain/%u/name", domid);
        kxl_xs_printf(ctx, XBT_NULL, p, "%s", new_name);
        snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
        char *vm = kxl_xs_read(ctx, p);
        if (vm) {
            char vp[96];
            snprintf(vp, sizeof(vp), "%s/name", vm);
            kxl_xs_printf(ctx, XBT_NULL, vp, "%s", new_name);
            free(vm);
        }
    }
    return 0;
}

int kxl_domain_wait_gone(struct kxl_ctx *ctx, uint16_t domid, int timeout_ms)
{
    uint64_t deadline = kxen_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
    for (;;) {
        struct kxl_dominfo di;
        if (kxl_hv_getinfo(ctx, domid, false, &di) < 0)
            return 0;
        if (timeout_ms >= 0 && kxen_now_ns() > deadline)
            return kxl_fail(ctx, -ETIMEDOUT, "domain %u is still there", domid);
        usleep(20000);
    }
}
