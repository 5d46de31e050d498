/* The xenbus backend core: one instance per device type (e.g. "vbd") in this domain.
 *
 * It owns the watch on /local/domain/<self>/backend/<type>, creates a device when a
 * <frontend-domid>/<devid> directory with a valid `frontend` key appears, watches that
 * frontend's `state`, and drives the backend state machine:
 *   probe                          -> InitWait
 *   frontend Initialised/Connected -> ops->connect, then Connected
 *   frontend Closing               -> ops->disconnect, Closing
 *   frontend Closed / vanished     -> ops->disconnect, Closed (and teardown when online=0)
 *   frontend Initialising after we are Closed -> InitWait again (a reconnect)
 *   toolstack online=0 + state Closing (or Closed) -> close, then teardown (ops->remove)
 * An online device found in InitWait, Initialised or Connected (left by a backend instance
 * that died) is adopted: probed again and connected again from the frontend's keys.
 * Devices read and write their keys only through the helpers below: no device builds a
 * xenstore path. Everything read from xenstore is hostile: lengths are bounded, integers are
 * parsed strictly, and a device that fails goes to Closed with `error` written, logged once.
 * Single-threaded: every call comes from the backend's event loop. */
#ifndef KXEN_DRIVERS_XENBUS_BACKEND_H
#define KXEN_DRIVERS_XENBUS_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <kxen/io/xenbus.h>

#include "platform.h"

#define XENBUS_PATH_MAX 256  /* longest path the core builds or accepts */
#define XENBUS_VALUE_MAX 256 /* longest key value the helpers read */
#define XENBUS_NAME_MAX 48

struct xenbus_backend;

struct xenbus_device {
    struct xenbus_backend *be;
    char name[XENBUS_NAME_MAX]; /* "<type>-<frontend-id>-<devid>", for logs */
    uint32_t frontend_id;
    uint32_t devid;
    char be_path[XENBUS_PATH_MAX];
    char fe_path[XENBUS_PATH_MAX];
    enum xenbus_state state;    /* what we last wrote to <be>/state */
    enum xenbus_state fe_state; /* what we last read from <fe>/state */
    bool connected;             /* ops->connect succeeded and no disconnect since */
    bool failed;                /* an error was reported (logged once) */
    /* Set by ops->connect to hold the switch to Connected (netback waits for hotplug-status);
     * the device clears it and switches itself. */
    bool connect_held;
    /* Reconnects (Closed -> Initialising from the frontend) in the current window. */
    unsigned int reconnects;
    uint64_t reconnect_window_ns;
    void *priv; /* the device type's state */
};

struct xenbus_backend_ops {
    const char *type; /* the backend directory name: "vbd" */
    /* A new device: write the features the frontend reads before it connects. */
    int (*probe)(struct xenbus_device *dev);
    /* The frontend is Initialised (or Connected): read its keys, map the rings, write the
     * keys the frontend reads on connection. The core then switches to Connected. On failure
     * the device may report the precise reason with xenbus_dev_fatal itself. */
    int (*connect)(struct xenbus_device *dev);
    /* Undo connect (idempotent: only called after a successful connect). */
    void (*disconnect)(struct xenbus_device *dev);
    /* The device is going away: free priv. */
    void (*remove)(struct xenbus_device *dev);
    /* Optional: a key of the device's backend directory that the core does not handle changed
     * (e.g. hotplug-status, written by whoever plugged the device in). */
    void (*backend_key_changed)(struct xenbus_device *dev, const char *key);
};

/* Log sink: libraries never print, the daemon passes its logger. */
typedef void (*xenbus_log_fn)(void *ctx, const char *msg);

struct xenbus_backend *xenbus_backend_new(struct xenbus_platform *p,
                                          const struct xenbus_backend_ops *ops, xenbus_log_fn log,
                                          void *log_ctx);
/* Limits the backend to the devices of one frontend domain (before start): a backend
 * process that serves one guest is not disturbed by what another guest does to its own. */
