/* xenstored: options, run directory and the event loop; start-up, pid file and signals go
 * through the daemon skeleton (kxen/daemon.h). */
#include "xenstored.h"
#include "ring_backend.h"
#include "sock.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "kxen/daemon.h"
#include "kxen/daemon_event.h"
#include "kxen/log.h"
#include "kxen/util.h"

/* The hypervisor side links a definition of this to give xenstored its ring backend. */
__attribute__((weak)) const struct xs_ring_backend *xenstored_ring_backend_default(void)
{
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: xenstored [options]\n"
        "  -N, --no-fork             stay in the foreground\n"
        "  -F, --pid-file FILE       write the daemon's pid to FILE\n"
        "  -P, --output-pid          print the daemon's pid on stdout\n"
        "  -T, --trace-file FILE     trace every request, reply and watch event to FILE\n"
        "  -D, --no-domain-init      accepted for compatibility (dom0 needs no setup here)\n"
        "  -I, --internal-db [on]    accepted for compatibility (the store is always in memory)\n"
        "      --socket PATH         listen on PATH (default $XENSTORED_RUNDIR/socket)\n"
        "      --poll-us N           after serving a request, poll without sleeping for N\n"
        "                            microseconds (0 to 1000, default 0 = off)\n"
        "  -E, --entry-nb N          nodes a domain may own (default 1000)\n"
        "  -S, --entry-size N        bytes of one node: value + child names + 5 per perm (2048)\n"
        "  -W, --watch-nb N          watches per domain connection (128)\n"
        "  -t, --transaction N       open transactions per domain connection (10)\n"
        "  -A, --perm-nb N           permission entries per node (5)\n"
        "  -M, --path-max N          path characters below a domain's home (2048)\n"
        "  -Q, --quota NAME=N        set a quota: entry-nb, entry-size, watch-nb, transaction,\n"
        "                            perm-nb, path-max, transaction-nodes (1024),\n"
        "                            transaction-memory (1048576 bytes),\n"
        "                            outstanding (20)\n"
        "  -L, --log-file FILE       log to FILE instead of stderr\n"
        "  -l, --log-level LEVEL     err, warn, info (default) or debug\n"
        "  -v, -V, --verbose         log at debug level\n"
        "  -H, -h, --help            this text\n");
}

struct opts {
    bool no_fork, output_pid;
    const char *pid_file, *trace_file, *socket, *log_file;
    int log_level;
    unsigned poll_us;
};

/* Longest busy-poll window accepted: past it the daemon would mostly burn a CPU. */
#define XS_POLL_US_MAX 1000
#define OPT_POLL_US 0x100

static int set_quota(struct xs_quota *q, const char *name, const char *val)
{
    if (!xs_quota_known(name)) {
        if (strcmp(name, "memory") == 0)
            fprintf(stderr, "xenstored: Xen's 'memory' quota is not implemented here "
                            "(transaction-memory bounds transaction copies; see "
                            "docs/xenstored.md)\n");
        else
            fprintf(stderr,
                    "xenstored: unknown quota '%s' (known: entry-nb, entry-size, watch-nb, "
                    "transaction, perm-nb, path-max, transaction-nodes, transaction-memory, "
                    "outstanding)\n",
                    name);
        return -EINVAL;
    }
    int r = xs_quota_set(q, name, val);
    if (r)
        fprintf(stderr, "xenstored: bad value '%s' for quota %s (a whole number from 1 to %u)\n",
                val, name, UINT32_MAX);
    return r;
}

/* Xen's xenstored options that make no sense or are not implemented here: refused by name
 * rather than with getopt's generic "invalid option", so a script written for Xen's daemon
 * learns exactly what is missing. */
