/* The command-line options every kxen daemon built on the skeleton shares, parsed once:
 * -N/--no-fork, -F/--pid-file FILE (also --pidfile), --rundir DIR, --log-level LEVEL,
 * --log-file FILE, -h/--help; a daemon adds its own long options. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/daemon.h"

enum { OPT_RUNDIR = 0x100, OPT_LOG_LEVEL, OPT_LOG_FILE };

static const struct option shared[] = {
    {"no-fork", no_argument, NULL, 'N'},
    {"pid-file", required_argument, NULL, 'F'},
    {"pidfile", required_argument, NULL, 'F'},
    {"rundir", required_argument, NULL, OPT_RUNDIR},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"help", no_argument, NULL, 'h'},
};
#define NR_SHARED (sizeof(shared) / sizeof(shared[0]))
#define MAX_EXTRA 16

static int shared_option(struct kxen_daemon *d, struct kxen_daemon_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'N':
        o->no_fork = true;
        return 0;
    case 'F':
        o->pid_file = arg;
        return 0;
    case OPT_RUNDIR:
        return setenv("KXEN_RUNDIR", arg, 1) < 0 ? -errno : 0;
    case OPT_LOG_LEVEL:
        o->level = klog_parse_level(arg);
        if (o->level < 0) {
            snprintf(d->msg, sizeof(d->msg), "unknown log level '%s'", arg);
            return -EINVAL;
        }
        return 0;
    case OPT_LOG_FILE:
        o->log_file = arg;
        return 0;
    case 'h':
        return KXEN_DAEMON_ARGS_HELP;
    default: /* getopt_long already named the unknown option or the missing argument */
        return -EINVAL;
    }
}

int kxen_daemon_parse_args(struct kxen_daemon *d, int argc, char **argv, const struct option *extra,
                           kxen_daemon_option_fn on_extra, void *ctx, struct kxen_daemon_opts *o)
{
    struct option all[NR_SHARED + MAX_EXTRA + 1];
    size_t n = 0;
    memcpy(all, shared, sizeof(shared));
    for (n = NR_SHARED; extra && extra[n - NR_SHARED].name; n++) {
        if (n == NR_SHARED + MAX_EXTRA)
            return -E2BIG;
        all[n] = extra[n - NR_SHARED];
    }
    memset(&all[n], 0, sizeof(all[n]));
    *o = (struct kxen_daemon_opts){.level = KLOG_INFO};
    optind = 0; /* GNU getopt: start over (tests parse more than once per process) */
    d->msg[0] = '\0';
    int c;
    while ((c = getopt_long(argc, argv, "NF:h", all, NULL)) != -1) {
        int rc = c >= 0x200 && on_extra ? on_extra(c, optarg, ctx) : shared_option(d, o, c, optarg);
        if (rc == -EINVAL && !d->msg[0] && c >= 0x200)
            snprintf(d->msg, sizeof(d->msg), "bad value '%s'", optarg ? optarg : "");
        if (rc != 0)
            return rc;
    }
    if (optind != argc) {
        snprintf(d->msg, sizeof(d->msg), "unexpected argument '%s'", argv[optind]);
        return -EINVAL;
    }
    return 0;
}
