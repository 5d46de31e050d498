/* xl commands that adjust a running domain, with Xen's syntax: mem-set, mem-max, vcpu-set,
 * vcpu-pin, sched-credit, sysrq, trigger, button-press, dump-core. The policy and every
 * refusal's reason are libkxl's (admin.c); this file parses Xen's arguments. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/ctl_domain.h"
#include "kxen/util.h"

#include "xl.h"

/* Xen's memory sizes: a number in KiB, or with a suffix t, g, m, k, b. */
static int parse_mem_kb(const char *s, uint64_t *kb)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -EINVAL;
    unsigned shift;
    switch (*end ? end[0] | 0x20 : 'k') {
    case 't':
        shift = 30;
        break;
    case 'g':
        shift = 20;
        break;
    case 'm':
        shift = 10;
        break;
    case 'k':
        shift = 0;
        break;
    case 'b':
        *kb = v / 1024;
        return end[0] && end[1] ? -EINVAL : 0;
    default:
        return -EINVAL;
    }
    if (*end && end[1])
        return -EINVAL;
    if (v > (UINT64_MAX >> shift))
        return -ERANGE;
    *kb = (uint64_t)v << shift;
    return 0;
}

/* The exit status for a libkxl call's result: 1 with libkxl's reason printed when it failed. */
static int call_status(int rc)
{
    if (rc < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    return 0;
}

/* "xl CMD <Domain> <arg>" after options: resolves the domain; 1 on error (printed). */
static int domain_and_arg(int argc, char **argv, const char *cmd, uint16_t *domid)
{
    int opt;
    while ((opt = xl_getopt(argc, argv, "h", NULL, cmd)) != -1)
        return opt == XL_OPT_HELP ? -1 : xl_usage(cmd);
    if (optind + 2 != argc)
        return xl_usage(cmd);
    return xl_find_domain(argv[optind], domid) < 0 ? 1 : 0;
}

static int mem_common(int argc, char **argv, const char *cmd,
                      int (*fn)(struct kxl_ctx *, uint16_t, uint64_t))
{
    uint16_t domid;
    int rc = domain_and_arg(argc, argv, cmd, &domid);
    if (rc)
        return rc < 0 ? 0 : rc;
    uint64_t kb;
    if (parse_mem_kb(argv[optind + 1], &kb) < 0) {
        xl_err("invalid memory size '%s' (KiB, or a number with t, g, m, k or b)",
               argv[optind + 1]);
        return 1;
    }
    return call_status(fn(xl_ctx, domid, kb));
}

int main_mem_set(int argc, char **argv)
{
    return mem_common(argc, argv, "mem-set", kxl_set_memory_target);
}

int main_mem_max(int argc, char **argv)
{
    return mem_common(argc, argv, "mem-max", kxl_set_max_memory);
}

int main_vcpu_set(int argc, char **argv)
{
    static const struct option longopts[] = {{"ignore-host", no_argument, NULL, 'i'}, {0, 0, 0, 0}};
    int opt;
    while ((opt = xl_getopt(argc, argv, "ih", longopts, "vcpu-set")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt != 'i') /* -i: more vCPUs than host CPUs is allowed on kxen anyway */
            return xl_usage("vcpu-set");
    }
    if (optind + 2 != argc)
        return xl_usage("vcpu-set");
    uint16_t domid;
    if (xl_find_domain(argv[optind], &domid) < 0)
        return 1;
    char *end;
    unsigned long nr = strtoul(argv[optind + 1], &end, 10);
    if (*end || end == argv[optind + 1] || nr > KXL_MAX_VCPUS) {
        xl_err("invalid number of vcpus '%s'", argv[optind + 1]);
        return 1;
    }
    return call_status(kxl_set_vcpus_online(xl_ctx, domid, (unsigned)nr));
}

int xl_cpumap_parse(const char *s, uint64_t map[KXL_CPUMAP_WORDS])
{
    const unsigned max = 64 * KXL_CPUMAP_WORDS;
    memset(map, 0, KXL_CPUMAP_WORDS * sizeof(uint64_t));
    if (!strcmp(s, "all")) {
        memset(map, 0xff, KXL_CPUMAP_WORDS * sizeof(uint64_t));
        return 0;
    }
    /* Xen's list: "2", "0-3", "0-7,^5", items separated by commas; a list that starts with an
     * exclusion starts from every CPU ("^3": all but 3). */
    for (const char *p = s; *p;) {
        bool excl = *p == '^';
        if (excl && p == s)
            memset(map, 0xff, KXL_CPUMAP_WORDS * sizeof(uint64_t));
        p += excl;
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p)
            return -EINVAL;
        if (*end == '-') {
            p = end + 1;
            b = strtoul(p, &end, 10);
            if (end == p)
                return -EINVAL;
        }
        if (a > b || b >= max)
            return -EINVAL;
        for (unsigned long c = a; c <= b; c++) {
            if (excl)
                map[c / 64] &= ~(1ull << (c % 64));
            else
                map[c / 64] |= 1ull << (c % 64);
        }
        if (*end && *end != ',')
            return -EINVAL;
        p = *end ? end + 1 : end;
    }
    return 0;
}

