/* Live migration as Xen's xl and libxl do it, over a connection to `xl migrate-receive` on
 * the destination (docs/migration.md): the receiver's banner, the stream (framed gzip
 * members, so the handshake after it is read as it was sent), then Xen's three messages.
 * The sender copies memory while the guest runs, with kxend's dirty log, for a bounded number
 * of rounds until little changes (throttling a guest that dirties faster than it is sent),
 * then suspends the guest and sends the rest with its state. Until the receiver confirms
 * that its copy runs, the source domain stays: any failure resumes it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_save.h"
#include "kxen/util.h"
#include "kxl_internal.h"
#include "kxl_save.h"
#include "stream_format.h"
#include "stream_io.h"

#define STOP_PAGES 64 /* few enough dirty pages: stop and copy */
/* Fewer dirty pages than this (4 MiB) are not worth slowing the guest for: the stop copies
 * them in a moment, whatever the rates say (a quiet Linux rewrites a few hundred pages a
 * round, more than half of a short round's send). */
#define THROTTLE_MIN_PAGES 1024

const char kxl_migrate_banner[] = "xl migration receiver ready, send binary domain data.\n";
const char kxl_migrate_ready[] = "domain received, ready to unpause";
const char kxl_migrate_go[] = "domain is yours, you are cleared to unpause";
const char kxl_migrate_report[] = "my copy unpause results are as follows";

int kxl_migrate_expect(int fd, const char *msg, size_t len, int timeout_ms)
{
    char buf[128];
    if (len > sizeof(buf))
        return -EINVAL;
    int rc = kxl_read_all(fd, buf, len, timeout_ms);
    return rc < 0 ? rc : memcmp(buf, msg, len) ? -EPROTO : 0;
}

int kxl_migrate_say(int fd, const char *msg, size_t len)
{
    return kxl_write_all(fd, msg, len);
}

/* kxend's stop and first-entry stamps of a domain (KXEN_CTL_DOMAIN_TIMES). */
static int domain_times(struct kxl_ctx *ctx, uint16_t domid, struct kxen_ctl_domain_times *t)
{
    struct kxen_ctl_domid_arg a = {.domid = domid};
    uint32_t len = 0;
    int rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_DOMAIN_TIMES, &a, sizeof(a), t, sizeof(*t), &len);
    return rc == 0 && len < sizeof(*t) ? -EPROTO : rc;
}

static int dirty_op(struct kxl_ctx *ctx, uint16_t domid, uint32_t cmd, unsigned throttle, void *rep,
                    uint32_t cap, uint32_t *len)
{
    struct kxen_ctl_dirty_log a = {.domid = domid, .cmd = cmd, .throttle = (uint16_t)throttle};
    return kxen_ctl_simple(ctx->ctl, KXEN_CTL_DIRTY_LOG, &a, sizeof(a), rep, cap, len);
}

/* Sends the pages set in bm (pages bits). */
static int send_bitmap(struct kxl_swriter *w, const uint8_t *ram, const uint64_t *present,
                       const uint64_t *bm, uint64_t pages, struct kxl_save_stats *st)
{
    uint64_t pfns[LIBXC_MAX_BATCH];
    unsigned n = 0;
    int rc = 0;
    for (uint64_t p = 0; p < pages && !rc; p++) {
        if (!(bm[p / 64] & (1ull << (p % 64))))
            continue;
        pfns[n++] = p;
        if (n == LIBXC_MAX_BATCH) {
            rc = kxl__write_pages(w, ram, present, pfns, n, st);
            n = 0;
        }
    }
    return rc || !n ? rc : kxl__write_pages(w, ram, present, pfns, n, st);
}

static uint64_t popcount(const uint64_t *bm, uint64_t words)
{
    uint64_t c = 0;
    for (uint64_t i = 0; i < words; i++)
        c += (uint64_t)__builtin_popcountll(bm[i]);
    return c;
}

/* The throttle after t%: QEMU's auto-converge steps, finer near the top where each step
 * halves the guest's remaining time. */
