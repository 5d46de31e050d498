/* Consuming shared rings whose peer is not trusted (libkxenring, build/lib/libkxenring.a).
 *
 * Rules every function here keeps (see docs/abi.md):
 *  - every index in shared memory (the peer's producer index, and our own consumer index when
 *    it lives in shared memory too) is read exactly once per call into a local, then checked;
 *  - a slot is copied once into caller memory and only that copy is used and validated;
 *  - an index claiming more entries than the ring holds is a protocol violation: the call fails
 *    with -EPROTO, the guard records why, and the ring is dead from then on (every later call
 *    fails at once with the same error). Never an out-of-bounds access, never a spin.
 *
 * Request/response rings: use the typed rings of DEFINE_RING_TYPES and the macros
 *   RING_BACK_NEXT_REQUEST(back_ring, &req, &guard)    backend: next request, copied
 *   RING_FRONT_NEXT_RESPONSE(front_ring, &rsp, &guard) frontend: next response, copied
 *   RING_BACK_PUT_RESPONSE(back_ring, &rsp)            backend: queue a response (then
 *                                                      RING_PUSH_RESPONSES_AND_CHECK_NOTIFY)
 * Byte-stream rings (console, xenstore): struct kxen_bytering with kxen_bytering_read/write
 * (both indices in shared memory: xenconsoled) or kxen_bytering_consume/produce (our index
 * private: xenstored). */
#ifndef KXEN_RING_SAFE_H
#define KXEN_RING_SAFE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <kxen/io/console.h>
#include <kxen/io/ring.h>
#include <kxen/io/xs_wire.h>

/* Why a ring was declared dead. Zero-initialise before first use. */
struct kxen_ring_guard {
    int dead;           /* 1 once a violation was seen */
    int err;            /* the negative errno every later call returns */
    const char *reason; /* static text naming what was wrong */
    uint32_t prod;      /* the offending producer index ... */
    uint32_t cons;      /* ... the consumer index it was compared with ... */
    uint32_t size;      /* ... and the ring size */
};

/* Human-readable "reason (prod=.. cons=.. size=..)" into buf; returns buf. */
const char *kxen_ring_guard_describe(const struct kxen_ring_guard *g, char *buf, size_t len);

/* ---- Request/response rings ----------------------------------------------------------------
 * Generic forms; the macros below fill the arguments from a typed ring. sring is the shared
 * ring, nr_ents its RING_SIZE, slot_size the size of one slot (the union), out/out_size the
 * caller's copy. Return 1 with *out filled and *cons advanced, 0 when nothing is pending, or a
 * negative errno (-EPROTO: peer broke the protocol, -EINVAL: bad arguments). */
int kxen_ring_back_get(void *sring, unsigned int nr_ents, size_t slot_size, RING_IDX *req_cons,
                       RING_IDX rsp_prod_pvt, void *out, size_t out_size,
                       struct kxen_ring_guard *g);
int kxen_ring_front_get(void *sring, unsigned int nr_ents, size_t slot_size, RING_IDX *rsp_cons,
                        RING_IDX req_prod_pvt, void *out, size_t out_size,
                        struct kxen_ring_guard *g);

/* The request type of the ring must be the type of *_req (checked at compile time). */
#define RING_BACK_NEXT_REQUEST(_r, _req, _guard)                                                   \
    (__extension__({                                                                               \
        _Static_assert(__builtin_types_compatible_p(__typeof__(*(_req)),                           \
                                                    __typeof__((_r)->sring->ring[0].req)),         \
                       "RING_BACK_NEXT_REQUEST: request type does not match the ring");            \
        kxen_ring_back_get((_r)->sring, (_r)->nr_ents, sizeof((_r)->sring->ring[0]),               \
                           &(_r)->req_cons, (_r)->rsp_prod_pvt, (_req), sizeof(*(_req)),           \
                           (_guard));                                                              \
    }))
