/* The libkxl context (kxend control connection + xenstore handle), domain listing and
 * name/id resolution, the hypervisor console. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/util.h"
#include "xenstore.h"

#include "kxl_internal.h"

int kxl_fail(struct kxl_ctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
    va_end(ap);
    return rc;
}

const char *kxl_errmsg(const struct kxl_ctx *ctx)
{
    return ctx->err;
}

const char *kxl_hv_reason(struct kxl_ctx *ctx, int rc)
{
    const char *r = kxen_ctl_reason(ctx->ctl);
    return r[0] ? r : strerror(-rc);
}

struct kxen_ctl *kxl_ctl(struct kxl_ctx *ctx)
{
    return ctx->ctl;
}

struct xs_handle *kxl_xs(struct kxl_ctx *ctx)
{
    return ctx->xs;
}

const char *kxl_rundir(const struct kxl_ctx *ctx)
{
    return ctx->rundir;
}

const char *kxl_accel(const struct kxl_ctx *ctx)
{
    return ctx->accel;
}

unsigned kxl_services_started(const struct kxl_ctx *ctx)
{
    return ctx->started;
}

const char *kxl_services_replaced(const struct kxl_ctx *ctx)
{
    return ctx->gone;
}

const char *kxl_xenstored_socket(void)
{
    const char *s = xs_daemon_socket();
    return s ? s : "(path too long)";
}

uint32_t kxl_xen_version(const struct kxl_ctx *ctx)
{
    return ctx->xen_version;
}

uint32_t kxl_kxend_pid(const struct kxl_ctx *ctx)
{
    return ctx->kxend_pid;
}

/* Xen's xen-init-dom0 writes /local/domain/0/{name,domid} at boot and scripts read them; on
 * kxen the first toolstack client of a fresh xenstored does. Best effort: a failure leaves
 * the nodes absent, as on a Xen host whose dom0 init did not run. */
static void dom0_nodes(struct xs_handle *xs)
{
    unsigned len;
    char *name = xs_read(xs, XBT_NULL, "/local/domain/0/name", &len);
    if (name) {
        free(name);
        return;
    }
    xs_write(xs, XBT_NULL, "/local/domain/0/name", "Domain-0", 8);
    xs_write(xs, XBT_NULL, "/local/domain/0/domid", "0", 1);
}

int kxl_ctx_open(unsigned flags, struct kxl_ctx **out, char *err, size_t errlen)
{
    struct kxl_ctx *ctx = calloc(1, sizeof(*ctx));
    int rc;
    *out = NULL;
    if (!ctx)
        return -ENOMEM;
    if ((rc = kxen_rundir(ctx->rundir, sizeof(ctx->rundir))) < 0) {
        snprintf(err, errlen, "run directory %s: %s", ctx->rundir, kxen_rundir_strerror(rc));
        free(ctx);
        return rc;
    }
    /* Xen's clients find xenstored through XENSTORED_RUNDIR: point them at this host (an
     * empty value counts as unset, as in libxenstore's rule). */
    const char *xsr = getenv("XENSTORED_RUNDIR");
    if (!xsr || !*xsr)
        setenv("XENSTORED_RUNDIR", ctx->rundir, 1);
    if (flags & KXL_OPEN_AUTOSTART) {
        if ((rc = kxl__services_ensure(ctx->rundir, &ctx->started, ctx->gone, sizeof(ctx->gone),
                                       err, errlen)) < 0) {
            free(ctx);
            return rc;
        }
    }
    if ((rc = kxen_ctl_open(ctx->rundir, &ctx->ctl)) < 0) {
        snprintf(err, errlen, "cannot connect to kxend at %s/%s: %s", ctx->rundir,
                 KXEN_CTL_SOCKET_NAME, strerror(-rc));
        free(ctx);
        return rc;
    }
    struct kxen_ctl_hello_rep hello;
    uint32_t len = 0;
    rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_HELLO, NULL, 0, &hello, sizeof(hello), &len);
    if (rc < 0 || len < sizeof(hello)) {
        snprintf(err, errlen, "kxend in %s did not answer HELLO: %s", ctx->rundir,
                 strerror(rc < 0 ? -rc : EPROTO));
        kxl_ctx_close(ctx);
        return rc < 0 ? rc : -EPROTO;
    }
    memcpy(ctx->accel, hello.accel, sizeof(ctx->accel) - 1);
    ctx->xen_version = hello.xen_version;
    ctx->kxend_pid = hello.kxend_pid;
    if (!(flags & KXL_OPEN_NO_XS)) {
        ctx->xs = xs_open(0);
        if (!ctx->xs) {
            rc = -errno ? -errno : -ECONNREFUSED;
            snprintf(err, errlen, "cannot connect to xenstored at %s: %s", kxl_xenstored_socket(),
                     strerror(-rc));
            kxl_ctx_close(ctx);
            return rc;
        }
        dom0_nodes(ctx->xs);
    }
    *out = ctx;
    return 0;
}

