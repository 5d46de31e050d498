/* See pump.h. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kxen/ring_safe.h>

#include "pump.h"

struct pump_req {
    uint64_t seq;
    uint64_t payload[3];
};
struct pump_rsp {
    uint64_t seq;
    uint64_t sum;
};
DEFINE_RING_TYPES(pump, struct pump_req, struct pump_rsp);

#define PAGE 4096

/* Second shared page: what the backend reports back. */
struct pump_stats {
    uint64_t rsp_kicks;
    char error[160];
};

static uint64_t payload(uint64_t seq, int k)
{
    return seq * 0x9E3779B97F4A7C15ull + (uint64_t)k;
}
static uint64_t payload_sum(uint64_t seq)
{
    return payload(seq, 0) ^ payload(seq, 1) ^ payload(seq, 2);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void pin_to(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof(s), &s); /* best effort: fewer CPUs just means sharing */
}

/* Polling has a deadline too: a broken ring must fail the run, not spin for ever. *deadline
 * is 0 until the first call of a wait; the clock is read every 4096 spins to keep polls cheap.
 * Returns 1 once timeout_ms have passed since that first call. */
static int spin_expired(double *deadline, unsigned *spins, int timeout_ms)
{
    if (*deadline == 0) {
        *deadline = now_s() + timeout_ms / 1e3;
        *spins = 0;
    }
    if (++*spins % 4096)
        return 0;
    return now_s() > *deadline;
}

static void kick(int efd, uint64_t *count)
{
    uint64_t one = 1;
    if (write(efd, &one, sizeof(one)) == sizeof(one))
        (*count)++;
}

static int sleep_on(int efd, int timeout_ms)
{
    struct pollfd p = {.fd = efd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -ETIMEDOUT;
    uint64_t v;
    return read(efd, &v, sizeof(v)) == sizeof(v) ? 0 : -EIO;
}

static int backend(const struct pump_cfg *c, pump_sring_t *s, int to_back, int to_front,
                   struct pump_stats *st)
{
    pump_back_ring_t b;
    BACK_RING_INIT(&b, s, PAGE);
    struct kxen_ring_guard g = {0};
    uint64_t done = 0;
    while (done < c->n) {
        struct pump_req req;
        int r;
        while ((r = RING_BACK_NEXT_REQUEST(&b, &req, &g)) == 1) {
            if (req.seq != done || req.payload[0] != payload(done, 0) ||
                req.payload[1] != payload(done, 1) || req.payload[2] != payload(done, 2)) {
                snprintf(st->error, sizeof(st->error),
                         "backend: request %llu has seq %llu or bad payload",
                         (unsigned long long)done, (unsigned long long)req.seq);
                return -1;
            }
            struct pump_rsp rsp = {.seq = req.seq, .sum = payload_sum(req.seq)};
            RING_BACK_PUT_RESPONSE(&b, &rsp);
            done++;
        }
        if (r < 0) {
            kxen_ring_guard_describe(&g, st->error, sizeof(st->error));
            return -1;
        }
        int notify;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
        if (c->wait == PUMP_EVENTFD) {
            if (notify)
                kick(to_front, &st->rsp_kicks);
            if (done == c->n)
                break;
            int work;
            RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
            if (!work && sleep_on(to_back, c->timeout_ms) < 0) {
                snprintf(st->error, sizeof(st->error),
                         "backend: no notification for %d ms after request %llu (lost wake-up)",
                         c->timeout_ms, (unsigned long long)done);
                return -1;
            }
        } else {
            double deadline = 0;
            unsigned spins = 0;
            while (done < c->n && !RING_HAS_UNCONSUMED_REQUESTS(&b)) {
                if (spin_expired(&deadline, &spins, c->timeout_ms)) {
                    snprintf(st->error, sizeof(st->error),
                             "backend: no request for %d ms after request %llu (polling)",
                             c->timeout_ms, (unsigned long long)done);
                    return -1;
                }
                __builtin_ia32_pause();
            }
        }
    }
    return 0;
}

/* Is there room for the next batch (or for all that is left, if less)? */
static int batch_fits(pump_front_ring_t *f, const struct pump_cfg *c, uint64_t sent)
{
    uint64_t want = c->n - sent < c->batch ? c->n - sent : c->batch;
    uint64_t in_flight = f->req_prod_pvt - f->rsp_cons;
    return want > 0 && RING_FREE_REQUESTS(f) >= want && in_flight + want <= c->window;
}

static int frontend(const struct pump_cfg *c, pump_sring_t *s, int to_back, int to_front,
                    struct pump_result *res)
{
    pump_front_ring_t f;
    FRONT_RING_INIT(&f, s, PAGE);
    struct kxen_ring_guard g = {0};
    uint64_t sent = 0;
    while (res->done < c->n) {
        /* Publish one whole batch (the last one may be shorter) when it fits. */
        if (batch_fits(&f, c, sent)) {
            uint64_t want = c->n - sent < c->batch ? c->n - sent : c->batch;
            for (uint64_t k = 0; k < want; k++, sent++) {
                struct pump_req *q = RING_GET_REQUEST(&f, f.req_prod_pvt++);
                q->seq = sent;
                for (int j = 0; j < 3; j++)
                    q->payload[j] = payload(sent, j);
            }
            int notify;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
            if (notify && c->wait == PUMP_EVENTFD)
                kick(to_back, &res->req_kicks);
        }
        /* Take whatever responses are there. */
        struct pump_rsp rsp;
        int r;
        while ((r = RING_FRONT_NEXT_RESPONSE(&f, &rsp, &g)) == 1) {
            if (rsp.seq != res->done || rsp.sum != payload_sum(rsp.seq)) {
                snprintf(res->error, sizeof(res->error),
                         "frontend: response %llu has seq %llu or bad sum",
                         (unsigned long long)res->done, (unsigned long long)rsp.seq);
                return -1;
            }
            res->done++;
        }
        if (r < 0) {
            kxen_ring_guard_describe(&g, res->error, sizeof(res->error));
            return -1;
        }
        /* Sleep only when no batch fits: then requests are outstanding (an empty ring always
         * fits a batch), and their responses will wake us. */
        if (res->done == c->n || batch_fits(&f, c, sent))
            continue;
        if (c->wait == PUMP_EVENTFD) {
            int work;
            RING_FINAL_CHECK_FOR_RESPONSES(&f, work);
            if (!work && sleep_on(to_front, c->timeout_ms) < 0) {
                snprintf(res->error, sizeof(res->error),
                         "frontend: no notification for %d ms after response %llu (lost wake-up)",
                         c->timeout_ms, (unsigned long long)res->done);
                return -1;
            }
        } else {
            double deadline = 0;
            unsigned spins = 0;
            while (!RING_HAS_UNCONSUMED_RESPONSES(&f)) {
                if (spin_expired(&deadline, &spins, c->timeout_ms)) {
                    snprintf(res->error, sizeof(res->error),
                             "frontend: no response for %d ms after response %llu (polling)",
                             c->timeout_ms, (unsigned long long)res->done);
                    return -1;
                }
                __builtin_ia32_pause();
            }
        }
    }
    return 0;
}

/* Waits at most timeout_ms for the backend to exit (then kills it). 1 if it exited by itself. */
static int reap(pid_t pid, int *status, int timeout_ms)
{
    double deadline = now_s() + timeout_ms / 1e3;
    while (waitpid(pid, status, WNOHANG) == 0) {
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return 0;
        }
        usleep(1000);
    }
    return 1;
}

