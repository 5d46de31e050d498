/* kxend's control socket protocol ($KXEN_RUNDIR/kxend.sock, SOCK_SEQPACKET unix socket).
 * Shared by kxend and the dom0 libraries (xc_*, xenevtchn_*, xengnttab_*,
 * xenforeignmemory_*). Documented in docs/kxend-protocol.md.
 *
 * Every request is one message: struct kxen_ctl_hdr + len payload bytes; every reply is one
 * message with the same op and seq, rc = 0 or -errno, its payload, and file descriptors (a
 * memfd, an eventfd) passed with SCM_RIGHTS when the op says so. Payload structs are
 * fixed-layout, little-endian, with explicit padding. The host's own processes are dom0;
 * callers are privileged when their peer credentials (SO_PEERCRED) have uid 0 or kxend's uid.
 * A refusal (rc < 0) may carry, as its whole payload, the reason as NUL-terminated text of at
 * most KXEN_CTL_REASON_MAX bytes naming the value refused and the limit it broke: kxend logs
 * it, and the toolstack prints it where the administrator typed the command.
 * The fast path never crosses this socket: event notifications are eventfd writes/reads. */
#ifndef KXEN_CTL_H
#define KXEN_CTL_H

#include <stdint.h>

#define KXEN_CTL_SOCKET_NAME "kxend.sock"
#define KXEN_CTL_VERSION 1
#define KXEN_CTL_MAX_PAYLOAD (256u * 1024u)
#define KXEN_CTL_MAX_FDS 8
#define KXEN_CTL_REASON_MAX 256

struct kxen_ctl_hdr {
    uint32_t op;  /* enum kxen_ctl_op */
    uint32_t seq; /* chosen by the client, echoed */
    int32_t rc;   /* reply: 0 or -errno; request: 0 */
    uint32_t len; /* payload bytes after the header */
};

/* Op numbers are grouped by the kxend file that serves them (each registers its group of ops;
 * kxend refuses to start if two groups claim one number). Payload structs live in each
 * group's header (kxen/ctl_domain.h, kxen/ctl_evtchn.h, kxen/ctl_gnttab.h). */
enum kxen_ctl_op {
    /* Core and domain control: 1..63 (hypervisor/kxend/ctl_domain.c) */
    KXEN_CTL_HELLO = 1, /* -> version, accelerator name */
    KXEN_CTL_DOMAIN_CREATE = 2,
    KXEN_CTL_DOMAIN_DESTROY = 3,
    KXEN_CTL_DOMAIN_PAUSE = 4,
    KXEN_CTL_DOMAIN_UNPAUSE = 5,
    KXEN_CTL_DOMAIN_GETINFO = 6,  /* one domain, or the next one >= domid (listing) */
    KXEN_CTL_DOMAIN_LOAD = 7,     /* load an ELF image, place special pages, set boot vCPU */
    KXEN_CTL_DOMAIN_SHUTDOWN = 8, /* remote shutdown with a reason */
    KXEN_CTL_DOMAIN_RENAME = 9,
    KXEN_CTL_HVM_PARAM_GET = 10,
    KXEN_CTL_HVM_PARAM_SET = 11,
    KXEN_CTL_VCPU_GETINFO = 12,
    KXEN_CTL_CONSOLE_READ = 13,     /* hypervisor console (xl dmesg) */
    KXEN_CTL_EVENTS_SUBSCRIBE = 14, /* domain state changes as messages on this connection */
    KXEN_CTL_DOMAIN_SETMAXMEM = 15,
    KXEN_CTL_SHUTDOWN_DAEMON = 16,
    /* kxend -> subscriber only (never a request): struct kxen_ctl_domain_event, seq 0. */
    KXEN_CTL_EVENT_DOMAIN = 32,

    /* Event channels for dom0 processes: 64..95 (hypervisor/kxend/ctl_evtchn.c) */
    KXEN_CTL_EVTCHN_BIND_INTERDOMAIN = 64,
    KXEN_CTL_EVTCHN_BIND_UNBOUND = 65,
    KXEN_CTL_EVTCHN_BIND_VIRQ = 66,
    KXEN_CTL_EVTCHN_UNBIND = 67,
    KXEN_CTL_EVTCHN_ALLOC_UNBOUND_FOR = 68, /* toolstack: unbound port in domU for remote */
    KXEN_CTL_EVTCHN_STATUS = 69,
    KXEN_CTL_EVTCHN_RESET = 70,

    /* Memory and grants for dom0 processes: 96..127 (hypervisor/kxend/ctl_gnttab.c) */
    KXEN_CTL_FOREIGN_MAP = 96, /* privileged: the domain's memfd + ram size */
    KXEN_CTL_GNTTAB_MAP = 97,  /* validate + mark in use, returns offsets into the memfd */
    KXEN_CTL_GNTTAB_UNMAP = 98,
    KXEN_CTL_GNTTAB_COPY = 99,           /* batched, executed by kxend */
    KXEN_CTL_GNTTAB_GRANT_FOREIGN = 100, /* toolstack: seed reserved entries (store/console) */
    KXEN_CTL_FOREIGN_WRITABLE = 101,     /* pages a client maps writable: dirty while held */

    /* Save, restore, migration: 128..159 (hypervisor/kxend/ctl_save.c; payloads in
     * kxen/ctl_save.h) */
    KXEN_CTL_SAVE_BEGIN = 128,
    KXEN_CTL_RESTORE_BEGIN = 129,
    KXEN_CTL_DIRTY_LOG = 130,
    KXEN_CTL_DOMAIN_RESUME = 131,
    KXEN_CTL_DOMAIN_TIMES = 132, /* when the vCPUs stopped, and first ran after an unpause */

    /* Emulated machines (HVM): 160..191 (hypervisor/kxend/ctl_hvm.c; kxen/ctl_hvm.h) */
    KXEN_CTL_HVM_BUILD = 160,
    KXEN_CTL_DEVICE_ADD = 161,
    KXEN_CTL_HVM_TRIGGER = 162,

    /* Host scheduling of vCPUs (xl vcpu-pin, sched-credit): 192..207
     * (hypervisor/kxend/ctl_sched.c; payloads in kxen/ctl_domain.h) */
    KXEN_CTL_VCPU_SETAFFINITY = 192,
    KXEN_CTL_VCPU_GETAFFINITY = 193,
    KXEN_CTL_SCHED_CREDIT_SET = 194,
    KXEN_CTL_SCHED_CREDIT_GET = 195,
};

#endif
