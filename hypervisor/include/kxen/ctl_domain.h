/* Payloads of the core and domain-control ops of kxend's control socket (ops 1..63 of
 * kxen/ctl.h). Fixed layout, little-endian, explicit padding; every struct's size is a
 * multiple of 8. Requests shorter than their struct are refused with -EINVAL; names are
 * NUL-terminated within their array (else -EINVAL). Documented in docs/kxend-protocol.md. */
#ifndef KXEN_CTL_DOMAIN_H
#define KXEN_CTL_DOMAIN_H

#include <stdint.h>

#include "kxen/ctl.h"

#define KXEN_CTL_NAME_MAX 64          /* domain name incl. NUL */
#define KXEN_CTL_CMDLINE_MAX 1024     /* guest command line incl. NUL (MAX_GUEST_CMDLINE) */
#define KXEN_CTL_CONSOLE_CHUNK 32768u /* most console bytes one CONSOLE_READ returns */
#define KXEN_CTL_DOMID_HV 0x7FF2u     /* DOMID_XEN: the hypervisor's own console ring */

/* KXEN_CTL_HELLO: no request payload. */
struct kxen_ctl_hello_rep {
    uint32_t version; /* KXEN_CTL_VERSION */
    uint32_t kxend_pid;
    char accel[16];       /* "soft" | "kvm" */
    uint32_t privileged;  /* 1 when this connection may use privileged ops */
    uint32_t xen_version; /* the Xen release kxend presents: major << 16 | minor (0: unknown) */
};

/* The Xen release whose guest ABI kxend presents (XENVER_version/_extraversion, xl info). */
#define KXEN_XEN_MAJOR 4
#define KXEN_XEN_MINOR 17
#define KXEN_XEN_EXTRA ".0-kxen"

/* KXEN_CTL_DOMAIN_CREATE (privileged) -> struct kxen_ctl_domid_rep. */
#define KXEN_CTL_CREATE_PRIVILEGED (1u << 0) /* driver domain: may map other domains' grants */
/* The creating connection builds it: if that connection closes before an UNPAUSE (see
 * KXEN_CTL_UNPAUSE_BUILT_ONLY), kxend destroys the half-built domain. */
#define KXEN_CTL_CREATE_BUILDING (1u << 1)
struct kxen_ctl_domain_create {
    char name[KXEN_CTL_NAME_MAX]; /* unique; "" = "domain-<id>" */
    uint8_t uuid[16];
    uint64_t memory_kb;     /* guest RAM, multiple of 4; 1 MiB .. 64 GiB */
    uint64_t max_memory_kb; /* 0 = memory_kb */
    uint32_t nr_vcpus;      /* 1 .. 32 */
    uint32_t flags;         /* KXEN_CTL_CREATE_* */
    uint32_t ssidref;
    uint16_t domid; /* 0 = next free id; else that id (-EEXIST if taken) */
    uint16_t pad;
};
struct kxen_ctl_domid_rep {
    uint16_t domid;
    uint16_t pad[3];
};

/* DESTROY, PAUSE, UNPAUSE (privileged), SHUTDOWN (privileged, arg = SHUTDOWN_* reason),
 * GETINFO (arg = KXEN_CTL_GETINFO_NEXT: the first domain with id >= domid). */
#define KXEN_CTL_GETINFO_NEXT 1u
/* UNPAUSE arg: the build is finished (KXEN_CTL_CREATE_BUILDING) but the domain stays paused. */
#define KXEN_CTL_UNPAUSE_BUILT_ONLY 1u
struct kxen_ctl_domid_arg {
    uint16_t domid;
    uint16_t pad;
    uint32_t arg;
};

