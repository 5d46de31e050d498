/* bench/ring: requests per second through a kxen ring between two processes (one per core),
 * next to two references measured in the same run under the same rules:
 *   - window: the most requests in flight (64 = the ring's size, 1 = ping-pong);
 *   - batch: requests the frontend publishes with one index update (ring, SPSC) or one write()
 *     (pipe), once that many fit in the window;
 *   - responses: the backend publishes everything it has answered once per drain.
 * Polling rows are compared with a bare single-producer/single-consumer copy of the same bytes
 * through shared memory (no ring protocol, no checks, polling); eventfd rows with a pipe (both
 * sleep in the kernel when there is nothing to do). Every wait has a deadline: a reference that
 * stalls reports FAILED instead of hanging the benchmark.
 * The machine may be shared, and a descheduled poller stalls its partner, so every figure is
 * the best of three runs.
 *   ring_bench [scale]   scale multiplies the request counts (default 1). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
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

#define TRIES 3
#define TIMEOUT_MS 5000
#define REQ_SIZE 32
#define RSP_SIZE 16

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

struct shape {
    uint64_t n;
    unsigned window, batch;
    int pin;
};

/* Requests of the next batch, or 0 when it does not fit the window yet. */
static uint64_t next_batch(const struct shape *s, uint64_t sent, uint64_t got)
{
    uint64_t want = s->n - sent < s->batch ? s->n - sent : s->batch;
    return want && sent - got + want <= s->window ? want : 0;
}

/* Waits for the child; kills it if it has not exited by the deadline. 0 if it exited with 0. */
static int reap(pid_t pid, int failed)
{
    int status = 0;
    if (failed)
        kill(pid, SIGKILL);
    double deadline = now_s() + TIMEOUT_MS / 1e3;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(1000);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---- Reference 1: bare SPSC queues (polling), 32-byte records out and 16-byte records back -- */
#define SPSC_N 64
struct spsc {
    _Alignas(64) _Atomic uint32_t head; /* written by the producer, once per batch or drain */
    _Alignas(64) unsigned char slot[SPSC_N][REQ_SIZE];
};

/* Spins until *idx differs from old; 0, or -1 after TIMEOUT_MS. */
static int spin_change(_Atomic uint32_t *idx, uint32_t old, uint32_t *now)
{
    double deadline = 0;
    for (unsigned spins = 1;; spins++) {
        if ((*now = atomic_load_explicit(idx, memory_order_acquire)) != old)
            return 0;
        if (spins % 4096 == 0) {
            if (deadline == 0)
                deadline = now_s() + TIMEOUT_MS / 1e3;
            else if (now_s() > deadline)
                return -1;
        }
        __builtin_ia32_pause();
    }
}

static double spsc_run(const struct shape *s)
{
    struct spsc *q = mmap(NULL, 2 * sizeof(struct spsc), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return -1;
    struct spsc *req = &q[0], *rsp = &q[1];
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) { /* backend: drain all published requests, then publish their responses */
        if (s->pin)
            pin_to(1);
        uint32_t done = 0, head;
        while (done < s->n) {
            if (spin_change(&req->head, done, &head) < 0)
                _exit(1);
            for (; done != head; done++) {
                unsigned char rec[REQ_SIZE];
                memcpy(rec, req->slot[done % SPSC_N], REQ_SIZE);
                memcpy(rsp->slot[done % SPSC_N], rec, RSP_SIZE);
            }
            atomic_store_explicit(&rsp->head, done, memory_order_release);
        }
        _exit(0);
    }
    if (s->pin)
        pin_to(0);
    uint64_t sent = 0, got = 0;
    unsigned char rec[REQ_SIZE] = {0};
    int failed = 0;
    while (got < s->n && !failed) {
        uint64_t k = next_batch(s, sent, got);
        if (k) { /* the window bounds the slots in use, so no slot is overwritten unread */
            for (uint64_t j = 0; j < k; j++, sent++) {
                memcpy(rec, &sent, sizeof(sent));
                memcpy(req->slot[sent % SPSC_N], rec, REQ_SIZE);
            }
            atomic_store_explicit(&req->head, (uint32_t)sent, memory_order_release);
            if (next_batch(s, sent, got))
                continue;
        }
        uint32_t head;
        if (spin_change(&rsp->head, (uint32_t)got, &head) < 0) {
            failed = 1;
            break;
        }
        for (; (uint32_t)got != head; got++) {
            unsigned char back[RSP_SIZE];
            memcpy(back, rsp->slot[got % SPSC_N], RSP_SIZE);
        }
    }
    int rc = reap(pid, failed);
    double secs = now_s() - t0;
    munmap(q, 2 * sizeof(struct spsc));
    return rc || failed ? -1 : s->n / secs;
}

/* ---- Reference 2: pipes, 32 bytes there and 16 back per request ---------------------------- */
/* Reads at most len bytes (a whole number of records: writes of whole records are atomic), at
 * most TIMEOUT_MS of waiting. Bytes read, or -1. */
static ssize_t read_within(int fd, void *buf, size_t len)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, TIMEOUT_MS) <= 0)
        return -1;
    ssize_t r = read(fd, buf, len);
    return r > 0 ? r : -1;
}

