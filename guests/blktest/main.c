/* blktest: the runtime's blkfront against a real blkback. Options on the kernel command line
 * (xl.cfg extra=), space-separated key=value:
 *   mode=rw        write the whole disk, flush, read back and verify, with direct (11-segment)
 *                  and, when negotiated, indirect requests, many in flight; mid-page buffers,
 *                  a discard, range refusals; the disk ends holding the pattern of seed+1
 *   mode=verify    read the whole disk and verify the pattern of seed
 *   mode=ro        the disk is read-only: writes are refused by the frontend and the backend,
 *                  reads work
 *   mode=bench     sequential 1 MiB write and read (seqdepth=N in flight, 1..32, default
 *                  4), 4 KiB random reads at depth 1 and 32; warm=1 reads the start of the
 *                  disk with the same buffers first, untimed, so the timed passes reuse
 *                  persistent grants instead of making them
 *   seed=N depth=N (1..32) order=N queues=N indirect=N (max indirect segments, 0 = none)
 *   persistent=0|1 devid=N
 *   wait=S         the disk is attached after boot: wait up to S seconds for it
 *   hold=1         stay connected after the test until the backend detaches the disk
 * The pattern: each 8-byte little-endian word at byte offset o of the disk holds
 * o ^ (seed * 0x9e3779b97f4a7c15), so any host tool can recompute what the guest wrote. */
#include <stdint.h>

#include <kxen/errno.h>

#include "guest/blkfront.h"
#include "guest/gnttab.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"

#define MS 1000000ull
#define OPEN_TIMEOUT_NS (30000 * MS)
#define IO_TIMEOUT_NS (60000 * MS)
#define MAX_DEPTH 32
#define DIRECT_BYTES (BLKIF_MAX_SEGMENTS_PER_REQUEST * PAGE_SIZE)
#define BUF_BYTES (128 * 1024) /* per request slot of a pass */
#define BENCH_BYTES (1024 * 1024)
#define BENCH_DEPTH 4 /* 1 MiB requests in flight (deeper did not help on soft: README) */

static struct blkfront dev;
static uint8_t bufs[MAX_DEPTH][BUF_BYTES] __attribute__((aligned(4096)));
static uint8_t edge[3 * 4096] __attribute__((aligned(4096)));

static unsigned long opt(const char *key, unsigned long def)
{
    size_t k = strlen(key);
    for (const char *s = boot_info.cmdline; *s; s++) {
        if ((s != boot_info.cmdline && s[-1] != ' ') || strncmp(s, key, k) || s[k] != '=')
            continue;
        unsigned long v = 0;
        for (s += k + 1; *s >= '0' && *s <= '9'; s++)
            v = v * 10 + (unsigned long)(*s - '0');
        return v;
    }
    return def;
}

static bool mode_is(const char *m)
{
    const char *s = boot_info.cmdline;
    size_t n = strlen(m);
    for (; *s; s++)
        if ((s == boot_info.cmdline || s[-1] == ' ') && !strncmp(s, "mode=", 5) &&
            !strncmp(s + 5, m, n) && (s[5 + n] == ' ' || !s[5 + n]))
            return true;
    return false;
}

static uint64_t seed_key(uint64_t seed)
{
    return seed * 0x9e3779b97f4a7c15ull;
}

static void fill(void *buf, uint64_t byte_off, size_t len, uint64_t seed)
{
    uint64_t *w = buf, k = seed_key(seed);
    for (size_t i = 0; i < len / 8; i++)
        w[i] = (byte_off + i * 8) ^ k;
}

static bool matches(const void *buf, uint64_t byte_off, size_t len, uint64_t seed)
{
    const uint64_t *w = buf;
    uint64_t k = seed_key(seed);
    for (size_t i = 0; i < len / 8; i++)
        if (w[i] != ((byte_off + i * 8) ^ k))
            return false;
    return true;
}

/* One pass over the disk: chunk-sized requests, up to depth in flight. */
struct pass {
    uint8_t op;
    uint64_t seed;
    size_t chunk;
    uint64_t next, end; /* byte offsets */
    unsigned errors, mismatches, submit_errors;
    uint64_t bytes;
    struct blkfront_req reqs[MAX_DEPTH];
};

