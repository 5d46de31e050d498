/* Reading a save image or migration stream (stream_format.h), checking every header, record
 * type, length and padding, every pfn against the RAM size and kxend's state header. The head
 * (config, kxen's prologue) comes first; the body (pages, state) goes straight into the new
 * domain's memory when the prologue let restore.c build it first, else into an anonymous
 * mapping grown with the highest page (images without a prologue). Messages name the file
 * and what is wrong, as a user needs to hear it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kxl_internal.h"
#include "kxl_save.h"
#include "stream_format.h"
#include "stream_io.h"

#define MAX_CONFIG (1u << 20)
#define MAX_RAM (64ull << 30)

struct rd {
    struct kxl_ctx *ctx;
    struct kxl_sreader *r;
    const char *src;
};

static int rd_fail(struct rd *s, int rc, const char *what)
{
    if (rc == -ENODATA || rc == -EPIPE)
        return kxl_fail(s->ctx, -EPIPE, "%s is truncated (it ends inside the %s)", s->src, what);
    if (rc == -ETIMEDOUT)
        return kxl_fail(s->ctx, rc,
                        "%s stalled: nothing arrived within the receiver's timeout (in the "
                        "%s); gave up",
                        s->src, what);
    if (rc == -EBADMSG)
        return kxl_fail(s->ctx, rc,
                        "%s is corrupt: its compressed data fails the gzip checks "
                        "(CRC or format) in the %s",
                        s->src, what);
    return kxl_fail(s->ctx, rc, "reading %s failed in the %s: %s", s->src, what, strerror(-rc));
}

static int rd_exact(struct rd *s, void *buf, size_t len, const char *what)
{
    int rc = kxl_sreader_read(s->r, buf, len);
    return rc < 0 ? rd_fail(s, rc, what) : 0;
}

static int rd_rhdr(struct rd *s, struct stream_rhdr *h, const char *what)
{
    return rd_exact(s, h, sizeof(*h), what);
}

static int rd_pad(struct rd *s, uint32_t len, const char *what)
{
    uint8_t pad[8];
    uint32_t n = (8 - len % 8) % 8;
    int rc = n ? rd_exact(s, pad, n, what) : 0;
    for (uint32_t i = 0; i < n && !rc; i++)
        if (pad[i])
            rc = kxl_fail(s->ctx, -EINVAL, "%s is corrupt: non-zero padding after a %s", s->src,
                          what);
    return rc;
}

static int read_xl_header(struct rd *s, struct kxl_image *img)
{
    struct xl_save_header h;
    int rc = rd_exact(s, &h, sizeof(h), "xl header");
    if (rc)
        return rc;
    if (memcmp(h.magic, XL_SAVE_MAGIC, XL_SAVE_MAGIC_LEN))
        return kxl_fail(s->ctx, -EINVAL, "%s is not a saved domain image (no xl save header)",
                        s->src);
    if (h.byteorder != XL_SAVE_BYTEORDER)
        return kxl_fail(s->ctx, -EINVAL, "%s was saved on a host of the other byte order", s->src);
    if (h.mandatory_flags & ~(XL_MANDATORY_FLAG_STREAMv2 | XL_MANDATORY_FLAG_JSON))
        return kxl_fail(s->ctx, -EPROTO, "%s needs features this xl lacks (mandatory flags %#x)",
                        s->src, h.mandatory_flags);
    if (!(h.mandatory_flags & XL_MANDATORY_FLAG_STREAMv2))
        return kxl_fail(s->ctx, -EPROTO,
                        "%s holds a legacy (pre-v2) stream, which kxen does not "
                        "read",
                        s->src);
    if (h.mandatory_flags & XL_MANDATORY_FLAG_JSON)
        return kxl_fail(s->ctx, -EPROTO,
                        "%s carries its config as JSON, which kxen's xl does not "
                        "read: give a config file (xl restore FILE CFG)",
                        s->src);
    uint32_t clen;
    if (h.optional_data_len < 4 || h.optional_data_len > MAX_CONFIG + 4)
        return kxl_fail(s->ctx, -EINVAL,
                        "%s has an impossible config size (%u bytes of header "
                        "data)",
                        s->src, h.optional_data_len);
    if ((rc = rd_exact(s, &clen, 4, "xl header")))
        return rc;
    if (clen > h.optional_data_len - 4)
        return kxl_fail(s->ctx, -EINVAL, "%s: config length %u overruns the header", s->src, clen);
    if (!(img->config_text = calloc(1, h.optional_data_len - 4 + 1)))
        return kxl_fail(s->ctx, -ENOMEM, "out of memory");
    return rd_exact(s, img->config_text, h.optional_data_len - 4, "config");
}

/* kxen's prologue record (stream_format.h): at most one, before LIBXC_CONTEXT. */
static int read_prologue(struct rd *s, struct kxl_image *img, uint32_t len)
{
    struct libxl_emulator_hdr eh;
    if (img->has_pro || len != sizeof(eh) + sizeof(img->pro))
        return kxl_fail(s->ctx, -EINVAL, "%s: a %u-byte emulator record before the libxc stream",
                        s->src, len);
    int rc = rd_exact(s, &eh, sizeof(eh), "prologue");
    if (!rc)
        rc = rd_exact(s, &img->pro, sizeof(img->pro), "prologue");
    if (!rc)
        rc = rd_pad(s, len, "prologue");
    if (rc)
        return rc;
    const struct kxl_prologue *p = &img->pro;
    if (eh.id != LIBXL_EMULATOR_UNKNOWN || eh.index != KXL_PROLOGUE_INDEX ||
        p->magic != KXL_PROLOGUE_MAGIC)
        return kxl_fail(s->ctx, -EINVAL,
                        "%s: an emulator record kxen does not know before the "
                        "libxc stream",
                        s->src);
    if (p->version != KXL_PROLOGUE_VERSION)
        return kxl_fail(s->ctx, -EPROTO, "%s: kxen prologue version %u, this xl reads version %u",
                        s->src, p->version, KXL_PROLOGUE_VERSION);
    if (!p->ram_size || p->ram_size % 4096 || p->ram_size > MAX_RAM ||
        strnlen(p->accel, sizeof(p->accel)) == sizeof(p->accel))
        return kxl_fail(s->ctx, -EINVAL, "%s: the kxen prologue is corrupt", s->src);
    img->has_pro = true;
    return 0;
}