static double pipe_run(const struct shape *s)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        return -1;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) { /* backend: read what is there, answer it with one write */
        if (s->pin)
            pin_to(1);
        static unsigned char in[SPSC_N * REQ_SIZE], out[SPSC_N * RSP_SIZE];
        for (uint64_t done = 0; done < s->n;) {
            ssize_t r = read_within(a[0], in, sizeof(in));
            if (r < 0 || r % REQ_SIZE)
                _exit(1);
            size_t k = (size_t)r / REQ_SIZE;
            for (size_t j = 0; j < k; j++)
                memcpy(out + j * RSP_SIZE, in + j * REQ_SIZE, RSP_SIZE);
            if (write(b[1], out, k * RSP_SIZE) != (ssize_t)(k * RSP_SIZE))
                _exit(1);
            done += k;
        }
        _exit(0);
    }
    if (s->pin)
        pin_to(0);
    static unsigned char out[SPSC_N * REQ_SIZE], in[SPSC_N * RSP_SIZE];
    uint64_t sent = 0, got = 0;
    int failed = 0;
    while (got < s->n && !failed) {
        uint64_t k = next_batch(s, sent, got);
        if (k) {
            for (uint64_t j = 0; j < k; j++, sent++)
                memcpy(out + j * REQ_SIZE, &sent, sizeof(sent));
            if (write(a[1], out, k * REQ_SIZE) != (ssize_t)(k * REQ_SIZE)) {
                failed = 1;
                break;
            }
            if (next_batch(s, sent, got))
                continue;
        }
        ssize_t r = read_within(b[0], in, (sent - got) * RSP_SIZE);
        if (r < 0 || r % RSP_SIZE)
            failed = 1;
        else
            got += (uint64_t)r / RSP_SIZE;
    }
    int rc = reap(pid, failed);
    double secs = now_s() - t0;
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    return rc || failed ? -1 : s->n / secs;
}

/* ---- The kxen ring (ring/tests/pump.c) ----------------------------------------------------- */
struct ring_fig {
    double rate;  /* req/s, -1 if a run failed */
    double kicks; /* notifications per request (eventfd) */
    char error[160];
};

static struct ring_fig ring_run(const struct shape *s, enum pump_wait w)
{
    struct pump_cfg c = {.n = s->n,
                         .batch = s->batch,
                         .window = s->window,
                         .wait = w,
                         .pin = s->pin,
                         .timeout_ms = TIMEOUT_MS};
    struct pump_result r;
    struct ring_fig f = {.rate = -1};
    if (pump_run(&c, &r) != 0) {
        snprintf(f.error, sizeof(f.error), "%s", r.error);
        return f;
    }
    f.rate = r.done / r.secs;
    f.kicks = (double)(r.req_kicks + r.rsp_kicks) / r.done;
    return f;
}

static void best(double *b, double v)
{
    if (v < 0 || *b < 0)
        *b = -1; /* any failed try marks the figure failed */
    else if (v > *b)
        *b = v;
}

static void print_rate(double v)
{
    if (v < 0)
        printf(" %12s", "FAILED");
    else
        printf(" %12.0f", v);
}

static void print_ratio(double a, double b)
{
    if (a < 0 || b <= 0)
        printf(" %9s", "-");
    else
        printf(" %8.2fx", a / b);
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    if (scale <= 0)
        scale = 1.0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int pin = cpus >= 2;
    printf(
        "ring: 64-slot kxen ring (32-byte requests, 16-byte responses), frontend and backend in\n"
        "two processes%s; the backend consumes through libkxenring (copy + checks).\n"
        "Every row: requests/s, best of %d. window = most requests in flight; batch = requests\n"
        "published by one index update (ring, SPSC) or one write() (pipe); every backend\n"
        "publishes its responses once per drain. Polling: ring vs a bare SPSC copy of the same\n"
        "bytes (no protocol, no checks). Sleeping: ring with eventfd notifications vs a pipe.\n\n",
        pin ? " pinned to CPUs 0 and 1" : " (only one CPU online: they share it)", TRIES);
    printf("window batch    ring poll    bare SPSC ring/SPSC ring eventfd         pipe ring/pipe"
           "  notifications/req\n");

    static const struct {
        unsigned window, batch;
    } shapes[] = {{1, 1}, {64, 1}, {64, 8}, {64, 32}};
    int rc = 0;
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        unsigned win = shapes[i].window, bat = shapes[i].batch;
        double f = win == 1 ? 0.1 : 1.0; /* ping-pong is slow: fewer requests */
        struct shape poll_s = {(uint64_t)(1e6 * f * scale), win, bat, pin};
        struct shape sleep_s = {(uint64_t)(2e5 * f * scale), win, bat, pin};
        double rp = 0, sp = 0, re = 0, pp = 0, kicks = 0;
        char err[200] = "";
        for (int t = 0; t < TRIES; t++) {
            struct ring_fig a = ring_run(&poll_s, PUMP_POLL), b = ring_run(&sleep_s, PUMP_EVENTFD);
            best(&rp, a.rate);
            best(&re, b.rate);
            best(&sp, spsc_run(&poll_s));
            best(&pp, pipe_run(&sleep_s));
            if (b.rate >= 0 && (kicks == 0 || b.kicks < kicks))
                kicks = b.kicks;
            if (!err[0] && (a.error[0] || b.error[0]))
                snprintf(err, sizeof(err), "%s", a.error[0] ? a.error : b.error);
        }
        printf("%6u %5u", win, bat);
        print_rate(rp);
        print_rate(sp);
        print_ratio(rp, sp);
        print_rate(re);
        print_rate(pp);
        print_ratio(re, pp);
        printf("  %17.4f\n", kicks);
        if (err[0])
            printf("    ring failed: %s\n", err);
        if (rp < 0 || sp < 0 || re < 0 || pp < 0)
            rc = 1;
    }
    return rc;
}
