/* libkxl's save, restore and migration internals: the stream writer and reader pieces
 * (save_stream.c, restore_stream.c) that save.c, restore.c and the migration code put
 * together. */
#ifndef KXL_SAVE_H
#define KXL_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxen/ctl_save.h"
#include "kxl/kxl.h"
#include "stream_format.h"

struct kxl_swriter;
struct kxl_sreader;

/* The xl header with config_text, the libxl header, kxen's prologue, LIBXC_CONTEXT, the libxc
 * headers and STATIC_DATA_END. */
int kxl__write_header(struct kxl_swriter *w, const char *config_text,
                      const struct kxl_prologue *pro);
/* The prologue of domain domid (ram_size bytes of RAM) as this host runs it. */
int kxl__prologue(struct kxl_ctx *ctx, uint16_t domid, uint64_t ram_size, struct kxl_prologue *pro);
/* One PAGE_DATA record of the n pages pfns[] (at most LIBXC_MAX_BATCH) read from ram. */
int kxl__write_pages(struct kxl_swriter *w, const uint8_t *ram, const uint64_t *present,
                     const uint64_t *pfns, unsigned n, struct kxl_save_stats *st);
/* X86_TSC_INFO, HVM_PARAMS, HVM_CONTEXT and END of libxc, kxend's state, END of libxl. */
int kxl__write_tail(struct kxl_swriter *w, const struct kxen_save_hdr *kx, uint32_t kx_len);
/* The whole image of a suspended or paused domain. */
int kxl__write_domain(struct kxl_ctx *ctx, uint16_t domid, struct kxl_swriter *w,
                      const char *config_text, struct kxl_save_stats *st);
/* kxend's state of a paused or suspended domain (free *out). */
int kxl__save_state(struct kxl_ctx *ctx, uint16_t domid, struct kxen_save_hdr **out, uint32_t *len);
/* config_text (given to xl save or xl migrate -C) with a last `vif =` line in which every vif
 * without mac= names the MAC its backend was built with, so the restored guest's netfront
 * finds the address its peers know. *out: the new text (free it), or NULL when nothing is
 * added (no vifs, all named, or text that does not parse: the restore reports that). */
int kxl__config_keep_macs(struct kxl_ctx *ctx, uint16_t domid, const char *config_text, char **out);
/* The size of the domain's RAM (what it was built with, ballooned pages included). */
int kxl__ram_size(struct kxl_ctx *ctx, uint16_t domid, uint64_t *size);
/* The domain's RAM through its memfd (munmap size bytes); present (may be NULL) gets the
 * bitmap of pages that were ever written, or NULL when unknown (free it). */
int kxl__map_ram(struct kxl_ctx *ctx, uint16_t domid, bool writable, uint8_t **ram, uint64_t *size,
                 uint64_t **present);

/* A stream read and validated (restore_stream.c). */
struct kxl_image {
    char *config_text;
    struct kxl_prologue pro; /* valid when has_pro */
    bool has_pro;
    bool fixed;   /* ram is the domain's own memory (the caller maps and unmaps it) */
    uint8_t *ram; /* ram_size bytes, pages as the stream had them */
    uint64_t ram_size;
    uint64_t *data; /* bitmap: pages that carry data (the others are zero, never touched) */
    struct kxen_save_hdr *kx; /* kxend's state, kx_len bytes */
    uint32_t kx_len;
    uint64_t pages, zero_pages;
    uint64_t page_bytes; /* of the PAGE_DATA records read, headers included (progress) */
};
/* The head: xl header and config, libxl header, kxen's prologue if any, libxc headers. */
int kxl__image_read_head(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                         struct kxl_image *img);
/* The rest: pages into img->ram (with fixed set: that memory, refusing pages beyond it; else
 * memory of its own), kxend's state, checks. A refusal frees img. */
int kxl__image_read_body(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                         struct kxl_image *img);
/* Head and body: a refusal names what is wrong in kxl_errmsg (source names the file or
 * connection). */
int kxl__image_read(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                    struct kxl_image *img);
void kxl__image_free(struct kxl_image *img);
/* After the head: reads the rest now unless the prologue lets the build stream it (restore.c). */
int kxl__image_read_rest(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                         struct kxl_image *img);
/* The image's RAM size, vCPUs and accelerator against config dc and this host. */
int kxl__image_check_fit(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                         const struct kxl_image *img, const char *source);
/* Builds a domain from img (the rest of its stream from r when it has a prologue) with config
 * dc (restore.c); paused leaves it paused. */
int kxl__image_restore(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                       struct kxl_sreader *r, const char *source, struct kxl_image *img,
                       bool paused, uint16_t *domid_out);

/* Suspends a domain for save (save.c): Xen's control/shutdown = "suspend" for a guest that
 * advertises control/feature-suspend, waited for timeout_s seconds (0: Xen's 60), else a
 * pause. *cooperative says which. On failure the domain is not left suspended: a guest that
 * took the request and suspends after the timeout (within 60 s more) has its suspend
 * cancelled. */
int kxl__suspend(struct kxl_ctx *ctx, uint16_t domid, unsigned timeout_s, bool *cooperative);
/* Undoes kxl__suspend on the source (checkpoint, failed migration): the guest's suspend call
 * returns 1 (cancelled), or the domain is unpaused. */
int kxl__resume(struct kxl_ctx *ctx, uint16_t domid, bool cooperative);
/* Cancels a guest's own suspend but leaves the domain paused (xl save -p). */
int kxl__resume_paused(struct kxl_ctx *ctx, uint16_t domid);

/* Migration handshake helpers (migrate.c): read exactly msg (waiting at most timeout_ms for
 * each byte, -1 for ever), or write it. */
int kxl_migrate_expect(int fd, const char *msg, size_t len, int timeout_ms);
int kxl_migrate_say(int fd, const char *msg, size_t len);

#endif