void kxl_ctx_close(struct kxl_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->xs)
        xs_close(ctx->xs);
    if (ctx->ctl)
        kxen_ctl_close(ctx->ctl);
    free(ctx);
}

int kxl_hv_domid_op(struct kxl_ctx *ctx, uint32_t op, uint16_t domid, uint32_t arg)
{
    struct kxen_ctl_domid_arg a = {.domid = domid, .arg = arg};
    return kxen_ctl_simple(ctx->ctl, op, &a, sizeof(a), NULL, 0, NULL);
}

int kxl_hv_getinfo(struct kxl_ctx *ctx, uint16_t domid, bool next, struct kxl_dominfo *info)
{
    struct kxen_ctl_domid_arg a = {.domid = domid, .arg = next ? KXEN_CTL_GETINFO_NEXT : 0};
    struct kxen_ctl_domain_info di;
    uint32_t len = 0;
    int rc =
        kxen_ctl_simple(ctx->ctl, KXEN_CTL_DOMAIN_GETINFO, &a, sizeof(a), &di, sizeof(di), &len);
    if (rc < 0)
        return rc;
    if (len < sizeof(di))
        return -EPROTO;
    memset(info, 0, sizeof(*info));
    info->domid = di.domid;
    memcpy(info->name, di.name, sizeof(info->name) - 1);
    memcpy(info->uuid, di.uuid, 16);
    info->memory_kb = di.memory_kb;
    info->max_memory_kb = di.max_memory_kb;
    info->backed_kb = di.backed_kb;
    info->cpu_time_ns = di.cpu_time_ns;
    info->nr_vcpus = di.nr_vcpus;
    info->nr_online_vcpus = di.nr_online_vcpus;
    info->flags = di.flags;
    info->shutdown_reason = di.shutdown_reason;
    info->store_pfn = di.store_pfn;
    info->console_pfn = di.console_pfn;
    return 0;
}

/* Domain-0 is the host itself: its memory, CPUs and CPU time come from /proc. */
static void dom0_info(struct kxl_dominfo *info)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "Domain-0");
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    info->memory_kb = info->max_memory_kb = (uint64_t)pages * (uint64_t)psz / 1024;
    info->nr_vcpus = info->nr_online_vcpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
    info->flags = KXEN_DOMINFO_RUNNING | KXEN_DOMINFO_PRIVILEGED;
    FILE *f = fopen("/proc/stat", "re");
    if (f) {
        unsigned long long user, nice, sys;
        if (fscanf(f, "cpu %llu %llu %llu", &user, &nice, &sys) == 3) {
            long hz = sysconf(_SC_CLK_TCK);
            info->cpu_time_ns = (user + nice + sys) * (1000000000ull / (hz > 0 ? hz : 100));
        }
        fclose(f);
    }
}

int kxl_domain_info(struct kxl_ctx *ctx, uint16_t domid, struct kxl_dominfo *info)
{
    if (domid == 0) {
        dom0_info(info);
        return 0;
    }
    return kxl_hv_getinfo(ctx, domid, false, info);
}

int kxl_domain_list(struct kxl_ctx *ctx, struct kxl_dominfo **out, size_t *nr)
{
    size_t cap = 16, n = 1;
    struct kxl_dominfo *v = malloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    dom0_info(&v[0]);
    for (uint32_t next = 1; next <= KXEN_CTL_DOMID_HV;) {
        struct kxl_dominfo di;
        int rc = kxl_hv_getinfo(ctx, (uint16_t)next, true, &di);
        if (rc == -ESRCH || rc == -ENOENT)
            break;
        if (rc < 0) {
            free(v);
            return kxl_fail(ctx, rc, "listing domains failed: %s", strerror(-rc));
        }
        if (di.domid < next) /* a reply that does not advance would loop forever */
            break;
        if (n == cap) {
            struct kxl_dominfo *nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) {
                free(v);
                return -ENOMEM;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = di;
        next = di.domid + 1u;
    }
    *out = v;
    *nr = n;
    return 0;
}

int kxl_domain_lookup(struct kxl_ctx *ctx, const char *spec, uint16_t *domid)
{
    char *end;
    if (*spec >= '0' && *spec <= '9') {
        errno = 0;
        unsigned long id = strtoul(spec, &end, 10);
        if (*end == '\0' && errno == 0) {
            struct kxl_dominfo di;
            if (id <= 0x7fef && kxl_domain_info(ctx, (uint16_t)id, &di) == 0) {
                *domid = (uint16_t)id;
                return 0;
            }
            return kxl_fail(ctx, -ENOENT,
                            "'%s' is an invalid domain identifier "
                            "(no domain with id %s)",
                            spec, spec);
        }
    }
    struct kxl_dominfo *list;
    size_t n;
    int rc = kxl_domain_list(ctx, &list, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, spec) == 0) {
            *domid = list[i].domid;
            free(list);
            return 0;
        }
    free(list);
    return kxl_fail(ctx, -ENOENT,
                    "'%s' is an invalid domain identifier (no domain has that "
                    "name)",
                    spec);
}