/* GETINFO reply. flags: */
#define KXEN_DOMINFO_DYING (1u << 0)
#define KXEN_DOMINFO_SHUTDOWN (1u << 1)
#define KXEN_DOMINFO_PAUSED (1u << 2)
#define KXEN_DOMINFO_BLOCKED (1u << 3) /* every up vCPU blocked */
#define KXEN_DOMINFO_RUNNING (1u << 4) /* some vCPU runnable */
#define KXEN_DOMINFO_PRIVILEGED (1u << 5)
#define KXEN_DOMINFO_LOADED (1u << 6) /* an image was loaded (vCPUs started) */
struct kxen_ctl_domain_info {
    uint16_t domid;
    uint16_t pad;
    uint32_t flags;           /* KXEN_DOMINFO_* */
    uint32_t shutdown_reason; /* SHUTDOWN_* when KXEN_DOMINFO_SHUTDOWN */
    uint32_t ssidref;
    char name[KXEN_CTL_NAME_MAX];
    uint8_t uuid[16];
    uint64_t memory_kb;
    uint64_t max_memory_kb;
    uint64_t cpu_time_ns; /* guest execution time, all vCPUs */
    uint32_t nr_vcpus;    /* max_vcpu_id + 1 */
    uint32_t nr_online_vcpus;
    uint64_t shared_info_pfn; /* as the guest placed it, 0 = none yet */
    uint64_t store_pfn, console_pfn;
    uint64_t backed_kb; /* guest RAM the host backs now (RAM is filled as the guest touches it) */
};

/* KXEN_CTL_DOMAIN_LOAD (privileged), with one or two fds: the kernel (an ELF image or a Linux
 * bzImage, read with pread from offset 0, at most 256 MiB), then optionally a ramdisk (read
 * whole into guest RAM above the kernel; PVH module 0, PV start_info mod_start/mod_len).
 * The domain must be DOM_BUILDING (-EBUSY otherwise). Without flags the vCPUs start running
 * at once; with KXEN_LOAD_PAUSED the domain is left paused (no guest instruction runs) until
 * DOMAIN_UNPAUSE, as Xen's domain builder leaves it. */
#define KXEN_LOAD_PAUSED (1u << 0)
struct kxen_ctl_domain_load {
    uint16_t domid;
    uint16_t pad;
    uint32_t store_evtchn; /* ports the toolstack allocated in the domain, 0 = none */
    uint32_t console_evtchn;
    uint32_t flags; /* KXEN_LOAD_* */
    char cmdline[KXEN_CTL_CMDLINE_MAX];
};
#define KXEN_BOOT_PV64 0  /* soft: XEN_ELFNOTE_ENTRY, rsi = start_info */
#define KXEN_BOOT_PVH32 1 /* kvm: XEN_ELFNOTE_PHYS32_ENTRY, ebx = hvm_start_info */
struct kxen_ctl_domain_load_rep {
    uint64_t entry;           /* guest-physical entry point used */
    uint64_t start_info_pfn;  /* start_info (PV) or hvm_start_info (PVH) page */
    uint64_t shared_info_pfn; /* initial shared_info page */
    uint64_t store_pfn, console_pfn;
    uint64_t gnttab_base_pfn;    /* KXEN_GNTTAB_MAX_FRAMES reserved grant frames */
    uint64_t hypercall_page_gpa; /* 0 when the guest installs it (PVH) */
    uint64_t image_end;          /* first byte above the loaded segments */
    uint32_t boot_mode;          /* KXEN_BOOT_* */
    uint32_t nr_gnttab_frames;
};

/* KXEN_CTL_DOMAIN_RENAME (privileged). */
struct kxen_ctl_domain_rename {
    uint16_t domid;
    uint16_t pad[3];
    char name[KXEN_CTL_NAME_MAX];
};

/* HVM_PARAM_GET / HVM_PARAM_SET (privileged). Reply of GET: the same struct, value filled. */
struct kxen_ctl_hvm_param {
    uint16_t domid;
    uint16_t pad;
    uint32_t index; /* HVM_PARAM_* < 64 */
    uint64_t value;
};

