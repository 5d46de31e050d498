/* xenstore benchmark client. Built against Xen's xenstore.h and Debian's libxenstore so both
 * daemons are measured through exactly the client code real toolstacks use. Prints one line
 * per figure: "<name> <value> <unit>". Each throughput phase stops after a count or a time
 * budget, whichever comes first, so a slow daemon cannot stretch a run past a minute. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define PHASE_BUDGET_NS 1000000000LL
#define PARALLEL_CLIENTS 4
#define DIR_CHILDREN 10000

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "xsbench: %s failed: %s\n", what, strerror(errno));
    exit(1);
}

/* Requests sent (xs_* calls; a long listing counts once): normalises the daemons' CPU time. */
static long requests;

/* The daemon's user + system CPU time in ms when run.sh names it (XSBENCH_DAEMON_PID), else -1:
 * lets one phase's share of the daemon's CPU be printed on its own. */
static long daemon_cpu_ms(void)
{
    const char *pid = getenv("XSBENCH_DAEMON_PID");
    char path[64], buf[1024];
    if (!pid || !*pid)
        return -1;
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static void report_rate(const char *name, long done, long long ns)
{
    printf("%s %.0f ops/s\n", name, (double)done * 1e9 / (double)ns);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* PARALLEL_CLIENTS processes writing at once, each on its own connection: the daemon, not one
 * client's round trips, becomes the limit. Returns the summed ops/s. */
static double parallel_writes(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe");
    for (int c = 0; c < PARALLEL_CLIENTS; c++) {
        if (fork() != 0)
            continue;
        struct xs_handle *h = xs_open(0);
        if (!h)
            die("xs_open (parallel)");
        char path[64];
        long i;
        long long t0 = now_ns();
        for (i = 0; i < 10000 && (i & 255 || now_ns() - t0 < PHASE_BUDGET_NS); i++) {
            snprintf(path, sizeof(path), "/bench/p%d/k%ld", c, i % 1000);
            if (!xs_write(h, XBT_NULL, path, "v", 1))
                die("xs_write (parallel)");
        }
        double result[2] = {(double)i * 1e9 / (double)(now_ns() - t0), (double)i};
        if (write(fds[1], result, sizeof(result)) != sizeof(result))
            _exit(1);
        xs_close(h);
        _exit(0);
    }
    close(fds[1]);
    double sum = 0, r[2];
    for (int c = 0; c < PARALLEL_CLIENTS; c++) {
        if (read(fds[0], r, sizeof(r)) == sizeof(r)) {
            sum += r[0];
            requests += (long)r[1];
        }
    }
    while (wait(NULL) > 0)
        ;
    close(fds[0]);
    return sum;
}

int main(void)
{
    struct xs_handle *h = xs_open(0), *h2 = xs_open(0);
    if (!h || !h2)
        die("xs_open");
    char path[64], val[32];
    long i;
    long long t0, t;

    xs_rm(h, XBT_NULL, "/bench");
    t0 = now_ns();
    for (i = 0; i < 30000 && (i & 255 || now_ns() - t0 < PHASE_BUDGET_NS); i++) {
        snprintf(path, sizeof(path), "/bench/w/k%ld", i % 1000);
        int n = snprintf(val, sizeof(val), "value-%ld", i);
        if (!xs_write(h, XBT_NULL, path, val, (unsigned)n))
            die("xs_write");
    }
    report_rate("writes", i, now_ns() - t0);
    requests += i;
    printf("writes_%dconn %.0f ops/s\n", PARALLEL_CLIENTS, parallel_writes());

    t0 = now_ns();
    for (i = 0; i < 30000 && (i & 255 || now_ns() - t0 < PHASE_BUDGET_NS); i++) {
        snprintf(path, sizeof(path), "/bench/w/k%ld", i % 1000);
        free(xs_read(h, XBT_NULL, path, NULL) ?: (die("xs_read"), NULL));
    }
    report_rate("reads", i, now_ns() - t0);
    requests += i;

    /* A commit refused with EAGAIN (a conflict) is an attempt, not a commit: both are printed. */
    long committed = 0;
    t0 = now_ns();
    for (i = 0; i < 10000 && (i & 63 || now_ns() - t0 < PHASE_BUDGET_NS); i++) {
        xs_transaction_t tx = xs_transaction_start(h);
        if (tx == XBT_NULL)
            die("xs_transaction_start");
        snprintf(path, sizeof(path), "/bench/tx/k%ld", i % 100);
        if (!xs_write(h, tx, path, "1", 1))
            die("xs_write in transaction");
        if (xs_transaction_end(h, tx, false))
            committed++;
        else if (errno != EAGAIN)
            die("xs_transaction_end");
    }
    t = now_ns() - t0;
    report_rate("tx_commits", committed, t);
    printf("tx_eagain %ld count\n", i - committed);
    requests += 3 * i;
    const char *only = getenv("XSBENCH_ROUND_TRIPS_ONLY");
    if (only && *only) { /* the floor daemon stores nothing */
        printf("requests %ld count\n", requests);
        return 0;
    }

    /* Fill a 10,000-child directory (one transaction per 500 children keeps it quick). */
    t0 = now_ns();
    for (i = 0; i < DIR_CHILDREN;) {
        xs_transaction_t tx = xs_transaction_start(h);
        long start = i;
        for (; i < DIR_CHILDREN && i < start + 500; i++) {
            snprintf(path, sizeof(path), "/bench/dir/child-%05ld", i);
            if (!xs_write(h, tx, path, "x", 1))
                die("xs_write child");
        }
        if (!xs_transaction_end(h, tx, false))
            die("xs_transaction_end (fill)");
    }
    printf("dir_fill_10k %.1f ms\n", (double)(now_ns() - t0) / 1e6);
    requests += DIR_CHILDREN + 2 * (DIR_CHILDREN / 500);
    int reps = 0;
    t0 = now_ns();
    do {
        unsigned int n;
        char **names = xs_directory(h, XBT_NULL, "/bench/dir", &n);
        if (!names || n != DIR_CHILDREN)
            die("xs_directory of 10k children");
        free(names);
        reps++;
    } while (reps < 20 && now_ns() - t0 < PHASE_BUDGET_NS);
    printf("dir_list_10k %.2f ms\n", (double)(now_ns() - t0) / 1e6 / reps);
    requests += reps + 1;
    long cpu0 = daemon_cpu_ms();
    t0 = now_ns();
    if (!xs_rm(h, XBT_NULL, "/bench/dir"))
        die("xs_rm of 10k children");
    printf("dir_rm_10k %.2f ms\n", (double)(now_ns() - t0) / 1e6);
    if (cpu0 >= 0)
        printf("daemon_cpu_dir_rm_10k %ld ms\n", daemon_cpu_ms() - cpu0);

    /* Watch latency: write on h2, time until h's reader hands over the event. */
    if (!xs_watch(h, "/bench/watch", "tok"))
        die("xs_watch");
    unsigned int num;             /* Xen's xs_read_watch requires it */
    free(xs_read_watch(h, &num)); /* the registration event */
    enum { N_WATCH = 1000 };
    static long long lat[N_WATCH];
    int n = 0;
    t0 = now_ns();
    for (; n < N_WATCH && now_ns() - t0 < PHASE_BUDGET_NS; n++) {
        t = now_ns();
        if (!xs_write(h2, XBT_NULL, "/bench/watch/x", "1", 1))
            die("xs_write (watch)");
        char **ev = xs_read_watch(h, &num);
        if (!ev)
            die("xs_read_watch");
        lat[n] = now_ns() - t;
        free(ev);
    }
    qsort(lat, (size_t)n, sizeof(lat[0]), cmp_ll);
    printf("watch_latency_median %.1f us\n", (double)lat[n / 2] / 1e3);
    printf("watch_latency_p99 %.1f us\n", (double)lat[n * 99 / 100] / 1e3);
    xs_unwatch(h, "/bench/watch", "tok");
    xs_rm(h, XBT_NULL, "/bench");
    requests += 2 * n + 4;
    printf("requests %ld count\n", requests);
    xs_close(h2);
    xs_close(h);
    return 0;
}
