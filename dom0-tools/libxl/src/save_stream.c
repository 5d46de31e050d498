/* Writing a domain as Xen's stream (stream_format.h): the xl header with the domain's
 * config as xl.cfg text, the libxl v2 stream around a libxc v3 stream of an HVM domain
 * (STATIC_DATA_END, PAGE_DATA batches, X86_TSC_INFO, HVM_PARAMS, HVM_CONTEXT, END), then
 * kxend's own state in an EMULATOR_CONTEXT record (emulator id 0, skipped by Xen's tools)
 * and END. Pages are read from the domain's memfd; zero pages go as XALLOC entries without
 * data. The domain must be suspended or paused by the caller (save.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_gnttab.h"
#include "kxen/ctl_save.h"
#include "kxl_internal.h"
#include "kxl_save.h"
#include "stream_format.h"
#include "stream_io.h"

static const uint8_t zeros[8];

static int rec(struct kxl_swriter *w, uint32_t type, const void *a, uint32_t alen, const void *b,
               uint32_t blen)
{
    struct stream_rhdr h = {type, alen + blen};
    int rc = kxl_swriter_write(w, &h, sizeof(h));
    if (!rc && alen)
        rc = kxl_swriter_write(w, a, alen);
    if (!rc && blen)
        rc = kxl_swriter_write(w, b, blen);
    uint32_t pad = (8 - (alen + blen) % 8) % 8;
    return rc ? rc : pad ? kxl_swriter_write(w, zeros, pad) : 0;
}

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    for (unsigned i = 0; i < 512; i += 8)
        if (q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] | q[i + 7])
            return false;
    return true;
}

/* One PAGE_DATA record for the pages pfns[]; a page outside present (a hole of the memfd,
 * never written) is known zero without being read, which would allocate it. */
int kxl__write_pages(struct kxl_swriter *w, const uint8_t *ram, const uint64_t *present,
                     const uint64_t *pfns, unsigned n, struct kxl_save_stats *st)
{
    struct {
        struct libxc_page_data_hdr h;
        uint64_t pfn[LIBXC_MAX_BATCH];
    } b;
    uint32_t nr_data = 0;
    b.h.count = n;
    b.h.reserved = 0;
    for (unsigned i = 0; i < n; i++) {
        bool hole = present && !(present[pfns[i] / 64] & (1ull << (pfns[i] % 64)));
        bool zero = hole || page_is_zero(ram + (pfns[i] << 12));
        b.pfn[i] = pfns[i] | (zero ? LIBXC_PFN_TYPE_XALLOC : LIBXC_PFN_TYPE_NOTAB)
                                 << LIBXC_PFN_TYPE_SHIFT;
        nr_data += !zero;
        st->zero_pages += zero;
    }
    st->pages += n;
    uint32_t hl = (uint32_t)(sizeof(b.h) + n * sizeof(uint64_t));
    struct stream_rhdr h = {LIBXC_REC_PAGE_DATA, hl + nr_data * 4096u};
    int rc = kxl_swriter_write(w, &h, sizeof(h));
    if (!rc)
        rc = kxl_swriter_write(w, &b, hl);
    for (unsigned i = 0; i < n && !rc; i++)
        if (!(b.pfn[i] >> LIBXC_PFN_TYPE_SHIFT))
            rc = kxl_swriter_write(w, ram + (pfns[i] << 12), 4096);
    /* hl is a multiple of 8 and pages are 4096: no padding */
    return rc;
}

int kxl__prologue(struct kxl_ctx *ctx, uint16_t domid, uint64_t ram_size, struct kxl_prologue *pro)
{
    struct kxl_dominfo di;
    int rc = kxl_hv_getinfo(ctx, domid, false, &di);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u does not exist", domid);
    *pro = (struct kxl_prologue){.magic = KXL_PROLOGUE_MAGIC,
                                 .version = KXL_PROLOGUE_VERSION,
                                 .ram_size = ram_size,
                                 .nr_vcpus = di.nr_vcpus,
                                 .store_pfn = di.store_pfn,
                                 .console_pfn = di.console_pfn};
    snprintf(pro->accel, sizeof(pro->accel), "%s", kxl_accel(ctx));
    return 0;
}

