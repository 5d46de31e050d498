/* The fake blkfront (see fake_blkfront.h). */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "fake_blkfront.h"

void fb_toolstack_add(struct fake_platform *fp, uint32_t domid, uint32_t devid, const char *image,
                      const char *mode)
{
    char be[128], fe[128];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/%u", domid, devid);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", domid, devid);
    fake_xs_printf(fp, fe, "backend", "%s", be);
    fake_xs_printf(fp, fe, "backend-id", "0");
    fake_xs_printf(fp, fe, "state", "1");
    fake_xs_printf(fp, fe, "virtual-device", "%u", devid);
    fake_xs_printf(fp, fe, "device-type", "disk");
    fake_xs_printf(fp, fe, "trusted", "1");
    fake_xs_printf(fp, be, "frontend-id", "%u", domid);
    fake_xs_printf(fp, be, "online", "1");
    fake_xs_printf(fp, be, "removable", "0");
    fake_xs_printf(fp, be, "bootable", "1");
    fake_xs_printf(fp, be, "state", "1");
    fake_xs_printf(fp, be, "dev", "xvda");
    fake_xs_printf(fp, be, "type", "file");
    fake_xs_printf(fp, be, "mode", "%s", mode);
    fake_xs_printf(fp, be, "device-type", "disk");
    fake_xs_printf(fp, be, "discard-enable", "1");
    fake_xs_printf(fp, be, "specification", "xen");
    fake_xs_printf(fp, be, "params", "%s", image);
    /* `frontend` last: the backend creates the device once it appears. */
    fake_xs_printf(fp, be, "frontend", "%s", fe);
}

void fb_toolstack_remove(struct fake_platform *fp, uint32_t domid, uint32_t devid)
{
    char be[128];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/%u", domid, devid);
    fake_xs_printf(fp, be, "online", "0");
    fake_xs_printf(fp, be, "state", "5");
}

void fb_init(struct fake_blkfront *fb, struct fake_platform *fp, struct blkback *bb,
             unsigned int order, unsigned int nr_queues, bool persistent)
{
    memset(fb, 0, sizeof(*fb));
    fb->fp = fp;
    fb->bb = bb;
    fb->order = order;
    fb->nr_queues = nr_queues;
    fb->persistent = persistent;
    snprintf(fb->be, sizeof(fb->be), "/local/domain/0/backend/vbd/%u/%u", FB_DOMID, FB_DEVID);
    snprintf(fb->fe, sizeof(fb->fe), "/local/domain/%u/device/vbd/%u", FB_DOMID, FB_DEVID);
}

bool fb_pump(struct fake_blkfront *fb, bool (*pred)(struct fake_blkfront *fb))
{
    for (int i = 0; i < 3000; i++) {
        blkback_poll(fb->bb);
        if (pred(fb))
            return true;
        struct pollfd pfd = {.fd = blkback_completion_fd(fb->bb), .events = POLLIN};
        poll(&pfd, 1, 1);
    }
    return false;
}

