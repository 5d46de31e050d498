/* The domain builder's bzImage part: a Linux x86 bzImage (what /boot/vmlinuz is) carries the
 * whole ELF vmlinux, compressed, as its "payload". PVH boot skips Linux's own real-mode setup
 * and decompressor, so the builder reads the setup header (Documentation/x86/boot.rst: the
 * "HdrS" magic, protocol 2.08+ for payload_offset/payload_length), decompresses the payload
 * by its magic and hands the ELF on. The image is untrusted: every header field is checked
 * against the file before use, and the decompressed size is bounded (KXEN_MAX_KERNEL). */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#if __has_include(<zstd.h>)
#include <zstd.h>
#define HAVE_ZSTD 1
#else
#define HAVE_ZSTD 0
#endif

#include "core.h"
#include "kxen/util.h"
#include "loader_internal.h"

/* Setup header offsets from the start of the image (boot protocol). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_END 0x250
/* payload_offset/payload_length appeared in boot protocol 2.08. */
#define MIN_PROTOCOL 0x208

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool loader_is_bzimage(const uint8_t *img, size_t len)
{
    return len >= HDR_END && !memcmp(img + HDR_MAGIC, "HdrS", 4) && img[HDR_BOOT_FLAG] == 0x55 &&
           img[HDR_BOOT_FLAG + 1] == 0xaa;
}

static int xz_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *got,
                     char *msg, size_t msglen)
{
    lzma_stream s = LZMA_STREAM_INIT;
    /* The kernel's XZ dictionary is at most 32 MiB; 256 MiB bounds a hostile header. */
    if (lzma_stream_decoder(&s, 256u << 20, 0) != LZMA_OK)
        return loader_fail(msg, msglen, -ENOMEM, "bzImage payload: cannot start the XZ decoder");
    s.next_in = in;
    s.avail_in = in_len;
    s.next_out = out;
    s.avail_out = out_len;
    /* liblzma reports a stream that stops early as LZMA_OK first, LZMA_BUF_ERROR once no
     * further progress is possible. */
    lzma_ret r;
    do
        r = lzma_code(&s, LZMA_FINISH);
    while (r == LZMA_OK);
    *got = out_len - s.avail_out;
    lzma_end(&s);
    if (r == LZMA_STREAM_END)
        return 0;
    if (r == LZMA_BUF_ERROR && !s.avail_out)
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage payload (XZ): decompresses to more than the %zu bytes its "
                           "trailer states",
                           out_len);
    if (r == LZMA_BUF_ERROR)
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage payload (XZ): truncated (stream ends after %zu of %zu "
                           "decompressed bytes)",
                           *got, out_len);
    return loader_fail(msg, msglen, -EINVAL, "bzImage payload (XZ): corrupt (liblzma error %d)",
                       (int)r);
}

static int gzip_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *got,
                       char *msg, size_t msglen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return loader_fail(msg, msglen, -ENOMEM, "bzImage payload: cannot start the gzip decoder");
    int r = Z_OK;
    /* zlib's counters are 32-bit: feed and drain in chunks. */
    while (r == Z_OK) {
        if (!z.avail_in) {
            size_t used = (size_t)(z.next_in ? z.next_in - in : 0);
            z.next_in = (Bytef *)in + used;
            z.avail_in = (uInt)KXEN_MIN(in_len - used, (size_t)1 << 30);
        }
        if (!z.avail_out) {
            size_t done = (size_t)(z.next_out ? z.next_out - out : 0);
            z.next_out = out + done;
            z.avail_out = (uInt)KXEN_MIN(out_len - done, (size_t)1 << 30);
        }
        if (!z.avail_in || !z.avail_out)
            break;
        r = inflate(&z, Z_NO_FLUSH);
    }
    *got = (size_t)(z.next_out - out);
    inflateEnd(&z);
    if (r == Z_STREAM_END)
        return 0;
    if (r == Z_OK && *got == out_len)
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage payload (gzip): decompresses to more than the %zu bytes its "
                           "trailer states",
                           out_len);
    if (r == Z_OK || r == Z_BUF_ERROR)
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage payload (gzip): truncated (stream ends after %zu of %zu "
                           "decompressed bytes)",
                           *got, out_len);
    return loader_fail(msg, msglen, -EINVAL, "bzImage payload (gzip): corrupt (zlib error %d)", r);
}

