/* Control ops 1..63: hello, domain create/destroy/pause/unpause/getinfo/load/shutdown/rename,
 * HVM params, vCPU info, console read, domain event subscription, maxmem, daemon shutdown. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kxen/sched.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/ctl_domain.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"

/* ---- domain event subscribers ---- */
static pthread_mutex_t subs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctl_conn **subs; /* grown as needed: one per monitor, never a fixed cap */
static unsigned nr_subs, cap_subs;

int domain_events_subscribe(struct ctl_conn *conn)
{
    int rc = 0;
    pthread_mutex_lock(&subs_lock);
    for (unsigned i = 0; i < nr_subs; i++)
        if (subs[i] == conn)
            goto out;
    if (nr_subs == cap_subs) {
        unsigned cap = cap_subs ? cap_subs * 2 : 64;
        struct ctl_conn **ns = realloc(subs, cap * sizeof(*ns));
        if (!ns) {
            rc = -ENOMEM;
            goto out;
        }
        subs = ns;
        cap_subs = cap;
    }
    subs[nr_subs++] = conn;
out:
    pthread_mutex_unlock(&subs_lock);
    return rc;
}

void domain_events_unsubscribe(struct ctl_conn *conn)
{
    pthread_mutex_lock(&subs_lock);
    for (unsigned i = 0; i < nr_subs; i++)
        if (subs[i] == conn) {
            subs[i] = subs[--nr_subs];
            break;
        }
    if (nr_subs == 0) {
        free(subs);
        subs = NULL;
        cap_subs = 0;
    }
    pthread_mutex_unlock(&subs_lock);
}

void domain_events_notify(uint16_t domid, uint32_t event, uint32_t reason)
{
    struct kxen_ctl_domain_event ev = {.domid = domid, .event = event, .shutdown_reason = reason};
    pthread_mutex_lock(&subs_lock);
    for (unsigned i = 0; i < nr_subs; i++)
        ctl_conn_send_event(subs[i], KXEN_CTL_EVENT_DOMAIN, &ev, sizeof(ev));
    pthread_mutex_unlock(&subs_lock);
}

/* ---- helpers ---- */

/* Looks up a guest domain named by a request (never dom0 or a reserved id). */
static struct domain *req_domain(uint16_t domid, int *rc)
{
    struct domain *d = domid >= 1 && domid <= KXEN_MAX_DOMID ? domain_get(domid) : NULL;
    *rc = d ? 0 : -ESRCH;
    return d;
}

/* Copies the request's arguments (size: at most the op's min_len) into a and looks up the
 * domain they name: every domain-addressed request starts with its uint16_t domid. */
static struct domain *req_args_domain(const struct ctl_request *req, void *a, size_t size, int *rc)
{
    uint16_t domid;
    memcpy(a, req->payload, size);
    memcpy(&domid, req->payload, sizeof(domid));
    return req_domain(domid, rc);
}

static int op_hello(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_hello_rep *r = rep->payload;
    memset(r, 0, sizeof(*r));
    r->version = KXEN_CTL_VERSION;
    r->kxend_pid = (uint32_t)getpid();
    snprintf(r->accel, sizeof(r->accel), "%s", kxend_accel ? kxend_accel->name : "");
    r->privileged = req->privileged;
    r->xen_version = KXEN_XEN_MAJOR << 16 | KXEN_XEN_MINOR;
    rep->len = sizeof(*r);
    return 0;
}

/* File descriptors a domain costs kxend: its RAM's memfd, accelerator and vCPU handles, the
 * eventfds of its store and console channels and of each bound backend ring, the grant
 * mappings dom0 holds through kxend, plus its monitor's two connections. Measured at about
 * ten for a guest without devices; the rest is room for devices and for accepting clients. */
#define FDS_PER_DOMAIN 32

/* 0 when a domain fits below kxend's descriptor limit, else -EMFILE with the count and the
 * limit set: refusing here is clean, running out half-way through a build is not. */