int fb_read_be_uint(struct fake_blkfront *fb, const char *key, uint64_t *v)
{
    char path[256], buf[64];
    snprintf(path, sizeof(path), "%s/%s", fb->be, key);
    int rc = fake_xs_read(fb->fp, path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return xenbus_parse_uint(buf, UINT64_MAX, v);
}

int fb_backend_state(struct fake_blkfront *fb)
{
    uint64_t v;
    return fb_read_be_uint(fb, "state", &v) ? -1 : (int)v;
}

void fb_set_state(struct fake_blkfront *fb, int state)
{
    fake_xs_printf(fb->fp, fb->fe, "state", "%d", state);
}

void fb_talk(struct fake_blkfront *fb)
{
    struct xenbus_platform *p = fake_platform_base(fb->fp);
    xenbus_txn_t t;
    char path[256], val[32];
    p->ops->xs_transaction_start(p, &t);
#define TW(key, ...)                                                                               \
    do {                                                                                           \
        snprintf(path, sizeof(path), "%s/%s", fb->fe, key);                                        \
        snprintf(val, sizeof(val), __VA_ARGS__);                                                   \
        p->ops->xs_write(p, t, path, val);                                                         \
    } while (0)
    if (fb->order > 0)
        TW("ring-page-order", "%u", fb->order);
    if (fb->nr_queues > 1)
        TW("multi-queue-num-queues", "%u", fb->nr_queues);
    for (unsigned int q = 0; q < fb->nr_queues; q++) {
        struct fb_queue *fq = &fb->q[q];
        unsigned int pages = 1u << fb->order;
        unsigned int first = 0;
        for (unsigned int i = 0; i < pages; i++) {
            unsigned int pg = fake_alloc_page(fb->fp);
            if (i == 0)
                first = pg;
            fq->refs[i] = fake_grant(fb->fp, pg, false);
        }
        fq->sring = fake_page(fb->fp, first); /* pages are allocated contiguously */
        SHARED_RING_INIT((blkif_sring_t *)fq->sring);
        FRONT_RING_INIT(&fq->front, (blkif_sring_t *)fq->sring, (size_t)pages * 4096);
        fq->port = fake_evtchn_alloc_unbound(fb->fp);
        char pre[32] = "";
        if (fb->nr_queues > 1)
            snprintf(pre, sizeof(pre), "queue-%u/", q);
        char key[64];
        for (unsigned int i = 0; i < pages; i++) {
            if (fb->order == 0)
                snprintf(key, sizeof(key), "%sring-ref", pre);
            else
                snprintf(key, sizeof(key), "%sring-ref%u", pre, i);
            TW(key, "%u", fq->refs[i]);
        }
        snprintf(key, sizeof(key), "%sevent-channel", pre);
        TW(key, "%u", fq->port);
    }
    TW("protocol", "x86_64-abi");
    TW("feature-persistent", "%u", fb->persistent ? 1u : 0u);
#undef TW
    p->ops->xs_transaction_end(p, t, false);
    fb_set_state(fb, XenbusStateInitialised);
}

static bool be_initwait(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateInitWait;
}

static bool be_connected(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateConnected;
}

bool fb_connect(struct fake_blkfront *fb)
{
    if (!fb_pump(fb, be_initwait))
        return false;
    fb_talk(fb);
    if (!fb_pump(fb, be_connected))
        return false;
    fb_set_state(fb, XenbusStateConnected);
    blkback_poll(fb->bb);
    return true;
}

void fb_push(struct fake_blkfront *fb, unsigned int q, const void *req)
{
    struct fb_queue *fq = &fb->q[q];
    int notify;
    memcpy(RING_GET_REQUEST(&fq->front, fq->front.req_prod_pvt), req, sizeof(struct blkif_request));
    fq->front.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fq->front, notify);
    if (notify)
        fake_evtchn_notify_from_frontend(fb->fp, fq->port);
}

static struct fake_blkfront *wait_fb;
static unsigned int wait_q;
static bool has_response(struct fake_blkfront *fb)
{
    (void)wait_fb;
    return RING_HAS_UNCONSUMED_RESPONSES(&fb->q[wait_q].front);
}

bool fb_wait_response(struct fake_blkfront *fb, unsigned int q, struct blkif_response *rsp)
{
    struct fb_queue *fq = &fb->q[q];
    wait_q = q;
    if (!fb_pump(fb, has_response))
        return false;
    *rsp = *RING_GET_RESPONSE(&fq->front, fq->front.rsp_cons);
    fq->front.rsp_cons++;
    return true;
}

int fb_rw(struct fake_blkfront *fb, unsigned int q, uint8_t op, uint64_t sector, unsigned int nsegs,
          void *data)
{
    struct blkif_request req = {
        .operation = op, .nr_segments = (uint8_t)nsegs, .id = 77, .sector_number = sector};
    unsigned int pages[BLKIF_MAX_SEGMENTS_PER_REQUEST];
    cr_assert_leq(nsegs, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    for (unsigned int i = 0; i < nsegs; i++) {
        pages[i] = fake_alloc_page(fb->fp);
        if (op == BLKIF_OP_WRITE)
            memcpy(fake_page(fb->fp, pages[i]), (char *)data + i * 4096, 4096);
        req.seg[i] = (struct blkif_request_segment){
            .gref = fake_grant(fb->fp, pages[i], op == BLKIF_OP_WRITE && !fb->persistent),
            .first_sect = 0,
            .last_sect = 7};
    }
    fb_push(fb, q, &req);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(fb, q, &rsp), "no response");
    cr_assert_eq(rsp.id, 77);
    if (op == BLKIF_OP_READ && rsp.status == BLKIF_RSP_OKAY)
        for (unsigned int i = 0; i < nsegs; i++)
            memcpy((char *)data + i * 4096, fake_page(fb->fp, pages[i]), 4096);
    return rsp.status;
}