static unsigned next_throttle(unsigned t)
{
    return t < 80 ? t + 20 : t < 90 ? 90 : t < 95 ? 95 : KXEN_DIRTY_MAX_THROTTLE;
}

/* Whether the dirty pages left make a short enough stop: fewer than STOP_PAGES, or (with a
 * downtime target) sendable within it at the rate the last round achieved. */
static bool converged(const struct kxl_migrate_opts *o, uint64_t sent, uint64_t ns, uint64_t dirty)
{
    if (dirty < STOP_PAGES)
        return true;
    return o->downtime_ms && sent && dirty * ns / sent <= (uint64_t)o->downtime_ms * 1000000;
}

/* Pre-copy: every page, then the pages dirtied meanwhile, round after round, until the dirty
 * set is small enough or the rounds run out. Each round both the send rate and the dirty
 * rate are measured over the same interval, so comparing the pages dirtied with the pages
 * sent compares the rates: a guest that dirtied more than half of what a round sent is
 * throttled a step more (unless opts says not to). Returns with rep's bitmap holding the
 * pages dirtied during the last round. */
static int precopy(struct kxl_ctx *ctx, uint16_t domid, struct kxl_swriter *w, const uint8_t *ram,
                   const uint64_t *present, uint64_t pages, struct kxen_ctl_dirty_rep *rep,
                   uint32_t cap, const struct kxl_migrate_opts *o, struct kxl_migrate_stats *ms)
{
    uint64_t *bm = (uint64_t *)(rep + 1), words = (pages + 63) / 64;
    unsigned max = o->max_rounds && o->max_rounds < KXL_MIGRATE_MAX_ROUNDS ? o->max_rounds
                                                                           : KXL_MIGRATE_MAX_ROUNDS;
    memset(bm, 0xff, words * 8);
    if (pages % 64)
        bm[words - 1] = (1ull << (pages % 64)) - 1;
    uint64_t dirty = pages;
    uint32_t len = 0;
    int rc;
    for (ms->rounds = 0; ms->rounds < max;) {
        uint64_t t0 = kxen_now_ns(), sent = dirty;
        /* Each round leaves at once, so the stop only waits for the last pages. */
        if ((rc = send_bitmap(w, ram, ms->rounds ? NULL : present, bm, pages, &ms->save)) < 0 ||
            (rc = kxl_swriter_flush(w)) < 0)
            return kxl_fail(ctx, rc, "sending the stream failed: %s: the domain runs here again",
                            strerror(-rc));
        ms->pages_per_round[ms->rounds++] = sent;
        if ((rc = dirty_op(ctx, domid, KXEN_DIRTY_COLLECT, 0, rep, cap, &len)) < 0)
            return kxl_fail(ctx, rc, "collecting the dirty pages of domain %u failed: %s", domid,
                            kxl_hv_reason(ctx, rc));
        dirty = popcount(bm, words);
        struct kxl_migrate_progress p = {.round = ms->rounds,
                                         .sent = sent,
                                         .dirty = dirty,
                                         .round_ns = kxen_now_ns() - t0,
                                         .throttle = ms->throttle};
        /* The round's rate, and the dirty pages' time at it (kxl_progress_rates' terms). */
        struct kxl_progress r = {.done = sent, .total = sent + dirty, .elapsed_ns = p.round_ns};
        kxl_progress_rates(&r);
        p.pages_per_s = r.pages_per_s;
        p.mb_per_s = r.mb_per_s;
        p.eta_s = r.eta_s;
        p.converged = converged(o, sent, p.round_ns, dirty);
        p.last = p.converged || ms->rounds == max;
        if (!p.last && !o->no_throttle && ms->rounds > 1 && dirty * 2 > sent &&
            dirty >= THROTTLE_MIN_PAGES && ms->throttle < KXEN_DIRTY_MAX_THROTTLE) {
            unsigned t = next_throttle(ms->throttle);
            if ((rc = dirty_op(ctx, domid, KXEN_DIRTY_THROTTLE, t, NULL, 0, NULL)) < 0)
                return kxl_fail(ctx, rc, "kxend cannot throttle domain %u: %s", domid,
                                kxl_hv_reason(ctx, rc));
            ms->throttle = p.throttle = t;
            p.raised = true;
        }
        if (o->progress)
            o->progress(o->opaque, &p);
        if (p.last) {
            ms->converged = p.converged;
            break;
        }
    }
    return 0;
}

