/* Progress of a save's or restore's pages for the caller's callback (kxl_set_progress): the
 * library only counts and times; what is shown, and how often, is the caller's business.
 * Invariant: nothing is reported outside a begin..end pair, and once the last page is done
 * the last report says done == total (end reports it unless the last batch did). */
#include <string.h>

#include "kxen/util.h"
#include "kxl_internal.h"

void kxl_progress_rates(struct kxl_progress *p)
{
    p->pages_per_s = p->mb_per_s = 0;
    p->eta_s = p->total && p->done >= p->total ? 0 : -1;
    if (!p->elapsed_ns || !p->done)
        return;
    p->pages_per_s = p->done * 1e9 / p->elapsed_ns;
    p->mb_per_s = p->pages_per_s * 4096 / 1e6;
    if (p->total > p->done)
        p->eta_s = (p->total - p->done) / p->pages_per_s;
}

void kxl_set_progress(struct kxl_ctx *ctx, kxl_progress_fn *fn, void *opaque)
{
    ctx->progress = fn;
    ctx->progress_arg = opaque;
}

static void report(struct kxl_ctx *ctx, uint64_t done, uint64_t bytes)
{
    struct kxl_progress *p = &ctx->prog;
    p->done = done;
    p->bytes = bytes;
    p->elapsed_ns = kxen_now_ns() - ctx->prog_t0;
    kxl_progress_rates(p);
    ctx->progress(ctx->progress_arg, p);
}

void kxl__progress_begin(struct kxl_ctx *ctx, const char *op, uint64_t total)
{
    memset(&ctx->prog, 0, sizeof(ctx->prog));
    ctx->prog.op = op;
    ctx->prog.total = total;
    ctx->prog_t0 = ctx->progress ? kxen_now_ns() : 0;
}

void kxl__progress_pages(struct kxl_ctx *ctx, uint64_t done, uint64_t bytes)
{
    if (ctx->prog_t0)
        report(ctx, done, bytes);
}

void kxl__progress_end(struct kxl_ctx *ctx, uint64_t done, uint64_t bytes)
{
    if (!ctx->prog_t0)
        return;
    bool reported = ctx->prog.total && ctx->prog.done == done && done >= ctx->prog.total;
    if (ctx->prog.total < done)
        ctx->prog.total = done;
    if (!reported)
        report(ctx, done, bytes);
    ctx->prog_t0 = 0;
}
