/* libkxl: kxen's toolstack library (the part of Xen's libxl that xl needs): a context holding
 * the kxend control connection and a xenstore handle, domain build/destroy/shutdown, listing,
 * name resolution and the embedded service start. Functions return 0 or a negative errno and
 * leave a human-readable reason in kxl_errmsg(ctx); the library never prints. */
#ifndef KXL_KXL_H
#define KXL_KXL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxl/cfg.h"

struct kxl_ctx;
struct kxen_ctl;
struct xs_handle;

#define KXL_OPEN_AUTOSTART (1u << 0) /* start kxend/xenstored/xenconsoled when absent */
#define KXL_OPEN_NO_XS (1u << 1)     /* do not connect to xenstored (pure hypervisor ops) */

int kxl_ctx_open(unsigned flags, struct kxl_ctx **out, char *err, size_t errlen);
void kxl_ctx_close(struct kxl_ctx *ctx);
const char *kxl_errmsg(const struct kxl_ctx *ctx);
struct kxen_ctl *kxl_ctl(struct kxl_ctx *ctx);
struct xs_handle *kxl_xs(struct kxl_ctx *ctx);
const char *kxl_rundir(const struct kxl_ctx *ctx);
const char *kxl_accel(const struct kxl_ctx *ctx);
/* The pty of an HVM domain's COM1 (malloc'd; free it), or NULL when it has none. */
char *kxl_domain_serial_tty(struct kxl_ctx *ctx, uint16_t domid);
/* The Xen release kxend presents (major << 16 | minor) and kxend's pid, from its HELLO. */
uint32_t kxl_xen_version(const struct kxl_ctx *ctx);
uint32_t kxl_kxend_pid(const struct kxl_ctx *ctx);

/* Domain state as xl shows it. */
struct kxl_dominfo {
    uint16_t domid;
    char name[64];
    uint8_t uuid[16];
    uint64_t memory_kb, max_memory_kb;
    uint64_t cpu_time_ns;
    uint32_t nr_vcpus, nr_online_vcpus;
    uint32_t flags;           /* KXEN_DOMINFO_* */
    uint32_t shutdown_reason; /* SHUTDOWN_* when flags has KXEN_DOMINFO_SHUTDOWN */
    uint64_t store_pfn, console_pfn;
    uint64_t backed_kb; /* guest RAM the host backs now (touched pages) */
};
/* Every domain including Domain-0 (id 0, synthesized from the host). Free *out with free(). */
int kxl_domain_list(struct kxl_ctx *ctx, struct kxl_dominfo **out, size_t *nr);
int kxl_domain_info(struct kxl_ctx *ctx, uint16_t domid, struct kxl_dominfo *info);
/* "name" or a decimal id -> domid; -ENOENT with "'x' is an invalid domain identifier". */
int kxl_domain_lookup(struct kxl_ctx *ctx, const char *spec, uint16_t *domid);
/* The six-letter state column of `xl list` (r b p s c d). */
void kxl_dominfo_state(const struct kxl_dominfo *info, char out[7]);

/* Builds a domain from a validated config: create, event channels, load the kernel (kxend
 * leaves it paused: nothing runs yet), xenstore tree, introduce to xenstored, wait for
 * xenconsoled to attach the console (when it runs; 5 s at most), unpause unless paused. On
 * any failure everything created so far is destroyed again. */
int kxl_domain_create(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, bool paused,
                      uint16_t *domid_out);
/* Tears a domain down: kxend destroy, xenstored release, /local/domain/N and /vm/<uuid>
 * removed. Tolerates a domain kxend already forgot (cleans xenstore anyway). */
int kxl_domain_destroy(struct kxl_ctx *ctx, uint16_t domid);
/* A build that may die half-way (its process killed) tells whoever cleans up after it
 * (xl's build guard, docs/migration.md "A killed receiver") what to clean: STARTED once
 * kxend made the domain (its id and uuid), before any of the domain's xenstore nodes or
 * devices exist; KEPT when a migration's copy runs and the sender is about to be told so
 * (uuid NULL): from then on it is the domain that counts. Called in the building thread;
 * fn must not call back into ctx. */