static void pass_done(struct blkfront_req *req)
{
    struct pass *p = req->ctx;
    if (req->status != BLKIF_RSP_OKAY)
        p->errors++;
    else if (p->op == BLKIF_OP_READ && p->seed != UINT64_MAX &&
             !matches(req->buf, req->sector << 9, req->len, p->seed))
        p->mismatches++;
    p->bytes += req->len;
    req->len = 0; /* free for the next chunk */
}

/* Issues the next chunk on reqs[i]; false when the disk is covered. */
static bool issue(struct pass *p, unsigned i)
{
    if (p->next >= p->end)
        return false;
    struct blkfront_req *r = &p->reqs[i];
    size_t len = p->end - p->next < p->chunk ? (size_t)(p->end - p->next) : p->chunk;
    *r = (struct blkfront_req){.op = p->op,
                               .sector = p->next >> 9,
                               .buf = (uint8_t *)bufs + i % (sizeof(bufs) / p->chunk) * p->chunk,
                               .len = len,
                               .queue = i,
                               .done = pass_done,
                               .ctx = p};
    if (p->op == BLKIF_OP_WRITE && p->seed != UINT64_MAX)
        fill(r->buf, p->next, len, p->seed);
    int rc = blkfront_submit(&dev, r);
    if (rc == -XEN_EBUSY) {
        r->len = 0;
        return true; /* retried after the next completion */
    }
    if (rc) {
        p->submit_errors++;
        r->len = 0;
        p->next = p->end;
        return false;
    }
    p->next += len;
    return true;
}

static int run_pass(struct pass *p, unsigned depth)
{
    uint64_t deadline = monotonic_ns() + IO_TIMEOUT_NS;
    for (;;) {
        for (unsigned i = 0; i < depth; i++)
            if (!p->reqs[i].len)
                issue(p, i);
        if (!blkfront_inflight(&dev) && p->next >= p->end)
            return 0;
        if (!blkfront_connected(&dev))
            return -XEN_ENOTCONN;
        int rc = blkfront_wait(&dev, deadline);
        if (rc < 0)
            return rc;
    }
}

static bool whole_disk(uint8_t op, uint64_t seed, size_t chunk, unsigned depth, const char *what)
{
    static struct pass p;
    p = (struct pass){.op = op, .seed = seed, .chunk = chunk, .end = dev.info.sectors << 9};
    uint64_t t0 = monotonic_ns();
    int rc = run_pass(&p, depth);
    uint64_t us = (monotonic_ns() - t0) / 1000 + 1;
    bool ok = !rc && !p.errors && !p.mismatches && !p.submit_errors && p.bytes == p.end;
    tap_check(ok,
              "blktest: %s (%llu KiB in %zu KiB requests, depth %u, %llu KiB/s; rc %d, %u "
              "errors, %u mismatches, %u refused)",
              what, (unsigned long long)p.bytes >> 10, chunk >> 10, depth,
              (unsigned long long)(p.bytes * 1000000 / us) >> 10, rc, p.errors, p.mismatches,
              p.submit_errors);
    return ok;
}

/* Buffers that start mid-page: segments whose first_sect is not 0, crossing a page boundary.
 * Written with another seed, read back, then restored to seed. */
static void unaligned_io(uint64_t seed)
{
    uint64_t sector = dev.info.sectors - 3, deadline = monotonic_ns() + IO_TIMEOUT_NS;
    uint8_t *src = edge + 4096 - 512, *dst = edge + 2 * 4096 - 1024;
    fill(src, sector << 9, 1536, seed + 100);
    int rc = blkfront_io_sync(&dev, BLKIF_OP_WRITE, sector, src, 1536, deadline);
    tap_rc(rc, 0, "blktest: a 3-sector write from a mid-page buffer at the disk's end");
    memset(dst, 0, 1536);
    rc = blkfront_io_sync(&dev, BLKIF_OP_READ, sector, dst, 1536, deadline);
    tap_check(!rc && matches(dst, sector << 9, 1536, seed + 100),
              "blktest: reading it back into another mid-page buffer matches (rc %d)", rc);
    fill(src, sector << 9, 1536, seed);
    rc = blkfront_io_sync(&dev, BLKIF_OP_WRITE, sector, src, 1536, deadline);
    tap_rc(rc, 0, "blktest: the pattern is restored there");
}

