/* xl commands that only read: list, info, domid, domname, dmesg, vcpu-list, uptime. Column
 * layouts follow Xen's xl output so that scripts written for Xen parse ours. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "xenstore.h"

#include "xl.h"

/* Selected domains: all (argc == 0) or the named ones, in argument order. */
static int select_domains(int argc, char **argv, struct kxl_dominfo **out, size_t *nr)
{
    struct kxl_dominfo *list;
    size_t n;
    if (kxl_domain_list(xl_ctx, &list, &n) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return -1;
    }
    if (argc == 0) {
        *out = list;
        *nr = n;
        return 0;
    }
    struct kxl_dominfo *sel = calloc(argc, sizeof(*sel));
    if (!sel) {
        free(list);
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        uint16_t domid;
        if (xl_find_domain(argv[i], &domid) < 0) {
            free(sel);
            free(list);
            return -1;
        }
        for (size_t j = 0; j < n; j++)
            if (list[j].domid == domid)
                sel[i] = list[j];
    }
    free(list);
    *out = sel;
    *nr = argc;
    return 0;
}

static char *vm_value(uint16_t domid, const char *key)
{
    char p[128];
    struct xs_handle *xs = kxl_xs(xl_ctx);
    if (!xs || domid == 0)
        return NULL;
    snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
    unsigned len;
    char *vm = xs_read(xs, XBT_NULL, p, &len);
    if (!vm)
        return NULL;
    snprintf(p, sizeof(p), "%s/%s", vm, key);
    free(vm);
    return xs_read(xs, XBT_NULL, p, &len);
}

static void list_json(const struct kxl_dominfo *d, size_t n)
{
    printf("[\n");
    for (size_t i = 0; i < n; i++) {
        char uuid[37], st[7];
        kxl_format_uuid(d[i].uuid, uuid);
        kxl_dominfo_state(&d[i], st);
        char *ostype = vm_value(d[i].domid, "image/ostype");
        char *kernel = vm_value(d[i].domid, "image/kernel");
        char *cmdline = vm_value(d[i].domid, "image/cmdline");
        printf("    {\n        \"domid\": %u,\n        \"config\": {\n", d[i].domid);
        printf("            \"c_info\": {\n                \"type\": ");
        xl_json_str(ostype ? ostype : (d[i].domid == 0 ? "pv" : "unknown"));
        printf(",\n                \"name\": ");
        xl_json_str(d[i].name);
        printf(",\n                \"uuid\": ");
        xl_json_str(uuid);
        printf("\n            },\n            \"b_info\": {\n");
        printf("                \"max_vcpus\": %u,\n", d[i].nr_vcpus);
        printf("                \"max_memkb\": %llu,\n", (unsigned long long)d[i].max_memory_kb);
        printf("                \"target_memkb\": %llu,\n", (unsigned long long)d[i].memory_kb);
        printf("                \"kernel\": ");
        xl_json_str(kernel ? kernel : "");
        printf(",\n                \"cmdline\": ");
        xl_json_str(cmdline ? cmdline : "");
        printf("\n            }\n        },\n        \"state\": ");
        xl_json_str(st);
        printf(",\n        \"cpu_time\": %.1f\n    }%s\n", d[i].cpu_time_ns / 1e9,
               i + 1 < n ? "," : "");
        free(ostype);
        free(kernel);
        free(cmdline);
    }
    printf("]\n");
}

