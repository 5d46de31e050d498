/* kxen's libxenctrl: the subset of Xen's xc_* domain-control API that kxend offers, over its
 * control socket (kxen/ctl.h), plus kxen-specific calls prefixed xc_kxen_. Names, argument
 * order and error convention follow Xen's xenctrl.h: functions return 0 (or a count) on
 * success and -1 with errno set on failure. The library never prints. */
#ifndef KXEN_XENCTRL_H
#define KXEN_XENCTRL_H

#include <stddef.h>
#include <stdint.h>

#include "kxen/ctl_domain.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xc_interface_core xc_interface;
typedef struct xentoollog_logger xentoollog_logger; /* accepted for compatibility, unused */
typedef uint8_t xen_domain_handle_t[16];

/* Opens a connection to the kxend of $KXEN_RUNDIR. NULL with errno on failure (ENOENT or
 * ECONNREFUSED: no kxend runs there). */
xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags);
int xc_interface_close(xc_interface *xch);

/* Xen's creation parameters, the fields kxend honours. */
#define XEN_DOMCTL_CDF_hvm (1u << 0)
#define XEN_DOMCTL_CDF_hap (1u << 1)
struct xen_domctl_createdomain {
    uint32_t ssidref;
    xen_domain_handle_t handle;
    uint32_t flags;              /* XEN_DOMCTL_CDF_* (informational) */
    uint32_t max_vcpus;          /* 1..32 */
    uint32_t max_evtchn_port;    /* ignored: 2-level ABI limit */
    int32_t max_grant_frames;    /* ignored: KXEN_GNTTAB_MAX_FRAMES */
    int32_t max_maptrack_frames; /* ignored */
    uint64_t kxen_memory_kb;     /* kxen: guest RAM, allocated at creation (required) */
};
/* *pdomid 0 picks the first free id. */
int xc_domain_create(xc_interface *xch, uint32_t *pdomid, struct xen_domctl_createdomain *config);
int xc_domain_destroy(xc_interface *xch, uint32_t domid);
int xc_domain_pause(xc_interface *xch, uint32_t domid);
int xc_domain_unpause(xc_interface *xch, uint32_t domid);
/* reason: SHUTDOWN_poweroff, _reboot, _suspend, _crash, _watchdog, _soft_reset. */
int xc_domain_shutdown(xc_interface *xch, uint32_t domid, int reason);
int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid, uint64_t max_memkb);

typedef struct xc_dominfo {
    uint32_t domid;
    uint32_t ssidref;
    unsigned int dying : 1, crashed : 1, shutdown : 1, paused : 1, blocked : 1, running : 1,
        hvm : 1, debugged : 1, xenstore : 1, hap : 1;
    unsigned int shutdown_reason; /* when shutdown == 1 */
    unsigned long nr_pages;
    unsigned long nr_outstanding_pages;
    unsigned long nr_shared_pages;
    unsigned long nr_paged_pages;
    unsigned long shared_info_frame;
    uint64_t cpu_time; /* ns */
    unsigned long max_memkb;
    unsigned int nr_online_vcpus;
    unsigned int max_vcpu_id;
    xen_domain_handle_t handle;
    unsigned int cpupool;
} xc_dominfo_t;
/* Fills up to max_doms entries for the domains with id >= first_domid, in id order. Returns
 * the number filled. */
int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                      xc_dominfo_t *info);

/* The domctl form (xen_domctl_getdomaininfo), flags XEN_DOMINF_*. */
#define XEN_DOMINF_dying (1u << 0)
#define XEN_DOMINF_hvm_guest (1u << 1)
#define XEN_DOMINF_shutdown (1u << 2)
#define XEN_DOMINF_paused (1u << 3)
#define XEN_DOMINF_blocked (1u << 4)
#define XEN_DOMINF_running (1u << 5)
#define XEN_DOMINF_debugged (1u << 6)
#define XEN_DOMINF_xs_domain (1u << 7)
#define XEN_DOMINF_hap (1u << 8)
#define XEN_DOMINF_shutdownshift 16
#define XEN_DOMINF_shutdownmask 255
typedef struct xc_domaininfo {
    uint16_t domain;
    uint16_t pad;
    uint32_t flags;
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t outstanding_pages;
    uint64_t shr_pages;
    uint64_t paged_pages;
    uint64_t shared_info_frame;
    uint64_t cpu_time;
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t ssidref;
    xen_domain_handle_t handle;
    uint32_t cpupool;
} xc_domaininfo_t;
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                          xc_domaininfo_t *info);