void xl_cpumap_format(const uint64_t map[KXL_CPUMAP_WORDS], char *out, size_t len)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    unsigned max =
        ncpu > 0 && ncpu < 64 * KXL_CPUMAP_WORDS ? (unsigned)ncpu : 64 * KXL_CPUMAP_WORDS;
    bool all = true;
    for (unsigned c = 0; c < max; c++)
        all &= (map[c / 64] >> (c % 64)) & 1;
    if (all) {
        snprintf(out, len, "all");
        return;
    }
    size_t n = 0;
    out[0] = 0;
    for (unsigned c = 0; c < max && n < len; c++) {
        if (!((map[c / 64] >> (c % 64)) & 1))
            continue;
        unsigned e = c;
        while (e + 1 < max && ((map[(e + 1) / 64] >> ((e + 1) % 64)) & 1))
            e++;
        n += (size_t)(e > c ? snprintf(out + n, len - n, "%s%u-%u", n ? "," : "", c, e)
                            : snprintf(out + n, len - n, "%s%u", n ? "," : "", c));
        c = e;
    }
}

int main_vcpu_pin(int argc, char **argv)
{
    static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, {0, 0, 0, 0}};
    int opt;
    while ((opt = xl_getopt(argc, argv, "fh", longopts, "vcpu-pin")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt != 'f')
            return xl_usage("vcpu-pin");
    }
    /* Xen: <Domain> <VCPU|all> <Hard affinity|-|all> [Soft affinity|-|all] */
    if (argc - optind != 3 && argc - optind != 4)
        return xl_usage("vcpu-pin");
    uint16_t domid;
    if (xl_find_domain(argv[optind], &domid) < 0)
        return 1;
    struct kxl_dominfo info;
    if (kxl_domain_info(xl_ctx, domid, &info) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    const char *vs = argv[optind + 1], *hard = argv[optind + 2];
    unsigned first = 0, last = info.nr_vcpus - 1;
    if (strcmp(vs, "all") != 0) {
        char *end;
        unsigned long v = strtoul(vs, &end, 10);
        if (*end || end == vs) {
            xl_err("invalid vcpu '%s' (a number or all)", vs);
            return 1;
        }
        first = last = (unsigned)KXEN_MIN(v, (unsigned long)UINT32_MAX);
    }
    if (argc - optind == 4 && strcmp(argv[optind + 3], "-") && strcmp(argv[optind + 3], "all"))
        fprintf(stderr,
                "xl: soft affinity '%s' noted only: kxen's vCPUs are host threads and "
                "the host scheduler has no soft affinity\n",
                argv[optind + 3]);
    if (!strcmp(hard, "-"))
        return 0; /* Xen: the hard affinity stays as it is */
    uint64_t map[KXL_CPUMAP_WORDS];
    if (xl_cpumap_parse(hard, map) < 0) {
        xl_err("invalid cpu list '%s' (e.g. all, 2, 0-3, 0-7,^5)", hard);
        return 1;
    }
    for (unsigned v = first; v <= last; v++)
        if (kxl_vcpu_set_affinity(xl_ctx, domid, v, map) < 0) {
            xl_err("%s", kxl_errmsg(xl_ctx));
            return 1;
        }
    return 0;
}

static void credit_row(const struct kxl_dominfo *d)
{
    struct kxl_sched_credit c = {KXEN_SCHED_WEIGHT_DEFAULT, 0, 0};
    if (d->domid != 0 && kxl_sched_credit_get(xl_ctx, d->domid, &c) < 0)
        return;
    printf("%-33s %4u %6u %4u\n", d->name, d->domid, c.weight, c.cap);
}