static int fds_fit(unsigned long *open_fds, unsigned long *limit)
{
    struct rlimit rl;
    DIR *dir = opendir("/proc/self/fd");
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || !dir) {
        if (dir)
            closedir(dir);
        return 0; /* unknown: the build reports its own errors */
    }
    unsigned long n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += e->d_name[0] != '.';
    closedir(dir);
    *open_fds = n - 1; /* the directory's own */
    *limit = rl.rlim_cur;
    return *open_fds + FDS_PER_DOMAIN > *limit ? -EMFILE : 0;
}

static int op_create(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_domain_create a;
    memcpy(&a, req->payload, sizeof(a));
    if (memchr(a.name, 0, sizeof(a.name)) == NULL ||
        (a.flags & ~(KXEN_CTL_CREATE_PRIVILEGED | KXEN_CTL_CREATE_BUILDING)))
        return ctl_refuse(rep, -EINVAL, "malformed create request (name or flags)");
    if (a.memory_kb % 4 || a.max_memory_kb % 4)
        return ctl_refuse(rep, -EINVAL, "memory %llu KiB / maxmem %llu KiB: not whole 4 KiB pages",
                          (unsigned long long)a.memory_kb, (unsigned long long)a.max_memory_kb);
    if (a.memory_kb < KXEN_MIN_RAM / 1024 || a.memory_kb > KXEN_MAX_RAM / 1024)
        return ctl_refuse(rep, -EINVAL, "memory %llu MiB is outside kxend's range %llu..%llu MiB",
                          (unsigned long long)a.memory_kb >> 10, KXEN_MIN_RAM >> 20,
                          KXEN_MAX_RAM >> 20);
    if (a.max_memory_kb > KXEN_MAX_RAM / 1024 || (a.max_memory_kb && a.max_memory_kb < a.memory_kb))
        return ctl_refuse(rep, -EINVAL,
                          "maxmem %llu MiB is outside memory..%llu MiB (memory %llu MiB)",
                          (unsigned long long)a.max_memory_kb >> 10, KXEN_MAX_RAM >> 20,
                          (unsigned long long)a.memory_kb >> 10);
    if (a.nr_vcpus < 1 || a.nr_vcpus > KXEN_MAX_VCPUS)
        return ctl_refuse(rep, -EINVAL, "vcpus %u is outside kxend's range 1..%u",
                          (unsigned)a.nr_vcpus, (unsigned)KXEN_MAX_VCPUS);
    struct domain_config cfg = {
        .name = a.name,
        .uuid = a.uuid,
        .ram_bytes = a.memory_kb * 1024,
        .max_ram_bytes = a.max_memory_kb * 1024,
        .nr_vcpus = a.nr_vcpus,
        .privileged = a.flags & KXEN_CTL_CREATE_PRIVILEGED,
        .ssidref = a.ssidref,
        .domid = a.domid,
    };
    unsigned long open_fds = 0, limit = 0;
    if (fds_fit(&open_fds, &limit) < 0)
        return ctl_refuse(rep, -EMFILE,
                          "kxend has %lu of its %lu file descriptors open, and a domain needs "
                          "about %u more (raise kxend's limit: ulimit -n)",
                          open_fds, limit, FDS_PER_DOMAIN);
    struct domain *d;
    int rc = domain_create(&cfg, &d);
    if (rc == -E2BIG) /* the accelerator cannot map that much RAM (kvm: the 4 GiB hole) */
        return ctl_refuse(rep, rc, "memory %llu MiB is more than the %s accelerator maps",
                          (unsigned long long)a.memory_kb >> 10, kxend_accel->name);
    if (rc == -EEXIST)
        return ctl_refuse(rep, rc, "another domain has its name or uuid (name '%s')", a.name);
    if (rc == -ENOMEM && !domain_overcommit)
        return ctl_refuse(rep, rc,
                          "memory %llu MiB does not fit in the host's free memory (kxend "
                          "--overcommit or KXEN_OVERCOMMIT=1 accepts it)",
                          (unsigned long long)a.memory_kb >> 10);
    if (rc < 0)
        return ctl_refuse(rep, rc, "creating domain '%s' (memory %llu MiB, %u vCPUs) failed: %s",
                          a.name, (unsigned long long)a.memory_kb >> 10, (unsigned)a.nr_vcpus,
                          strerror(-rc));
    if ((a.flags & KXEN_CTL_CREATE_BUILDING) && (rc = ctl_builder_track(req->conn, d->domid))) {
        domain_destroy(d);
        domain_put(d);
        return ctl_refuse(rep, rc, "cannot follow the builder of domain '%s': %s", a.name,
                          strerror(-rc));
    }
    struct kxen_ctl_domid_rep *r = rep->payload;
    memset(r, 0, sizeof(*r));
    r->domid = d->domid;
    rep->len = sizeof(*r);
    domain_put(d);
    return 0;
}