/* Discard of the last 32 KiB (one direct request to read and rewrite): the file backend punches a
 * hole, so it reads back as zeros; the pattern is then written there again. */
static void discard(uint64_t seed)
{
    const size_t len = 32 * 1024;
    uint64_t sector = dev.info.sectors - (len >> 9), deadline = monotonic_ns() + IO_TIMEOUT_NS;
    if (!dev.info.discard) {
        tap_skip("no feature-discard", "blktest: discard");
        return;
    }
    int rc = blkfront_io_sync(&dev, BLKIF_OP_DISCARD, sector, 0, len, deadline);
    tap_rc(rc, 0, "blktest: discard of the last 32 KiB");
    memset(bufs[0], 0xa5, len);
    rc = blkfront_io_sync(&dev, BLKIF_OP_READ, sector, bufs[0], len, deadline);
    bool zero = true;
    for (size_t i = 0; i < len; i++)
        zero &= bufs[0][i] == 0;
    tap_check(!rc && zero, "blktest: the discarded range reads back as zeros (rc %d)", rc);
    fill(bufs[0], sector << 9, len, seed);
    rc = blkfront_io_sync(&dev, BLKIF_OP_WRITE, sector, bufs[0], len, deadline);
    tap_rc(rc, 0, "blktest: the pattern is written there again");
}

static void bounds(void)
{
    uint64_t n = dev.info.sectors;
    tap_rc(blkfront_io_sync(&dev, BLKIF_OP_READ, n, bufs[0], 512, monotonic_ns() + IO_TIMEOUT_NS),
           -XEN_EINVAL, "blktest: a read past the end is refused");
    tap_rc(
        blkfront_io_sync(&dev, BLKIF_OP_READ, 0, bufs[0] + 1, 512, monotonic_ns() + IO_TIMEOUT_NS),
        -XEN_EINVAL, "blktest: a buffer that is not sector-aligned is refused");
}

static void mode_rw(uint64_t seed, unsigned depth)
{
    const struct blkfront_info *in = &dev.info;
    size_t big =
        in->max_indirect_segments ? (size_t)in->max_indirect_segments * PAGE_SIZE : DIRECT_BYTES;
    if (big > BUF_BYTES)
        big = BUF_BYTES;
    whole_disk(BLKIF_OP_WRITE, seed, DIRECT_BYTES, depth, "write the disk, direct requests");
    if (in->flush)
        tap_rc(blkfront_io_sync(&dev, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0,
                                monotonic_ns() + IO_TIMEOUT_NS),
               0, "blktest: flush");
    else
        tap_skip("no feature-flush-cache", "blktest: flush");
    whole_disk(BLKIF_OP_READ, seed, big, depth,
               in->max_indirect_segments ? "read back and verify, indirect requests"
                                         : "read back and verify, direct requests");
    whole_disk(BLKIF_OP_WRITE, seed + 1, big, depth,
               in->max_indirect_segments ? "rewrite with the next seed, indirect requests"
                                         : "rewrite with the next seed, direct requests");
    unaligned_io(seed + 1);
    discard(seed + 1);
    whole_disk(BLKIF_OP_READ, seed + 1, DIRECT_BYTES, depth, "read back and verify, direct");
    bounds();
    if (in->flush)
        tap_rc(blkfront_io_sync(&dev, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0,
                                monotonic_ns() + IO_TIMEOUT_NS),
               0, "blktest: final flush");
    hv_printf("blktest: disk holds seed %llu\n", (unsigned long long)(seed + 1));
}

static void ro_raw_done(uint64_t tag, int16_t status, void *ctx)
{
    (void)tag;
    *(int *)ctx = status;
}

