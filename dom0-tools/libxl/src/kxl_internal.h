/* libkxl internals shared by its files. */
#ifndef KXL_INTERNAL_H
#define KXL_INTERNAL_H

#include <limits.h>

#include "kxl/kxl.h"

struct kxl_ctx {
    struct kxen_ctl *ctl;
    struct xs_handle *xs;
    char rundir[PATH_MAX];
    char accel[16];
    uint32_t xen_version; /* from kxend's HELLO: major << 16 | minor */
    uint32_t kxend_pid;
    unsigned started; /* daemons the embedded start started for this context */
    char gone[160];   /* the daemons among them that had died ("kxend (pid N), ...") */
    char err[KXL_ERR_LEN];
    struct kxl_restore_times rt;   /* the last restore's phases (kxl_restore_times) */
    uint64_t rt_mark;              /* when the phase being timed began; 0: no restore timed */
    kxl_build_hook_fn *build_hook; /* kxl_set_build_hook; NULL: none */
    void *build_hook_arg;
    kxl_progress_fn *progress; /* kxl_set_progress; NULL: none */
    void *progress_arg;
    struct kxl_progress prog; /* the save or restore under way (progress.c) */
    uint64_t prog_t0;         /* when its first page went; 0: none under way */
};

/* Progress of a save's or restore's pages (progress.c): begin before the first page (total 0
 * when not known), pages after each batch, end after the last (total becomes done when it
 * was not known; reported unless the last batch already was). Nothing without a callback. */
void kxl__progress_begin(struct kxl_ctx *ctx, const char *op, uint64_t total);
void kxl__progress_pages(struct kxl_ctx *ctx, uint64_t done, uint64_t bytes);
void kxl__progress_end(struct kxl_ctx *ctx, uint64_t done, uint64_t bytes);

/* Starts timing a restore's phases afresh (restore.c). */
void kxl__rt_start(struct kxl_ctx *ctx);
/* Ends a restore phase now: its time since the last mark is added to *phase (a field of
 * ctx->rt). Nothing outside a restore (rt_mark 0). */
void kxl__rt_phase(struct kxl_ctx *ctx, uint64_t *phase);

/* Tells the build hook (orphan.c), if any, about domid. */
void kxl__build_event(struct kxl_ctx *ctx, enum kxl_build_event ev, uint16_t domid,
                      const uint8_t *uuid);
/* Test-only (orphan.c): with KXEN_TEST_BUILD_HOLD naming a file that exists, the build waits
 * there before the introduce. */
void kxl__build_hold(void);

/* kxl_services_ensure_ex that also names, in gone, the daemons it replaced because they had
 * died (kxl_services_replaced). */
int kxl__services_ensure(const char *rundir, unsigned *started, char *gone, size_t gonelen,
                         char *err, size_t errlen);

/* Records the reason for the caller (kxl_errmsg) and returns rc. */
int kxl_fail(struct kxl_ctx *ctx, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Why kxend refused the last call (rc): its own reason when it gave one, else strerror. */
const char *kxl_hv_reason(struct kxl_ctx *ctx, int rc);

/* Thin wrappers over kxend's control ops (kxen/ctl_domain.h, kxen/ctl_evtchn.h). */
int kxl_hv_domid_op(struct kxl_ctx *ctx, uint32_t op, uint16_t domid, uint32_t arg);
int kxl_hv_getinfo(struct kxl_ctx *ctx, uint16_t domid, bool next, struct kxl_dominfo *info);

/* Xenstore helpers: printf-style path and value; return 0 or -errno. */
int kxl_xs_printf(struct kxl_ctx *ctx, uint32_t t, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
char *kxl_xs_read(struct kxl_ctx *ctx, const char *path);
/* What fills a new domain's memory and vCPUs in kxl__domain_build: the kernel loader (ld
 * NULL, kxl_domain_create) or a restore (restore.c). load gets the store and console ports
 * allocated for the domain and returns the pfns of their rings. */
struct kxl__loader {
    int (*load)(struct kxl_ctx *ctx, uint16_t domid, uint32_t store_port, uint32_t console_port,
                uint64_t *store_pfn, uint64_t *console_pfn, void *arg);
    /* Optional: runs once the domain's xenstore tree and devices exist, before xenstored is
     * introduced to it: a restore fills its memory and vCPUs here, so the domain's setup
     * happens while the pages are still on their way. */
    int (*finish)(struct kxl_ctx *ctx, uint16_t domid, void *arg);
    void *arg;
};
int kxl__domain_build(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, bool paused,
                      const struct kxl__loader *ld, uint16_t *domid_out);

/* 1 when the unix socket <rundir>/<sock> accepts a connection. */
int kxl_service_answers(const char *rundir, const char *sock);

/* Type "hvm" domains (hvm.c). */
struct kxl_hvm_build {
    uint16_t domid;                    /* in: created, not yet built */
    uint32_t store_port, console_port; /* in */
    bool restore;                      /* in: the machine only (KXEN_HVM_BOOT_RESTORE) */
    uint64_t ram_end;                  /* out: RAM the guest may use */
    uint64_t store_pfn, console_pfn;   /* out */
    char serial_tty[64];               /* out: the COM1 pty's slave, "" without serial = "pty" */
};
/* HVM_BUILD with image_fds (the firmware, or the kernel and the ramdisk or -1: opened and
 * checked by the caller, which keeps them; none for restore), then the emulated PC's devices,
 * the same list for a restore as at the first build; the domain stays
 * paused. 0 or -errno with the
 * reason recorded (kxl_fail). */
int kxl__hvm_build(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                   struct kxl_hvm_build *hb, const int image_fds[2]);
/* One DEVICE_ADD: model name, its options, and fd (-1: none) sent along. */
int kxl__hvm_device_add(struct kxl_ctx *ctx, uint16_t domid, const char *name, const char *options,
                        int fd);
/* The vif's MAC (nic.c): its mac= or Xen's OUI 00:16:3e with three random bytes, as libxl
 * picks one. 0, or -EIO with the reason recorded. */
int kxl__vif_mac(struct kxl_ctx *ctx, const struct kxl_vif *v, uint8_t mac[6]);
/* A vif type=ioemu (hvm_nic.c): checked before the domain exists, then its tap and RTL8139. */
int kxl__hvm_nic_check(struct kxl_ctx *ctx, const struct kxl_vif *v, const char *label);
int kxl__hvm_nic_add(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_vif *v, uint32_t devid);
/* An hd* disk: the emulated IDE controller's, not a PV vbd. */
bool kxl__hvm_disk_is_ide(const struct kxl_disk *k);

/* Whether the guest listens for control/shutdown (admin.c): 1 for pv and pvh domains and for
 * an hvm domain whose PV drivers set HVM_PARAM_CALLBACK_IRQ (Xen's test), 0 for an hvm domain
 * without them, or -errno. */
int kxl__domain_pv_control(struct kxl_ctx *ctx, uint16_t domid);

#endif
