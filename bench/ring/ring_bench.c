/* bench/ring: requests per second through a kxen ring between two processes (one per core),
 * polling and eventfd-notified, in batches of 1, 8 and 32, with notifications per request;
 * printed next to two references measured in the same run: a bare single-producer/single-
 * consumer copy of the same bytes through shared memory (no ring protocol, no checks), and a
 * pipe round trip.
 * The machine may be shared, and a descheduled poller stalls its partner, so every figure is
 * the best of three runs.
 *   ring_bench [scale]   scale multiplies the request counts (default 1). */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../ring/tests/pump.h"

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
    sched_setaffinity(0, sizeof(s), &s);
}

#define TRIES 3

/* ---- Reference 1: bare SPSC queues, 32-byte records out and 16-byte records back ---------- */
#define SPSC_N 64
struct spsc {
    _Alignas(64) _Atomic uint32_t head; /* written by the producer */
    _Alignas(64) _Atomic uint32_t tail; /* written by the consumer */
    _Alignas(64) unsigned char slot[SPSC_N][32];
};

static double spsc_run(uint64_t n)
{
    struct spsc *q = mmap(NULL, 2 * sizeof(struct spsc), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return -1;
    struct spsc *req = &q[0], *rsp = &q[1];
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        pin_to(1);
        for (uint64_t i = 0; i < n; i++) {
            uint32_t h;
            while ((h = atomic_load_explicit(&req->head, memory_order_acquire)) == i)
                __builtin_ia32_pause();
            unsigned char rec[32];
            memcpy(rec, req->slot[i % SPSC_N], 32);
            atomic_store_explicit(&req->tail, (uint32_t)(i + 1), memory_order_release);
            while ((uint32_t)(i - atomic_load_explicit(&rsp->tail, memory_order_acquire)) >= SPSC_N)
                __builtin_ia32_pause();
            memcpy(rsp->slot[i % SPSC_N], rec, 16);
            atomic_store_explicit(&rsp->head, (uint32_t)(i + 1), memory_order_release);
        }
        _exit(0);
    }
    pin_to(0);
    uint64_t sent = 0, got = 0;
    unsigned char rec[32] = {0};
    while (got < n) {
        while (sent < n &&
               (uint32_t)(sent - atomic_load_explicit(&req->tail, memory_order_acquire)) < SPSC_N) {
            memcpy(rec, &sent, sizeof(sent));
            memcpy(req->slot[sent % SPSC_N], rec, 32);
            sent++;
            atomic_store_explicit(&req->head, (uint32_t)sent, memory_order_release);
        }
        while (got < atomic_load_explicit(&rsp->head, memory_order_acquire)) {
            unsigned char back[16];
            memcpy(back, rsp->slot[got % SPSC_N], 16);
            got++;
            atomic_store_explicit(&rsp->tail, (uint32_t)got, memory_order_release);
        }
    }
    waitpid(pid, NULL, 0);
    double secs = now_s() - t0;
    munmap(q, 2 * sizeof(struct spsc));
    return n / secs;
}

/* ---- Reference 2: pipe round trip, 32 bytes there and 16 back ------------------------------ */
static double pipe_run(uint64_t n)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        return -1;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        pin_to(1);
        unsigned char buf[32];
        for (uint64_t i = 0; i < n; i++)
            if (read(a[0], buf, 32) != 32 || write(b[1], buf, 16) != 16)
                _exit(1);
        _exit(0);
    }
    pin_to(0);
    unsigned char buf[32] = {0};
    for (uint64_t i = 0; i < n; i++)
        if (write(a[1], buf, 32) != 32 || read(b[0], buf, 16) != 16)
            return -1;
    waitpid(pid, NULL, 0);
    double secs = now_s() - t0;
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    return n / secs;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    if (scale <= 0)
        scale = 1.0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf(
        "ring: 64-slot kxen ring (32-byte requests, 16-byte responses), frontend and backend in\n"
        "two processes%s; backend consumes through libkxenring (copy + checks).\n",
        cpus >= 2 ? " pinned to CPUs 0 and 1" : " (only one CPU online: they share it)");

    double spsc = 0, pipe_rt = 0;
    for (int t = 0; t < TRIES; t++) {
        double a = spsc_run((uint64_t)(1e6 * scale)), b = pipe_run((uint64_t)(5e4 * scale));
        spsc = a > spsc ? a : spsc;
        pipe_rt = b > pipe_rt ? b : pipe_rt;
    }
    printf("reference  bare SPSC copy, same bytes, polling   %12.0f req/s\n", spsc);
    printf("reference  pipe round trip                        %12.0f req/s\n", pipe_rt);

    static const unsigned batches[] = {1, 8, 32};
    int rc = 0;
    for (int w = 0; w < 2; w++) {
        for (unsigned k = 0; k < 3; k++) {
            struct pump_cfg c = {
                .n = (uint64_t)((w == 0 ? 1e6 : 5e5) * scale),
                .batch = batches[k],
                .wait = w == 0 ? PUMP_POLL : PUMP_EVENTFD,
                .pin = cpus >= 2,
                .timeout_ms = 5000,
            };
            struct pump_result r;
            if (pump_run(&c, &r) != 0) {
                printf("ring %-7s batch %2u: FAILED: %s\n", w ? "eventfd" : "poll", batches[k],
                       r.error);
                rc = 1;
                continue;
            }
            double rate = r.done / r.secs;
            printf("ring       %-7s batch %2u                     %12.0f req/s  %5.2fx SPSC  "
                   "%6.1fx pipe",
                   w ? "eventfd" : "poll", batches[k], rate, rate / spsc, rate / pipe_rt);
            if (w)
                printf("  notifications/req %.4f (%.4f req + %.4f rsp)",
                       (double)(r.req_kicks + r.rsp_kicks) / r.done, (double)r.req_kicks / r.done,
                       (double)r.rsp_kicks / r.done);
            printf("\n");
        }
    }
    return rc;
}