typedef struct xc_vcpuinfo {
    uint8_t online;
    uint8_t blocked;
    uint8_t running;
    uint64_t cpu_time;
    uint32_t cpu;
} xc_vcpuinfo_t;
int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info);

int xc_hvm_param_set(xc_interface *handle, uint32_t dom, uint32_t param, uint64_t value);
int xc_hvm_param_get(xc_interface *handle, uint32_t dom, uint32_t param, uint64_t *value);

/* The hypervisor console (`xl dmesg`). *pnr_chars: buffer size in, bytes read out. With
 * incremental, reading starts at *pindex and *pindex is advanced. clear drops the bytes read
 * (and the older ones): what did not fit and what was written since stay in the ring. */
int xc_readconsolering(xc_interface *xch, char *buffer, unsigned int *pnr_chars, int clear,
                       int incremental, uint32_t *pindex);

/* Event channels of another domain, for the toolstack (store and console ports). */
/* A port in dom, unbound, that remote_dom may bind: returns the port, or -1 with errno
 * (ESRCH: no such domain, ENOSPC: no free port, EPERM: unprivileged caller). */
int xc_evtchn_alloc_unbound(xc_interface *xch, uint32_t dom, uint32_t remote_dom);
/* Closes every event channel of dom. */
int xc_evtchn_reset(xc_interface *xch, uint32_t dom);

/* ---- kxen extensions ---- */
int xc_kxen_hello(xc_interface *xch, struct kxen_ctl_hello_rep *out);
/* flags: KXEN_CTL_CREATE_*. name "" or NULL = "domain-<id>"; uuid may be NULL. */
int xc_kxen_domain_create(xc_interface *xch, const char *name, uint64_t memory_kb,
                          unsigned int vcpus, const uint8_t *uuid, uint32_t flags,
                          uint32_t *pdomid);
/* Loads the ELF image open on image_fd and starts the domain. out may be NULL. */
int xc_kxen_domain_load(xc_interface *xch, uint32_t domid, int image_fd, const char *cmdline,
                        uint32_t store_evtchn, uint32_t console_evtchn,
                        struct kxen_ctl_domain_load_rep *out);
int xc_kxen_domain_rename(xc_interface *xch, uint32_t domid, const char *name);
/* The full info record (name included). */
int xc_kxen_domain_info(xc_interface *xch, uint32_t domid, struct kxen_ctl_domain_info *out);
/* A domain's own console_io output from *offset; advances *offset. Returns bytes read. */
int xc_kxen_console_read(xc_interface *xch, uint32_t domid, uint64_t *offset, char *buf,
                         size_t cap);
int xc_kxen_shutdown_daemon(xc_interface *xch);
/* kxend's reason for the last refused call on xch ("" when it gave none): the value refused
 * and the limit it broke. Valid until the next call. */
const char *xc_kxen_last_reason(xc_interface *xch);

/* Domain state events (created / shut down / destroyed), on a dedicated connection whose fd
 * can be polled. */
typedef struct xc_kxen_events xc_kxen_events;
xc_kxen_events *xc_kxen_events_open(void);
int xc_kxen_events_fd(xc_kxen_events *ev);
/* timeout_ms < 0: wait forever. Returns 0, or -1 with errno ETIMEDOUT/EPIPE/... */
int xc_kxen_events_read(xc_kxen_events *ev, int timeout_ms, struct kxen_ctl_domain_event *out);
void xc_kxen_events_close(xc_kxen_events *ev);

#ifdef __cplusplus
}
#endif
#endif