/* The live part: every page while the guest runs, then the dirty ones round after round;
 * returns with the guest suspended (*coop as kxl__suspend) and the stream complete. */
static int send_live(struct kxl_ctx *ctx, uint16_t domid, struct kxl_swriter *w,
                     const char *config_text, const char *name, bool *coop,
                     const struct kxl_migrate_opts *opts, struct kxl_migrate_stats *ms)
{
    uint8_t *ram;
    uint64_t size, *present = NULL;
    int rc = kxl__map_ram(ctx, domid, false, &ram, &size, &present);
    if (rc < 0)
        return kxl_fail(ctx, rc, "cannot map the memory of domain %u: %s", domid, strerror(-rc));
    uint64_t pages = size >> 12, words = (pages + 63) / 64;
    uint32_t cap = (uint32_t)(sizeof(struct kxen_ctl_dirty_rep) + words * 8), len = 0;
    struct kxen_ctl_dirty_rep *rep = calloc(1, cap);
    uint64_t *bm = rep ? (uint64_t *)(rep + 1) : NULL, *pending = calloc(words, 8);
    struct kxen_save_hdr *kx = NULL;
    uint32_t kx_len;
    if (!rep || !pending) {
        free(rep);
        free(pending);
        free(present);
        munmap(ram, size);
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    }
    bool logging = false, suspended = false, renamed = false;
    if ((rc = dirty_op(ctx, domid, KXEN_DIRTY_START, 0, NULL, 0, NULL)) < 0) {
        kxl_fail(ctx, rc, "kxend cannot log the dirty pages of domain %u: %s", domid,
                 kxl_hv_reason(ctx, rc));
        goto out;
    }
    logging = true;
    /* The header goes out at once: the receiver builds the domain while the pages follow. */
    struct kxl_prologue pro;
    if ((rc = kxl__prologue(ctx, domid, size, &pro)) < 0)
        goto out;
    if ((rc = kxl__write_header(w, config_text, &pro)) < 0 || (rc = kxl_swriter_flush(w)) < 0)
        goto io;
    if ((rc = precopy(ctx, domid, w, ram, present, pages, rep, cap, opts, ms)) < 0)
        goto out;
    /* Stop and copy: the last dirty pages, and the rings xenstored and xenconsoled write
     * through their own mappings, whatever the log says. */
    memcpy(pending, bm, words * 8);
    /* Xen renames the source NAME--migratedaway once the receiver has its copy; here it
     * happens before the stop, so it costs the guest no downtime (any failure renames back). */
    char away[KXL_NAME_MAX + 16];
    snprintf(away, sizeof(away), "%s--migratedaway", name);
    kxl_domain_rename(ctx, domid, away);
    renamed = true;
    /* The guest suspends itself at full speed: a throttled Linux freezing its tasks and
     * devices could take longer than the toolstack waits. The log still sees every write. */
    if (ms->throttle)
        dirty_op(ctx, domid, KXEN_DIRTY_THROTTLE, 0, NULL, 0, NULL);
    ms->suspend_ns = kxen_now_ns();
    if ((rc = kxl__suspend(ctx, domid, opts->suspend_timeout_s, coop)) < 0)
        goto out;
    suspended = true;
    uint64_t t = kxen_now_ns();
    ms->suspend_wait_ns = t - ms->suspend_ns;
    if ((rc = dirty_op(ctx, domid, KXEN_DIRTY_COLLECT, 0, rep, cap, &len)) < 0)
        goto hv;
    for (uint64_t i = 0; i < words; i++) /* with the last round's pages, not sent yet */
        bm[i] |= pending[i];
    if ((rc = kxl__save_state(ctx, domid, &kx, &kx_len)) < 0)
        goto out;
    uint64_t special[2] = {kx->store_pfn, kx->console_pfn};
    for (int i = 0; i < 2; i++)
        if (special[i] && special[i] < pages)
            bm[special[i] / 64] |= 1ull << (special[i] % 64);
    ms->final_pages = popcount(bm, words);
    ms->last_collect_ns = kxen_now_ns() - t;
    if ((rc = send_bitmap(w, ram, NULL, bm, pages, &ms->save)) < 0 ||
        (rc = kxl__write_tail(w, kx, kx_len)) < 0)
        goto io;
    rc = 0;
    goto out;
hv:
    kxl_fail(ctx, rc, "collecting the dirty pages of domain %u failed: %s", domid,
             kxl_hv_reason(ctx, rc));
    goto out;
io:
    kxl_fail(ctx, rc, "sending the stream failed: %s: the domain runs here again", strerror(-rc));
out:
    if (logging)
        dirty_op(ctx, domid, KXEN_DIRTY_STOP, 0, NULL, 0, NULL);
    if (rc < 0) { /* the undoing must not overwrite the reason */
        char why[sizeof(ctx->err)];
        snprintf(why, sizeof(why), "%s", ctx->err);
        if (renamed)
            kxl_domain_rename(ctx, domid, name);
        if (suspended)
            kxl__resume(ctx, domid, *coop);
        kxl_fail(ctx, rc, "%s", why);
    }
    free(kx);
    free(rep);
    free(pending);
    free(present);
    munmap(ram, size);
    return rc;
}

