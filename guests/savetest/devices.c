/* savetest's disk and vif (devices.h). The disk holds regions of 64 KiB, region r at sector
 * r * 128, each word a function of r and its offset, so any stale or lost write shows up on
 * read-back. Before each suspend the next region's write is queued and left in flight: after
 * the resume it must complete (answered by the old backend or replayed on the new one).
 * The vif sends numbered frames in nettest's format (ethertype 0x88b5, kind 'P') and waits for
 * each one's echo ('E'), checking every byte.
 * With readback, the backend keeps writing guest memory (reads into 8 buffers) while the
 * host migrates the guest, and each resume checks what those buffers hold.
 * Invariant: the write's buffer is not touched from submit until its done callback ran. */
#include <stdint.h>

#include <kxen/errno.h>

#include "devices.h"
#include "guest/blkfront.h"
#include "guest/lib.h"
#include "guest/netfront.h"
#include "guest/printf.h"
#include "guest/time.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define REGION 65536u
#define REGION_SECTORS (REGION / 512)
#define ETHERTYPE_TEST 0x88b5
#define FRAMES 8
#define FRAME_LEN(i) (60 + ((i)*97) % 1455) /* nettest's lengths: its peer checks them */

static struct blkfront disk_dev;
static bool have_disk, have_vif;
static uint8_t wbuf[REGION] __attribute__((aligned(4096)));
static uint8_t rbuf[REGION] __attribute__((aligned(4096)));
static struct blkfront_req inflight_req;
static volatile bool inflight_done;
static unsigned regions; /* regions written (or queued) so far */
static uint8_t mac[6];
static uint8_t out[NETFRONT_MTU_FRAME], in[2048];
static unsigned exchanges;
static unsigned ios;
static bool net_mode;
static unsigned nets;
static uint8_t echo_out[NETFRONT_MTU_FRAME];
#define RB_BUFS 8
#define RB_REGIONS 4
static bool readback;
static uint8_t rb_buf[RB_BUFS][REGION] __attribute__((aligned(4096)));
static unsigned rb_region[RB_BUFS]; /* region + 1 read into the buffer, 0: none */
static unsigned rb_reads;

#define check(ok, what, ...)                                                                       \
    hv_printf("savetest: check %s - " what "\n", (ok) ? "ok" : "FAILED", __VA_ARGS__)

static void fill(uint8_t *buf, unsigned region)
{
    for (unsigned i = 0; i < REGION; i += 4) {
        uint32_t w = (region + 1) * 0x9e3779b1u ^ i;
        memcpy(buf + i, &w, 4);
    }
}

static void write_done(struct blkfront_req *req)
{
    (void)req;
    inflight_done = true;
}

/* Regions 0..n-1 read back as written; the first one that does not, or -1. */
static int verify_regions(unsigned n)
{
    for (unsigned r = 0; r < n; r++) {
        fill(wbuf, r);
        if (blkfront_io_sync(&disk_dev, BLKIF_OP_READ, (uint64_t)r * REGION_SECTORS, rbuf, REGION,
                             monotonic_ns() + 10 * SEC) ||
            memcmp(rbuf, wbuf, REGION))
            return (int)r;
    }
    return -1;
}

static size_t test_frame(uint8_t *f, uint32_t seq)
{
    size_t len = FRAME_LEN(seq);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    memcpy(f + 14, &seq, 4);
    f[18] = 'P';
    for (size_t i = 19; i < len; i++)
        f[i] = (uint8_t)(i * 31 + seq * 7);
    return len;
}

/* One frame out and its echo back, byte for byte; resent until stop (the peer may be
 * starting). */
static bool round_trip(uint32_t seq, uint64_t stop)
{
    while (monotonic_ns() < stop) {
        size_t len = test_frame(out, seq);
        if (netfront_send(out, len, monotonic_ns() + 2 * SEC))
            return false;
        uint64_t until = monotonic_ns() + 200 * MS;
        int n;
        while ((n = netfront_recv(in, sizeof(in), until)) >= 0) {
            uint32_t s;
            if ((size_t)n != len || in[12] != out[12] || in[13] != out[13] || in[18] != 'E')
                continue;
            memcpy(&s, in + 14, 4);
            if (s == seq)
                return !memcmp(in, mac, 6) && !memcmp(in + 19, out + 19, len - 19);
        }
    }
    return false;
}