int xenbus_backend_limit_frontend(struct xenbus_backend *be, uint32_t frontend_id);
/* Watches the type's directory and probes the devices already there. */
int xenbus_backend_start(struct xenbus_backend *be);
/* Handles every queued xenstore watch event. Returns the number handled or -errno. */
int xenbus_backend_poll(struct xenbus_backend *be);
/* xenbus_backend_poll(), then the handlers of every event channel of the platform that fired
 * (xenbus_evtchn_dispatch). Returns the number of events handled or -errno. */
int xenbus_backend_poll_events(struct xenbus_backend *be);
/* A device type's configured queue count: 0 means 1, more than max means max. */
unsigned int xenbus_clamp_queues(unsigned int queues, unsigned int max);
/* Handles one watch event (path, token) as delivered by the platform. */
void xenbus_backend_handle_watch(struct xenbus_backend *be, const char *path, const char *token);
/* Tears every device down and drops the watches. */
void xenbus_backend_free(struct xenbus_backend *be);

struct xenbus_platform *xenbus_backend_platform(struct xenbus_backend *be);
/* The device type's own state for the whole backend (e.g. its configuration). */
void xenbus_backend_set_priv(struct xenbus_backend *be, void *priv);
void *xenbus_backend_priv(struct xenbus_backend *be);
unsigned int xenbus_backend_nr_devices(struct xenbus_backend *be);
struct xenbus_device *xenbus_backend_find(struct xenbus_backend *be, uint32_t frontend_id,
                                          uint32_t devid);

/* ---- State and errors ---------------------------------------------------------------------- */
int xenbus_switch_state(struct xenbus_device *dev, enum xenbus_state state);
/* Reports a device failure: logs "<name>: <msg>: <strerror>" once, writes <be>/error, closes
 * the device (disconnect, Closed). err is a negative errno. */
void xenbus_dev_fatal(struct xenbus_device *dev, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs once per device without closing it. */
void xenbus_dev_log(struct xenbus_device *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- Key helpers (keys are relative, e.g. "ring-ref" or "queue-0/event-channel") ---------- */
enum xenbus_end { XENBUS_BACKEND, XENBUS_FRONTEND };

/* Reads a key into buf (NUL-terminated); returns its length, -ENOENT, -EOVERFLOW. */
int xenbus_read_key(struct xenbus_device *dev, enum xenbus_end end, const char *key, char *buf,
                    size_t len);
/* Reads an unsigned decimal key, strictly: digits only, no sign, no spaces, no leading zeros
 * (except "0"), no overflow, value <= max. Returns 0, -ENOENT, or -EINVAL for anything else. */
int xenbus_scan_uint(struct xenbus_device *dev, enum xenbus_end end, const char *key, uint64_t max,
                     uint64_t *out);
/* As xenbus_scan_uint, but an absent key yields def. */
int xenbus_scan_uint_default(struct xenbus_device *dev, enum xenbus_end end, const char *key,
                             uint64_t max, uint64_t def, uint64_t *out);
/* Writes a formatted value (t may be XENBUS_TXN_NULL). */
int xenbus_printf(struct xenbus_device *dev, xenbus_txn_t t, enum xenbus_end end, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Several unsigned keys at once (as Linux's xenbus_gather): stops at the first failure. */
struct xenbus_gather_uint {
    const char *key;
    uint64_t max;
    uint64_t *out;
    bool optional; /* absent: *out keeps its value */
};
int xenbus_gather(struct xenbus_device *dev, enum xenbus_end end,
                  const struct xenbus_gather_uint *keys, unsigned int n);

/* Runs body inside a transaction and commits it, retrying the whole body when the commit
 * conflicts (-EAGAIN; bounded). A body error aborts the transaction and is returned. */
int xenbus_transact(struct xenbus_platform *p, int (*body)(xenbus_txn_t t, void *arg), void *arg);
/* Writes a set of backend keys in one transaction, retrying on -EAGAIN (bounded). */
struct xenbus_kv {
    const char *key;
    char value[32];
};
int xenbus_write_features(struct xenbus_device *dev, const struct xenbus_kv *kv, unsigned int n);

/* Strict unsigned decimal parser shared with tests; see xenbus_scan_uint. */
int xenbus_parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
