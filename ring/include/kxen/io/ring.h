/* Shared-memory request/response rings, Xen's split-driver transport.
 *
 * One shared page (or more) holds a 64-byte header followed by a power-of-two array of slots;
 * each slot is a union of one request and one response. The frontend produces requests and
 * consumes responses, the backend the reverse. Indices are free-running 32-bit counters
 * (wrapping is fine: only differences are used) and are masked with RING_SIZE - 1 to find a
 * slot. req_event / rsp_event are the hold-off: a consumer about to sleep writes "wake me when
 * the producer index passes this value", so a producer only notifies the event channel when
 * the consumer asked for it.
 *
 * Names, macro signatures and the shared layout are Xen's (io/ring.h ABI); the code and text are
 * kxen's own. ring/tests checks the layout against /usr/include/xen and runs both against each
 * other across processes. These macros trust the shared page: a backend facing an untrusted
 * frontend uses <kxen/ring_safe.h> (libkxenring) to consume requests instead.
 *
 * Works in hosted code and in freestanding guest code (x86-64). */
#ifndef KXEN_IO_RING_H
#define KXEN_IO_RING_H

#include <stdint.h>

typedef unsigned int RING_IDX;

/* ---- Barriers --------------------------------------------------------------------------
 * x86-64 is TSO: loads are not reordered with loads, stores not with stores, so read and write
 * barriers only have to stop the compiler. The full barrier orders an earlier store before a
 * later load (the one reordering x86 does), which the notify/final-check logic needs. */
#ifndef xen_mb
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#ifndef xen_rmb
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#endif
#ifndef xen_wmb
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#endif

/* Shared indices are read and written exactly once per use, through volatile accesses, so that
 * the compiler can neither cache nor refetch them. */
#define KXEN_RING_LOAD(x) (*(const volatile __typeof__(x) *)&(x))
#define KXEN_RING_STORE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- Ring size ---------------------------------------------------------------------------
 * Largest power of two <= n, as an integer constant expression (usable for array sizes):
 * smear the top bit into every lower bit, then keep only the top one. */
#define __KXEN_SMEAR1(n) ((n) | ((n) >> 1))
#define __KXEN_SMEAR2(n) (__KXEN_SMEAR1(n) | (__KXEN_SMEAR1(n) >> 2))
#define __KXEN_SMEAR4(n) (__KXEN_SMEAR2(n) | (__KXEN_SMEAR2(n) >> 4))
#define __KXEN_SMEAR8(n) (__KXEN_SMEAR4(n) | (__KXEN_SMEAR4(n) >> 8))
#define __KXEN_SMEAR16(n) (__KXEN_SMEAR8(n) | (__KXEN_SMEAR8(n) >> 16))
#define __KXEN_POW2_FLOOR(n)                                                                       \
    ((unsigned int)(n) ? (__KXEN_SMEAR16((unsigned int)(n)) >> 1) + 1u : 0u)

/* Slots that fit in _sz bytes of shared memory for ring type _s (a name given to
 * DEFINE_RING_TYPES), resp. for the shared ring at pointer _s. */