static int refuse_xen_option(int c, const char *arg)
{
    static const struct {
        int c;
        const char *name, *why;
    } refused[] = {
        {'q', "-q/--quota-soft",
         "soft quotas (and the memory quota they apply to) are not implemented"},
        {'w', "-w/--timeout", "watch events are never dropped, so there is no timeout to set"},
        {'R', "-R/--no-recovery", "there is no on-disk database to recover"},
        {'K', "-K/--keep-orphans", "a released domain's nodes always go to dom0"},
        {'I', "-I/--internal-db off", "the database is always in memory"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
        if (refused[i].c == c) {
            fprintf(stderr, "xenstored: Xen's %s%s%s is not supported: %s\n", refused[i].name,
                    arg && c != 'I' ? " " : "", arg && c != 'I' ? arg : "", refused[i].why);
            return -EINVAL;
        }
    return -EINVAL;
}

/* The event loop. With a busy-poll window, every request served keeps the daemon polling its
 * sockets without sleeping (epoll_wait with timeout 0, all ready connections served each pass
 * as in the blocking loop) until poll_ns pass with no request: a request arriving meanwhile
 * needs no wake-up of the daemon. Idle, it blocks as usual: the window opens only on work. */
static int run_loop(struct event_base *base, struct xs_daemon *d, uint64_t poll_ns)
{
    if (!poll_ns)
        return event_base_dispatch(base);
    uint64_t seen = d->stats_requests, until = 0;
    for (;;) {
        int r = event_base_loop(base, kxen_now_ns() < until ? EVLOOP_NONBLOCK : EVLOOP_ONCE);
        if (r != 0 || event_base_got_break(base) || event_base_got_exit(base))
            return r < 0 ? r : 0;
        if (d->stats_requests != seen) {
            seen = d->stats_requests;
            until = kxen_now_ns() + poll_ns;
        }
    }
}

static int parse_opts(int argc, char **argv, struct opts *o, struct xs_quota *q)
{
    static const struct option longopts[] = {
        {"no-fork", no_argument, NULL, 'N'},
        {"poll-us", required_argument, NULL, OPT_POLL_US},
        {"pid-file", required_argument, NULL, 'F'},
        {"output-pid", no_argument, NULL, 'P'},
        {"trace-file", required_argument, NULL, 'T'},
        {"no-domain-init", no_argument, NULL, 'D'},
        {"socket", required_argument, NULL, 's'},
        {"entry-nb", required_argument, NULL, 'E'},
        {"entry-size", required_argument, NULL, 'S'},
        {"watch-nb", required_argument, NULL, 'W'},
        {"transaction", required_argument, NULL, 't'},
        {"perm-nb", required_argument, NULL, 'A'},
        {"path-max", required_argument, NULL, 'M'},
        {"quota", required_argument, NULL, 'Q'},
        {"log-file", required_argument, NULL, 'L'},
        {"log-level", required_argument, NULL, 'l'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {"quota-soft", required_argument, NULL, 'q'},
        {"timeout", required_argument, NULL, 'w'},
        {"no-recovery", no_argument, NULL, 'R'},
        {"keep-orphans", no_argument, NULL, 'K'},
        {"internal-db", optional_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "NF:PT:DE:S:W:t:A:M:Q:L:l:vVHhq:w:RKI::", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'N':
            o->no_fork = true;
            break;
        case 'F':
            o->pid_file = optarg;
            break;
        case 'P':
            o->output_pid = true;
            break;
        case 'T':
            o->trace_file = optarg;
            break;
        case 'D':
            break;
        case 's':
            o->socket = optarg;
            break;
        case 'E':
            if (set_quota(q, "entry-nb", optarg))
                return -EINVAL;
            break;
        case 'S':
            if (set_quota(q, "entry-size", optarg))
                return -EINVAL;
            break;
        case 'W':
            if (set_quota(q, "watch-nb", optarg))
                return -EINVAL;
            break;
        case 't':
            if (set_quota(q, "transaction", optarg))
                return -EINVAL;
            break;
        case 'A':
            if (set_quota(q, "perm-nb", optarg))
                return -EINVAL;
            break;
        case 'M':
            if (set_quota(q, "path-max", optarg))
                return -EINVAL;
            break;
        case 'Q': {
            char name[64];
            const char *eq = strchr(optarg, '=');
            if (!eq || (size_t)(eq - optarg) >= sizeof(name)) {
                fprintf(stderr, "xenstored: -Q wants NAME=VALUE, got '%s'\n", optarg);
                return -EINVAL;
            }
            memcpy(name, optarg, (size_t)(eq - optarg));
            name[eq - optarg] = '\0';
            if (set_quota(q, name, eq + 1))
                return -EINVAL;
            break;
        }
        case OPT_POLL_US: {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || v > XS_POLL_US_MAX) {
                fprintf(stderr, "xenstored: --poll-us wants microseconds from 0 to %u, got '%s'\n",
                        XS_POLL_US_MAX, optarg);
                return -EINVAL;
            }
            o->poll_us = (unsigned)v;
            break;
        }
        case 'L':
            o->log_file = optarg;
            break;
        case 'l':
            if ((o->log_level = klog_parse_level(optarg)) < 0) {
                fprintf(stderr, "xenstored: unknown log level '%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case 'v':
        case 'V':
            o->log_level = KLOG_DEBUG;
            break;
        case 'I': {
            /* Xen's -I [on] asks for the in-memory database: the only kind kxen has. getopt
             * only binds an optional argument written as -Ioff; take "-I off" too. */
            const char *arg = optarg;
            if (!arg && optind < argc &&
                (strcmp(argv[optind], "on") == 0 || strcmp(argv[optind], "off") == 0))
                arg = argv[optind++];
            if (!arg || strcmp(arg, "on") == 0)
                break;
            if (strcmp(arg, "off") != 0) {
                fprintf(stderr, "xenstored: -I/--internal-db takes 'on' or 'off', got '%s'\n", arg);
                return -EINVAL;
            }
            return refuse_xen_option(c, arg);
        }
        case 'q':
        case 'w':
        case 'R':
        case 'K':
            return refuse_xen_option(c, optarg);
        case 'H':
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xenstored: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return -errno;
    return kxen_rundir_check(buf);
}

/* libevent's own warnings go to our log, not to stderr. */
static void libevent_log_cb(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_ERR)
        log_err("libevent: %s", msg);
    else if (severity == EVENT_LOG_WARN)
        log_warn("libevent: %s", msg);
    else
        log_debug("libevent: %s", msg);
}

static struct kxen_daemon daemon_state;

/* One xenstored per socket directory: the lock file sits beside the socket, so daemons on
 * different --socket directories (tests run several) share a run directory. */
static int lock_dir_of(const char *sockpath, char *buf, size_t len)
{
    const char *slash = strrchr(sockpath, '/');
    if (!slash)
        return snprintf(buf, len, ".") < (int)len ? 0 : -ENAMETOOLONG;
    size_t n = slash == sockpath ? 1 : (size_t)(slash - sockpath);
    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(buf, sockpath, n);
    buf[n] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.log_level = KLOG_INFO};
    struct xs_quota q;
    xs_quota_defaults(&q);
    if (parse_opts(argc, argv, &o, &q))
        return 2;

    /* XENSTORED_RUNDIR wins; else the kxen run dir, exported for the clients we start. */
    char rundir[4096], sockpath[4096];
    int r;
    const char *env = getenv("XENSTORED_RUNDIR");
    if (env && *env) {
        snprintf(rundir, sizeof(rundir), "%s", env);
    } else if ((r = kxen_rundir(rundir, sizeof(rundir))) < 0) {
        fprintf(stderr, "xenstored: run directory %s: %s\n", rundir, kxen_rundir_strerror(r));
        return 1;
    }
    setenv("XENSTORED_RUNDIR", rundir, 0);
    if (o.socket) {
        snprintf(sockpath, sizeof(sockpath), "%s", o.socket);
    } else {
        if (snprintf(sockpath, sizeof(sockpath), "%s/socket", rundir) >= (int)sizeof(sockpath))
            return 1;
        r = mkdir_p(rundir);
        if (r) {
            fprintf(stderr, "xenstored: cannot use %s: %s\n", rundir, kxen_rundir_strerror(r));
            return 1;
        }
    }
    struct kxen_daemon *dm = &daemon_state;
    kxen_daemon_init(dm, "xenstored");
    r = kxen_daemon_log_init(dm, (enum klog_level)o.log_level, o.log_file);
    if (r) {
        fprintf(stderr, "xenstored: %s\n", dm->msg);
        return 1;
    }
    char lockdir[4096];
    if (lock_dir_of(sockpath, lockdir, sizeof(lockdir)) < 0) {
        fprintf(stderr, "xenstored: socket path too long\n");
        return 1;
    }
    /* The lock comes before the socket: a refused second daemon never touches the first's
     * socket or pid files. */
    if (kxen_daemon_lock(dm, lockdir, o.pid_file) < 0 || kxen_daemon_detach(dm, o.no_fork) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, NULL);
        kxen_daemon_cleanup(dm);
        return 1;
    }
    if (dm->is_parent) {
        /* The child wrote its pid file before it reported ready: callers may read it. */
        if (dm->exit_status)
            fprintf(stderr, "xenstored: %s\n", dm->msg);
        else if (o.output_pid)
            printf("%d\n", (int)dm->child);
        return dm->exit_status;
    }
    event_set_log_callback(libevent_log_cb);

    int rc = 1;
    struct event_base *base = event_base_new();
    struct xs_daemon *d = calloc(1, sizeof(*d));
    struct xs_listener *l = NULL;
    struct kxen_daemon_stop stop = {0};
    FILE *trace = NULL;
    if (!base || !d || xs_daemon_init(d, base)) {
        KXEN_DAEMON_FAIL(dm, 1, "out of memory at startup");
        free(d);
        d = NULL;
        goto out;
    }
    d->quota = q;
    xenstored_set_ring_backend(d, xenstored_ring_backend_default());
    if (o.trace_file) {
        trace = fopen(o.trace_file, "a");
        if (!trace) {
            KXEN_DAEMON_FAIL(dm, 1, "cannot open trace file %s: %s", o.trace_file, strerror(errno));
            goto out;
        }
        d->trace = trace;
        d->trace_on = true;
    }
    if ((r = xs_listener_open(d, sockpath, &l))) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot listen on %s: %s", sockpath,
                         r == -EADDRINUSE ? "another xenstored answers there" : strerror(-r));
        goto out;
    }
    if (kxen_daemon_write_pid(dm) < 0 || kxen_daemon_signals(dm, NULL) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, NULL);
        goto out;
    }
    if ((r = kxen_daemon_stop_watch(&stop, base)) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot watch for signals: %s", strerror(-r));
        goto out;
    }
    if (o.output_pid && o.no_fork) {
        printf("%d\n", (int)getpid());
        fflush(stdout);
    }
    if (kxen_daemon_ready(dm, dm->logs_to_file) < 0)
        log_warn("%s", dm->msg);
    log_info("listening on %s%s", sockpath, d->ring_backend ? "" : " (no guest ring backend)");
    if (run_loop(base, d, (uint64_t)o.poll_us * 1000) < 0)
        log_err("event loop failed");
    if (stop.signal)
        log_info("signal %d: stopping", stop.signal);
    log_info("stopped");
    rc = 0;

out:
    /* Everything is freed on every path: sanitized test runs check for leaks. */
    xs_listener_close(l);
    if (d) {
        xs_daemon_fini(d);
        free(d);
    }
    kxen_daemon_stop_unwatch(&stop);
    if (base)
        event_base_free(base);
    libevent_global_shutdown();
    if (trace)
        fclose(trace);
    kxen_daemon_cleanup(dm);
    return rc;
}
