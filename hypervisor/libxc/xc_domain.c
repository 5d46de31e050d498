/* libxenctrl over kxend's control socket: every call is one request/reply; failures return
 * -1 with errno, as Xen's libxenctrl does. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_evtchn.h"

struct xc_interface_core {
    struct kxen_ctl *ctl;
};

struct xc_kxen_events {
    struct kxen_ctl *ctl;
};

/* rc: 0/positive passes through; negative errno becomes -1 + errno. */
static int ret(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    (void)logger;
    (void)dombuild_logger;
    (void)open_flags;
    xc_interface *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    int rc = kxen_ctl_open(NULL, &x->ctl);
    if (rc < 0) {
        free(x);
        errno = -rc;
        return NULL;
    }
    return x;
}

int xc_interface_close(xc_interface *xch)
{
    if (!xch)
        return 0;
    kxen_ctl_close(xch->ctl);
    free(xch);
    return 0;
}

static int call(xc_interface *xch, uint32_t op, const void *req, uint32_t len, void *rep,
                uint32_t cap)
{
    if (!xch)
        return ret(-EBADF);
    return ret(kxen_ctl_simple(xch->ctl, op, req, len, rep, cap, NULL));
}

static int domid_op(xc_interface *xch, uint32_t op, uint32_t domid, uint32_t arg)
{
    if (domid > 0xffff)
        return ret(-EINVAL);
    struct kxen_ctl_domid_arg a = {.domid = (uint16_t)domid, .arg = arg};
    return call(xch, op, &a, sizeof(a), NULL, 0);
}

int xc_evtchn_alloc_unbound(xc_interface *xch, uint32_t dom, uint32_t remote_dom)
{
    if (dom > 0xffff || remote_dom > 0xffff)
        return ret(-ESRCH);
    struct kxen_ctl_evtchn_dom_arg a = {.domid = (uint16_t)dom,
                                        .remote_domid = (uint16_t)remote_dom};
    struct kxen_ctl_evtchn_port_rep r;
    int rc = call(xch, KXEN_CTL_EVTCHN_ALLOC_UNBOUND_FOR, &a, sizeof(a), &r, sizeof(r));
    return rc < 0 ? rc : (int)r.port;
}

int xc_evtchn_reset(xc_interface *xch, uint32_t dom)
{
    if (dom > 0xffff)
        return ret(-ESRCH);
    struct kxen_ctl_evtchn_dom_arg a = {.domid = (uint16_t)dom};
    return call(xch, KXEN_CTL_EVTCHN_RESET, &a, sizeof(a), NULL, 0);
}

int xc_kxen_hello(xc_interface *xch, struct kxen_ctl_hello_rep *out)
{
    return call(xch, KXEN_CTL_HELLO, NULL, 0, out, sizeof(*out));
}

int xc_kxen_domain_create(xc_interface *xch, const char *name, uint64_t memory_kb,
                          unsigned int vcpus, const uint8_t *uuid, uint32_t flags, uint32_t *pdomid)
{
    struct kxen_ctl_domain_create a;
    struct kxen_ctl_domid_rep r;
    memset(&a, 0, sizeof(a));
    if (name && strlen(name) >= sizeof(a.name))
        return ret(-ENAMETOOLONG);
    if (name)
        strcpy(a.name, name);
    if (uuid)
        memcpy(a.uuid, uuid, 16);
    a.memory_kb = memory_kb;
    a.nr_vcpus = vcpus;
    a.flags = flags;
    a.domid = pdomid && *pdomid <= 0xffff ? (uint16_t)*pdomid : 0;
    int rc = call(xch, KXEN_CTL_DOMAIN_CREATE, &a, sizeof(a), &r, sizeof(r));
    if (rc == 0 && pdomid)
        *pdomid = r.domid;
    return rc;
}

int xc_domain_create(xc_interface *xch, uint32_t *pdomid, struct xen_domctl_createdomain *c)
{
    if (!c || !pdomid)
        return ret(-EINVAL);
    struct kxen_ctl_domain_create a;
    struct kxen_ctl_domid_rep r;
    memset(&a, 0, sizeof(a));
    memcpy(a.uuid, c->handle, 16);
    a.memory_kb = c->kxen_memory_kb;
    a.nr_vcpus = c->max_vcpus;
    a.ssidref = c->ssidref;
    a.domid = *pdomid <= 0xffff ? (uint16_t)*pdomid : 0;
    int rc = call(xch, KXEN_CTL_DOMAIN_CREATE, &a, sizeof(a), &r, sizeof(r));
    if (rc == 0)
        *pdomid = r.domid;
    return rc;
}