void kxl_dominfo_state(const struct kxl_dominfo *di, char out[7])
{
    bool shut = di->flags & KXEN_DOMINFO_SHUTDOWN;
    out[0] = (di->flags & KXEN_DOMINFO_RUNNING) && !shut ? 'r' : '-';
    out[1] = (di->flags & KXEN_DOMINFO_BLOCKED) && !shut ? 'b' : '-';
    out[2] = di->flags & KXEN_DOMINFO_PAUSED ? 'p' : '-';
    /* Xen's xl: 's' for any shutdown, then the reason's letter (SHUTDOWN_poweroff '-',
     * reboot 'r', suspend 's', crash 'c', watchdog 'w', soft_reset 'S'). */
    static const char reason_letters[] = "-rscwS";
    out[3] = shut ? 's' : '-';
    out[4] = !shut ? '-'
             : di->shutdown_reason < sizeof(reason_letters) - 1
                 ? reason_letters[di->shutdown_reason]
                 : '?';
    out[5] = di->flags & KXEN_DOMINFO_DYING ? 'd' : '-';
    out[6] = '\0';
}

int kxl_dmesg(struct kxl_ctx *ctx, bool clear, char **buf, size_t *len)
{
    uint64_t offset = 0;
    size_t cap = 0, n = 0;
    char *out = NULL;
    uint8_t *rep = malloc(sizeof(struct kxen_ctl_console_rep) + KXEN_CTL_CONSOLE_CHUNK);
    if (!rep)
        return -ENOMEM;
    for (;;) {
        struct kxen_ctl_console_req req = {.domid = KXEN_CTL_DOMID_HV, .offset = offset};
        uint32_t rlen = 0;
        int rc =
            kxen_ctl_simple(ctx->ctl, KXEN_CTL_CONSOLE_READ, &req, sizeof(req), rep,
                            sizeof(struct kxen_ctl_console_rep) + KXEN_CTL_CONSOLE_CHUNK, &rlen);
        if (rc == 0 && rlen < sizeof(struct kxen_ctl_console_rep))
            rc = -EPROTO;
        if (rc < 0) {
            free(rep);
            free(out);
            return kxl_fail(ctx, rc, "reading the hypervisor console failed: %s", strerror(-rc));
        }
        struct kxen_ctl_console_rep hdr;
        memcpy(&hdr, rep, sizeof(hdr));
        size_t dlen = rlen - sizeof(hdr);
        if (dlen == 0 || hdr.end <= offset)
            break;
        if (n + dlen + 1 > cap) {
            cap = (n + dlen + 1) * 2;
            char *no = realloc(out, cap);
            if (!no) {
                free(rep);
                free(out);
                return -ENOMEM;
            }
            out = no;
        }
        memcpy(out + n, rep + sizeof(hdr), dlen);
        n += dlen;
        offset = hdr.start + dlen;
        if (offset >= hdr.end)
            break;
    }
    if (clear) {
        /* the reply may carry bytes written meanwhile: give it room, then drop them */
        struct kxen_ctl_console_req req = {
            .domid = KXEN_CTL_DOMID_HV, .offset = offset, .flags = KXEN_CTL_CONSOLE_CLEAR};
        kxen_ctl_simple(ctx->ctl, KXEN_CTL_CONSOLE_READ, &req, sizeof(req), rep,
                        sizeof(struct kxen_ctl_console_rep) + KXEN_CTL_CONSOLE_CHUNK, NULL);
    }
    free(rep);
    if (!out && !(out = calloc(1, 1)))
        return -ENOMEM;
    out[n] = '\0';
    *buf = out;
    *len = n;
    return 0;
}