static int read_stream_headers(struct rd *s, struct kxl_image *img)
{
    struct libxl_stream_hdr lh;
    struct stream_rhdr rh;
    struct libxc_ihdr ih;
    struct libxc_dhdr dh;
    int rc = rd_exact(s, &lh, sizeof(lh), "libxl header");
    if (rc)
        return rc;
    if (__builtin_bswap64(lh.ident) != LIBXL_STREAM_IDENT)
        return kxl_fail(s->ctx, -EINVAL, "%s: no libxl stream after the xl header", s->src);
    if (__builtin_bswap32(lh.version) != LIBXL_STREAM_VERSION)
        return kxl_fail(s->ctx, -EPROTO, "%s: libxl stream version %u, this xl reads version %u",
                        s->src, __builtin_bswap32(lh.version), LIBXL_STREAM_VERSION);
    if (__builtin_bswap32(lh.options))
        return kxl_fail(s->ctx, -EPROTO,
                        "%s: libxl stream options %#x (big-endian or legacy) "
                        "are not supported",
                        s->src, __builtin_bswap32(lh.options));
    if ((rc = rd_rhdr(s, &rh, "libxl stream")))
        return rc;
    if (rh.type == LIBXL_REC_EMULATOR_CONTEXT) {
        if ((rc = read_prologue(s, img, rh.length)) || (rc = rd_rhdr(s, &rh, "libxl stream")))
            return rc;
    }
    if (rh.type != LIBXL_REC_LIBXC_CONTEXT || rh.length)
        return kxl_fail(s->ctx, -EINVAL,
                        "%s: the libxl stream does not start with LIBXC_CONTEXT "
                        "(record type %u)",
                        s->src, rh.type);
    if ((rc = rd_exact(s, &ih, sizeof(ih), "libxc header")) ||
        (rc = rd_exact(s, &dh, sizeof(dh), "libxc domain header")))
        return rc;
    if (ih.marker != LIBXC_IHDR_MARKER || __builtin_bswap32(ih.id) != LIBXC_IHDR_ID)
        return kxl_fail(s->ctx, -EINVAL, "%s: bad libxc image header", s->src);
    if (__builtin_bswap32(ih.version) != LIBXC_IHDR_VERSION)
        return kxl_fail(s->ctx, -EPROTO, "%s: libxc stream version %u, this xl reads version %u",
                        s->src, __builtin_bswap32(ih.version), LIBXC_IHDR_VERSION);
    if (ih.options || ih.reserved1 || ih.reserved2)
        return kxl_fail(s->ctx, -EPROTO, "%s: libxc header options or reserved bits set", s->src);
    if (dh.type != LIBXC_DHDR_TYPE_X86_HVM)
        return kxl_fail(s->ctx, -EXDEV,
                        "%s holds an %s domain; kxen restores x86 HVM-type "
                        "streams only",
                        s->src,
                        dh.type == LIBXC_DHDR_TYPE_X86_PV ? "x86 PV" : "unknown-architecture");
    if (dh.page_shift != 12)
        return kxl_fail(s->ctx, -EXDEV, "%s: page shift %u, this host's pages are 4 KiB", s->src,
                        dh.page_shift);
    return 0;
}