#define RING_FRONT_NEXT_RESPONSE(_r, _rsp, _guard)                                                 \
    (__extension__({                                                                               \
        _Static_assert(__builtin_types_compatible_p(__typeof__(*(_rsp)),                           \
                                                    __typeof__((_r)->sring->ring[0].rsp)),         \
                       "RING_FRONT_NEXT_RESPONSE: response type does not match the ring");         \
        kxen_ring_front_get((_r)->sring, (_r)->nr_ents, sizeof((_r)->sring->ring[0]),              \
                            &(_r)->rsp_cons, (_r)->req_prod_pvt, (_rsp), sizeof(*(_rsp)),          \
                            (_guard));                                                             \
    }))
/* Write a response into the next private slot (published later by RING_PUSH_RESPONSES*). */
#define RING_BACK_PUT_RESPONSE(_r, _rsp)                                                           \
    do {                                                                                           \
        *RING_GET_RESPONSE(_r, (_r)->rsp_prod_pvt) = *(_rsp);                                      \
        (_r)->rsp_prod_pvt++;                                                                      \
    } while (0)

/* ---- Byte-stream rings -----------------------------------------------------------------------
 * One direction of a console or xenstore page: data bytes plus a consumer and a producer index,
 * all in shared memory. size must be a power of two. */
struct kxen_bytering {
    volatile char *buf;
    uint32_t size;
    volatile uint32_t *cons;
    volatile uint32_t *prod;
};

/* Consumer: copy up to len bytes out. Returns bytes read (0 = empty) or a negative errno. */
ssize_t kxen_bytering_read(const struct kxen_bytering *r, void *dst, size_t len,
                           struct kxen_ring_guard *g);
/* Producer: copy up to len bytes in. Returns bytes written (0 = full) or a negative errno. */
ssize_t kxen_bytering_write(const struct kxen_bytering *r, const void *src, size_t len,
                            struct kxen_ring_guard *g);
/* Bytes readable now (or a negative errno if the indices are inconsistent). */
ssize_t kxen_bytering_avail(const struct kxen_bytering *r, struct kxen_ring_guard *g);

/* The same with our own index private: xenstored keeps req_cons and rsp_prod in its own memory
 * and only publishes them, so a guest that scribbles on them cannot move our position. Only
 * the peer's index is read from the page (once per call); our index *own is advanced by the
 * bytes moved and then stored to the page. A peer index more than size bytes away from *own
 * kills the ring (-EPROTO) before any byte is copied.
 * consume: copy up to len bytes between *own (our cons) and the peer's prod into dst.
 * produce: copy up to len bytes from src into the free space between *own (our prod) and the
 * peer's cons. Both return the bytes moved (0 = nothing to read / no space) or -errno. */
ssize_t kxen_bytering_consume(const struct kxen_bytering *r, uint32_t *own, void *dst, size_t len,
                              struct kxen_ring_guard *g);
ssize_t kxen_bytering_produce(const struct kxen_bytering *r, uint32_t *own, const void *src,
                              size_t len, struct kxen_ring_guard *g);

/* The four directions of the two standard pages. */
static inline struct kxen_bytering kxen_bytering_cons_out(struct xencons_interface *i)
{
    return (struct kxen_bytering){i->out, sizeof(i->out), &i->out_cons, &i->out_prod};
}
static inline struct kxen_bytering kxen_bytering_cons_in(struct xencons_interface *i)
{
    return (struct kxen_bytering){i->in, sizeof(i->in), &i->in_cons, &i->in_prod};
}
static inline struct kxen_bytering kxen_bytering_xs_req(struct xenstore_domain_interface *i)
{
    return (struct kxen_bytering){i->req, sizeof(i->req), &i->req_cons, &i->req_prod};
}
static inline struct kxen_bytering kxen_bytering_xs_rsp(struct xenstore_domain_interface *i)
{
    return (struct kxen_bytering){i->rsp, sizeof(i->rsp), &i->rsp_cons, &i->rsp_prod};
}

#endif