#define __CONST_RING_SIZE(_s, _sz)                                                                 \
    __KXEN_POW2_FLOOR(((_sz) - __builtin_offsetof(struct _s##_sring, ring)) /                      \
                      sizeof(((struct _s##_sring *)0)->ring[0]))
#define __RING_SIZE(_s, _sz)                                                                       \
    __KXEN_POW2_FLOOR(((_sz) - ((char *)(_s)->ring - (char *)(_s))) / sizeof((_s)->ring[0]))

/* ---- Types ----------------------------------------------------------------------------------
 * DEFINE_RING_TYPES(name, req_t, rsp_t) declares:
 *   union  name_sring_entry  one slot
 *   struct name_sring        the shared page (64-byte header, then the slots)
 *   struct name_front_ring   the frontend's private view
 *   struct name_back_ring    the backend's private view
 * and the matching _t typedefs. */
#define DEFINE_RING_TYPES(__name, __req_t, __rsp_t)                                                \
    union __name##_sring_entry {                                                                   \
        __req_t req;                                                                               \
        __rsp_t rsp;                                                                               \
    };                                                                                             \
    struct __name##_sring {                                                                        \
        RING_IDX req_prod, req_event;                                                              \
        RING_IDX rsp_prod, rsp_event;                                                              \
        union { /* per-protocol private bytes */                                                   \
            struct {                                                                               \
                uint8_t smartpoll_active;                                                          \
            } netif;                                                                               \
            struct {                                                                               \
                uint8_t msg;                                                                       \
            } tapif_user;                                                                          \
            uint8_t pvt_pad[4];                                                                    \
        } pvt;                                                                                     \
        uint8_t __pad[44];                  /* header is 64 bytes */                               \
        union __name##_sring_entry ring[1]; /* really RING_SIZE slots */                           \
    };                                                                                             \
    struct __name##_front_ring {                                                                   \
        RING_IDX req_prod_pvt; /* next request slot to fill (unpublished) */                       \
        RING_IDX rsp_cons;     /* next response to consume */                                      \
        unsigned int nr_ents;                                                                      \
        struct __name##_sring *sring;                                                              \
    };                                                                                             \
    struct __name##_back_ring {                                                                    \
        RING_IDX rsp_prod_pvt; /* next response slot to fill (unpublished) */                      \
        RING_IDX req_cons;     /* next request to consume */                                       \
        unsigned int nr_ents;                                                                      \
        struct __name##_sring *sring;                                                              \
    };                                                                                             \
    typedef struct __name##_sring __name##_sring_t;                                                \
    typedef struct __name##_front_ring __name##_front_ring_t;                                      \
    typedef struct __name##_back_ring __name##_back_ring_t

/* ---- Initialisation ------------------------------------------------------------------------ */
/* The frontend initialises the shared page once, before advertising it. */
#define SHARED_RING_INIT(_s)                                                                       \
    do {                                                                                           \
        (_s)->req_prod = (_s)->rsp_prod = 0;                                                       \
        (_s)->req_event = (_s)->rsp_event = 1;                                                     \
        __builtin_memset((_s)->pvt.pvt_pad, 0, sizeof((_s)->pvt.pvt_pad));                         \
        __builtin_memset((_s)->__pad, 0, sizeof((_s)->__pad));                                     \
    } while (0)

/* Attach a private view to a ring whose indices already stand at _i (e.g. after resume). */
#define FRONT_RING_ATTACH(_r, _s, _i, __size)                                                      \
    do {                                                                                           \
        (_r)->req_prod_pvt = (_i);                                                                 \
        (_r)->rsp_cons = (_i);                                                                     \
        (_r)->nr_ents = __RING_SIZE(_s, __size);                                                   \
        (_r)->sring = (_s);                                                                        \
    } while (0)
#define FRONT_RING_INIT(_r, _s, __size) FRONT_RING_ATTACH(_r, _s, 0, __size)
#define XEN_FRONT_RING_INIT(r, s, size)                                                            \
    do {                                                                                           \
        SHARED_RING_INIT(s);                                                                       \
        FRONT_RING_INIT(r, s, size);                                                               \
    } while (0)

#define BACK_RING_ATTACH(_r, _s, _i, __size)                                                       \
    do {                                                                                           \
        (_r)->rsp_prod_pvt = (_i);                                                                 \
        (_r)->req_cons = (_i);                                                                     \
        (_r)->nr_ents = __RING_SIZE(_s, __size);                                                   \
        (_r)->sring = (_s);                                                                        \
    } while (0)
#define BACK_RING_INIT(_r, _s, __size) BACK_RING_ATTACH(_r, _s, 0, __size)

/* ---- Queries ------------------------------------------------------------------------------- */
#define RING_SIZE(_r) ((_r)->nr_ents)

/* Requests the frontend may still queue: slots not holding an unconsumed response. */
#define RING_FREE_REQUESTS(_r) (RING_SIZE(_r) - ((_r)->req_prod_pvt - (_r)->rsp_cons))
#define RING_FULL(_r) (RING_FREE_REQUESTS(_r) == 0)

#define XEN_RING_NR_UNCONSUMED_RESPONSES(_r)                                                       \
    ((RING_IDX)(KXEN_RING_LOAD((_r)->sring->rsp_prod) - (_r)->rsp_cons))

/* Requests waiting for the backend; bounded by the free response slots so that a frontend
 * cannot make the backend overwrite responses not yet consumed. */
#define XEN_RING_NR_UNCONSUMED_REQUESTS(_r)                                                        \
    ({                                                                                             \
        RING_IDX __kr_req = KXEN_RING_LOAD((_r)->sring->req_prod) - (_r)->req_cons;                \
        RING_IDX __kr_rsp = RING_SIZE(_r) - ((_r)->req_cons - (_r)->rsp_prod_pvt);                 \
        __kr_req < __kr_rsp ? __kr_req : __kr_rsp;                                                 \
    })
#define RING_HAS_UNCONSUMED_RESPONSES(_r) XEN_RING_NR_UNCONSUMED_RESPONSES(_r)
#define RING_HAS_UNCONSUMED_REQUESTS(_r) XEN_RING_NR_UNCONSUMED_REQUESTS(_r)

/* Pointer to the slot of index _idx (in shared memory: the peer may change it at any time). */
#define RING_GET_REQUEST(_r, _idx) (&((_r)->sring->ring[((_idx) & (RING_SIZE(_r) - 1))].req))
#define RING_GET_RESPONSE(_r, _idx) (&((_r)->sring->ring[((_idx) & (RING_SIZE(_r) - 1))].rsp))

/* Copy a slot into private memory exactly once: the source is read as a volatile object, so
 * the compiler can neither skip the copy nor go back to the shared slot later. */
#define __KXEN_RING_COPY(type, r, idx, dest)                                                       \
    do {                                                                                           \
        *(dest) = *(volatile __typeof__(*(dest)) *)RING_GET_##type(r, idx);                        \
    } while (0)
#define RING_COPY_REQUEST(r, idx, req) __KXEN_RING_COPY(REQUEST, r, idx, req)
#define RING_COPY_RESPONSE(r, idx, rsp) __KXEN_RING_COPY(RESPONSE, r, idx, rsp)

/* Would consuming the request at _cons overrun responses not yet produced? */
#define RING_REQUEST_CONS_OVERFLOW(_r, _cons) (((_cons) - (_r)->rsp_prod_pvt) >= RING_SIZE(_r))
/* Does a producer index _prod claim more requests (resp. responses) than the ring can hold? */
#define RING_REQUEST_PROD_OVERFLOW(_r, _prod) (((_prod) - (_r)->rsp_prod_pvt) > RING_SIZE(_r))
#define RING_RESPONSE_PROD_OVERFLOW(_r, _prod) (((_prod) - (_r)->rsp_cons) > RING_SIZE(_r))

/* ---- Publishing ----------------------------------------------------------------------------
 * Slot contents become visible before the producer index (write barrier). The _AND_CHECK_NOTIFY
 * forms then (full barrier: store of prod before load of event) tell whether the consumer's
 * event index lies in the range just published, i.e. whether it asked to be woken. */
#define RING_PUSH_REQUESTS(_r)                                                                     \
    do {                                                                                           \
        xen_wmb();                                                                                 \
        KXEN_RING_STORE((_r)->sring->req_prod, (_r)->req_prod_pvt);                                \
    } while (0)
#define RING_PUSH_RESPONSES(_r)                                                                    \
    do {                                                                                           \
        xen_wmb();                                                                                 \
        KXEN_RING_STORE((_r)->sring->rsp_prod, (_r)->rsp_prod_pvt);                                \
    } while (0)

#define RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(_r, _notify)                                           \
    do {                                                                                           \
        RING_IDX __kr_old = KXEN_RING_LOAD((_r)->sring->req_prod);                                 \
        RING_IDX __kr_new = (_r)->req_prod_pvt;                                                    \
        xen_wmb();                                                                                 \
        KXEN_RING_STORE((_r)->sring->req_prod, __kr_new);                                          \
        xen_mb();                                                                                  \
        (_notify) = ((RING_IDX)(__kr_new - KXEN_RING_LOAD((_r)->sring->req_event)) <               \
                     (RING_IDX)(__kr_new - __kr_old));                                             \
    } while (0)
#define RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(_r, _notify)                                          \
    do {                                                                                           \
        RING_IDX __kr_old = KXEN_RING_LOAD((_r)->sring->rsp_prod);                                 \
        RING_IDX __kr_new = (_r)->rsp_prod_pvt;                                                    \
        xen_wmb();                                                                                 \
        KXEN_RING_STORE((_r)->sring->rsp_prod, __kr_new);                                          \
        xen_mb();                                                                                  \
        (_notify) = ((RING_IDX)(__kr_new - KXEN_RING_LOAD((_r)->sring->rsp_event)) <               \
                     (RING_IDX)(__kr_new - __kr_old));                                             \
    } while (0)

/* ---- Going idle ----------------------------------------------------------------------------
 * Before sleeping, a consumer sets its event index to "the next one" and re-checks after a full
 * barrier: a producer that published in between either sees the new event index (and notifies)
 * or its work is seen here. This closes the lost-wake-up window. */
#define RING_FINAL_CHECK_FOR_REQUESTS(_r, _work_to_do)                                             \
    do {                                                                                           \
        (_work_to_do) = RING_HAS_UNCONSUMED_REQUESTS(_r);                                          \
        if (_work_to_do)                                                                           \
            break;                                                                                 \
        KXEN_RING_STORE((_r)->sring->req_event, (_r)->req_cons + 1);                               \
        xen_mb();                                                                                  \
        (_work_to_do) = RING_HAS_UNCONSUMED_REQUESTS(_r);                                          \
    } while (0)
#define RING_FINAL_CHECK_FOR_RESPONSES(_r, _work_to_do)                                            \
    do {                                                                                           \
        (_work_to_do) = RING_HAS_UNCONSUMED_RESPONSES(_r);                                         \
        if (_work_to_do)                                                                           \
            break;                                                                                 \
        KXEN_RING_STORE((_r)->sring->rsp_event, (_r)->rsp_cons + 1);                               \
        xen_mb();                                                                                  \
        (_work_to_do) = RING_HAS_UNCONSUMED_RESPONSES(_r);                                         \
    } while (0)

#endif
