/* Core-private declarations: the services of kxend's own core (domain lifecycle, control
 * server, loader, time, hypervisor console, run-state bookkeeping), for the files of this
 * daemon and its unit tests. It is not an interface: it changes with the core.
 *
 * The contract a part of kxend is written against is include/kxend/: the domain and vCPU
 * objects (domain.h), the accelerator interface (accel.h), guest memory (guest_mem.h), and
 * the registration points (registry.h: hypercall.h, subsys.h, device.h, ctl_server.h). */
#ifndef KXEND_CORE_H
#define KXEND_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxend/accel.h"
#include "kxend/domain.h"

struct ctl_conn;

struct domain_config {
    const char *name;    /* "" or NULL: "domain-<id>" */
    const uint8_t *uuid; /* 16 bytes or NULL */
    uint64_t ram_bytes;
    uint64_t max_ram_bytes; /* 0: ram_bytes */
    unsigned nr_vcpus;
    bool privileged;
    uint32_t ssidref;
    uint16_t domid; /* 0: first free */
};

#define KXEN_MIN_RAM (1ull << 20)
#define KXEN_MAX_RAM (64ull << 30)

/* The accelerator every domain uses (chosen at start-up). */
extern const struct accel_ops *kxend_accel;
/* Accept domains whose RAM does not fit in free host memory (--overcommit). */
extern bool domain_overcommit;
/* Domain ids go on from the last one recorded in path (a crashed kxend's), which then
 * records each new one; returns that last id, 0 for none, or -errno. */
int domain_ids_restore(const char *path);
/* A clean exit: the record is removed. */
void domain_ids_forget(void);

/* Domain lifecycle (domain.c). create returns a referenced domain (drop with domain_put). */
int domain_create(const struct domain_config *cfg, struct domain **out);
int domain_destroy(struct domain *d);
int domain_pause(struct domain *d);
int domain_unpause(struct domain *d);
/* Starts the vCPUs after the loader set the boot state (DOM_BUILDING -> DOM_RUNNING). */
int domain_start(struct domain *d);
/* paused: the vCPUs are created but park before their first instruction (Xen's domain
 * builder leaves a new domain paused; the toolstack unpauses it once xenstore knows it). */
int domain_start_ex(struct domain *d, bool paused);
/* domain_start_ex without starting the vCPU threads: a restore sets their state first and
 * then calls accel->start (on failure to start, the caller destroys the domain). */
int domain_vcpus_create(struct domain *d, bool paused);
int domain_rename(struct domain *d, const char *name);
/* First domain with id >= domid, referenced, or NULL. */
struct domain *domain_get_next(uint16_t domid);
/* Destroys every domain (daemon exit). */
void domain_destroy_all(void);
/* The boot vCPU state chosen by the loader, applied at domain_start. */
int domain_set_boot(struct domain *d, const struct vcpu_boot *boot);
/* Guest execution time of all vCPUs (ns). */
uint64_t domain_cpu_time(struct domain *d);
/* Validates a domain name: 1..63 printable chars, no '/'. */
bool domain_name_valid(const char *name);

/* Domain state subscribers (ctl_domain.c registers connections). */
int domain_events_subscribe(struct ctl_conn *conn);
void domain_events_unsubscribe(struct ctl_conn *conn);
void domain_events_notify(uint16_t domid, uint32_t event, uint32_t reason);

/* Hypervisor console (console_io.c): per-domain and global rings. */
#define KXEN_CONSOLE_RING (64u * 1024u)
void console_domain_write(struct domain *d, const char *buf, size_t len);
void console_hv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies bytes at [offset, ...) of a ring into out (at most cap); start and end as in
 * kxen_ctl_console_rep. d NULL = the global ring. */
size_t console_read(struct domain *d, uint64_t offset, char *out, size_t cap, uint64_t *start,
                    uint64_t *end);
/* Drops the bytes before offset upto (those the clearing reader was given). */
void console_clear(struct domain *d, uint64_t upto);
void console_domain_free(struct domain *d);
void console_global_free(void);

/* Time (time.c). */
void time_init(void);
/* Vcpu thread: refresh v's vcpu_time_info (odd/even version) and the shared_info wallclock. */
void time_update_vcpu(struct vcpu *v);
/* On the vCPU's thread before each entry (ctl_sched.c): applies a changed affinity or weight to
 * this thread and holds the vCPU back while it is over its cap. */
void sched_vcpu_before_entry(struct vcpu *v);
/* Vcpu thread: fire the singleshot timer when due. Returns true when it fired. */
bool time_check_timers(struct vcpu *v);
/* Earliest pending deadline (ns, system time) of a vCPU: timer or poll timeout; 0 = none. */
uint64_t vcpu_next_deadline(struct vcpu *v);