enum kxl_build_event { KXL_BUILD_STARTED, KXL_BUILD_KEPT };
typedef void kxl_build_hook_fn(void *opaque, enum kxl_build_event ev, uint16_t domid,
                               const uint8_t *uuid);
void kxl_set_build_hook(struct kxl_ctx *ctx, kxl_build_hook_fn *fn, void *opaque);
/* What a builder that died left: destroys domain domid as kxl_domain_destroy does, only if it
 * is the one with this uuid (kxend's, or, once kxend forgot it, the /vm path its xenstore
 * directory names): a later domain given the same id is left alone. 1 when something was
 * torn down, 0 when nothing of it was left, or -errno. */
int kxl_domain_destroy_orphan(struct kxl_ctx *ctx, uint16_t domid, const uint8_t uuid[16]);
/* Writes the domain's RAM to path as an ELF64 core (one PT_LOAD at guest-physical 0), sparse:
 * pages of zeros are holes in the file. */
int kxl_domain_core_dump(struct kxl_ctx *ctx, uint16_t domid, const char *path);
/* Writes control/shutdown = how ("poweroff", "reboot", ...): the PV shutdown protocol.
 * -EOPNOTSUPP for an HVM guest whose PV drivers are not up (HVM_PARAM_CALLBACK_IRQ unset), as
 * Xen's libxl refuses with ERROR_NOPARAVIRT: kxl_send_trigger(power) is its ACPI fallback. */
int kxl_domain_request_shutdown(struct kxl_ctx *ctx, uint16_t domid, const char *how);
int kxl_domain_pause(struct kxl_ctx *ctx, uint16_t domid);
int kxl_domain_unpause(struct kxl_ctx *ctx, uint16_t domid);
int kxl_domain_rename(struct kxl_ctx *ctx, uint16_t domid, const char *new_name);
/* Waits until kxend no longer knows the domain; timeout_ms < 0 = forever.
 * Returns 0, -ETIMEDOUT. */
int kxl_domain_wait_gone(struct kxl_ctx *ctx, uint16_t domid, int timeout_ms);

/* PV disks and nics, laid out in xenstore as Xen's libxl does (docs/xenstore-paths.md).
 * Attach writes both ends, waits for the backend (xl devd) to reach InitWait and runs the
 * hotplug script; on failure nothing is left. Detach is cooperative (online=0, Closing, wait
 * for Closed) and forced after 10 s, or at once with force: it returns 1 when the timeout
 * forced it. A disk is named by its vdev (xvdb) or device number, a nic by index or MAC. */
int kxl_device_disk_add(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_disk *disk);
int kxl_device_disk_remove(struct kxl_ctx *ctx, uint16_t domid, const char *vdev, bool force);
int kxl_device_nic_add(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_vif *vif,
                       uint32_t *devid);
int kxl_device_nic_remove(struct kxl_ctx *ctx, uint16_t domid, const char *id_or_mac, bool force);
/* Removes every device of the domain by force (domain destruction). */
int kxl_devices_destroy(struct kxl_ctx *ctx, uint16_t domid);

/* One device as xl block-list / network-list show it; -1 for a key that is absent. */
struct kxl_devinfo {
    uint32_t devid;
    int backend_id, frontend_id;
    int state, be_state; /* the frontend's state, the backend's */
    int evtch, rref, rref_tx, rref_rx;
    char mac[18];
    char backend[160];
};
/* kind "vbd" or "vif"; *out is malloc'd (free it). */
int kxl_device_list(struct kxl_ctx *ctx, const char *kind, uint16_t domid, struct kxl_devinfo **out,
                    size_t *nr);

/* Administration of a running domain (admin.c). The memory target goes to the guest's balloon
 * driver through memory/target (KiB); refused above the domain's maximum. The maximum goes to
 * kxend (populate_physmap stops there) and memory/static-max; refused under the target. */