static int op_simple(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_domid_arg a;
    int rc;
    (void)rep;
    struct domain *d = req_args_domain(req, &a, sizeof(a), &rc);
    if (!d)
        return rc;
    switch (req->op) {
    case KXEN_CTL_DOMAIN_DESTROY:
        rc = domain_destroy(d);
        break;
    case KXEN_CTL_DOMAIN_PAUSE:
        rc = domain_pause(d);
        break;
    case KXEN_CTL_DOMAIN_UNPAUSE:
        ctl_builder_finish(d->domid);
        rc = a.arg == KXEN_CTL_UNPAUSE_BUILT_ONLY ? 0 : domain_unpause(d);
        break;
    case KXEN_CTL_DOMAIN_SHUTDOWN:
        if (a.arg > SHUTDOWN_MAX) {
            rc = -EINVAL;
            break;
        }
        if (atomic_load(&d->state) == DOM_BUILDING || atomic_load(&d->state) == DOM_DYING) {
            rc = -EINVAL;
            break;
        }
        domain_shutdown(d, a.arg);
        rc = 0;
        break;
    default:
        rc = -ENOSYS;
    }
    domain_put(d);
    return rc;
}

static void fill_info(struct domain *d, struct kxen_ctl_domain_info *r)
{
    memset(r, 0, sizeof(*r));
    r->domid = d->domid;
    int st = atomic_load(&d->state);
    unsigned online = 0, blocked = 0, runnable = 0;
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        int vs = atomic_load(&d->vcpus[i]->state);
        online += vs != VCPU_DOWN;
        blocked += vs == VCPU_BLOCKED;
        runnable += vs == VCPU_RUNNABLE;
    }
    if (st == DOM_DYING)
        r->flags |= KXEN_DOMINFO_DYING;
    if (st == DOM_SHUTDOWN) {
        r->flags |= KXEN_DOMINFO_SHUTDOWN;
        r->shutdown_reason = d->shutdown_reason;
    }
    if (st == DOM_PAUSED || st == DOM_BUILDING)
        r->flags |= KXEN_DOMINFO_PAUSED; /* Xen: a domain being built is paused */
    if (st == DOM_RUNNING && runnable)
        r->flags |= KXEN_DOMINFO_RUNNING;
    if (st == DOM_RUNNING && !runnable && blocked)
        r->flags |= KXEN_DOMINFO_BLOCKED;
    if (d->privileged)
        r->flags |= KXEN_DOMINFO_PRIVILEGED;
    if (d->vcpus[0]->boot_set)
        r->flags |= KXEN_DOMINFO_LOADED;
    r->ssidref = d->ssidref;
    memcpy(r->name, d->name, sizeof(r->name));
    r->name[sizeof(r->name) - 1] = 0;
    memcpy(r->uuid, d->uuid, 16);
    pthread_mutex_lock(&d->lock); /* nr_ballooned moves under it (memory_op.c) */
    r->memory_kb = (d->ram_size - (d->nr_ballooned << KXEN_PAGE_SHIFT)) >> 10;
    pthread_mutex_unlock(&d->lock);
    r->max_memory_kb = d->max_ram_size >> 10;
    r->cpu_time_ns = domain_cpu_time(d);
    r->nr_vcpus = d->nr_vcpus;
    r->nr_online_vcpus = online;
    r->shared_info_pfn = d->shared_info_gpa == KXEN_NO_GPA ? 0 : d->shared_info_gpa >> 12;
    r->store_pfn = d->store_pfn;
    r->console_pfn = d->console_pfn;
    struct stat sb;
    if (d->mem_fd >= 0 && fstat(d->mem_fd, &sb) == 0)
        r->backed_kb = (uint64_t)sb.st_blocks / 2; /* 512-byte blocks */
}

