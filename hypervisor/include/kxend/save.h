/* The save/restore stream as subsystems see it (struct kxend_save_ctx of subsys.h and
 * device.h): a save hook appends records, a load hook asks for records by type and instance.
 * Record types and bodies are in kxen/ctl_save.h; the framing is the stream code's
 * (save_ctx.c). Hooks run with the domain's vCPU threads stopped. */
#ifndef KXEND_SAVE_H
#define KXEND_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxen/ctl_save.h"
#include "kxend/domain.h"

struct kxend_save_ctx;

/* Appends one record: 0, or -ENOSPC when the state does not fit the reply. */
int kxend_save_put(struct kxend_save_ctx *ctx, uint32_t type, uint32_t instance, const void *body,
                   uint32_t len);
/* The body of record (type, instance): its length (bytes beyond cap are not copied), or
 * -ENOENT. */
int kxend_save_get(struct kxend_save_ctx *ctx, uint32_t type, uint32_t instance, void *body,
                   uint32_t cap);
/* A load hook's refusal: why the state cannot be taken (the record and field), for the
 * toolstack's message. Returns -EINVAL for the hook to return. */
int kxend_load_refuse(struct kxend_save_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The reason buffer a load hook may fill itself (kxend_load_refuse's), and its size. */
char *kxend_load_reason(struct kxend_save_ctx *ctx, size_t *len);
/* The header of the blob being read or written (system time, params, pfns). */
const struct kxen_save_hdr *kxend_save_hdr(const struct kxend_save_ctx *ctx);

/* The guest suspended itself and resumes the way Xen guests resume in a new domain: it
 * binds its event channels and registers its vcpu_info again itself (KXEN_SAVE_LINUX_PVH),
 * so the load hooks leave those unset as Xen's fresh domain has them. */
static inline bool kxend_save_guest_rebinds(const struct kxend_save_ctx *ctx)
{
    const uint32_t both = KXEN_SAVE_SUSPENDED | KXEN_SAVE_LINUX_PVH;
    return (kxend_save_hdr(ctx)->flags & both) == both;
}

/* The stream code (save_ctx.c), for the control ops: runs every subsystem's save hook into
 * buf (cap bytes, starting with the header) and returns the blob's length, or -errno. */
int kxend_save_domain(struct domain *d, void *buf, uint32_t cap);
/* Validates blob (len bytes) and runs every load hook, then every post_load hook. reason
 * gets a sentence on refusal. */
int kxend_load_domain(struct domain *d, const void *blob, uint32_t len, char *reason,
                      size_t reason_len);

#endif