/* VCPU_GETINFO */
struct kxen_ctl_vcpu_req {
    uint16_t domid;
    uint16_t pad;
    uint32_t vcpu;
};
struct kxen_ctl_vcpu_info {
    uint32_t vcpu;
    uint8_t online, blocked, running, pad;
    uint64_t cpu_time_ns;
    uint32_t cpu; /* host CPU, always 0 (not tracked) */
    uint32_t pad2;
    /* Exits since the vCPU was created, by kind: port I/O, MMIO, hypercall, halt, other
     * (enum vcpu_exit_kind, docs/hvm.md "Exit counters"). */
    uint64_t exits[5];
};

/* CONSOLE_READ: domid = a domain's console_io output, or KXEN_CTL_DOMID_HV for the global
 * ring (every guest's lines prefixed "(dN) ", plus kxend's own notes). offset = bytes already
 * read (incremental reads); the reply is struct kxen_ctl_console_rep + data. The rings keep
 * the newest bytes; start reports the offset of the oldest byte still held. */
#define KXEN_CTL_CONSOLE_CLEAR                                                                     \
    1u /* then drop the bytes before offset: those the caller has shown */
struct kxen_ctl_console_req {
    uint16_t domid;
    uint16_t pad;
    uint32_t flags;
    uint64_t offset;
};
struct kxen_ctl_console_rep {
    uint64_t start; /* offset of the first byte returned */
    uint64_t end;   /* total bytes written so far (next offset) */
    /* followed by (end - start) bytes, at most KXEN_CTL_CONSOLE_CHUNK */
};

/* DOMAIN_SETMAXMEM (privileged). */
struct kxen_ctl_setmaxmem {
    uint16_t domid;
    uint16_t pad[3];
    uint64_t max_memory_kb;
};

/* Host scheduling ops 192..207 (kxen/ctl.h). VCPU_SETAFFINITY (privileged): the host CPUs the
 * vCPU's thread may run on (bit n = CPU n; CPUs the host lacks are ignored; none left: -EINVAL).
 * VCPU_GETAFFINITY: the request is struct kxen_ctl_vcpu_req, the reply this struct with the map
 * (all ones: never set) and host_cpu, the CPU of its last entry (-1: none yet). */
#define KXEN_CTL_CPUMAP_WORDS 4 /* host CPUs 0..255 */
struct kxen_ctl_vcpu_affinity {
    uint16_t domid;
    uint16_t pad;
    uint32_t vcpu;
    uint64_t cpumap[KXEN_CTL_CPUMAP_WORDS];
    int32_t host_cpu;
    uint32_t pad2;
};

/* SCHED_CREDIT_SET (privileged): Xen's credit parameters; weight 0 or cap ~0u leave that value
 * as it is. SCHED_CREDIT_GET: request struct kxen_ctl_domid_arg, reply this struct. The host
 * mapping (docs/xl.md): weight -> the nice value of the vCPU threads, cap -> a duty cycle. */
#define KXEN_SCHED_WEIGHT_DEFAULT 256
#define KXEN_SCHED_WEIGHT_MAX 65535
#define KXEN_SCHED_CAP_KEEP 0xffffffffu
struct kxen_ctl_sched_credit {
    uint16_t domid;
    uint16_t pad;
    uint32_t weight; /* 1..65535 */
    uint32_t cap;    /* % of one host CPU per vCPU, 0 = none; at most 100 x vCPUs */
    int32_t nice;    /* reply: the nice value the threads run at */
};

/* EVENTS_SUBSCRIBE: no payload. Afterwards kxend sends KXEN_CTL_EVENT_DOMAIN messages on the
 * connection whenever a domain is created, shuts down or is destroyed. */
#define KXEN_DOMEV_CREATED 1
#define KXEN_DOMEV_SHUTDOWN 2 /* reason in shutdown_reason */
#define KXEN_DOMEV_DESTROYED 3
struct kxen_ctl_domain_event {
    uint16_t domid;
    uint16_t pad;
    uint32_t event; /* KXEN_DOMEV_* */
    uint32_t shutdown_reason;
    uint32_t pad2;
};

#endif