int kxl_domain_migrate_send(struct kxl_ctx *ctx, uint16_t domid, const char *config_text,
                            int send_fd, int recv_fd, struct kxl_migrate_stats *ms)
{
    return kxl_domain_migrate_send_opts(ctx, domid, config_text, send_fd, recv_fd, NULL, ms);
}

int kxl_domain_migrate_send_opts(struct kxl_ctx *ctx, uint16_t domid, const char *config_text,
                                 int send_fd, int recv_fd, const struct kxl_migrate_opts *opts,
                                 struct kxl_migrate_stats *ms)
{
    static const struct kxl_migrate_opts defaults;
    if (!opts)
        opts = &defaults;
    memset(ms, 0, sizeof(*ms));
    uint64_t t0 = kxen_now_ns();
    int rc = kxl_migrate_expect(recv_fd, kxl_migrate_banner, sizeof(kxl_migrate_banner) - 1, -1);
    if (rc < 0)
        return kxl_fail(ctx, rc, "the receiver did not answer with Xen's banner (%s)",
                        rc == -EPROTO ? "unexpected bytes" : strerror(-rc));
    struct kxl_dominfo di;
    if ((rc = kxl_hv_getinfo(ctx, domid, false, &di)) < 0)
        return kxl_fail(ctx, rc, "domain %u does not exist", domid);
    char *own = NULL;
    if (!config_text && (rc = kxl_domain_config_text(ctx, domid, &own)) < 0)
        return rc;
    if (config_text && (rc = kxl__config_keep_macs(ctx, domid, config_text, &own)) < 0)
        return rc;
    if (own)
        config_text = NULL;
    struct kxl_swriter *w;
    if ((rc = kxl_swriter_open_framed(send_fd, true, true, &w)) < 0) {
        free(own);
        return kxl_fail(ctx, rc, "out of memory");
    }
    bool coop = false;
    rc = send_live(ctx, domid, w, config_text ? config_text : own, di.name, &coop, opts, ms);
    free(own);
    ms->save.stream_bytes = kxl_swriter_bytes(w);
    int crc = kxl_swriter_close(w);
    uint64_t t1 = kxen_now_ns(); /* the stream is out: the rest is the receiver's */
    if (rc == 0)
        ms->last_send_ns = t1 - ms->suspend_ns - ms->suspend_wait_ns - ms->last_collect_ns;
    if (rc < 0)
        return rc; /* send_live resumed the guest */
    if (crc < 0) {
        kxl_domain_rename(ctx, domid, di.name);
        kxl__resume(ctx, domid, coop);
        return kxl_fail(ctx, crc, "sending the stream failed: %s: the domain runs here again",
                        strerror(-crc));
    }
    rc = kxl_migrate_expect(recv_fd, kxl_migrate_ready, sizeof(kxl_migrate_ready), -1);
    uint64_t t2 = kxen_now_ns();
    ms->dest_load_ns = t2 - t1;
    if (rc < 0) {
        kxl_domain_rename(ctx, domid, di.name);
        kxl__resume(ctx, domid, coop);
        return kxl_fail(ctx, rc,
                        "the receiver did not take the domain (%s): the domain runs "
                        "here again",
                        rc == -EPROTO ? "it refused" : strerror(-rc));
    }
    /* From here the destination may run the guest: the source must not, whatever happens. */
    uint8_t result = 1;
    rc = kxl_migrate_say(send_fd, kxl_migrate_go, sizeof(kxl_migrate_go));
    if (rc == 0)
        rc = kxl_migrate_expect(recv_fd, kxl_migrate_report, sizeof(kxl_migrate_report), -1);
    if (rc == 0 && read(recv_fd, &result, 1) != 1)
        rc = -EPIPE;
    uint64_t t3 = kxen_now_ns();
    ms->dest_unpause_ns = t3 - t2;
    ms->downtime_ns = t3 - ms->suspend_ns;
    ms->total_ns = t3 - t0;
    /* After Xen's handshake a kxen receiver adds when its copy first ran: the guest's own
     * downtime is that minus when this kxend stopped it (both CLOCK_REALTIME). */
    uint64_t first = 0;
    struct kxen_ctl_domain_times st;
    if (rc == 0 && result == 0 && kxl_read_all(recv_fd, &first, sizeof(first), 2000) == 0 &&
        first && domain_times(ctx, domid, &st) == 0 && st.stop_ns && first > st.stop_ns)
        ms->guest_downtime_ns = first - st.stop_ns;
    if (rc == 0 && result == 0)
        return kxl_domain_destroy(ctx, domid);
    /* The receiver could not unpause its copy: ours runs again under its own name. */
    kxl_domain_rename(ctx, domid, di.name);
    kxl__resume(ctx, domid, coop);
    return kxl_fail(ctx, rc ? rc : -EREMOTEIO,
                    "the destination could not start the domain: "
                    "the domain runs here again");
}