static int op_getinfo(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_domid_arg a;
    memcpy(&a, req->payload, sizeof(a));
    if (a.arg & ~KXEN_CTL_GETINFO_NEXT)
        return -EINVAL;
    struct domain *d =
        (a.arg & KXEN_CTL_GETINFO_NEXT) ? domain_get_next(a.domid) : domain_get(a.domid);
    if (!d)
        return -ESRCH;
    fill_info(d, rep->payload);
    rep->len = sizeof(struct kxen_ctl_domain_info);
    domain_put(d);
    return 0;
}

static int op_load(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_domain_load a;
    struct stat st;
    char msg[256] = "";
    int rc;

    memcpy(&a, req->payload, sizeof(a));
    if (req->nfds < 1 || req->nfds > 2 || memchr(a.cmdline, 0, sizeof(a.cmdline)) == NULL ||
        (a.flags & ~KXEN_LOAD_PAUSED))
        return -EINVAL;
    if (fstat(req->fds[0], &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return ctl_refuse(rep, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
                          "the kernel is not a regular file (%s)",
                          S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket");
    if (st.st_size <= 0)
        return ctl_refuse(rep, -ENOEXEC, "the kernel is an empty file (0 bytes)");
    if (st.st_size > KXEN_MAX_IMAGE)
        return ctl_refuse(rep, -EFBIG, "the kernel is %lld bytes, more than the %u MiB limit",
                          (long long)st.st_size, KXEN_MAX_IMAGE >> 20);
    struct domain *d = req_domain(a.domid, &rc);
    if (!d)
        return rc;
    if (atomic_load(&d->state) != DOM_BUILDING || d->vcpus[0]->boot_set) {
        domain_put(d);
        return -EBUSY;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *img = malloc(len);
    if (!img) {
        domain_put(d);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(req->fds[0], img + got, len - got, (off_t)got);
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        got += (size_t)n;
    }
    struct load_params p = {.image_fd = req->fds[0],
                            .has_ramdisk = req->nfds > 1,
                            .ramdisk_fd = req->nfds > 1 ? req->fds[1] : -1,
                            .cmdline = a.cmdline,
                            .store_evtchn = a.store_evtchn,
                            .console_evtchn = a.console_evtchn};
    struct load_result res;
    rc = loader_load_image(d, img, len, &p, &res, msg, sizeof(msg));
    if (rc < 0) {
        log_warn("domain %u: image refused: %s", d->domid, msg);
        console_hv_printf("(XEN) d%u: image refused: %s\n", d->domid, msg);
        ctl_refuse(rep, rc, "%s", msg);
        goto out;
    }
    if ((rc = domain_start_ex(d, a.flags & KXEN_LOAD_PAUSED)) < 0) {
        log_err("domain %u: cannot start its vCPUs (%d)", d->domid, rc);
        goto out;
    }
    struct kxen_ctl_domain_load_rep *r = rep->payload;
    memset(r, 0, sizeof(*r));
    r->entry = res.entry;
    r->start_info_pfn = res.start_info_pfn;
    r->shared_info_pfn = res.shared_info_pfn;
    r->store_pfn = res.store_pfn;
    r->console_pfn = res.console_pfn;
    r->gnttab_base_pfn = res.gnttab_base_pfn;
    r->hypercall_page_gpa = res.hypercall_page_gpa;
    r->image_end = res.image_end;
    r->boot_mode = res.boot_mode;
    r->nr_gnttab_frames = res.nr_gnttab_frames;
    rep->len = sizeof(*r);
    log_info("domain %u: image loaded, entry %#llx, %s", d->domid, (unsigned long long)res.entry,
             a.flags & KXEN_LOAD_PAUSED ? "paused" : "started");
out:
    free(img);
    domain_put(d);
    return rc;
}

static int op_rename(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_domain_rename a;
    int rc;
    (void)rep;
    memcpy(&a, req->payload, sizeof(a));
    if (!memchr(a.name, 0, sizeof(a.name)))
        return -EINVAL;
    struct domain *d = req_domain(a.domid, &rc);
    if (!d)
        return rc;
    rc = domain_rename(d, a.name);
    domain_put(d);
    return rc;
}

static int op_hvm_param(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_hvm_param a;
    int rc;
    memcpy(&a, req->payload, sizeof(a));
    if (a.index >= KXEN_HVM_NR_PARAMS)
        return -EINVAL;
    struct domain *d = req_domain(a.domid, &rc);
    if (!d)
        return rc;
    if (req->op == KXEN_CTL_HVM_PARAM_SET) {
        pthread_mutex_lock(&d->lock);
        rc = hvm_param_apply(d, a.index, a.value);
        pthread_mutex_unlock(&d->lock);
    } else {
        a.value = d->hvm_params[a.index];
        memcpy(rep->payload, &a, sizeof(a));
        rep->len = sizeof(a);
    }
    domain_put(d);
    return rc;
}

static int op_vcpu_info(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_vcpu_req a;
    int rc;
    struct domain *d = req_args_domain(req, &a, sizeof(a), &rc);
    if (!d)
        return rc;
    if (a.vcpu >= d->nr_vcpus) {
        domain_put(d);
        return -ENOENT;
    }
    struct vcpu *v = d->vcpus[a.vcpu];
    struct kxen_ctl_vcpu_info *r = rep->payload;
    memset(r, 0, sizeof(*r));
    int vs = atomic_load(&v->state);
    r->vcpu = a.vcpu;
    r->online = vs != VCPU_DOWN;
    r->blocked = vs == VCPU_BLOCKED;
    r->running = vs == VCPU_RUNNABLE && atomic_load(&d->state) == DOM_RUNNING;
    r->cpu_time_ns = atomic_load(&v->cpu_time_ns);
    _Static_assert(ARRAY_SIZE(r->exits) == VCPU_EXIT_KINDS, "one counter per exit kind");
    for (unsigned k = 0; k < VCPU_EXIT_KINDS; k++)
        r->exits[k] = atomic_load_explicit(&v->exits[k], memory_order_relaxed);
    rep->len = sizeof(*r);
    domain_put(d);
    return 0;
}

static int op_console(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_console_req a;
    struct domain *d = NULL;
    int rc;
    memcpy(&a, req->payload, sizeof(a));
    if (a.flags & ~KXEN_CTL_CONSOLE_CLEAR)
        return -EINVAL;
    if ((a.flags & KXEN_CTL_CONSOLE_CLEAR) && !req->privileged)
        return -EPERM;
    if (a.domid != KXEN_CTL_DOMID_HV && !(d = req_domain(a.domid, &rc)))
        return rc;
    struct kxen_ctl_console_rep *r = rep->payload;
    size_t n =
        console_read(d, a.offset, (char *)(r + 1), KXEN_CTL_CONSOLE_CHUNK, &r->start, &r->end);
    rep->len = (uint32_t)(sizeof(*r) + n);
    if (a.flags & KXEN_CTL_CONSOLE_CLEAR)
        console_clear(d, a.offset);
    if (d)
        domain_put(d);
    return 0;
}

static int op_subscribe(struct ctl_request *req, struct ctl_reply *rep)
{
    (void)rep;
    return domain_events_subscribe(req->conn);
}

static int op_setmaxmem(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_setmaxmem a;
    int rc;
    struct domain *d = req_args_domain(req, &a, sizeof(a), &rc);
    if (!d)
        return rc;
    uint64_t bytes = a.max_memory_kb * 1024;
    pthread_mutex_lock(&d->lock);
    uint64_t held = d->ram_size - (d->nr_ballooned << KXEN_PAGE_SHIFT);
    if (a.max_memory_kb > KXEN_MAX_RAM / 1024 || a.max_memory_kb % 4)
        rc = ctl_refuse(rep, -EINVAL, "maxmem %llu KiB: a multiple of 4 KiB up to %llu MiB",
                        (unsigned long long)a.max_memory_kb, KXEN_MAX_RAM >> 20);
    else if (bytes < held)
        /* The guest must balloon down first (xl mem-set): its pages are in use. */
        rc = ctl_refuse(rep, -EINVAL, "maxmem %llu KiB is below the %llu KiB domain %u holds",
                        (unsigned long long)a.max_memory_kb, (unsigned long long)held >> 10,
                        d->domid);
    else
        d->max_ram_size = bytes;
    pthread_mutex_unlock(&d->lock);
    domain_put(d);
    return rc;
}

static int op_shutdown_daemon(struct ctl_request *req, struct ctl_reply *rep)
{
    (void)req;
    (void)rep;
    log_info("control: shutdown requested by pid %d", (int)req->pid);
    ctl_server_stop();
    return 0;
}

static const struct ctl_op domain_ops[] = {
    {KXEN_CTL_HELLO, "hello", false, 0, op_hello},
    {KXEN_CTL_DOMAIN_CREATE, "domain_create", true, sizeof(struct kxen_ctl_domain_create),
     op_create},
    {KXEN_CTL_DOMAIN_DESTROY, "domain_destroy", true, sizeof(struct kxen_ctl_domid_arg), op_simple},
    {KXEN_CTL_DOMAIN_PAUSE, "domain_pause", true, sizeof(struct kxen_ctl_domid_arg), op_simple},
    {KXEN_CTL_DOMAIN_UNPAUSE, "domain_unpause", true, sizeof(struct kxen_ctl_domid_arg), op_simple},
    {KXEN_CTL_DOMAIN_GETINFO, "domain_getinfo", false, sizeof(struct kxen_ctl_domid_arg),
     op_getinfo},
    {KXEN_CTL_DOMAIN_LOAD, "domain_load", true, sizeof(struct kxen_ctl_domain_load), op_load},
    {KXEN_CTL_DOMAIN_SHUTDOWN, "domain_shutdown", true, sizeof(struct kxen_ctl_domid_arg),
     op_simple},
    {KXEN_CTL_DOMAIN_RENAME, "domain_rename", true, sizeof(struct kxen_ctl_domain_rename),
     op_rename},
    {KXEN_CTL_HVM_PARAM_GET, "hvm_param_get", true, sizeof(struct kxen_ctl_hvm_param),
     op_hvm_param},
    {KXEN_CTL_HVM_PARAM_SET, "hvm_param_set", true, sizeof(struct kxen_ctl_hvm_param),
     op_hvm_param},
    {KXEN_CTL_VCPU_GETINFO, "vcpu_getinfo", false, sizeof(struct kxen_ctl_vcpu_req), op_vcpu_info},
    {KXEN_CTL_CONSOLE_READ, "console_read", true, sizeof(struct kxen_ctl_console_req), op_console},
    {KXEN_CTL_EVENTS_SUBSCRIBE, "events_subscribe", true, 0, op_subscribe},
    {KXEN_CTL_DOMAIN_SETMAXMEM, "domain_setmaxmem", true, sizeof(struct kxen_ctl_setmaxmem),
     op_setmaxmem},
    {KXEN_CTL_SHUTDOWN_DAEMON, "shutdown_daemon", true, 0, op_shutdown_daemon},
};

static const struct ctl_op_group ctl_domain_group = {"domain", domain_ops, ARRAY_SIZE(domain_ops)};
CTL_OP_GROUP_REGISTER(ctl_domain_group);