static void exchange(void)
{
    unsigned ok = 0;
    uint64_t stop = monotonic_ns() + 20 * SEC;
    for (uint32_t i = 0; i < FRAMES; i++)
        ok += round_trip(exchanges * FRAMES + i, stop);
    check(ok == FRAMES, "the vif exchanged frames with its peer, every echo byte for byte (%u)",
          exchanges++);
}

const uint8_t *devices_vif_mac(void)
{
    return have_vif ? mac : 0;
}

void devices_readback_enable(void)
{
    readback = true;
}

/* The regions the read-back buffers draw from, written once at the start. */
static bool readback_regions(void)
{
    int rc = 0;
    for (; regions < RB_REGIONS && !rc; regions++) {
        fill(wbuf, regions);
        rc = blkfront_io_sync(&disk_dev, BLKIF_OP_WRITE, (uint64_t)regions * REGION_SECTORS, wbuf,
                              REGION, monotonic_ns() + 10 * SEC);
    }
    check(!rc && verify_regions(regions) < 0, "the read-back regions written (%u)", regions);
    return !rc;
}

void devices_readback_step(void)
{
    if (!readback || !have_disk)
        return;
    /* Buffer k gets region (round + k) % 4: never the one it held before. */
    unsigned k = rb_reads % RB_BUFS, r = (rb_reads / RB_BUFS + k) % RB_REGIONS;
    rb_region[k] = 0;
    if (!blkfront_io_sync(&disk_dev, BLKIF_OP_READ, (uint64_t)r * REGION_SECTORS, rb_buf[k], REGION,
                          monotonic_ns() + 10 * SEC))
        rb_region[k] = r + 1;
    rb_reads++;
}

/* Every buffer holds the region the backend last read into it. */
static void readback_check(void)
{
    unsigned held = 0, bad = 0;
    for (unsigned k = 0; k < RB_BUFS; k++) {
        if (!rb_region[k])
            continue;
        held++;
        fill(wbuf, rb_region[k] - 1);
        bad += memcmp(rb_buf[k], wbuf, REGION) != 0;
    }
    check(held && !bad,
          "the backend's reads into guest memory arrived: %u of %u buffers hold their last "
          "region (%u reads)",
          held - bad, held, rb_reads);
}

bool devices_start(bool disk, bool vif, bool persistent)
{
    if (disk) {
        unsigned ids[4];
        struct blkfront_config cfg;
        blkfront_config_default(&cfg);
        cfg.persistent = persistent;
        cfg.reconnect = true; /* a driver domain that restarts is waited for */
        int n = blkfront_list(ids, 4);
        int rc =
            n > 0 ? blkfront_open(&disk_dev, ids[0], &cfg, monotonic_ns() + 30 * SEC) : -XEN_ENODEV;
        if (rc) {
            hv_printf("savetest: the disk does not connect (%d)\n", rc);
            return false;
        }
        have_disk = true;
        fill(wbuf, 0);
        rc =
            blkfront_io_sync(&disk_dev, BLKIF_OP_WRITE, 0, wbuf, REGION, monotonic_ns() + 10 * SEC);
        regions = 1;
        check(!rc && verify_regions(regions) < 0,
              "the disk's first region written and read back (%u)", 1u);
        if (readback && !readback_regions())
            return false;
    }
    if (vif) {
        int rc = netfront_init(0, mac);
        if (rc) {
            hv_printf("savetest: the vif does not connect (%d)\n", rc);
            return false;
        }
        have_vif = true;
        if (net_mode)
            netfront_follow_restarts();
        else
            exchange();
    }
    return true;
}

void devices_before_suspend(void)
{
    if (!have_disk ||
        (uint64_t)(regions + 1) * REGION_SECTORS > blkfront_get_info(&disk_dev)->sectors)
        return;
    fill(wbuf, regions);
    inflight_done = false;
    inflight_req = (struct blkfront_req){.op = BLKIF_OP_WRITE,
                                         .sector = (uint64_t)regions * REGION_SECTORS,
                                         .buf = wbuf,
                                         .len = REGION,
                                         .done = write_done};
    if (blkfront_submit(&disk_dev, &inflight_req) == 0)
        regions++;
    else
        inflight_done = true;
}