static int read_pages(struct rd *s, struct kxl_image *img, uint32_t len)
{
    struct libxc_page_data_hdr ph;
    static uint64_t pfn[LIBXC_MAX_BATCH];
    if (len < sizeof(ph))
        return kxl_fail(s->ctx, -EINVAL, "%s: PAGE_DATA record too short", s->src);
    int rc = rd_exact(s, &ph, sizeof(ph), "page data");
    if (rc)
        return rc;
    if (ph.count == 0 || ph.count > LIBXC_MAX_BATCH || ph.reserved ||
        len < sizeof(ph) + (uint64_t)ph.count * 8)
        return kxl_fail(s->ctx, -EINVAL, "%s: PAGE_DATA record with %u pages is malformed", s->src,
                        ph.count);
    if ((rc = rd_exact(s, pfn, ph.count * 8u, "page data")))
        return rc;
    uint64_t data = 0;
    for (uint32_t i = 0; i < ph.count; i++) {
        uint64_t type = pfn[i] >> LIBXC_PFN_TYPE_SHIFT, p = pfn[i] & LIBXC_PFN_MASK;
        if (type != LIBXC_PFN_TYPE_NOTAB && type != LIBXC_PFN_TYPE_XALLOC &&
            type != LIBXC_PFN_TYPE_XTAB)
            return kxl_fail(s->ctx, -EINVAL, "%s: page type %#llx is not one kxen writes", s->src,
                            (unsigned long long)type);
        if (type != LIBXC_PFN_TYPE_XTAB && p >= img->ram_size >> 12 && img->fixed)
            return kxl_fail(s->ctx, -EINVAL, "%s: page %#llx lies beyond the domain's %llu MiB",
                            s->src, (unsigned long long)p, (unsigned long long)img->ram_size >> 20);
        if (type != LIBXC_PFN_TYPE_XTAB && p >= img->ram_size >> 12) {
            uint64_t need = (p + 1) << 12;
            if (need > MAX_RAM)
                return kxl_fail(s->ctx, -EINVAL, "%s: page %#llx lies beyond any domain's RAM",
                                s->src, (unsigned long long)p);
            /* RAM grows with the highest page seen; kxend's header later pins its size. */
            uint64_t nsz = (need + (64ull << 20) - 1) & ~((64ull << 20) - 1);
            void *n = mremap(img->ram, img->ram_size, nsz, MREMAP_MAYMOVE);
            if (n == MAP_FAILED)
                return kxl_fail(s->ctx, -ENOMEM, "no memory to read %s", s->src);
            img->ram = n;
            uint64_t *bm = realloc(img->data, (nsz >> 12) / 8);
            if (!bm)
                return kxl_fail(s->ctx, -ENOMEM, "no memory to read %s", s->src);
            memset((uint8_t *)bm + (img->ram_size >> 12) / 8, 0, ((nsz - img->ram_size) >> 12) / 8);
            img->data = bm;
            img->ram_size = nsz;
        }
        data += type == LIBXC_PFN_TYPE_NOTAB;
    }
    if (len != sizeof(ph) + ph.count * 8ull + data * 4096)
        return kxl_fail(s->ctx, -EINVAL,
                        "%s: PAGE_DATA record length %u does not match its %u "
                        "pages",
                        s->src, len, ph.count);
    for (uint32_t i = 0; i < ph.count; i++) {
        uint64_t type = pfn[i] >> LIBXC_PFN_TYPE_SHIFT, p = pfn[i] & LIBXC_PFN_MASK;
        img->pages += type != LIBXC_PFN_TYPE_XTAB;
        uint64_t bit = 1ull << (p % 64);
        if (type == LIBXC_PFN_TYPE_NOTAB) {
            if ((rc = rd_exact(s, img->ram + (p << 12), 4096, "page data")))
                return rc;
            img->data[p / 64] |= bit;
        } else if (type == LIBXC_PFN_TYPE_XALLOC) {
            /* untouched pages stay unallocated; a page a former round filled is cleared */
            if (img->data[p / 64] & bit)
                memset(img->ram + (p << 12), 0, 4096);
            img->data[p / 64] &= ~bit;
            img->zero_pages++;
        }
    }
    img->page_bytes += sizeof(struct stream_rhdr) + len;
    kxl__progress_pages(s->ctx, img->pages, img->page_bytes);
    return 0;
}

