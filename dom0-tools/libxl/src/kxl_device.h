/* libkxl's PV device internals shared by device.c (layout, removal), hotplug.c (scripts),
 * disk.c and nic.c (the keys of each kind). */
#ifndef KXL_DEVICE_H
#define KXL_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "kxl_internal.h"

#define KXL_DEV_MAX_KEYS 24
#define KXL_DEV_PATH_MAX 160
/* Xen's libxl bounds (libxl_internal.h): backend to InitWait, a hotplug script, a close. */
#define KXL_DEV_INIT_TIMEOUT_MS 10000
#define KXL_HOTPLUG_TIMEOUT_MS 40000
#define KXL_DEV_DESTROY_TIMEOUT_MS 10000

struct kxl_devkv {
    bool ro; /* a frontend key the guest may read but not change (libxl's ro_fents) */
    char key[32];
    char val[KXL_DEV_PATH_MAX * 2];
};

/* One device's nodes, built before the transaction so that a retried transaction writes the
 * same values (a generated MAC stays the same). */
struct kxl_devnodes {
    char kind[8];
    uint16_t domid, backend_domid;
    uint32_t devid;
    char label[96];                /* how errors name the entry: "disk 'vdev=xvda,...'" */
    char script[KXL_DEV_PATH_MAX]; /* hotplug script run on add/remove ("" none) */
    unsigned int nr_fe, nr_be;
    struct kxl_devkv fe[KXL_DEV_MAX_KEYS], be[KXL_DEV_MAX_KEYS];
};

struct kxl_devpaths {
    char fe[KXL_DEV_PATH_MAX], be[KXL_DEV_PATH_MAX], lx[KXL_DEV_PATH_MAX];
};

void kxl__dev_init(struct kxl_devnodes *n, const char *kind, uint16_t domid, uint16_t bdomid,
                   uint32_t devid);
void kxl__dev_set(struct kxl_devnodes *n, bool backend, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A frontend key written read-only for the guest. */
void kxl__dev_set_ro(struct kxl_devnodes *n, const char *key, const char *val);
void kxl__dev_paths(const char *kind, uint16_t domid, uint16_t bdomid, uint32_t devid,
                    struct kxl_devpaths *p);
/* Writes the frontend, backend and /libxl nodes inside transaction t. */
int kxl__dev_write(struct kxl_ctx *ctx, uint32_t t, const struct kxl_devnodes *n);
/* Runs fn in a transaction, retried while the commit conflicts. */
int kxl__xs_txn(struct kxl_ctx *ctx, int (*fn)(struct kxl_ctx *ctx, uint32_t t, void *arg),
                void *arg);
int kxl__xs_read_int(struct kxl_ctx *ctx, const char *dir, const char *key);
/* Waits for <be_path>/state == want: 0, -ETIMEDOUT, or -EIO when the backend closed while we
 * waited for an earlier state. *last gets the last state seen (-1 absent). */
int kxl__dev_wait_state(struct kxl_ctx *ctx, const char *be_path, int want, int timeout_ms,
                        int *last);
/* Cooperative removal (forced at once with force, or after timeout_ms): returns 0, 1 when
 * the timeout forced it, or -errno. */
int kxl__dev_remove(struct kxl_ctx *ctx, const char *kind, uint16_t domid, uint32_t devid,
                    bool force, int timeout_ms);
int kxl__dev_list_ids(struct kxl_ctx *ctx, const char *kind, uint16_t domid, uint32_t **ids,
                      size_t *nr);
/* A declared driver domain going away: marks dom0's copy of client's device (served by it)
 * with the driver domain's name, for kxl__devices_adopt (device_adopt.c). */
void kxl__devices_mark_orphans(struct kxl_ctx *ctx, uint16_t ddomid, const char *kind,
                               const char *client, const char *devid);
/* A driver domain named name was built as ddomid: every device marked with its name gets a
 * backend directory there and its frontend is pointed at it. Returns how many. */
int kxl__devices_adopt(struct kxl_ctx *ctx, uint16_t ddomid, const char *name);
/* Waits for the backend to reach InitWait, then runs the hotplug "add" script if any. */
int kxl__dev_bring_up(struct kxl_ctx *ctx, const struct kxl_devnodes *n);
/* Runs <be>/script with action "add" or "remove" as Xen does (local backends only). For add:
 * 0 when it exited 0 and wrote hotplug-status=connected, else -errno with the reason
 * (hotplug-error) in the context. */
int kxl__hotplug_run(struct kxl_ctx *ctx, const char *be_path, const char *kind, uint16_t domid,
                     uint32_t devid, const char *action);
/* Adds a device hot (its own transaction, then brought up; removed again on failure). */
int kxl__dev_add_hot(struct kxl_ctx *ctx, struct kxl_devnodes *n);
/* backend= (a domain name or id; NULL, 0 and Domain-0 are dom0). */
int kxl__resolve_backend(struct kxl_ctx *ctx, const char *name, uint16_t *domid);
/* script=: absolute, or a name in Xen's script directory. 0 when executable, else -errno. */
int kxl__resolve_script(const char *script, char *out, size_t len);
/* The directory of the kxen programs (KXEN_BINDIR or the running program's). */
int kxl__bindir(char *buf, size_t len);

/* Building the nodes of each kind; checks that need no domain come first. */
int kxl__disk_check(struct kxl_ctx *ctx, const struct kxl_disk *d, const char *label);
int kxl__disk_nodes(struct kxl_ctx *ctx, const struct kxl_disk *d, uint16_t domid,
                    struct kxl_devnodes *n);
int kxl__nic_check(struct kxl_ctx *ctx, const struct kxl_vif *v, const char *label);
int kxl__nic_nodes(struct kxl_ctx *ctx, const struct kxl_vif *v, uint16_t domid, uint32_t devid,
                   struct kxl_devnodes *n);

#endif