static int zstd_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *got,
                       char *msg, size_t msglen)
{
#if HAVE_ZSTD
    size_t n = ZSTD_decompress(out, out_len, in, in_len);
    if (ZSTD_isError(n))
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage payload (zstd): corrupt or truncated (%s)",
                           ZSTD_getErrorName(n));
    *got = n;
    return 0;
#else
    (void)in, (void)in_len, (void)out, (void)out_len, (void)got;
    return loader_fail(msg, msglen, -ENOEXEC,
                       "bzImage payload is zstd-compressed, and kxend was built without "
                       "libzstd (XZ and gzip are supported)");
#endif
}

/* The other compressors Linux offers (CONFIG_KERNEL_*), named in the refusal. p has at
 * least 12 bytes. */
static const char *other_format(const uint8_t *p)
{
    if (!memcmp(p, "BZh", 3))
        return "bzip2";
    if (le32(p) == 0x184c2102)
        return "LZ4";
    if (!memcmp(p, "\x89LZO", 4))
        return "LZO";
    if (p[0] == 0x5d && p[1] == 0 && p[2] == 0)
        return "LZMA";
    return NULL;
}

int loader_bzimage_extract(const uint8_t *img, size_t len, uint8_t **out, size_t *out_len,
                           char *msg, size_t msglen)
{
    *out = NULL;
    *out_len = 0;
    if (!loader_is_bzimage(img, len))
        return loader_fail(msg, msglen, -ENOEXEC,
                           "bzImage: no setup header (\"HdrS\" and boot flag 0xaa55)");
    unsigned version = img[HDR_VERSION] | img[HDR_VERSION + 1] << 8;
    if (version < MIN_PROTOCOL)
        return loader_fail(msg, msglen, -ENOEXEC,
                           "bzImage: boot protocol %u.%02u has no payload fields (2.08+ needed)",
                           version >> 8, version & 0xff);
    /* setup_sects 0 means 4 (boot.rst); the protected-mode part starts after them. */
    unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
    uint64_t pm_start = ((uint64_t)sects + 1) * 512;
    uint64_t poff = pm_start + le32(img + HDR_PAYLOAD_OFFSET);
    uint64_t plen = le32(img + HDR_PAYLOAD_LENGTH);
    if (!loader_in_range(poff, plen, len))
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage: truncated (payload at %llu+%llu, the file has %zu bytes)",
                           (unsigned long long)poff, (unsigned long long)plen, len);
    /* Linux appends the decompressed size (le32) to every compressed payload. */
    if (plen < 16)
        return loader_fail(msg, msglen, -EINVAL, "bzImage: payload of %llu bytes is too short",
                           (unsigned long long)plen);
    const uint8_t *p = img + poff;
    size_t n = (size_t)plen - 4;
    size_t want = le32(p + n);
    if (want == 0 || want > KXEN_MAX_KERNEL)
        return loader_fail(msg, msglen, -EFBIG,
                           "bzImage payload: stated decompressed size %zu bytes is outside "
                           "1 .. %u MiB",
                           want, KXEN_MAX_KERNEL >> 20);
    int (*decode)(const uint8_t *, size_t, uint8_t *, size_t, size_t *, char *, size_t) = NULL;
    if (!memcmp(p,
                "\xfd"
                "7zXZ\0",
                6))
        decode = xz_decode;
    else if (p[0] == 0x1f && p[1] == 0x8b)
        decode = gzip_decode;
    else if (le32(p) == 0xfd2fb528)
        decode = zstd_decode;
    if (!decode) {
        const char *f = other_format(p);
        if (f)
            return loader_fail(msg, msglen, -ENOEXEC,
                               "bzImage payload is %s-compressed; kxend decompresses XZ, gzip%s", f,
                               HAVE_ZSTD ? " and zstd" : "");
        return loader_fail(msg, msglen, -EINVAL,
                           "bzImage payload: unknown compression (first bytes %02x %02x %02x "
                           "%02x)",
                           p[0], p[1], p[2], p[3]);
    }
    uint8_t *buf = malloc(want);
    if (!buf)
        return loader_fail(msg, msglen, -ENOMEM, "bzImage payload: no memory for %zu bytes", want);
    size_t got = 0;
    int rc = decode(p, n, buf, want, &got, msg, msglen);
    if (rc == 0 && got != want)
        rc = loader_fail(msg, msglen, -EINVAL,
                         "bzImage payload: decompressed to %zu bytes, its trailer states %zu", got,
                         want);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = want;
    return 0;
}