static void mode_ro(unsigned depth)
{
    tap_check(dev.info.readonly, "blktest: the backend says the disk is read-only (info %u)",
              dev.info.info);
    tap_rc(blkfront_io_sync(&dev, BLKIF_OP_WRITE, 0, bufs[0], 4096, monotonic_ns() + IO_TIMEOUT_NS),
           -XEN_EROFS, "blktest: the frontend refuses a write");
    /* The same write straight onto the ring: the backend must refuse it too. */
    static int status = 1;
    blkfront_set_raw_handler(&dev, ro_raw_done, &status);
    grant_ref_t ref;
    struct blkif_request r = {.operation = BLKIF_OP_WRITE, .nr_segments = 1, .sector_number = 0};
    int rc = gnttab_grant_access(dev.backend_id, (uintptr_t)bufs[1] >> PAGE_SHIFT, true, &ref);
    r.seg[0] = (struct blkif_request_segment){.gref = ref, .first_sect = 0, .last_sect = 7};
    if (!rc)
        rc = blkfront_submit_raw(&dev, 0, &r, 1);
    while (!rc && status == 1 && blkfront_wait(&dev, monotonic_ns() + IO_TIMEOUT_NS) >= 0)
        ;
    tap_check(!rc && status == BLKIF_RSP_ERROR,
              "blktest: the backend answers a raw write with an error (rc %d, status %d)", rc,
              status);
    if (!rc)
        gnttab_end_access(ref);
    whole_disk(BLKIF_OP_READ, UINT64_MAX, BUF_BYTES, depth, "read the whole read-only disk");
}

/* Throughput rows for bench/block: "blkbench NAME VALUE UNIT". More 1 MiB requests are in
 * flight than bufs holds: they share its 1 MiB pieces (the data is not checked), as a
 * benchmark's buffers may. */
static unsigned bench_depth = BENCH_DEPTH;

static void bench_seq(uint8_t op, const char *name)
{
    static struct pass p;
    uint64_t size = dev.info.sectors << 9;
    p = (struct pass){.op = op, .seed = UINT64_MAX, .chunk = BENCH_BYTES, .end = size};
    uint64_t t0 = monotonic_ns();
    int rc = run_pass(&p, bench_depth);
    uint64_t ns = monotonic_ns() - t0 + 1;
    hv_printf("blkbench %s %llu KB/s rc=%d errors=%u\n", name,
              (unsigned long long)(p.bytes * 1000000ull / ns * 1000 / 1024), rc, p.errors);
}

static void bench_rand(unsigned depth, uint64_t ops)
{
    static struct blkfront_req reqs[MAX_DEPTH];
    static struct pass p;
    p = (struct pass){.op = BLKIF_OP_READ, .seed = UINT64_MAX};
    uint64_t pages = (dev.info.sectors << 9) / PAGE_SIZE, x = 88172645463325252ull, issued = 0;
    uint64_t t0 = monotonic_ns(), deadline = t0 + IO_TIMEOUT_NS;
    int rc = 0;
    while (rc >= 0 && (issued < ops || blkfront_inflight(&dev))) {
        for (unsigned i = 0; i < depth && issued < ops; i++) {
            if (reqs[i].len)
                continue;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            reqs[i] = (struct blkfront_req){.op = BLKIF_OP_READ,
                                            .sector = (x % pages) * 8,
                                            .buf = bufs[i],
                                            .len = PAGE_SIZE,
                                            .done = pass_done,
                                            .ctx = &p};
            if (blkfront_submit(&dev, &reqs[i]))
                reqs[i].len = 0;
            else
                issued++;
        }
        rc = blkfront_wait(&dev, deadline);
    }
    uint64_t ns = monotonic_ns() - t0 + 1;
    hv_printf("blkbench randread_qd%u %llu IOPS rc=%d errors=%u\n", depth,
              (unsigned long long)(p.bytes / PAGE_SIZE * 1000000000ull / ns), rc < 0 ? rc : 0,
              p.errors);
}