int kxl__write_header(struct kxl_swriter *w, const char *config_text,
                      const struct kxl_prologue *pro)
{
    uint32_t clen = (uint32_t)strlen(config_text) + 1;
    struct xl_save_header xh = {.byteorder = XL_SAVE_BYTEORDER,
                                .mandatory_flags = XL_MANDATORY_FLAG_STREAMv2,
                                .optional_data_len = 4 + clen};
    memcpy(xh.magic, XL_SAVE_MAGIC, XL_SAVE_MAGIC_LEN);
    struct libxl_stream_hdr lh = {.ident = __builtin_bswap64(LIBXL_STREAM_IDENT),
                                  .version = __builtin_bswap32(LIBXL_STREAM_VERSION)};
    struct libxc_ihdr ih = {.marker = LIBXC_IHDR_MARKER,
                            .id = __builtin_bswap32(LIBXC_IHDR_ID),
                            .version = __builtin_bswap32(LIBXC_IHDR_VERSION)};
    struct libxc_dhdr dh = {
        .type = LIBXC_DHDR_TYPE_X86_HVM, .page_shift = 12, .xen_major = 4, .xen_minor = 17};
    int rc = kxl_swriter_write(w, &xh, sizeof(xh));
    if (!rc)
        rc = kxl_swriter_write(w, &clen, 4);
    if (!rc)
        rc = kxl_swriter_write(w, config_text, clen);
    if (!rc)
        rc = kxl_swriter_write(w, &lh, sizeof(lh));
    struct libxl_emulator_hdr eh = {LIBXL_EMULATOR_UNKNOWN, KXL_PROLOGUE_INDEX};
    if (!rc)
        rc = rec(w, LIBXL_REC_EMULATOR_CONTEXT, &eh, sizeof(eh), pro, sizeof(*pro));
    if (!rc)
        rc = rec(w, LIBXL_REC_LIBXC_CONTEXT, NULL, 0, NULL, 0);
    if (!rc)
        rc = kxl_swriter_write(w, &ih, sizeof(ih));
    if (!rc)
        rc = kxl_swriter_write(w, &dh, sizeof(dh));
    if (!rc)
        rc = rec(w, LIBXC_REC_STATIC_DATA_END, NULL, 0, NULL, 0);
    return rc;
}

/* Calls fn(arg, body, len, instance) for each kxen record of type in kxend's blob (whose
 * framing kxend wrote). */
static void each_kx_record(const struct kxen_save_hdr *kx, uint32_t kx_len, uint32_t type,
                           void (*fn)(void *arg, const uint8_t *body, uint32_t len,
                                      uint32_t instance),
                           void *arg)
{
    const uint8_t *b = (const uint8_t *)kx;
    uint32_t off = sizeof(*kx);
    while (off + sizeof(struct kxen_save_rec) <= kx_len) {
        struct kxen_save_rec r;
        memcpy(&r, b + off, sizeof(r));
        off += sizeof(r);
        if (r.len > kx_len - off)
            return;
        if (r.type == type)
            fn(arg, b + off, r.len, r.instance);
        off += (r.len + 7u) & ~7u;
    }
}

struct hvm_ctx_build {
    uint8_t *buf;
    uint32_t len, cap;
    uint16_t code;
};

static void ctx_append(struct hvm_ctx_build *c, const void *p, uint32_t len)
{
    if (!c->buf || c->len + len > c->cap) {
        uint32_t cap = c->cap * 2 > c->len + len ? c->cap * 2 : c->len + len + 4096;
        uint8_t *n = realloc(c->buf, cap);
        if (!n) {
            free(c->buf);
            c->buf = NULL;
            c->cap = 0;
            return;
        }
        c->buf = n;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, len);
    c->len += len;
}

static void ctx_add_record(void *arg, const uint8_t *body, uint32_t len, uint32_t instance)
{
    struct hvm_ctx_build *c = arg;
    if (instance >> 16 != c->code)
        return;
    struct hvm_save_desc d = {c->code, (uint16_t)instance, len};
    ctx_append(c, &d, sizeof(d));
    ctx_append(c, body, len);
}

/* Xen's HVM context: the header, kxend's copies of Xen's records (KXEN_SREC_XEN_HVM) in
 * typecode order as Xen's hvm_save writes them, and END. NULL when out of memory. */
