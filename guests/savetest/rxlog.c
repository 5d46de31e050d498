/* savetest's receive log (rxlog.h): netback's grant copies into the vif's receive buffers,
 * checked across a migration. The guest keeps up to WINDOW numbered frames out to an echoer
 * on the bridge; each echo is copied by netback into one of netfront's receive buffers, and
 * the guest notes in its own RAM (rx_log, CPU-written, so the migration carries it whatever
 * the backend's dirty marks do) which frame it read from which buffer: its number and the
 * checksum stamped in it. The buffer pages themselves are written only by netback's grant
 * copies, so on the destination a buffer still holds the frame last read from it only if the
 * migration sent that page again after the copy: a copy missing from the dirty log leaves an
 * older frame there. The check runs in a resume hook registered after netfront's, so before
 * netfront reconnects (hooks run newest first) and before the new backend fills any buffer.
 * Invariant: from the quiesce before a suspend to the resume nothing is sent, and every frame
 * sent before it was echoed (or waited for in vain), so no copy lands on a logged buffer
 * while the suspended domain's last pages are read. */
#include <stdint.h>

#include <kxen/errno.h>

#include "guest/lib.h"
#include "guest/netfront.h"
#include "guest/printf.h"
#include "guest/suspend.h"
#include "guest/time.h"
#include "rxlog.h"

#define MS 1000000ull
#define ETHERTYPE_TEST 0x88b5
#define SEQ_BASE (1u << 24) /* above devices.c's exchange numbers, which share the echoer */
#define WINDOW 8
#define HDR 25 /* dst, src, type, seq (4), kind, checksum (4), length (2) */
#define FRAME_LEN(s) (64 + ((s)*97) % 1451)
#define LOST_NS (300 * MS) /* an echo not back by then is taken as lost (netback drops) */

struct rx_entry {
    uint32_t seq; /* 0: the buffer's last frame was not one of ours */
    uint32_t csum;
};

static bool enabled, quiet;
static uint8_t mac[6];
static struct rx_entry rx_log[NETFRONT_RX_BUFFERS];     /* in guest RAM: travels with the image */
static uint32_t next_seq = SEQ_BASE, echoed = SEQ_BASE; /* every seq below echoed is settled */
static uint64_t last_echo_ns;
static unsigned long frames, bad_frames;
static uint8_t out[NETFRONT_MTU_FRAME], in[2048];
static struct guest_resume_hook hook;

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Frame seq: its checksum covers its length field and the pattern after it. */
static size_t make_frame(uint8_t *f, uint32_t seq)
{
    uint16_t len = (uint16_t)FRAME_LEN(seq);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    memcpy(f + 14, &seq, 4);
    f[18] = 'P';
    memcpy(f + 23, &len, 2);
    for (size_t i = HDR; i < len; i++)
        f[i] = (uint8_t)(i * 31 + seq * 7);
    uint32_t c = fnv(f + 23, len - 23u);
    memcpy(f + 19, &c, 4);
    return len;
}

/* An echo of one of our frames, whole and as stamped (n: the bytes there, at most a page):
 * its seq and checksum, else false. */
static bool parse_echo(const uint8_t *f, size_t n, struct rx_entry *e)
{
    uint16_t len;
    if (n < HDR || f[12] != ETHERTYPE_TEST >> 8 || f[13] != (ETHERTYPE_TEST & 0xff) || f[18] != 'E')
        return false;
    memcpy(&e->seq, f + 14, 4);
    memcpy(&e->csum, f + 19, 4);
    memcpy(&len, f + 23, 2);
    return e->seq >= SEQ_BASE && len == FRAME_LEN(e->seq) && len <= n &&
           fnv(f + 23, len - 23u) == e->csum;
}

/* Reads every frame there is now, noting which buffer each came in. */
static void receive(void)
{
    struct netfront_rxinfo info;
    int n;
    while ((n = netfront_recv_info(in, sizeof(in), 0, &info)) >= 0) {
        struct rx_entry e = {0};
        bool ours = info.queue == 0 && info.buffer < NETFRONT_RX_BUFFERS && n >= HDR &&
                    in[18] == 'E' && in[12] == ETHERTYPE_TEST >> 8;
        if (ours) {
            uint32_t s;
            memcpy(&s, in + 14, 4);
            ours = s >= SEQ_BASE;
        }
        if (ours && !parse_echo(in, (size_t)n, &e)) {
            bad_frames++;
            e.seq = 0;
        }
        /* Whatever came in last in a buffer is what it holds: a frame not ours clears the
         * entry (frames here fit one slot, so the first slot's buffer is the frame's). */
        if (info.queue == 0 && info.buffer < NETFRONT_RX_BUFFERS)
            rx_log[info.buffer] = e;
        if (e.seq) {
            frames++;
            if (e.seq >= echoed)
                echoed = e.seq + 1;
            last_echo_ns = monotonic_ns();
        }
    }
}