static void mode_bench(void)
{
    if (opt("warm", 0)) { /* each of the pass's buffers granted (and mapped) once, untimed */
        static struct pass p;
        uint64_t size = dev.info.sectors << 9, want = (uint64_t)bench_depth * BENCH_BYTES;
        p = (struct pass){.op = BLKIF_OP_READ,
                          .seed = UINT64_MAX,
                          .chunk = BENCH_BYTES,
                          .end = want < size ? want : size};
        int rc = run_pass(&p, bench_depth);
        hv_printf("blkbench warm %llu KiB rc=%d errors=%u\n", (unsigned long long)p.bytes >> 10, rc,
                  p.errors);
    }
    bench_seq(BLKIF_OP_WRITE, "seqwrite_1m");
    bench_seq(BLKIF_OP_READ, "seqread_1m");
    bench_rand(1, opt("ops", 2000));
    bench_rand(32, opt("ops", 2000));
    hv_printf("blkbench done\n");
}

int main(void)
{
    struct blkfront_config cfg;
    blkfront_config_default(&cfg);
    cfg.ring_page_order = (unsigned)opt("order", cfg.ring_page_order);
    cfg.max_queues = (unsigned)opt("queues", 1);
    cfg.max_indirect_segments = (unsigned)opt("indirect", mode_is("bench") ? BENCH_BYTES / PAGE_SIZE
                                                                           : BUF_BYTES / PAGE_SIZE);
    cfg.persistent = opt("persistent", 1) != 0;
    unsigned depth = (unsigned)opt("depth", 16);
    if (!depth || depth > MAX_DEPTH)
        depth = MAX_DEPTH;
    bench_depth = (unsigned)opt("seqdepth", BENCH_DEPTH);
    if (!bench_depth || bench_depth > MAX_DEPTH)
        bench_depth = MAX_DEPTH;
    uint64_t seed = opt("seed", 1);

    unsigned ids[4];
    int n = blkfront_list(ids, ARRAY_SIZE(ids));
    /* wait=S: the disk is attached after boot (xl block-attach): poll for it. */
    uint64_t attach_deadline = monotonic_ns() + opt("wait", 0) * 1000 * MS;
    if (n <= 0 && opt("wait", 0))
        hv_printf("blktest: waiting for a disk\n");
    while (n <= 0 && monotonic_ns() < attach_deadline) {
        sleep_ns(50 * MS);
        n = blkfront_list(ids, ARRAY_SIZE(ids));
    }
    if (!tap_check(n > 0, "blktest: a vbd is listed under device/vbd (%d)", n))
        return tap_finish();
    unsigned devid = (unsigned)opt("devid", ids[0]);
    int rc = blkfront_open(&dev, devid, &cfg, monotonic_ns() + OPEN_TIMEOUT_NS);
    const struct blkfront_info *in = &dev.info;
    if (!tap_rc(rc, 0, "blktest: vbd %u connects", devid))
        return tap_finish();
    hv_printf("blktest: %llu sectors, sector-size %u, info %u, %u queue(s) of %u slots "
              "(order %u), indirect %u, persistent %d, flush %d, discard %d\n",
              (unsigned long long)in->sectors, in->sector_size, in->info, in->nr_queues,
              in->ring_size, in->ring_page_order, in->max_indirect_segments, in->persistent,
              in->flush, in->discard);
    tap_check(in->nr_queues == (cfg.max_queues ? cfg.max_queues : 1) || cfg.max_queues > 4,
              "blktest: %u queue(s) negotiated", in->nr_queues);

    if (mode_is("ro"))
        mode_ro(depth);
    else if (mode_is("verify"))
        whole_disk(BLKIF_OP_READ, seed, BUF_BYTES, depth, "verify the disk's pattern");
    else if (mode_is("bench"))
        mode_bench();
    else
        mode_rw(seed, depth);

    if (opt("hold", 0)) { /* stay connected until the toolstack detaches the disk */
        hv_printf("blktest: holding\n");
        while (blkfront_connected(&dev))
            blkfront_wait(&dev, 0);
        tap_check(true, "blktest: the backend's detach was followed (leaked grants %lu)",
                  dev.leaked_grants);
    } else {
        rc = blkfront_close(&dev, monotonic_ns() + OPEN_TIMEOUT_NS);
        tap_rc(rc, 0, "blktest: detaches cleanly (leaked grants %lu, stray responses %lu)",
               dev.leaked_grants, dev.stray_responses);
    }
    return tap_finish();
}