/* Accelerators, for a BLOCKED vCPU (vcpu thread): applies events and timers and makes it
 * RUNNABLE when its wake condition holds (event, timer, poll port or timeout). */
bool vcpu_runnable_check(struct vcpu *v);

/* HVM parameter with its side effects (callback vector); hvm_op.c. */
int hvm_param_apply(struct domain *d, uint32_t index, uint64_t value);
/* An HVM domain's vCPU 0, before each entry: the event-channel callback's interrupt line
 * (HVM_PARAM_CALLBACK_IRQ GSI or PCI INTx form) follows its upcall; hvm_op.c. */
void hvm_callback_line_sync(struct vcpu *v, bool pending);

/* Runstate bookkeeping (vcpu_op.c). */
void vcpu_runstate_set(struct vcpu *v, int runstate);

/* Loader (loader*.c). */
struct load_params {
    int image_fd;
    bool has_ramdisk; /* ramdisk_fd is read whole (pread from 0): PVH module 0 */
    int ramdisk_fd;
    const char *cmdline;
    uint32_t store_evtchn, console_evtchn;
};
struct load_result {
    uint64_t entry, start_info_pfn, shared_info_pfn, store_pfn, console_pfn, gnttab_base_pfn;
    uint64_t hypercall_page_gpa, image_end;
    uint64_t ramdisk_gpa, ramdisk_size; /* 0, 0: no ramdisk */
    uint32_t boot_mode, nr_gnttab_frames;
};
/* Bound on the kernel file: a stripped Linux vmlinux is about 63 MiB. */
#define KXEN_MAX_IMAGE (256u << 20)
/* Bound on a bzImage's decompressed kernel (Debian's 6.1 vmlinux is 66 MB). */
#define KXEN_MAX_KERNEL (512u << 20)
/* Loads a kernel held in memory (already read: an ELF image, or a bzImage whose payload is
 * decompressed to one) into d and fills the boot state. msg gets a human-readable reason on
 * failure. */
int loader_load_image(struct domain *d, const uint8_t *img, size_t len, const struct load_params *p,
                      struct load_result *res, char *msg, size_t msglen);
/* Parses only (unit tests): finds entries and segments, checks bounds against ram_size.
 * [lo, hi) is the physical range the PT_LOAD segments occupy, [vlo, vhi) their virtual one. */
struct elf_info {
    uint64_t pv_entry, phys32_entry, hypercall_page;
    uint64_t lo, hi;   /* loaded range [lo, hi) */
    uint64_t vlo, vhi; /* virtual range of the same segments */
    bool has_pv_entry, has_phys32_entry, has_hypercall_page;
    bool virt_differs; /* some PT_LOAD has p_vaddr != p_paddr (the kernel needs paging) */
};
int loader_parse(const uint8_t *img, size_t len, uint64_t ram_size, struct elf_info *info,
                 char *msg, size_t msglen);

/* bzImage (loader_bzimage.c): whether img starts with a Linux boot-protocol setup header. */
bool loader_is_bzimage(const uint8_t *img, size_t len);
/* Checks the setup header (boot protocol 2.08+) and decompresses the payload (XZ, gzip, and
 * zstd when built with libzstd) into a malloc'd *out of *out_len bytes (at most
 * KXEN_MAX_KERNEL). The caller frees *out. */
int loader_bzimage_extract(const uint8_t *img, size_t len, uint8_t **out, size_t *out_len,
                           char *msg, size_t msglen);

/* Control server (ctl_server.c). */
int ctl_server_init(const char *socket_path);
int ctl_server_run(void);   /* until ctl_server_stop() */
void ctl_server_stop(void); /* async-signal-safe */
void ctl_server_fini(void); /* closes clients (running their cleanups) and the socket */
bool ctl_conn_privileged(const struct ctl_conn *conn);
/* Half-built domains (ctl_builder.c): track destroys domid when conn closes before
 * finish(domid). Returns 0 or -errno. */
int ctl_builder_track(struct ctl_conn *conn, uint16_t domid);
void ctl_builder_finish(uint16_t domid);
struct ctl_op;
const struct ctl_op *ctl_find_op(uint32_t op);

/* Hypercall dispatch counters, for tests. */
const char *hypercall_name(unsigned nr);

/* Shared info location helpers. */
#define KXEN_NO_GPA (~0ull)
uint64_t vcpu_info_gpa(struct vcpu *v);

#endif