void rxlog_step(void)
{
    if (!enabled)
        return;
    receive();
    if (quiet)
        return;
    if (next_seq != echoed && monotonic_ns() - last_echo_ns > LOST_NS)
        echoed = next_seq; /* the window's echoes were lost: start a new one */
    while (next_seq - echoed < WINDOW) {
        if (next_seq == echoed)
            last_echo_ns = monotonic_ns();
        size_t len = make_frame(out, next_seq);
        if (netfront_send(out, len, monotonic_ns() + 1000 * MS))
            return;
        next_seq++;
    }
}

void rxlog_quiesce(void)
{
    if (!enabled)
        return;
    quiet = true;
    uint64_t stop = monotonic_ns() + LOST_NS;
    while (echoed != next_seq && monotonic_ns() < stop) {
        receive();
        sleep_ns(MS);
    }
    hv_printf("savetest: rxlog quiet: %lu frames received, %u of the last sent not echoed\n",
              frames, next_seq - echoed);
}

void rxlog_resumed(void)
{
    /* The buffers were checked (or never left this host); from here devices.c's exchange
     * reads some of them without logging, so the log starts again. */
    memset(rx_log, 0, sizeof(rx_log));
    quiet = false;
    last_echo_ns = monotonic_ns();
    echoed = next_seq;
}

void rxlog_tick(uint64_t tick)
{
    if (enabled && tick % 10 == 0)
        hv_printf("savetest: rxlog %lu frames\n", frames);
}

#define check(ok, what, ...)                                                                       \
    hv_printf("savetest: check %s - " what "\n", (ok) ? "ok" : "FAILED", __VA_ARGS__)

/* On the new host, before netfront reconnects: every buffer holds the frame last read from it,
 * and neither ring's response producer is behind what was consumed. */
static int check_hook(void *ctx, uint64_t deadline_ns)
{
    (void)ctx, (void)deadline_ns;
    unsigned held = 0, later = 0, bad = 0, first_bad = 0;
    uint32_t want = 0, got = 0;
    for (unsigned id = 0; id < NETFRONT_RX_BUFFERS; id++) {
        if (!rx_log[id].seq)
            continue;
        held++;
        struct rx_entry e = {0};
        const uint8_t *page = netfront_rx_buffer(0, id);
        bool valid = page && parse_echo(page, 4096, &e);
        /* An echo later than the quiesce waited for may have come in after the last read:
         * newer is fine, older is a copy the migration lost. */
        if (valid && e.seq > rx_log[id].seq) {
            later++;
            continue;
        }
        bool ok = valid && e.seq == rx_log[id].seq && e.csum == rx_log[id].csum;
        if (!ok && !bad++) {
            first_bad = id;
            want = rx_log[id].seq - SEQ_BASE;
            got = e.seq >= SEQ_BASE ? e.seq - SEQ_BASE : 0;
        }
    }
    check(held >= 8 && !bad && !bad_frames,
          "the backend's copies into the receive buffers arrived: %u of %u buffers hold the "
          "frame last read from them or a later one (%u later; %lu frames, %lu bad; first "
          "stale: buffer %u, frame %u read, %u there)",
          held - bad, held, later, frames, bad_frames, bad ? first_bad : 0, want, got);
    struct netfront_ring_state st = {0};
    int rc = netfront_ring_state(0, &st);
    check(!rc && (int32_t)(st.rx_rsp_prod - st.rx_rsp_cons) >= 0 &&
              (int32_t)(st.tx_rsp_prod - st.tx_rsp_cons) >= 0,
          "the backend's ring updates arrived: rx responses up to %u (read up to %u), tx up to "
          "%u (reaped up to %u)",
          st.rx_rsp_prod, st.rx_rsp_cons, st.tx_rsp_prod, st.tx_rsp_cons);
    return 0;
}

void rxlog_start(const uint8_t vif_mac[6])
{
    memcpy(mac, vif_mac, 6);
    enabled = true;
    last_echo_ns = monotonic_ns();
    hook = (struct guest_resume_hook){.fn = check_hook};
    guest_resume_register(&hook);
}