void devices_after_resume(void)
{
    if (have_disk && readback)
        readback_check();
    if (have_disk) {
        uint64_t stop = monotonic_ns() + 10 * SEC;
        while (!inflight_done && blkfront_wait(&disk_dev, stop) >= 0)
            ;
        check(inflight_done && inflight_req.status == BLKIF_RSP_OKAY,
              "the write in flight across the suspend completed (%lu requests replayed so far)",
              disk_dev.replayed);
        check(blkfront_connected(&disk_dev), "the disk is connected (region %u)", regions);
        int bad = verify_regions(regions);
        check(bad < 0, "every region written so far reads back as written (%u)", regions);
        fill(wbuf, regions);
        int rc = blkfront_io_sync(&disk_dev, BLKIF_OP_WRITE, (uint64_t)regions * REGION_SECTORS,
                                  wbuf, REGION, monotonic_ns() + 10 * SEC);
        regions++;
        check(!rc && verify_regions(regions) < 0, "a new region written and read back (%u)",
              regions);
    }
    if (have_vif)
        exchange();
}

/* Traffic for the backend-restart tests: a write of a rotating region and its read-back, each
 * waited for as long as a driver domain takes to come back (the request is replayed on the new
 * backend, so a restart shows as a pause, not a failure); every 10th also reads region 0, the
 * data written before any restart. */
void devices_tick(void)
{
    if (!have_disk)
        return;
    unsigned r = 16 + ios % 8;
    uint64_t deadline = monotonic_ns() + 90 * SEC;
    fill(wbuf, 1000 + ios);
    int rc = blkfront_io_sync(&disk_dev, BLKIF_OP_WRITE, (uint64_t)r * REGION_SECTORS, wbuf, REGION,
                              deadline);
    if (!rc)
        rc = blkfront_io_sync(&disk_dev, BLKIF_OP_READ, (uint64_t)r * REGION_SECTORS, rbuf, REGION,
                              deadline);
    if (!rc && memcmp(rbuf, wbuf, REGION))
        rc = -XEN_EIO;
    if (!rc && ios % 10 == 9 && verify_regions(1) >= 0)
        rc = -XEN_EIO;
    ios++;
    if (rc)
        hv_printf("savetest: io %u FAILED (%d)\n", ios, rc);
    else if (ios % 10 == 0)
        hv_printf("savetest: io %u ok (%lu reconnects, %lu replayed)\n", ios, disk_dev.reconnects,
                  disk_dev.replayed);
}

void devices_net_mode(void)
{
    net_mode = true;
}

/* A peer's numbered frame ('P', not ours) goes back to it as its echo. */
static void echo_peer(size_t n)
{
    if (n < 19 || n > sizeof(echo_out) || in[18] != 'P' || !memcmp(in + 6, mac, 6))
        return;
    memcpy(echo_out, in + 6, 6);
    memcpy(echo_out + 6, mac, 6);
    memcpy(echo_out + 12, in + 12, n - 12);
    echo_out[18] = 'E';
    netfront_send(echo_out, n, monotonic_ns() + 2 * SEC);
}

/* round_trip for two savetests: the peer's frames are echoed while we wait for ours, and a
 * send that fails (the backend is away) is tried again until stop. */
static bool net_round_trip(uint32_t seq, uint64_t stop)
{
    while (monotonic_ns() < stop) {
        size_t len = test_frame(out, seq);
        if (netfront_send(out, len, monotonic_ns() + 2 * SEC))
            continue;
        uint64_t until = monotonic_ns() + 200 * MS;
        int n;
        while ((n = netfront_recv(in, sizeof(in), until)) >= 0) {
            uint32_t s;
            if (n < 19 || in[12] != out[12] || in[13] != out[13])
                continue;
            if (in[18] == 'P') {
                echo_peer((size_t)n);
                continue;
            }
            if ((size_t)n != len || in[18] != 'E' || memcmp(in, mac, 6))
                continue;
            memcpy(&s, in + 14, 4);
            if (s == seq)
                return !memcmp(in, mac, 6) && !memcmp(in + 19, out + 19, len - 19);
        }
    }
    return false;
}

/* Traffic for the network backend-restart test: a restart shows as a pause, not a failure. */
void devices_tick_net(void)
{
    if (!have_vif)
        return;
    bool ok = net_round_trip(nets, monotonic_ns() + 90 * SEC);
    nets++;
    if (!ok)
        hv_printf("savetest: net %u FAILED\n", nets);
    else if (nets % 10 == 0)
        hv_printf("savetest: net %u ok (%lu reconnects, %lu tx dropped)\n", nets,
                  netfront_reconnects(), netfront_tx_dropped());
}