int xc_domain_destroy(xc_interface *xch, uint32_t domid)
{
    return domid_op(xch, KXEN_CTL_DOMAIN_DESTROY, domid, 0);
}

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    return domid_op(xch, KXEN_CTL_DOMAIN_PAUSE, domid, 0);
}

int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    return domid_op(xch, KXEN_CTL_DOMAIN_UNPAUSE, domid, 0);
}

int xc_domain_shutdown(xc_interface *xch, uint32_t domid, int reason)
{
    if (reason < 0)
        return ret(-EINVAL);
    return domid_op(xch, KXEN_CTL_DOMAIN_SHUTDOWN, domid, (uint32_t)reason);
}

int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid, uint64_t max_memkb)
{
    if (domid > 0xffff)
        return ret(-EINVAL);
    struct kxen_ctl_setmaxmem a = {.domid = (uint16_t)domid, .max_memory_kb = max_memkb};
    return call(xch, KXEN_CTL_DOMAIN_SETMAXMEM, &a, sizeof(a), NULL, 0);
}

static int info_next(xc_interface *xch, uint32_t domid, bool next, struct kxen_ctl_domain_info *r)
{
    if (domid > 0xffff)
        return ret(-ESRCH);
    struct kxen_ctl_domid_arg a = {.domid = (uint16_t)domid,
                                   .arg = next ? KXEN_CTL_GETINFO_NEXT : 0};
    return call(xch, KXEN_CTL_DOMAIN_GETINFO, &a, sizeof(a), r, sizeof(*r));
}

int xc_kxen_domain_info(xc_interface *xch, uint32_t domid, struct kxen_ctl_domain_info *out)
{
    return info_next(xch, domid, false, out);
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                      xc_dominfo_t *info)
{
    unsigned n = 0;
    uint32_t id = first_domid;
    while (n < max_doms && id <= 0x7fef) {
        struct kxen_ctl_domain_info r;
        if (info_next(xch, id, true, &r) < 0) {
            if (errno == ESRCH)
                break;
            return n ? (int)n : -1;
        }
        xc_dominfo_t *o = &info[n++];
        memset(o, 0, sizeof(*o));
        o->domid = r.domid;
        o->ssidref = r.ssidref;
        o->dying = !!(r.flags & KXEN_DOMINFO_DYING);
        o->shutdown = !!(r.flags & KXEN_DOMINFO_SHUTDOWN);
        o->crashed = o->shutdown && r.shutdown_reason == 3 /* SHUTDOWN_crash */;
        o->paused = !!(r.flags & KXEN_DOMINFO_PAUSED);
        o->blocked = !!(r.flags & KXEN_DOMINFO_BLOCKED);
        o->running = !!(r.flags & KXEN_DOMINFO_RUNNING);
        o->hvm = 1;
        o->shutdown_reason = r.shutdown_reason;
        o->nr_pages = r.memory_kb / 4;
        o->shared_info_frame = r.shared_info_pfn;
        o->cpu_time = r.cpu_time_ns;
        o->max_memkb = r.max_memory_kb;
        o->nr_online_vcpus = r.nr_online_vcpus;
        o->max_vcpu_id = r.nr_vcpus ? r.nr_vcpus - 1 : 0;
        memcpy(o->handle, r.uuid, 16);
        id = r.domid + 1u;
    }
    return (int)n;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                          xc_domaininfo_t *info)
{
    unsigned n = 0;
    uint32_t id = first_domain;
    while (n < max_domains && id <= 0x7fef) {
        struct kxen_ctl_domain_info r;
        if (info_next(xch, id, true, &r) < 0) {
            if (errno == ESRCH)
                break;
            return n ? (int)n : -1;
        }
        xc_domaininfo_t *o = &info[n++];
        memset(o, 0, sizeof(*o));
        o->domain = r.domid;
        o->flags = XEN_DOMINF_hvm_guest | ((r.flags & KXEN_DOMINFO_DYING) ? XEN_DOMINF_dying : 0) |
                   ((r.flags & KXEN_DOMINFO_SHUTDOWN) ? XEN_DOMINF_shutdown : 0) |
                   ((r.flags & KXEN_DOMINFO_PAUSED) ? XEN_DOMINF_paused : 0) |
                   ((r.flags & KXEN_DOMINFO_BLOCKED) ? XEN_DOMINF_blocked : 0) |
                   ((r.flags & KXEN_DOMINFO_RUNNING) ? XEN_DOMINF_running : 0) |
                   ((r.shutdown_reason & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift);
        o->tot_pages = r.memory_kb / 4;
        o->max_pages = r.max_memory_kb / 4;
        o->shared_info_frame = r.shared_info_pfn;
        o->cpu_time = r.cpu_time_ns;
        o->nr_online_vcpus = r.nr_online_vcpus;
        o->max_vcpu_id = r.nr_vcpus ? r.nr_vcpus - 1 : 0;
        o->ssidref = r.ssidref;
        memcpy(o->handle, r.uuid, 16);
        id = r.domid + 1u;
    }
    return (int)n;
}

int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info)
{
    if (domid > 0xffff)
        return ret(-ESRCH);
    struct kxen_ctl_vcpu_req a = {.domid = (uint16_t)domid, .vcpu = vcpu};
    struct kxen_ctl_vcpu_info r;
    if (call(xch, KXEN_CTL_VCPU_GETINFO, &a, sizeof(a), &r, sizeof(r)) < 0)
        return -1;
    memset(info, 0, sizeof(*info));
    info->online = r.online;
    info->blocked = r.blocked;
    info->running = r.running;
    info->cpu_time = r.cpu_time_ns;
    info->cpu = r.cpu;
    return 0;
}

