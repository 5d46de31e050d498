/* The driver domain's C library: one thread of control (the event loop; event handlers only
 * set bits), so a mutex has nothing to exclude. */
#ifndef DDOM_PTHREAD_H
#define DDOM_PTHREAD_H

typedef struct {
    int unused;
} pthread_mutex_t;
typedef struct {
    int unused;
} pthread_mutexattr_t;

static inline int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    (void)m;
    (void)a;
    return 0;
}
static inline int pthread_mutex_destroy(pthread_mutex_t *m)
{
    (void)m;
    return 0;
}
static inline int pthread_mutex_lock(pthread_mutex_t *m)
{
    (void)m;
    return 0;
}
static inline int pthread_mutex_unlock(pthread_mutex_t *m)
{
    (void)m;
    return 0;
}

#endif