#define KXL_MIN_TARGET_KB 1024u
int kxl_set_memory_target(struct kxl_ctx *ctx, uint16_t domid, uint64_t target_kb);
int kxl_set_max_memory(struct kxl_ctx *ctx, uint16_t domid, uint64_t max_kb);
/* cpu/N/availability = online for N < nr, offline above; refused above maxvcpus. */
int kxl_set_vcpus_online(struct kxl_ctx *ctx, uint16_t domid, unsigned nr);
/* Host CPUs a vCPU's thread may run on (bit n = CPU n, CPUs 0..255). get also returns the
 * host CPU of its last entry (-1: none yet); a map never set comes back all ones. */
#define KXL_CPUMAP_WORDS 4
int kxl_vcpu_set_affinity(struct kxl_ctx *ctx, uint16_t domid, unsigned vcpu,
                          const uint64_t cpumap[KXL_CPUMAP_WORDS]);
int kxl_vcpu_get_affinity(struct kxl_ctx *ctx, uint16_t domid, unsigned vcpu,
                          uint64_t cpumap[KXL_CPUMAP_WORDS], int *host_cpu);
/* Xen's credit parameters (docs/xl.md, "Host scheduling", for the mapping); set: weight or
 * cap < 0 leaves that one as it is. */
struct kxl_sched_credit {
    unsigned weight, cap;
    int nice; /* the nice value kxend gives the domain's vCPU threads */
};
int kxl_sched_credit_get(struct kxl_ctx *ctx, uint16_t domid, struct kxl_sched_credit *out);
int kxl_sched_credit_set(struct kxl_ctx *ctx, uint16_t domid, int weight, int cap);
/* control/sysrq = key (Linux's xen sysrq handler reads and clears it). */
int kxl_send_sysrq(struct kxl_ctx *ctx, uint16_t domid, char key);
/* Xen's triggers (nmi, reset, init, power, sleep, s3resume), for hvm guests: kxend hands them
 * to the emulated PC (power: the ACPI power button; the others: -EOPNOTSUPP with the reason,
 * the PC has no such input). pv and pvh guests have no emulated platform: -EOPNOTSUPP. */
int kxl_send_trigger(struct kxl_ctx *ctx, uint16_t domid, const char *trigger);

/* Hypervisor console (xl dmesg): appends what kxend holds to *buf (malloc'd). */
int kxl_dmesg(struct kxl_ctx *ctx, bool clear, char **buf, size_t *len);

/* Embedded services: makes sure kxend, xenstored and xenconsoled run in the run dir (started
 * from the directory of the running program, pid files <name>.pid) and answer. */
int kxl_services_ensure(const char *rundir, char *err, size_t errlen);
/* The same; *started (may be NULL) gets how many daemons this call started. */
int kxl_services_ensure_ex(const char *rundir, unsigned *started, char *err, size_t errlen);
/* How many daemons kxl_ctx_open(KXL_OPEN_AUTOSTART) started (0: all were running). */
unsigned kxl_services_started(const struct kxl_ctx *ctx);
/* The daemons among them that replaced one that had died (its pid file was left behind), as
 * "kxend (pid N), xenstored (pid M)"; "" when none. */
const char *kxl_services_replaced(const struct kxl_ctx *ctx);
/* The xenstored socket this host's clients use (docs/paths.md), for messages. */
const char *kxl_xenstored_socket(void);

/* ---- Save and restore (Xen's xl save / xl restore; docs/save-format.md) ---- */
struct kxl_save_stats {
    uint64_t pages, zero_pages; /* guest pages written, of which zero (no data) */
    uint64_t stream_bytes;      /* before compression */
    uint64_t downtime_ns;       /* suspend to the end of the stream */
};
#define KXL_SAVE_CHECKPOINT (1u << 0) /* xl save -c: the domain keeps running */
#define KXL_SAVE_PAUSED (1u << 1)     /* xl save -p: the domain stays, paused */
/* Writes domain domid to path as a gzip-compressed image (through a temporary name renamed
 * at the end) with config_text as its xl.cfg config, then destroys the domain unless a flag
 * keeps it. config_text NULL: the config is read back from xenstore. */
int kxl_domain_save(struct kxl_ctx *ctx, uint16_t domid, const char *path, const char *config_text,
                    unsigned flags, struct kxl_save_stats *st);