static uint8_t *hvm_context(const struct kxen_save_hdr *kx, uint32_t kx_len, uint32_t *len)
{
    struct hvm_ctx_build c = {0};
    struct hvm_save_desc d0 = {HVM_SAVE_CODE_HEADER, 0, sizeof(struct hvm_save_header_rec)};
    struct hvm_save_header_rec h = {HVM_FILE_MAGIC, HVM_FILE_VERSION, 0, 0, 1000000};
    ctx_append(&c, &d0, sizeof(d0));
    ctx_append(&c, &h, sizeof(h));
    for (c.code = HVM_SAVE_CODE_HEADER + 1; c.code < HVM_SAVE_CODE_MAX && c.buf; c.code++)
        each_kx_record(kx, kx_len, KXEN_SREC_XEN_HVM, ctx_add_record, &c);
    struct hvm_save_desc end = {HVM_SAVE_CODE_END, 0, 0};
    ctx_append(&c, &end, sizeof(end));
    *len = c.len;
    return c.buf;
}

int kxl__write_tail(struct kxl_swriter *w, const struct kxen_save_hdr *kx, uint32_t kx_len)
{
    /* Xen's TSC_MODE_DEFAULT: the guest reads the host's TSC, whose rate (calibrated by
     * kxend) may differ on the next host; nsec is the guest's system time at the save.
     * kxen does not count a domain's incarnations: 0. */
    struct libxc_tsc_info tsc = {
        .mode = LIBXC_TSC_MODE_DEFAULT, .khz = kx->tsc_khz, .nsec = kx->system_time_ns};
    int rc = rec(w, LIBXC_REC_X86_TSC_INFO, &tsc, sizeof(tsc), NULL, 0);
    struct {
        struct libxc_hvm_params_hdr h;
        struct libxc_hvm_param p[KXEN_SAVE_NR_PARAMS];
    } pr = {0};
    for (unsigned i = 0; i < KXEN_SAVE_NR_PARAMS; i++)
        if (kx->hvm_params[i])
            pr.p[pr.h.count++] = (struct libxc_hvm_param){i, kx->hvm_params[i]};
    if (!rc)
        rc = rec(w, LIBXC_REC_HVM_PARAMS, &pr,
                 (uint32_t)(sizeof(pr.h) + pr.h.count * sizeof(pr.p[0])), NULL, 0);
    uint32_t ctx_len = 0;
    uint8_t *hvm_ctx = rc ? NULL : hvm_context(kx, kx_len, &ctx_len);
    if (!rc && !hvm_ctx)
        rc = -ENOMEM;
    if (!rc)
        rc = rec(w, LIBXC_REC_HVM_CONTEXT, hvm_ctx, ctx_len, NULL, 0);
    free(hvm_ctx);
    if (!rc)
        rc = rec(w, LIBXC_REC_END, NULL, 0, NULL, 0);
    struct libxl_emulator_hdr eh = {LIBXL_EMULATOR_UNKNOWN, 0};
    if (!rc)
        rc = rec(w, LIBXL_REC_EMULATOR_CONTEXT, &eh, sizeof(eh), kx, kx_len);
    if (!rc)
        rc = rec(w, LIBXL_REC_END, NULL, 0, NULL, 0);
    return rc;
}

/* The pages of the memfd that hold data (SEEK_DATA/SEEK_HOLE): a bitmap, or NULL when the
 * file system cannot say (then every page is read). */
static uint64_t *data_pages(int fd, uint64_t size)
{
    uint64_t pages = size >> 12;
    uint64_t *bm = calloc((pages + 63) / 64, 8);
    if (!bm)
        return NULL;
    off_t off = 0;
    while ((uint64_t)off < size) {
        off_t d = lseek(fd, off, SEEK_DATA);
        if (d < 0) {
            if (errno == ENXIO)
                break;
            free(bm);
            return NULL;
        }
        off_t h = lseek(fd, d, SEEK_HOLE);
        if (h < 0 || h <= d) {
            free(bm);
            return NULL;
        }
        for (uint64_t p = (uint64_t)d >> 12; p < ((uint64_t)h + 4095) >> 12 && p < pages; p++)
            bm[p / 64] |= 1ull << (p % 64);
        off = h;
    }
    return bm;
}