/* Skips (reads and checks padding of) a record body kxen does not need. */
static int skip(struct rd *s, uint32_t len, const char *what)
{
    uint8_t buf[4096];
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < sizeof(buf) ? len - done : (uint32_t)sizeof(buf);
        int rc = rd_exact(s, buf, n, what);
        if (rc)
            return rc;
        done += n;
    }
    return rd_pad(s, len, what);
}

static int read_libxc(struct rd *s, struct kxl_image *img)
{
    for (;;) {
        struct stream_rhdr h;
        int rc = rd_rhdr(s, &h, "libxc stream");
        if (rc)
            return rc;
        switch (h.type) {
        case LIBXC_REC_END:
            return h.length ? kxl_fail(s->ctx, -EINVAL, "%s: libxc END with a body", s->src) : 0;
        case LIBXC_REC_PAGE_DATA:
            rc = read_pages(s, img, h.length);
            break;
        case LIBXC_REC_STATIC_DATA_END:
        case LIBXC_REC_X86_TSC_INFO:
        case LIBXC_REC_HVM_CONTEXT:
        case LIBXC_REC_HVM_PARAMS:
        case LIBXC_REC_X86_CPUID_POLICY:
        case LIBXC_REC_X86_MSR_POLICY:
            /* kxend's state carries these values itself (docs/save-format.md). */
            if (h.length > (1u << 24))
                return kxl_fail(s->ctx, -EINVAL, "%s: libxc record %u is %u bytes", s->src, h.type,
                                h.length);
            rc = skip(s, h.length, "libxc record");
            break;
        default:
            return kxl_fail(s->ctx, -EPROTO, "%s: libxc record type %u is not one kxen reads",
                            s->src, h.type);
        }
        if (rc)
            return rc;
    }
}

static int read_libxl_tail(struct rd *s, struct kxl_image *img)
{
    for (;;) {
        struct stream_rhdr h;
        int rc = rd_rhdr(s, &h, "libxl stream");
        if (rc)
            return rc;
        if (h.type == LIBXL_REC_END)
            return h.length ? kxl_fail(s->ctx, -EINVAL, "%s: libxl END with a body", s->src) : 0;
        if (h.type == LIBXL_REC_EMULATOR_XENSTORE_DATA) {
            if (h.length > (1u << 24))
                return kxl_fail(s->ctx, -EINVAL, "%s: emulator xenstore data too big", s->src);
            if ((rc = skip(s, h.length, "emulator record")))
                return rc;
            continue;
        }
        if (h.type != LIBXL_REC_EMULATOR_CONTEXT)
            return kxl_fail(s->ctx, -EPROTO, "%s: libxl record type %u is not one kxen reads",
                            s->src, h.type);
        struct libxl_emulator_hdr eh;
        if (h.length < sizeof(eh) + sizeof(struct kxen_save_hdr) ||
            h.length > sizeof(eh) + KXEN_CTL_MAX_PAYLOAD)
            return kxl_fail(s->ctx, -EINVAL, "%s: emulator context of %u bytes", s->src, h.length);
        if ((rc = rd_exact(s, &eh, sizeof(eh), "kxen state")))
            return rc;
        if (eh.id != LIBXL_EMULATOR_UNKNOWN || img->kx)
            return kxl_fail(s->ctx, -EPROTO, "%s: emulator %u state, kxen has no such emulator",
                            s->src, eh.id);
        img->kx_len = h.length - (uint32_t)sizeof(eh);
        if (!(img->kx = malloc(img->kx_len)))
            return kxl_fail(s->ctx, -ENOMEM, "out of memory");
        if ((rc = rd_exact(s, img->kx, img->kx_len, "kxen state")) ||
            (rc = rd_pad(s, h.length, "kxen state")))
            return rc;
    }
}