int main_sched_credit(int argc, char **argv)
{
    static const struct option longopts[] = {{"domain", required_argument, NULL, 'd'},
                                             {"weight", required_argument, NULL, 'w'},
                                             {"cap", required_argument, NULL, 'c'},
                                             {"schedparam", no_argument, NULL, 's'},
                                             {"tslice_ms", required_argument, NULL, 't'},
                                             {"ratelimit_us", required_argument, NULL, 'r'},
                                             {"migration_delay_us", required_argument, NULL, 'm'},
                                             {"cpupool", required_argument, NULL, 'p'},
                                             {0, 0, 0, 0}};
    const char *dom = NULL;
    int weight = -1, cap = -1, opt;
    bool sched = false;
    while ((opt = xl_getopt(argc, argv, "d:w:c:st:r:m:p:h", longopts, "sched-credit")) != -1) {
        switch (opt) {
        case 'd':
            dom = optarg;
            break;
        case 'w':
        case 'c': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 65535) {
                xl_err("invalid %s '%s'", opt == 'w' ? "weight" : "cap", optarg);
                return 1;
            }
            *(opt == 'w' ? &weight : &cap) = (int)v;
            break;
        }
        case 's':
            sched = true;
            break;
        case 't':
        case 'r':
        case 'm':
            xl_err("-%c: kxen has no credit scheduler of its own: the host's scheduler sets "
                   "time slices (docs/xl.md, \"Host scheduling\")",
                   opt);
            return 1;
        case 'p':
            if (strcmp(optarg, "Pool-0")) {
                xl_err("cpupool '%s' does not exist (kxen has one, Pool-0)", optarg);
                return 1;
            }
            break;
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("sched-credit");
        }
    }
    if (optind != argc || ((weight >= 0 || cap >= 0) && !dom))
        return xl_usage("sched-credit");
    if (sched) {
        printf("Cpupool Pool-0: host scheduler (kxen maps weight to nice and cap to a duty "
               "cycle)\n");
        return 0;
    }
    if (weight >= 0 || cap >= 0) {
        uint16_t domid;
        if (xl_find_domain(dom, &domid) < 0)
            return 1;
        if (domid == 0) {
            xl_err("Domain-0 is the host: its processes are scheduled by the host");
            return 1;
        }
        return call_status(kxl_sched_credit_set(xl_ctx, domid, weight, cap));
    }
    struct kxl_dominfo *d;
    size_t n;
    if (kxl_domain_list(xl_ctx, &d, &n) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    uint16_t only = 0;
    if (dom && xl_find_domain(dom, &only) < 0) {
        free(d);
        return 1;
    }
    printf("Cpupool Pool-0: host scheduler\n");
    printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
    for (size_t i = 0; i < n; i++)
        if (!dom || d[i].domid == only)
            credit_row(&d[i]);
    free(d);
    return 0;
}

int main_sysrq(int argc, char **argv)
{
    uint16_t domid;
    int rc = domain_and_arg(argc, argv, "sysrq", &domid);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *key = argv[optind + 1];
    if (strlen(key) != 1) {
        xl_err("sysrq: '%s' is not a single letter", key);
        return 1;
    }
    return call_status(kxl_send_sysrq(xl_ctx, domid, key[0]));
}

int main_trigger(int argc, char **argv)
{
    int opt;
    while ((opt = xl_getopt(argc, argv, "h", NULL, "trigger")) != -1)
        return opt == XL_OPT_HELP ? 0 : xl_usage("trigger");
    if (argc - optind != 2 && argc - optind != 3) /* [<VCPU>] */
        return xl_usage("trigger");
    uint16_t domid;
    if (xl_find_domain(argv[optind], &domid) < 0)
        return 1;
    return call_status(kxl_send_trigger(xl_ctx, domid, argv[optind + 1]));
}

/* Xen's button-press is trigger power|sleep under another name. */
int main_button_press(int argc, char **argv)
{
    uint16_t domid;
    int rc = domain_and_arg(argc, argv, "button-press", &domid);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *b = argv[optind + 1];
    if (strcmp(b, "power") && strcmp(b, "sleep")) {
        xl_err("button '%s': Xen's buttons are power and sleep", b);
        return 1;
    }
    return call_status(kxl_send_trigger(xl_ctx, domid, b));
}

int main_dump_core(int argc, char **argv)
{
    uint16_t domid;
    int rc = domain_and_arg(argc, argv, "dump-core", &domid);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct kxl_dominfo info;
    if (kxl_domain_info(xl_ctx, domid, &info) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    /* A consistent image: the guest does not run while its RAM is copied (as Xen's). */
    bool was_paused = info.flags & KXEN_DOMINFO_PAUSED;
    if (!was_paused && kxl_domain_pause(xl_ctx, domid) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    rc = kxl_domain_core_dump(xl_ctx, domid, argv[optind + 1]);
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    if (!was_paused && kxl_domain_unpause(xl_ctx, domid) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        rc = -1;
    }
    return rc < 0 ? 1 : 0;
}
