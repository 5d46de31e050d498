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
};

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
/* 1 when the unix socket <rundir>/<sock> accepts a connection. */
int kxl_service_answers(const char *rundir, const char *sock);

#endif