int xc_hvm_param_set(xc_interface *handle, uint32_t dom, uint32_t param, uint64_t value)
{
    if (dom > 0xffff)
        return ret(-ESRCH);
    struct kxen_ctl_hvm_param a = {.domid = (uint16_t)dom, .index = param, .value = value};
    return call(handle, KXEN_CTL_HVM_PARAM_SET, &a, sizeof(a), NULL, 0);
}

int xc_hvm_param_get(xc_interface *handle, uint32_t dom, uint32_t param, uint64_t *value)
{
    if (dom > 0xffff)
        return ret(-ESRCH);
    struct kxen_ctl_hvm_param a = {.domid = (uint16_t)dom, .index = param};
    if (call(handle, KXEN_CTL_HVM_PARAM_GET, &a, sizeof(a), &a, sizeof(a)) < 0)
        return -1;
    *value = a.value;
    return 0;
}

/* Reads [*offset, ...) of a console ring into buf (up to cap). */
static int console_chunks(xc_interface *xch, uint16_t domid, uint32_t flags, uint64_t *offset,
                          char *buf, size_t cap)
{
    static const size_t rep_cap = sizeof(struct kxen_ctl_console_rep) + KXEN_CTL_CONSOLE_CHUNK;
    uint8_t *rep = malloc(rep_cap);
    size_t got = 0;
    if (!rep)
        return ret(-ENOMEM);
    for (;;) {
        struct kxen_ctl_console_req a = {.domid = domid, .flags = 0, .offset = *offset};
        uint32_t len = 0;
        int rc = kxen_ctl_simple(xch->ctl, KXEN_CTL_CONSOLE_READ, &a, sizeof(a), rep,
                                 (uint32_t)rep_cap, &len);
        if (rc < 0 || len < sizeof(struct kxen_ctl_console_rep)) {
            free(rep);
            return ret(rc < 0 ? rc : -EPROTO);
        }
        struct kxen_ctl_console_rep r;
        memcpy(&r, rep, sizeof(r));
        size_t n = len - sizeof(r);
        if (n > cap - got)
            n = cap - got;
        memcpy(buf + got, rep + sizeof(r), n);
        got += n;
        *offset = r.start + n;
        if (n == 0 || got == cap || *offset >= r.end)
            break;
    }
    /* Clearing drops what the caller was given, no more: bytes past a full buffer and lines
     * written since the read stay for the next reader. */
    if (flags & KXEN_CTL_CONSOLE_CLEAR) {
        struct kxen_ctl_console_req a = {
            .domid = domid, .flags = KXEN_CTL_CONSOLE_CLEAR, .offset = *offset};
        kxen_ctl_simple(xch->ctl, KXEN_CTL_CONSOLE_READ, &a, sizeof(a), rep, (uint32_t)rep_cap,
                        NULL);
    }
    free(rep);
    return (int)got;
}