/* How far a save or a restore has got with the domain's pages, for progress lines: reported
 * after every batch of pages (at most LIBXC_MAX_BATCH, 1024) and once at the last page.
 * Rates are of guest memory (a zero page counts its 4 KiB though it travels without data). */
struct kxl_progress {
    const char *op;      /* "save" or "restore" */
    uint64_t done;       /* pages written or read so far */
    uint64_t total;      /* pages in all; 0: not known yet (an image without kxen's prologue) */
    uint64_t bytes;      /* stream bytes of those pages (before compression) */
    uint64_t elapsed_ns; /* since the first page */
    double pages_per_s;  /* done / elapsed (0 before any time passed) */
    double mb_per_s;     /* the same in MB/s (10^6 bytes) */
    double eta_s;        /* until the last page at that rate; 0 when done, -1 when unknown */
};
/* Fills p's rates and ETA from done, total and elapsed_ns. */
void kxl_progress_rates(struct kxl_progress *p);
typedef void kxl_progress_fn(void *opaque, const struct kxl_progress *p);
/* Calls fn during the saves and restores made on ctx from now on (NULL: none). */
void kxl_set_progress(struct kxl_ctx *ctx, kxl_progress_fn *fn, void *opaque);
/* The xl.cfg text describing a running domain (name, memory, vCPUs, kernel, disks, vifs, on_*
 * actions), read from xenstore. Free *out. */
int kxl_domain_config_text(struct kxl_ctx *ctx, uint16_t domid, char **out);
/* Restores an image (gzip or plain) from fd after validating all of it; source names it in
 * messages. override: the config to use instead of the image's (xl restore FILE CFG); else,
 * when dc_out is set, it gets the image's config (free with kxl_domain_config_free). */
int kxl_domain_restore(struct kxl_ctx *ctx, int fd, const char *source,
                       const struct kxl_domain_config *override, bool paused, uint16_t *domid_out,
                       struct kxl_domain_config *dc_out);
/* Where the last restore or migration receive on ctx spent its time (wall clock, ns; the
 * phases follow one another and add up to total_ns). With a prologue (docs/save-format.md)
 * the domain is built before the pages are read, so pages_ns is the stream itself: for a
 * file, reading and inflating it and putting every page in place; for a migration, the
 * whole pre-copy as it arrives. */
struct kxl_restore_times {
    uint64_t head_ns;      /* the stream's head read, its config parsed, checked to fit */
    uint64_t create_ns;    /* the domain created in kxend (RAM, event channels) */
    uint64_t tree_ns;      /* its device nodes and xenstore tree written */
    uint64_t pages_ns;     /* the pages and the rest of the stream read and checked */
    uint64_t state_ns;     /* kxend's saved state loaded (vCPUs, events, grants, devices) */
    uint64_t introduce_ns; /* xenstored introduced to the domain */
    uint64_t backends_ns;  /* backends in InitWait, hotplug scripts run */
    uint64_t unpause_ns;   /* the unpause (and the feature-suspend rewrite) */
    uint64_t total_ns;
    uint64_t pages, zero_pages; /* pages in the stream, of which sent without data */
};
void kxl_restore_times(const struct kxl_ctx *ctx, struct kxl_restore_times *out);

