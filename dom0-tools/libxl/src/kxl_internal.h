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
    char err[KXL_ERR_LEN];
};

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
    void *arg;
};
int kxl__domain_build(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, bool paused,
                      const struct kxl__loader *ld, uint16_t *domid_out);

/* 1 when the unix socket <rundir>/<sock> accepts a connection. */
int kxl_service_answers(const char *rundir, const char *sock);

#endif