int pump_run(const struct pump_cfg *cfg, struct pump_result *res)
{
    memset(res, 0, sizeof(*res));
    struct pump_cfg c = *cfg;
    if (!c.batch)
        c.batch = 1;
    if (c.batch > 64)
        c.batch = 64; /* the ring holds 64 requests */
    if (!c.window || c.window > 64)
        c.window = 64;
    if (c.batch > c.window)
        c.batch = c.window;
    if (!c.timeout_ms)
        c.timeout_ms = 5000;
    int mfd = memfd_create("ring-pump", 0);
    if (mfd < 0 || ftruncate(mfd, 2 * PAGE) < 0) {
        snprintf(res->error, sizeof(res->error), "memfd: %s", strerror(errno));
        return -1;
    }
    char *mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    close(mfd);
    int to_back = eventfd(0, EFD_CLOEXEC), to_front = eventfd(0, EFD_CLOEXEC);
    if (mem == MAP_FAILED || to_back < 0 || to_front < 0) {
        snprintf(res->error, sizeof(res->error), "mmap/eventfd: %s", strerror(errno));
        return -1;
    }
    pump_sring_t *s = (pump_sring_t *)mem;
    struct pump_stats *st = (struct pump_stats *)(mem + PAGE);
    SHARED_RING_INIT(s);

    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(res->error, sizeof(res->error), "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (c.pin)
            pin_to(1);
        _exit(backend(&c, s, to_back, to_front, st) ? 1 : 0);
    }
    if (c.pin)
        pin_to(0);
    int rc = frontend(&c, s, to_back, to_front, res);
    if (rc)
        kill(pid, SIGKILL);
    int status = 0, reaped = reap(pid, &status, c.timeout_ms);
    res->secs = now_s() - t0;
    if (!rc && !reaped) {
        snprintf(res->error, sizeof(res->error),
                 "backend still running %d ms after the last response", c.timeout_ms);
        rc = -1;
    }
    res->rsp_kicks = st->rsp_kicks;
    if (!rc && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        snprintf(res->error, sizeof(res->error), "%s", st->error[0] ? st->error : "backend died");
        rc = -1;
    }
    munmap(mem, 2 * PAGE);
    close(to_back);
    close(to_front);
    return rc;
}