int xc_readconsolering(xc_interface *xch, char *buffer, unsigned int *pnr_chars, int clear,
                       int incremental, uint32_t *pindex)
{
    if (!xch || !buffer || !pnr_chars)
        return ret(-EINVAL);
    uint64_t off = incremental && pindex ? *pindex : 0;
    int n = console_chunks(xch, KXEN_CTL_DOMID_HV, clear ? KXEN_CTL_CONSOLE_CLEAR : 0, &off, buffer,
                           *pnr_chars);
    if (n < 0)
        return -1;
    *pnr_chars = (unsigned)n;
    if (incremental && pindex)
        *pindex = (uint32_t)off;
    return 0;
}

int xc_kxen_console_read(xc_interface *xch, uint32_t domid, uint64_t *offset, char *buf, size_t cap)
{
    if (!xch || domid > 0xffff)
        return ret(-EINVAL);
    return console_chunks(xch, (uint16_t)domid, 0, offset, buf, cap);
}

int xc_kxen_domain_load(xc_interface *xch, uint32_t domid, int image_fd, const char *cmdline,
                        uint32_t store_evtchn, uint32_t console_evtchn,
                        struct kxen_ctl_domain_load_rep *out)
{
    struct kxen_ctl_domain_load a;
    struct kxen_ctl_domain_load_rep r;
    if (!xch || domid > 0xffff)
        return ret(-EINVAL);
    memset(&a, 0, sizeof(a));
    a.domid = (uint16_t)domid;
    a.store_evtchn = store_evtchn;
    a.console_evtchn = console_evtchn;
    if (cmdline && strlen(cmdline) >= sizeof(a.cmdline))
        return ret(-E2BIG);
    if (cmdline)
        strcpy(a.cmdline, cmdline);
    int rc = kxen_ctl_call(xch->ctl, KXEN_CTL_DOMAIN_LOAD, &a, sizeof(a), &image_fd, 1, &r,
                           sizeof(r), NULL, NULL, NULL);
    if (rc == 0 && out)
        *out = r;
    return ret(rc);
}

int xc_kxen_domain_rename(xc_interface *xch, uint32_t domid, const char *name)
{
    struct kxen_ctl_domain_rename a;
    if (domid > 0xffff || !name)
        return ret(-EINVAL);
    memset(&a, 0, sizeof(a));
    if (strlen(name) >= sizeof(a.name))
        return ret(-ENAMETOOLONG);
    a.domid = (uint16_t)domid;
    strcpy(a.name, name);
    return call(xch, KXEN_CTL_DOMAIN_RENAME, &a, sizeof(a), NULL, 0);
}

const char *xc_kxen_last_reason(xc_interface *xch)
{
    return xch ? kxen_ctl_reason(xch->ctl) : "";
}

int xc_kxen_shutdown_daemon(xc_interface *xch)
{
    return call(xch, KXEN_CTL_SHUTDOWN_DAEMON, NULL, 0, NULL, 0);
}

xc_kxen_events *xc_kxen_events_open(void)
{
    xc_kxen_events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    int rc = kxen_ctl_open(NULL, &ev->ctl);
    if (rc == 0)
        rc = kxen_ctl_simple(ev->ctl, KXEN_CTL_EVENTS_SUBSCRIBE, NULL, 0, NULL, 0, NULL);
    if (rc < 0) {
        kxen_ctl_close(ev->ctl);
        free(ev);
        errno = -rc;
        return NULL;
    }
    return ev;
}

int xc_kxen_events_fd(xc_kxen_events *ev)
{
    return kxen_ctl_fd(ev->ctl);
}

int xc_kxen_events_read(xc_kxen_events *ev, int timeout_ms, struct kxen_ctl_domain_event *out)
{
    for (;;) {
        uint32_t op = 0, len = 0;
        int rc = kxen_ctl_recv_event(ev->ctl, timeout_ms, &op, out, sizeof(*out), &len);
        if (rc < 0)
            return ret(rc);
        if (op == KXEN_CTL_EVENT_DOMAIN && len == sizeof(*out))
            return 0;
    }
}

void xc_kxen_events_close(xc_kxen_events *ev)
{
    if (!ev)
        return;
    kxen_ctl_close(ev->ctl);
    free(ev);
}
