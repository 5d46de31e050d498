/* Two-process interop test: a blkif frontend and backend, each built either on Xen's own
 * io/ring.h + io/blkif.h (interop_xen.c) or on kxen's (interop_kxen.c), talking over one shared
 * page with eventfd notifications. Only plain C types cross this header, so neither side's
 * ring names leak into the other. */
#ifndef KXEN_RING_TESTS_INTEROP_H
#define KXEN_RING_TESTS_INTEROP_H

#include <stdint.h>

/* Shared context: the ring page and one eventfd per direction. */
struct interop_link {
    void *page;
    int to_back;  /* frontend -> backend notifications */
    int to_front; /* backend -> frontend notifications */
};

/* Each returns 0 after n requests were sent and answered and everything checked, or a
 * positive step number identifying the first failed check (details on stderr). */
int xen_blk_front(const struct interop_link *l, uint32_t n);
int xen_blk_back(const struct interop_link *l, uint32_t n);
int kxen_blk_front(const struct interop_link *l, uint32_t n);
int kxen_blk_back(const struct interop_link *l, uint32_t n);

/* ---- What request i looks like, so that both sides can check contents ----------------- */
enum interop_kind { KIND_RW, KIND_DISCARD, KIND_INDIRECT };
static inline enum interop_kind interop_kind(uint32_t i)
{
    return i % 7 == 3 ? KIND_DISCARD : i % 13 == 5 ? KIND_INDIRECT : KIND_RW;
}
static inline uint64_t interop_id(uint32_t i)
{
    return 0x1000000000ull + i;
}
static inline uint64_t interop_sector(uint32_t i)
{
    return (uint64_t)i * 8 + 3;
}
static inline unsigned interop_nsegs(uint32_t i)
{
    return 1 + i % 11;
}
static inline uint32_t interop_gref(uint32_t i, unsigned s)
{
    return i * 16 + s;
}
static inline int interop_status(uint32_t i)
{
    return i % 5 == 0 ? -1 : 0;
}
#define INTEROP_HANDLE 0x51

/* Wait for a notification (5 s at most: a lost wake-up fails the test instead of hanging). */
int interop_wait(int efd);
void interop_kick(int efd);

#endif