int main_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"long", no_argument, NULL, 'l'},    {"verbose", no_argument, NULL, 'v'},
        {"context", no_argument, NULL, 'Z'}, {"cpupool", no_argument, NULL, 'c'},
        {"numa", no_argument, NULL, 'n'},    {0, 0, 0, 0}};
    bool json = false, verbose = false, context = false, cpupool = false, numa = false;
    int opt;
    while ((opt = xl_getopt(argc, argv, "lvZcnh", longopts, "list")) != -1) {
        switch (opt) {
        case 'l':
            json = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'Z':
            context = true;
            break;
        case 'c':
            cpupool = true;
            break;
        case 'n':
            numa = true;
            break;
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("list");
        }
    }
    struct kxl_dominfo *d;
    size_t n;
    if (select_domains(argc - optind, argv + optind, &d, &n) < 0)
        return 1;
    if (json) {
        list_json(d, n);
    } else {
        /* Xen's extra columns: -v the uuid, the shutdown reason code and the security
         * label (kxen has no XSM: "-"), -Z the label alone, -c the cpupool (kxen has one,
         * Pool-0), -n the NUMA node affinity (kxen does not place guests: "all"). */
        printf("%-40s %5s %5s %5s\t%s\t%s", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
        if (verbose)
            printf("   %-36s %11s  %s", "UUID", "Reason-Code", "Security Label");
        else if (context)
            printf("   %s", "Security Label");
        if (cpupool)
            printf("  %-10s", "Cpupool");
        if (numa)
            printf("  %s", "NODE Affinity");
        putchar('\n');
        for (size_t i = 0; i < n; i++) {
            char st[7], uuid[37], reason[16] = "-";
            kxl_dominfo_state(&d[i], st);
            printf("%-40s %5u %5llu %5u     %s  %8.1f", d[i].name, d[i].domid,
                   (unsigned long long)(d[i].memory_kb / 1024), d[i].nr_online_vcpus, st,
                   d[i].cpu_time_ns / 1e9);
            if (verbose) {
                kxl_format_uuid(d[i].uuid, uuid);
                if (d[i].flags & KXEN_DOMINFO_SHUTDOWN)
                    snprintf(reason, sizeof(reason), "%x", d[i].shutdown_reason);
                printf("   %-36s %11s  %s", uuid, reason, "-");
            } else if (context) {
                printf("   %s", "-");
            }
            if (cpupool)
                printf("  %-10s", "Pool-0");
            if (numa)
                printf("  %s", "all");
            putchar('\n');
        }
    }
    free(d);
    return 0;
}