/* FOREIGN_MAP of domid: its reply and the memfd of its RAM (the caller closes it). */
static int foreign_map(struct kxl_ctx *ctx, uint16_t domid, struct kxen_ctl_foreign_map_rep *r,
                       int *fd)
{
    struct kxen_ctl_foreign_map a = {.domid = domid};
    uint32_t len = 0;
    unsigned nfds = 1;
    *fd = -1;
    int rc = kxen_ctl_call(ctx->ctl, KXEN_CTL_FOREIGN_MAP, &a, sizeof(a), NULL, 0, r, sizeof(*r),
                           &len, fd, &nfds);
    if (rc == 0 && (len < sizeof(*r) || nfds < 1)) {
        if (nfds >= 1)
            close(*fd);
        rc = -EPROTO;
    }
    return rc;
}

int kxl__ram_size(struct kxl_ctx *ctx, uint16_t domid, uint64_t *size)
{
    struct kxen_ctl_foreign_map_rep r;
    int fd;
    int rc = foreign_map(ctx, domid, &r, &fd);
    if (rc == 0) {
        close(fd);
        *size = r.ram_size;
    }
    return rc;
}

int kxl__map_ram(struct kxl_ctx *ctx, uint16_t domid, bool writable, uint8_t **ram, uint64_t *size,
                 uint64_t **present)
{
    struct kxen_ctl_foreign_map_rep r;
    int fd;
    int rc = foreign_map(ctx, domid, &r, &fd);
    if (rc < 0)
        return rc;
    void *p = mmap(NULL, r.ram_size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (p != MAP_FAILED && present)
        *present = data_pages(fd, r.ram_size);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    *ram = p;
    *size = r.ram_size;
    return 0;
}

int kxl__save_state(struct kxl_ctx *ctx, uint16_t domid, struct kxen_save_hdr **out, uint32_t *len)
{
    struct kxen_ctl_domid_arg a = {.domid = domid};
    void *buf = malloc(KXEN_CTL_MAX_PAYLOAD);
    if (!buf)
        return -ENOMEM;
    int rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_SAVE_BEGIN, &a, sizeof(a), buf,
                             KXEN_CTL_MAX_PAYLOAD, len);
    if (rc == 0 && *len < sizeof(struct kxen_save_hdr))
        rc = -EPROTO;
    if (rc < 0) {
        free(buf);
        return kxl_fail(ctx, rc, "kxend refused to save domain %u: %s", domid,
                        kxl_hv_reason(ctx, rc));
    }
    *out = buf;
    return 0;
}

int kxl__write_domain(struct kxl_ctx *ctx, uint16_t domid, struct kxl_swriter *w,
                      const char *config_text, struct kxl_save_stats *st)
{
    struct kxen_save_hdr *kx;
    uint32_t kx_len;
    uint8_t *ram;
    uint64_t size, *present = NULL;
    int rc = kxl__save_state(ctx, domid, &kx, &kx_len);
    if (rc < 0)
        return rc;
    if ((rc = kxl__map_ram(ctx, domid, false, &ram, &size, &present)) < 0) {
        free(kx);
        return kxl_fail(ctx, rc, "cannot map the memory of domain %u: %s", domid, strerror(-rc));
    }
    struct kxl_prologue pro;
    rc = kxl__prologue(ctx, domid, size, &pro);
    if (!rc)
        rc = kxl__write_header(w, config_text, &pro);
    uint64_t pages = size >> 12, pfns[LIBXC_MAX_BATCH], bytes0 = kxl_swriter_bytes(w);
    kxl__progress_begin(ctx, "save", pages);
    for (uint64_t first = 0; first < pages && !rc; first += LIBXC_MAX_BATCH) {
        unsigned n = pages - first < LIBXC_MAX_BATCH ? (unsigned)(pages - first) : LIBXC_MAX_BATCH;
        for (unsigned i = 0; i < n; i++)
            pfns[i] = first + i;
        rc = kxl__write_pages(w, ram, present, pfns, n, st);
        if (!rc)
            kxl__progress_pages(ctx, first + n, kxl_swriter_bytes(w) - bytes0);
    }
    if (!rc)
        kxl__progress_end(ctx, pages, kxl_swriter_bytes(w) - bytes0);
    if (!rc)
        rc = kxl__write_tail(w, kx, kx_len);
    free(present);
    munmap(ram, size);
    free(kx);
    if (rc < 0)
        return kxl_fail(ctx, rc, "writing the image of domain %u failed: %s", domid, strerror(-rc));
    return 0;
}