static int check_kx(struct rd *s, struct kxl_image *img)
{
    const struct kxen_save_hdr *k = img->kx;
    if (!k)
        return kxl_fail(s->ctx, -EINVAL, "%s has no kxen state record: not saved by kxen", s->src);
    if (k->magic != KXEN_SAVE_MAGIC)
        return kxl_fail(s->ctx, -EINVAL, "%s: the kxen state record is corrupt (magic)", s->src);
    if (k->version != KXEN_SAVE_VERSION)
        return kxl_fail(s->ctx, -EPROTO, "%s: kxen state version %u, this kxen reads version %u",
                        s->src, k->version, KXEN_SAVE_VERSION);
    if (k->records_len != img->kx_len - sizeof(*k))
        return kxl_fail(s->ctx, -EINVAL, "%s: the kxen state record is truncated", s->src);
    if (!k->ram_size || k->ram_size % 4096 || k->ram_size > MAX_RAM)
        return kxl_fail(s->ctx, -EINVAL, "%s: saved RAM size %llu is impossible", s->src,
                        (unsigned long long)k->ram_size);
    const struct kxl_prologue *pro = &img->pro;
    if (img->has_pro && (pro->ram_size != k->ram_size || pro->nr_vcpus != k->nr_vcpus ||
                         pro->store_pfn != k->store_pfn || pro->console_pfn != k->console_pfn ||
                         strncmp(pro->accel, k->accel, sizeof(pro->accel))))
        return kxl_fail(s->ctx, -EINVAL, "%s: the kxen state does not match the stream's prologue",
                        s->src);
    if (img->fixed && k->ram_size != img->ram_size)
        return kxl_fail(s->ctx, -EINVAL, "%s: saved RAM size %llu, the domain has %llu", s->src,
                        (unsigned long long)k->ram_size, (unsigned long long)img->ram_size);
    for (uint64_t p = k->ram_size >> 12; p < img->ram_size >> 12; p++)
        if (img->data[p / 64] & (1ull << (p % 64)))
            return kxl_fail(s->ctx, -EINVAL, "%s has pages beyond its %llu MiB of RAM", s->src,
                            (unsigned long long)k->ram_size >> 20);
    if (img->ram_size < k->ram_size) {
        void *n = mremap(img->ram, img->ram_size, k->ram_size, MREMAP_MAYMOVE);
        uint64_t *bm = realloc(img->data, ((k->ram_size >> 12) + 63) / 64 * 8);
        if (n != MAP_FAILED)
            img->ram = n;
        if (bm)
            img->data = bm;
        if (n == MAP_FAILED || !bm)
            return kxl_fail(s->ctx, -ENOMEM, "no memory to read %s", s->src);
        memset((uint8_t *)bm + (img->ram_size >> 12) / 8, 0,
               ((k->ram_size >> 12) + 63) / 64 * 8 - (img->ram_size >> 12) / 8);
    } else if (img->ram_size > k->ram_size) {
        munmap(img->ram + k->ram_size, img->ram_size - k->ram_size);
    }
    img->ram_size = k->ram_size;
    if (img->pages < k->ram_size >> 12)
        return kxl_fail(s->ctx, -EINVAL,
                        "%s holds %llu pages of its %llu: the image is "
                        "incomplete",
                        s->src, (unsigned long long)img->pages,
                        (unsigned long long)(k->ram_size >> 12));
    return 0;
}

int kxl__image_read_head(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                         struct kxl_image *img)
{
    memset(img, 0, sizeof(*img));
    struct rd s = {ctx, r, source};
    int rc = read_xl_header(&s, img);
    if (!rc)
        rc = read_stream_headers(&s, img);
    if (rc)
        kxl__image_free(img);
    return rc;
}

int kxl__image_read_body(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                         struct kxl_image *img)
{
    struct rd s = {ctx, r, source};
    if (!img->ram) { /* into memory of its own, grown with the highest page */
        img->ram_size = 64ull << 20;
        img->ram = mmap(NULL, img->ram_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (img->ram == MAP_FAILED)
            img->ram = NULL;
    }
    if (!img->data)
        img->data = calloc(((img->ram_size >> 12) + 63) / 64, 8);
    if (!img->ram || !img->data) {
        kxl__image_free(img);
        return kxl_fail(ctx, -ENOMEM, "no memory to read %s", source);
    }
    /* Known from the prologue; an image without one is counted as it comes. */
    kxl__progress_begin(ctx, "restore", img->has_pro ? img->pro.ram_size >> 12 : 0);
    int rc = read_libxc(&s, img);
    if (!rc)
        kxl__progress_end(ctx, img->pages, img->page_bytes);
    if (!rc)
        rc = read_libxl_tail(&s, img);
    if (!rc)
        rc = check_kx(&s, img);
    if (rc)
        kxl__image_free(img);
    return rc;
}

int kxl__image_read(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                    struct kxl_image *img)
{
    int rc = kxl__image_read_head(ctx, r, source, img);
    return rc ? rc : kxl__image_read_body(ctx, r, source, img);
}

void kxl__image_free(struct kxl_image *img)
{
    if (img->ram && !img->fixed)
        munmap(img->ram, img->ram_size);
    free(img->config_text);
    free(img->kx);
    free(img->data);
    memset(img, 0, sizeof(*img));
}
