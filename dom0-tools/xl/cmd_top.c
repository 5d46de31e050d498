/* xl top (xentop's table: a refreshing screen, or -b batch lines for scripts and tests) and
 * xl vm-list. Columns and their order follow Xen's xentop and xl so that scripts parsing them
 * work; statistics kxen does not keep (network and block counters) read 0. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kxen/ctl_domain.h"
#include "kxen/util.h"

#include "xl.h"

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
    (void)sig;
    top_stop = 1;
}

static size_t count_devices(const char *kind, uint16_t domid)
{
    struct kxl_devinfo *devs;
    size_t n = 0;
    if (domid == 0 || kxl_device_list(xl_ctx, kind, domid, &devs, &n) < 0)
        return 0;
    free(devs);
    return n;
}

/* The previous sample of each domain's CPU time, for CPU(%). */
struct sample {
    uint16_t domid;
    uint64_t cpu_ns;
};

static double cpu_percent(const struct kxl_dominfo *d, const struct sample *prev, size_t nprev,
                          double wall_s)
{
    for (size_t i = 0; i < nprev; i++)
        if (prev[i].domid == d->domid && wall_s > 0 && d->cpu_time_ns >= prev[i].cpu_ns)
            return (double)(d->cpu_time_ns - prev[i].cpu_ns) / 1e9 / wall_s * 100.0;
    return 0.0;
}

static void print_screen(const struct kxl_dominfo *d, size_t n, const struct sample *prev,
                         size_t nprev, double wall_s)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    uint32_t v = kxl_xen_version(xl_ctx);
    unsigned counts[6] = {0}; /* r b p c d s */
    for (size_t i = 0; i < n; i++) {
        char st[7];
        kxl_dominfo_state(&d[i], st);
        for (int k = 0; k < 6; k++)
            counts[k] += st[k] != '-';
    }
    unsigned long long total = xl_meminfo_kb("MemTotal"), avail = xl_meminfo_kb("MemAvailable");
    printf("xentop - %02d:%02d:%02d   Xen %u.%u%s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, v >> 16,
           v & 0xffff, KXEN_XEN_EXTRA);
    printf("%zu domains: %u running, %u blocked, %u paused, %u crashed, %u dying, %u shutdown \n",
           n, counts[0], counts[1], counts[2], counts[4], counts[5], counts[3]);
    printf("Mem: %lluk total, %lluk used, %lluk free    CPUs: %ld\n", total, total - avail, avail,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("      NAME  STATE   CPU(sec) CPU(%%)     MEM(k) MEM(%%)  MAXMEM(k) MAXMEM(%%) VCPUS "
           "NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n");
    for (size_t i = 0; i < n; i++) {
        char st[7];
        kxl_dominfo_state(&d[i], st);
        double memp = total ? 100.0 * (double)d[i].memory_kb / (double)total : 0;
        double maxp = total ? 100.0 * (double)d[i].max_memory_kb / (double)total : 0;
        printf("%10.10s %s %10llu %6.1f %10llu %6.1f ", d[i].name, st,
               (unsigned long long)(d[i].cpu_time_ns / 1000000000ull),
               cpu_percent(&d[i], prev, nprev, wall_s), (unsigned long long)d[i].memory_kb, memp);
        if (d[i].domid == 0)
            printf("%10s %9s ", "no limit", "n/a");
        else
            printf("%10llu %9.1f ", (unsigned long long)d[i].max_memory_kb, maxp);
        printf("%5u %4zu %8u %8u %4zu %8u %8u %8u %10u %10u %4u\n", d[i].nr_online_vcpus,
               count_devices("vif", d[i].domid), 0, 0, count_devices("vbd", d[i].domid), 0, 0, 0, 0,
               0, 0);
    }
}

int main_top(int argc, char **argv)
{
    static const struct option longopts[] = {{"batch", no_argument, NULL, 'b'},
                                             {"delay", required_argument, NULL, 'd'},
                                             {"iterations", required_argument, NULL, 'i'},
                                             {"networks", no_argument, NULL, 'n'},
                                             {"vbds", no_argument, NULL, 'x'},
                                             {"vcpus", no_argument, NULL, 'v'},
                                             {"repeat-header", no_argument, NULL, 'r'},
                                             {"full-name", no_argument, NULL, 'f'},
                                             {0, 0, 0, 0}};
    bool batch = false;
    double delay = 3;
    long iterations = -1;
    int opt;
    while ((opt = xl_getopt(argc, argv, "bd:i:nxvrfh", longopts, "top")) != -1) {
        char *end;
        switch (opt) {
        case 'b':
            batch = true;
            break;
        case 'd':
            delay = strtod(optarg, &end);
            if (*end || end == optarg || delay < 0.01 || delay > 86400) {
                xl_err("invalid delay '%s' (seconds)", optarg);
                return 1;
            }
            break;
        case 'i':
            iterations = strtol(optarg, &end, 10);
            if (*end || end == optarg || iterations < 1) {
                xl_err("invalid number of iterations '%s'", optarg);
                return 1;
            }
            break;
        case 'n':
        case 'x':
        case 'v':
        case 'r':
        case 'f':
            break; /* xentop's extra rows: kxen keeps no per-device counters yet */
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("top");
        }
    }
    if (optind != argc)
        return xl_usage("top");
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sample *prev = NULL;
    size_t nprev = 0;
    uint64_t prev_ns = 0;
    for (long it = 0; !top_stop && (iterations < 0 || it < iterations); it++) {
        struct kxl_dominfo *d;
        size_t n;
        if (it > 0) {
            struct timespec ts = {(time_t)delay, (long)((delay - (time_t)delay) * 1e9)};
            while (nanosleep(&ts, &ts) < 0 && !top_stop)
                ;
            if (top_stop)
                break;
        }
        if (kxl_domain_list(xl_ctx, &d, &n) < 0) {
            xl_err("%s", kxl_errmsg(xl_ctx));
            free(prev);
            return 1;
        }
        uint64_t now = kxen_now_ns();
        if (!batch)
            fputs("\033[H\033[2J", stdout); /* xentop's refresh: home, clear */
        print_screen(d, n, prev, nprev, prev_ns ? (double)(now - prev_ns) / 1e9 : 0);
        if (batch)
            putchar('\n');
        fflush(stdout);
        free(prev);
        prev = calloc(n ? n : 1, sizeof(*prev));
        nprev = prev ? n : 0;
        for (size_t i = 0; i < nprev; i++)
            prev[i] = (struct sample){d[i].domid, d[i].cpu_time_ns};
        prev_ns = now;
        free(d);
    }
    free(prev);
    return 0;
}

int main_vm_list(int argc, char **argv)
{
    int opt;
    while ((opt = xl_getopt(argc, argv, "h", NULL, "vm-list")) != -1)
        return opt == XL_OPT_HELP ? 0 : xl_usage("vm-list");
    if (optind != argc)
        return xl_usage("vm-list");
    struct kxl_dominfo *d;
    size_t n;
    if (kxl_domain_list(xl_ctx, &d, &n) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    /* Xen's layout: guests only (Domain-0 is not a VM), uuid, id, name. */
    printf("UUID                                  ID    name\n");
    for (size_t i = 0; i < n; i++) {
        char uuid[37];
        if (d[i].domid == 0)
            continue;
        kxl_format_uuid(d[i].uuid, uuid);
        printf("%s  %-5u %-30s\n", uuid, d[i].domid, d[i].name);
    }
    free(d);
    return 0;
}