/* ---- Live migration (Xen's xl migrate / migrate-receive; docs/migration.md) ---- */
#define KXL_MIGRATE_MAX_ROUNDS 8
struct kxl_migrate_stats {
    struct kxl_save_stats save; /* pages over all rounds */
    unsigned rounds;            /* pre-copy rounds before the stop-and-copy */
    uint64_t pages_per_round[KXL_MIGRATE_MAX_ROUNDS];
    uint64_t final_pages; /* sent with the guest stopped */
    bool converged;       /* the pre-copy met its target, else it ran out of rounds */
    unsigned throttle;    /* the highest throttle the guest got, % of its vCPU time */
    uint64_t suspend_ns;  /* when the guest was suspended (CLOCK_MONOTONIC) */
    uint64_t downtime_ns; /* suspend to the receiver's report that its copy runs */
    /* The guest's downtime as the two kxends saw it: its last instruction here (pause or
     * suspend) to its first on the destination; 0 when the receiver did not say. */
    uint64_t guest_downtime_ns;
    uint64_t total_ns;
    /* downtime_ns phase by phase, each measured here (they add up to it): */
    uint64_t suspend_wait_ns; /* the suspend request (or pause) until the guest stopped */
    uint64_t last_collect_ns; /* the last dirty pages collected, kxend's state read */
    uint64_t last_send_ns;    /* those pages and the state sent, the stream ended */
    uint64_t dest_load_ns;    /* the receiver's copy loaded, until it says it is ready */
    uint64_t dest_unpause_ns; /* cleared to run, until the receiver reports its copy runs */
};
/* One pre-copy round as it ended (for progress lines). */
struct kxl_migrate_progress {
    unsigned round;    /* from 1 */
    uint64_t sent;     /* pages sent in the round */
    uint64_t dirty;    /* pages written meanwhile: the next round's */
    uint64_t round_ns; /* how long the round took (send and collect) */
    unsigned throttle; /* % of the guest's vCPU time taken away from now on */
    bool raised;       /* this round raised the throttle */
    bool last;         /* the stop-and-copy follows */
    bool converged;    /* ... because the target was met */
    /* The round's send rate (guest memory, as struct kxl_progress counts it) and, at that
     * rate, how long the dirty pages will take: the next round, or the stop and copy when
     * last is set (-1: the round took no measurable time). */
    double pages_per_s, mb_per_s;
    double eta_s;
};
/* How a migration converges (docs/migration.md). Zeroed: Xen-like rounds with throttling. */
struct kxl_migrate_opts {
    unsigned max_rounds; /* pre-copy rounds, at most KXL_MIGRATE_MAX_ROUNDS (0: that) */
    /* Stop once the dirty pages would take at most this long to send at the last round's
     * rate (0: only once fewer than 64 are dirty). */
    unsigned downtime_ms;
    /* Never slow the guest down: what is dirty after max_rounds is sent stopped. Otherwise
     * each round in which the guest dirtied more than half of what was sent raises the
     * throttle (20, 40, 60, 80, 90, 95, 99 % of its vCPU time taken away). */
    bool no_throttle;
    /* How long the guest has to answer the suspend request (0: Xen's 60 s). A guest that took
     * the request and suspends later still (within 60 s more) is resumed: its suspend call
     * returns 1, as after a failed migration. */
    unsigned suspend_timeout_s;
    void (*progress)(void *opaque, const struct kxl_migrate_progress *p); /* may be NULL */
    void *opaque;
};
/* Xen's handshake messages (banner without its NUL, the others with it). */
extern const char kxl_migrate_banner[], kxl_migrate_ready[], kxl_migrate_go[], kxl_migrate_report[];
/* Sends domain domid to a receiver reading send_fd and answering on recv_fd. The source is
 * destroyed once the receiver reports its copy runs; on any failure before that it runs on. */
int kxl_domain_migrate_send(struct kxl_ctx *ctx, uint16_t domid, const char *config_text,
                            int send_fd, int recv_fd, struct kxl_migrate_stats *ms);
/* The same with opts (NULL: the defaults). */
int kxl_domain_migrate_send_opts(struct kxl_ctx *ctx, uint16_t domid, const char *config_text,
                                 int send_fd, int recv_fd, const struct kxl_migrate_opts *opts,
                                 struct kxl_migrate_stats *ms);
/* The receiving side: banner, stream, the domain built paused as NAME--incoming, then renamed
 * and unpaused (unless paused) when the sender clears it; destroyed if the sender does not.
 * A sender silent for idle_timeout_s seconds (0: no bound) is given up: -ETIMEDOUT, nothing
 * left behind. */
int kxl_domain_migrate_receive(struct kxl_ctx *ctx, int recv_fd, int send_fd, bool paused,
                               unsigned idle_timeout_s, uint16_t *domid_out,
                               struct kxl_domain_config *dc_out);

#endif