unsigned long long xl_meminfo_kb(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[128];
    unsigned long long kb = 0;
    size_t kl = strlen(key);
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            kb = strtoull(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static unsigned long long meminfo_mb(const char *key)
{
    return xl_meminfo_kb(key) / 1024;
}

/* Xen's free_memory is what no domain holds. Guest RAM is filled as the guest touches it:
 * MemAvailable already lacks the touched part, and the rest is promised to the guests (kxend
 * refuses a domain that does not fit in what is left, unless overcommitting). */
static unsigned long long host_free_mb(const struct kxl_dominfo *list, size_t n)
{
    unsigned long long avail_kb = meminfo_mb("MemAvailable") * 1024, promised_kb = 0;
    for (size_t i = 1; i < n; i++)
        if (list[i].memory_kb > list[i].backed_kb)
            promised_kb += list[i].memory_kb - list[i].backed_kb;
    return avail_kb > promised_kb ? (avail_kb - promised_kb) / 1024 : 0;
}

/* kxend's own command line (Xen: the hypervisor's boot command line), arguments joined by
 * spaces; "" when /proc does not show it. */
static void kxend_cmdline(uint32_t pid, char *out, size_t cap)
{
    char path[64];
    out[0] = 0;
    snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
    FILE *f = pid ? fopen(path, "re") : NULL;
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (!out[i])
            out[i] = ' ';
}

static long sys_long(const char *fmt, unsigned a)
{
    char path[128];
    long v = -1;
    snprintf(path, sizeof(path), fmt, a);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* `xl info -n`: Xen's cpu_topology and numa_info tables, from the host's sysfs (kxen's vCPUs
 * run on the host's CPUs; one node when sysfs shows no NUMA). */
static void print_numa(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    printf("%-23s:\n%s\n", "cpu_topology", "cpu:    core    socket     node");
    for (long c = 0; c < ncpu; c++) {
        long node = 0;
        for (unsigned n = 0; n < 64; n++) {
            char path[96];
            snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/node%u", c, n);
            if (access(path, F_OK) == 0) {
                node = n;
                break;
            }
        }
        long core = sys_long("/sys/devices/system/cpu/cpu%u/topology/core_id", (unsigned)c);
        long sock =
            sys_long("/sys/devices/system/cpu/cpu%u/topology/physical_package_id", (unsigned)c);
        printf("%3ld:    %4ld     %4ld     %4ld\n", c, core < 0 ? 0 : core, sock < 0 ? 0 : sock,
               node);
    }
    printf("%-23s:\n%s\n", "numa_info", "node:    memsize    memfree    distances");
    printf("%4u:    %7llu    %7llu      %u\n", 0, meminfo_mb("MemTotal"),
           meminfo_mb("MemAvailable"), 10);
}

int main_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"numa", no_argument, NULL, 'n'}, {0, 0, 0, 0}};
    bool numa = false;
    int opt;
    while ((opt = xl_getopt(argc, argv, "nh", longopts, "info")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt != 'n')
            return xl_usage("info");
        numa = true;
    }
    if (optind != argc)
        return xl_usage("info");
    struct utsname u;
    uname(&u);
    struct kxl_dominfo *list;
    size_t n;
    if (kxl_domain_list(xl_ctx, &list, &n) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    unsigned long long guest_mb = 0;
    for (size_t i = 1; i < n; i++)
        guest_mb += list[i].memory_kb / 1024;
    unsigned long long free_mb = host_free_mb(list, n);
    free(list);
    printf("%-23s: %s\n", "host", u.nodename);
    printf("%-23s: %s\n", "release", u.release);
    printf("%-23s: %s\n", "version", u.version);
    printf("%-23s: %s\n", "machine", u.machine);
    printf("%-23s: %ld\n", "nr_cpus", sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-23s: %llu\n", "total_memory", meminfo_mb("MemTotal"));
    printf("%-23s: %llu\n", "free_memory", free_mb);
    printf("%-23s: %s\n", "hypervisor", "kxen (Xen's guest ABI on KVM or Unicorn)");
    printf("%-23s: %s\n", "accelerator", kxl_accel(xl_ctx));
    /* Xen's names, which scripts grep for: the release kxend presents to guests. */
    uint32_t ver = kxl_xen_version(xl_ctx);
    printf("%-23s: %u\n", "xen_major", ver >> 16);
    printf("%-23s: %u\n", "xen_minor", ver & 0xffff);
    printf("%-23s: %s\n", "xen_extra", KXEN_XEN_EXTRA);
    printf("%-23s: %u.%u%s\n", "xen_version", ver >> 16, ver & 0xffff, KXEN_XEN_EXTRA);
    printf("%-23s: %s\n", "xen_caps",
           strcmp(kxl_accel(xl_ctx), "kvm") == 0 ? "xen-3.0-x86_64 hvm-3.0-x86_64"
                                                 : "xen-3.0-x86_64");
    /* vCPUs are host threads under the host's scheduler; kxen names it as Xen's default
     * credit scheduler family would be named. */
    printf("%-23s: %s\n", "xen_scheduler", "credit");
    printf("%-23s: %ld\n", "xen_pagesize", sysconf(_SC_PAGESIZE));
    char cmdline[1024];
    kxend_cmdline(kxl_kxend_pid(xl_ctx), cmdline, sizeof(cmdline));
    printf("%-23s: %s\n", "xen_commandline", cmdline);
    printf("%-23s: %s\n", "xen_changeset", "kxen");
    printf("%-23s: %zu\n", "nr_domains", n);
    printf("%-23s: %llu\n", "guest_memory", guest_mb);
    printf("%-23s: %s\n", "run_directory", kxl_rundir(xl_ctx));
    if (numa)
        print_numa();
    return 0;
}

/* domid and domname print Xen's xl messages (no "xl: " prefix) so scripts matching them work. */
int main_domid(int argc, char **argv)
{
    uint16_t domid;
    if (argc != 2)
        return xl_usage("domid");
    if (kxl_domain_lookup(xl_ctx, argv[1], &domid) < 0) {
        fprintf(stderr, "Can't get domid of domain name '%s', maybe this domain does not exist.\n",
                argv[1]);
        return 1;
    }
    printf("%u\n", domid);
    return 0;
}

int main_domname(int argc, char **argv)
{
    char *end;
    if (argc != 2)
        return xl_usage("domname");
    errno = 0;
    unsigned long id = strtoul(argv[1], &end, 10);
    if (!*argv[1] || *end || errno) {
        fprintf(stderr, "Invalid domain id.\n\n");
        return 1;
    }
    struct kxl_dominfo di;
    if (id > 0x7fef || kxl_domain_info(xl_ctx, (uint16_t)id, &di) < 0) {
        fprintf(stderr,
                "Can't get domain name of domain id '%lu', maybe this domain does not exist.\n",
                id);
        return 1;
    }
    printf("%s\n", di.name);
    return 0;
}

int main_dmesg(int argc, char **argv)
{
    bool clear = false;
    int opt;
    while ((opt = xl_getopt(argc, argv, "ch", NULL, "dmesg")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt != 'c')
            return xl_usage("dmesg");
        clear = true;
    }
    char *buf;
    size_t len;
    if (kxl_dmesg(xl_ctx, clear, &buf, &len) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    fwrite(buf, 1, len, stdout);
    if (len && buf[len - 1] != '\n')
        putchar('\n');
    free(buf);
    return 0;
}

int main_vcpu_list(int argc, char **argv)
{
    struct kxl_dominfo *d;
    size_t n;
    if (select_domains(argc - 1, argv + 1, &d, &n) < 0)
        return 1;
    /* Xen's columns byte for byte: no separator between VCPU and CPU (both %5u), the state
     * right-aligned in 6 characters with 'p' in its third place for a vCPU that is offline
     * (never brought up, or VCPUOP_down), then the time and the two affinities. */
    printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
           "Affinity (Hard / Soft)");
    for (size_t i = 0; i < n; i++) {
        if (d[i].domid == 0) {
            for (uint32_t v = 0; v < d[i].nr_vcpus; v++)
                printf("%-32s %5u %5u%5u %3c%c- %9s  %s\n", d[i].name, 0, v, v, 'r', '-', "-",
                       "all / all");
            continue;
        }
        for (uint32_t v = 0; v < d[i].nr_vcpus; v++) {
            struct kxen_ctl_vcpu_req req = {.domid = d[i].domid, .vcpu = v};
            struct kxen_ctl_vcpu_info vi;
            uint32_t len = 0;
            int rc = kxen_ctl_simple(kxl_ctl(xl_ctx), KXEN_CTL_VCPU_GETINFO, &req, sizeof(req), &vi,
                                     sizeof(vi), &len);
            if (rc < 0 || len < sizeof(vi)) {
                xl_err("vCPU %u of domain %u: %s", v, d[i].domid, strerror(rc < 0 ? -rc : EPROTO));
                continue;
            }
            /* CPU: the host CPU its thread last entered the guest on; hard affinity: the
             * host CPUs xl vcpu-pin allowed (kxen has no soft affinity). */
            uint64_t map[KXL_CPUMAP_WORDS];
            int host_cpu = -1;
            char aff[128] = "all";
            if (kxl_vcpu_get_affinity(xl_ctx, d[i].domid, v, map, &host_cpu) == 0)
                xl_cpumap_format(map, aff, sizeof(aff));
            printf("%-32s %5u %5u", d[i].name, d[i].domid, v);
            if (vi.online && host_cpu >= 0)
                printf("%5d %3c%c- ", host_cpu, vi.running ? 'r' : '-', vi.blocked ? 'b' : '-');
            else if (vi.online)
                printf("%5c %3c%c- ", '-', vi.running ? 'r' : '-', vi.blocked ? 'b' : '-');
            else
                printf("%5c %3c%cp ", '-', '-', '-');
            printf("%9.1f  %s / all\n", vi.cpu_time_ns / 1e9, aff);
        }
    }
    free(d);
    return 0;
}

/* kxen's own (Xen has no such command; its closest is a debug key): how often each vCPU left
 * guest code, by kind, since it was created. A guest on emulated hardware shows its device
 * traffic under IO and MMIO; a PV guest's rings show under Hypercall (its notifications). */
int main_vcpu_exits(int argc, char **argv)
{
    struct kxl_dominfo *d;
    size_t n;
    if (select_domains(argc - 1, argv + 1, &d, &n) < 0)
        return 1;
    printf("%-32s %5s %5s %12s %12s %12s %12s %12s\n", "Name", "ID", "VCPU", "IO", "MMIO",
           "Hypercall", "Halt", "Other");
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        for (uint32_t v = 0; d[i].domid != 0 && v < d[i].nr_vcpus; v++) {
            struct kxen_ctl_vcpu_req req = {.domid = d[i].domid, .vcpu = v};
            struct kxen_ctl_vcpu_info vi;
            uint32_t len = 0;
            int r = kxen_ctl_simple(kxl_ctl(xl_ctx), KXEN_CTL_VCPU_GETINFO, &req, sizeof(req), &vi,
                                    sizeof(vi), &len);
            if (r < 0 || len < sizeof(vi)) {
                xl_err("vCPU %u of domain %u: %s", v, d[i].domid, strerror(r < 0 ? -r : EPROTO));
                rc = 1;
                continue;
            }
            printf("%-32s %5u %5u", d[i].name, d[i].domid, v);
            for (size_t k = 0; k < sizeof(vi.exits) / sizeof(vi.exits[0]); k++)
                printf(" %12llu", (unsigned long long)vi.exits[k]);
            putchar('\n');
        }
    }
    free(d);
    return rc;
}

/* Xen's forms: "[D day[s], ]HH:MM:SS" in the table; -s gives "[D day[s], ]HH:MM". */
static void format_uptime(double secs, bool short_form, char *out, size_t len)
{
    unsigned long long s = (unsigned long long)secs;
    unsigned long long days = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
    char dpart[32] = "";
    if (days)
        snprintf(dpart, sizeof(dpart), "%llu day%s, ", days, days == 1 ? "" : "s");
    if (short_form)
        snprintf(out, len, "%s%2llu:%02llu", dpart, h, m);
    else
        snprintf(out, len, "%s%2llu:%02llu:%02llu", dpart, h, m, sec);
}

int main_uptime(int argc, char **argv)
{
    bool short_form = false;
    int opt;
    while ((opt = xl_getopt(argc, argv, "sh", NULL, "uptime")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt != 's')
            return xl_usage("uptime");
        short_form = true;
    }
    struct kxl_dominfo *d;
    size_t n;
    if (select_domains(argc - optind, argv + optind, &d, &n) < 0)
        return 1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (!short_form)
        printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
    for (size_t i = 0; i < n; i++) {
        double up = 0;
        if (d[i].domid == 0) {
            struct timespec bt;
            clock_gettime(CLOCK_BOOTTIME, &bt);
            up = bt.tv_sec + bt.tv_nsec / 1e9;
        } else {
            char *st = vm_value(d[i].domid, "start_time");
            if (st)
                up = now.tv_sec + now.tv_nsec / 1e9 - strtod(st, NULL);
            free(st);
        }
        char buf[64];
        format_uptime(up < 0 ? 0 : up, short_form, buf, sizeof(buf));
        if (short_form) {
            /* as uptime(1): " HH:MM:SS up <uptime>, <name> (<id>)" */
            char clock[16];
            struct tm tm;
            time_t t = now.tv_sec;
            localtime_r(&t, &tm);
            strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
            printf(" %s up %s, %s (%u)\n", clock, buf, d[i].name, d[i].domid);
        } else
            printf("%-33s %4u %s\n", d[i].name, d[i].domid, buf);
    }
    free(d);
    return 0;
}