int kxl_domain_migrate_receive(struct kxl_ctx *ctx, int recv_fd, int send_fd, bool paused,
                               unsigned idle_timeout_s, uint16_t *domid_out,
                               struct kxl_domain_config *dc_out)
{
    /* A sender that stalls must not hold this host: every wait for its next byte is bounded. */
    int tmo = idle_timeout_s ? (int)KXEN_MIN(idle_timeout_s, 86400u) * 1000 : -1;
    int rc = kxl_migrate_say(send_fd, kxl_migrate_banner, sizeof(kxl_migrate_banner) - 1);
    if (rc < 0)
        return kxl_fail(ctx, rc, "cannot write to the sender: %s", strerror(-rc));
    struct kxl_sreader *r;
    struct kxl_image img;
    const char *src = "the migration stream";
    if ((rc = kxl_sreader_open_framed(recv_fd, &r)) < 0)
        return kxl_fail(ctx, rc, "out of memory");
    kxl_sreader_set_timeout(r, tmo);
    kxl__rt_start(ctx); /* the head phase includes the wait for the sender */
    rc = kxl__image_read_head(ctx, r, src, &img);
    kxl__rt_phase(ctx, &ctx->rt.head_ns);
    if (rc == 0)
        rc = kxl__image_read_rest(ctx, r, src, &img);
    kxl__rt_phase(ctx, &ctx->rt.pages_ns);
    if (rc < 0) {
        ctx->rt_mark = 0;
        kxl_sreader_close(r);
        return rc;
    }
    struct kxl_domain_config dc;
    struct kxl_cfg cfg;
    char err[256];
    kxl_cfg_init(&cfg);
    rc = kxl_cfg_parse(&cfg, "the migrated config", img.config_text, strlen(img.config_text), err,
                       sizeof(err));
    if (rc == 0)
        rc = kxl_domain_config_from_cfg(&dc, &cfg, err, sizeof(err));
    kxl_cfg_free(&cfg);
    if (rc < 0) {
        ctx->rt_mark = 0;
        kxl__image_free(&img);
        kxl_sreader_close(r);
        return kxl_fail(ctx, rc, "the migrated config is invalid: %s", err);
    }
    /* Xen's receiver runs the copy as NAME--incoming until it is cleared to go. With kxen's
     * prologue it is built now, while the sender's pre-copy rounds arrive. */
    char name[sizeof(dc.name)];
    snprintf(name, sizeof(name), "%s", dc.name);
    snprintf(dc.name, sizeof(dc.name), "%.*s--incoming", (int)sizeof(dc.name) - 11, name);
    uint16_t domid;
    rc = kxl__image_check_fit(ctx, &dc, &img, src);
    kxl__rt_phase(ctx, &ctx->rt.head_ns);
    if (rc == 0)
        rc = kxl__image_restore(ctx, &dc, r, src, &img, true, &domid);
    ctx->rt_mark = 0; /* the wait for the sender's go is no phase of the restore */
    kxl__image_free(&img);
    kxl_sreader_close(r);
    snprintf(dc.name, sizeof(dc.name), "%s", name);
    if (rc < 0) {
        kxl_domain_config_free(&dc);
        return rc;
    }
    rc = kxl_migrate_say(send_fd, kxl_migrate_ready, sizeof(kxl_migrate_ready));
    if (rc == 0)
        rc = kxl_migrate_expect(recv_fd, kxl_migrate_go, sizeof(kxl_migrate_go), tmo);
    if (rc < 0) {
        kxl_domain_destroy(ctx, domid);
        kxl_domain_config_free(&dc);
        if (rc == -ETIMEDOUT)
            return kxl_fail(ctx, rc,
                            "the sender did not clear the domain to run within %u s: "
                            "destroyed it",
                            idle_timeout_s);
        return kxl_fail(ctx, rc, "the sender did not clear the domain to run: destroyed it");
    }
    uint8_t result = 0;
    /* Cleared to run: the guest's downtime ends with the unpause, so the rename (Xen does it
     * first) follows. A copy that runs is the outcome that counts: if only its rename fails,
     * it runs on as NAME--incoming (xl rename fixes that). */
    ctx->rt_mark = kxen_now_ns();
    if (paused) {
        rc = kxl_domain_rename(ctx, domid, name);
    } else if ((rc = kxl_domain_unpause(ctx, domid)) == 0) {
        kxl__rt_phase(ctx, &ctx->rt.unpause_ns);
        kxl_domain_rename(ctx, domid, name);
    }
    ctx->rt_mark = 0;
    result = rc < 0 ? 1 : 0;
    /* The sender destroys its copy once it reads this report: ours must stay from now on,
     * whatever becomes of this process. */
    if (rc == 0)
        kxl__build_event(ctx, KXL_BUILD_KEPT, domid, NULL);
    int wrc = kxl_migrate_say(send_fd, kxl_migrate_report, sizeof(kxl_migrate_report));
    if (wrc == 0)
        wrc = kxl_migrate_say(send_fd, (const char *)&result, 1);
    /* kxen's addition after Xen's handshake: when the copy's first vCPU entered the guest
     * (0 when paused or not seen within a second). */
    struct kxen_ctl_domain_times t = {0};
    for (int i = 0; wrc == 0 && rc == 0 && !paused && i < 5000; i++) {
        if (domain_times(ctx, domid, &t) < 0 || t.first_entry_ns)
            break;
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
    if (wrc == 0 && rc == 0)
        kxl_migrate_say(send_fd, (const char *)&t.first_entry_ns, sizeof(t.first_entry_ns));
    if (rc < 0) {
        kxl_domain_destroy(ctx, domid);
        kxl_domain_config_free(&dc);
        return rc;
    }
    *domid_out = domid;
    if (dc_out)
        *dc_out = dc;
    else
        kxl_domain_config_free(&dc);
    return 0;
}
