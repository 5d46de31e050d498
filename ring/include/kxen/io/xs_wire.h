/* xenstore wire protocol: message header, message types, error names and the shared ring page.
 * Names, values and layout follow Xen's public io/xs_wire.h (checked by ring/tests conformance
 * tests); the text is kxen's own. */
#ifndef KXEN_IO_XS_WIRE_H
#define KXEN_IO_XS_WIRE_H

#include <stdint.h>

/* Message types: the values are the wire ABI. 20 (the old XS_RESTRICT) is unused. */
enum xsd_sockmsg_type {
    XS_CONTROL = 0,
    XS_DIRECTORY = 1,
    XS_READ = 2,
    XS_GET_PERMS = 3,
    XS_WATCH = 4,
    XS_UNWATCH = 5,
    XS_TRANSACTION_START = 6,
    XS_TRANSACTION_END = 7,
    XS_INTRODUCE = 8,
    XS_RELEASE = 9,
    XS_GET_DOMAIN_PATH = 10,
    XS_WRITE = 11,
    XS_MKDIR = 12,
    XS_RM = 13,
    XS_SET_PERMS = 14,
    XS_WATCH_EVENT = 15,
    XS_ERROR = 16,
    XS_IS_DOMAIN_INTRODUCED = 17,
    XS_RESUME = 18,
    XS_SET_TARGET = 19,
    XS_RESET_WATCHES = 21,
    XS_DIRECTORY_PART = 22,
    XS_TYPE_COUNT = 23,
    XS_INVALID = 0xffff,
};
#define XS_DEBUG XS_CONTROL

/* Legacy write-mode strings (payload of an old-style XS_WRITE). */
#define XS_WRITE_NONE "NONE"
#define XS_WRITE_CREATE "CREATE"
#define XS_WRITE_CREATE_EXCL "CREATE|EXCL"

/* Errors travel as their errno names; the order of this table is part of the ABI. */
struct xsd_errors {
    int errnum;
    const char *errstring;
};
#ifdef EINVAL
/* clang-format off */
#define KXEN_XSD_ERR(e) {e, #e}
/* clang-format on */
static const struct xsd_errors xsd_errors[] __attribute__((unused)) = {
    KXEN_XSD_ERR(EINVAL),    KXEN_XSD_ERR(EACCES),  KXEN_XSD_ERR(EEXIST), KXEN_XSD_ERR(EISDIR),
    KXEN_XSD_ERR(ENOENT),    KXEN_XSD_ERR(ENOMEM),  KXEN_XSD_ERR(ENOSPC), KXEN_XSD_ERR(EIO),
    KXEN_XSD_ERR(ENOTEMPTY), KXEN_XSD_ERR(ENOSYS),  KXEN_XSD_ERR(EROFS),  KXEN_XSD_ERR(EBUSY),
    KXEN_XSD_ERR(EAGAIN),    KXEN_XSD_ERR(EISCONN), KXEN_XSD_ERR(E2BIG),  KXEN_XSD_ERR(EPERM),
};
#undef KXEN_XSD_ERR
#endif

/* Every message: this header, then len bytes (usually NUL-terminated strings). */
struct xsd_sockmsg {
    uint32_t type;   /* enum xsd_sockmsg_type */
    uint32_t req_id; /* echoed in the reply */
    uint32_t tx_id;  /* transaction, 0 for none */
    uint32_t len;    /* payload bytes that follow */
};

/* Fields of an XS_WATCH_EVENT payload. */
enum xs_watch_type { XS_WATCH_PATH = 0, XS_WATCH_TOKEN };

/* The xenstore ring page shared between a guest and xenstored. Free-running indices. */
#define XENSTORE_RING_SIZE 1024
typedef uint32_t XENSTORE_RING_IDX;
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE]; /* guest -> xenstored */
    char rsp[XENSTORE_RING_SIZE]; /* xenstored -> guest: replies and watch events */
    XENSTORE_RING_IDX req_cons, req_prod;
    XENSTORE_RING_IDX rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
};

#define XENSTORE_PAYLOAD_MAX 4096
#define XENSTORE_ABS_PATH_MAX 3072
#define XENSTORE_REL_PATH_MAX 2048

#define XENSTORE_SERVER_FEATURE_RECONNECTION 1
#define XENSTORE_SERVER_FEATURE_ERROR 2
#define XENSTORE_CONNECTED 0
#define XENSTORE_RECONNECT 1
#define XENSTORE_ERROR_NONE 0
#define XENSTORE_ERROR_COMM 1
#define XENSTORE_ERROR_RINGIDX 2
#define XENSTORE_ERROR_PROTO 3

#endif
