/* xl migrate and xl migrate-receive with Xen's syntax, handshake and messages: the sender
 * runs `SSHCOMMAND HOST xl migrate-receive` (ssh by default) and talks to it over the
 * command's stdin and stdout; the receiver talks over its own. Progress goes to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xl.h"

static pid_t spawn(const char *rune, int *send_fd, int *recv_fd)
{
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(from, O_CLOEXEC) < 0) {
        close(to[0]), close(to[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        execl("/bin/sh", "sh", "-c", rune, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    if (pid < 0) {
        close(to[1]), close(from[0]);
        return -1;
    }
    *send_fd = to[1];
    *recv_fd = from[0];
    return pid;
}

/* One line per pre-copy round, and one when the throttle rises (QEMU's auto-converge
 * reports its level the same way). The ETA is of what the dirty pages make next: the next
 * round, or the stop and copy after the last, at the round's send rate. */
static void progress(void *opaque, const struct kxl_migrate_progress *p)
{
    (void)opaque;
    double ms = p->round_ns / 1e6;
    char eta[32] = "unknown";
    if (p->eta_s >= 0)
        snprintf(eta, sizeof(eta), "%.1f ms", p->eta_s * 1e3);
    fprintf(stderr,
            "migration sender: round %u: %llu pages in %.1f ms (%.0f pages/s, %.0f MB/s), %llu "
            "dirtied meanwhile (%.0f pages/s); ETA of the %s %s at this rate\n",
            p->round, (unsigned long long)p->sent, ms, p->pages_per_s, p->mb_per_s,
            (unsigned long long)p->dirty, p->dirty / (ms / 1e3 + 1e-9),
            p->last ? "stop and copy" : "next round", eta);
    if (p->raised)
        fprintf(stderr,
                "migration sender: the guest dirties memory faster than half the send rate: "
                "throttled to %u%% of its vCPU time taken away\n",
                p->throttle);
    if (p->last)
        fprintf(stderr, "migration sender: %s after %u rounds: stop and copy\n",
                p->converged ? "converged" : "not converged", p->round);
}

/* A number in lo..hi for option name, or -1 with a message. */
static long opt_num(const char *name, const char *arg, long lo, long hi)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || end == arg || v < lo || v > hi) {
        xl_err("%s %s: give a number in %ld..%ld", name, arg, lo, hi);
        return -1;
    }
    return v;
}

int main_migrate(int argc, char **argv)
{
    const char *ssh = "ssh", *cfgfile = NULL;
    bool no_monitor = false, debug = false;
    struct kxl_migrate_opts mo = {.progress = progress};
    long v;
    static const struct option opts[] = {{"debug", no_argument, NULL, 'D'},
                                         {"max-rounds", required_argument, NULL, 'R'},
                                         {"downtime", required_argument, NULL, 'W'},
                                         {"no-throttle", no_argument, NULL, 'N'},
                                         {"suspend-timeout", required_argument, NULL, 'S'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = xl_getopt(argc, argv, "s:eC:Fp", opts, "migrate")) != -1) {
        switch (opt) {
        case 'R':
            if ((v = opt_num("--max-rounds", optarg, 1, KXL_MIGRATE_MAX_ROUNDS)) < 0)
                return 1;
            mo.max_rounds = (unsigned)v;
            break;
        case 'W':
            if ((v = opt_num("--downtime", optarg, 0, 60000)) < 0)
                return 1;
            mo.downtime_ms = (unsigned)v;
            break;
        case 'N':
            mo.no_throttle = true;
            break;
        case 'S':
            if ((v = opt_num("--suspend-timeout", optarg, 1, 3600)) < 0)
                return 1;
            mo.suspend_timeout_s = (unsigned)v;
            break;
        case 's':
            ssh = optarg;
            break;
        case 'e':
            no_monitor = true;
            break;
        case 'C':
            cfgfile = optarg;
            break;
        case 'D':
            debug = true;
            break;
        case 'F':
        case 'p':
            break;
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("migrate");
        }
    }
    if (argc - optind != 2)
        return xl_usage("migrate");
    uint16_t domid;
    if (xl_find_domain(argv[optind], &domid) < 0)
        return 1;
    char *cfg = NULL;
    if (cfgfile && !(cfg = xl_read_config_text(cfgfile)))
        return 1;
    char rune[PATH_MAX + 256];
    snprintf(rune, sizeof(rune), "%s %s xl migrate-receive%s%s", ssh, argv[optind + 1],
             no_monitor ? " -e" : "", debug ? " -d" : "");
    if (debug)
        fprintf(stderr, "migration sender: running \"%s\"\n", rune);
    signal(SIGPIPE, SIG_IGN); /* a receiver that dies is a write error, not our death */
    int send_fd, recv_fd;
    pid_t child = spawn(rune, &send_fd, &recv_fd);
    if (child < 0) {
        xl_err("cannot run %s: %s", rune, strerror(errno));
        free(cfg);
        return 1;
    }
    fprintf(stderr, "migration target: Ready to receive domain.\n");
    struct kxl_migrate_stats ms;
    int rc = kxl_domain_migrate_send_opts(xl_ctx, domid, cfg, send_fd, recv_fd, &mo, &ms);
    free(cfg);
    close(send_fd);
    close(recv_fd);
    int status;
    waitpid(child, &status, 0);
    if (rc < 0) {
        xl_err("migration failed: %s", kxl_errmsg(xl_ctx));
        return 1;
    }
    fprintf(stderr,
            "migration sender: %u pre-copy rounds (%s, throttle %u%%), %llu pages sent (%llu "
            "zero, %llu stopped), %llu stream bytes before compression; domain stopped for "
            "%.1f ms, %.1f ms in all; guest downtime %.2f ms (last instruction here to first "
            "there)\n",
            ms.rounds, ms.converged ? "converged" : "not converged", ms.throttle,
            (unsigned long long)ms.save.pages, (unsigned long long)ms.save.zero_pages,
            (unsigned long long)ms.final_pages, (unsigned long long)ms.save.stream_bytes,
            ms.downtime_ns / 1e6, ms.total_ns / 1e6, ms.guest_downtime_ns / 1e6);
    if (xl_verbose)
        fprintf(stderr,
                "migration sender: stopped %.2f ms = suspend %.2f + last dirty pages and "
                "state read %.2f + sent %.2f + destination loaded its copy %.2f + unpaused "
                "it %.2f\n",
                ms.downtime_ns / 1e6, ms.suspend_wait_ns / 1e6, ms.last_collect_ns / 1e6,
                ms.last_send_ns / 1e6, ms.dest_load_ns / 1e6, ms.dest_unpause_ns / 1e6);
    fprintf(stderr, "Migration successful.\n");
    return 0;
}

int main_migrate_receive(int argc, char **argv)
{
    bool no_monitor = false, paused = false, debug = false;
    unsigned timeout_s = 60; /* a stalled sender is given up after this long without a byte */
    int opt;
    while ((opt = xl_getopt(argc, argv, "edprT:", NULL, "migrate-receive")) != -1) {
        switch (opt) {
        case 'T': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || end == optarg || v > 86400) {
                xl_err("-T %s: give a timeout in seconds (0..86400, 0 = none)", optarg);
                return 1;
            }
            timeout_s = (unsigned)v;
            break;
        }
        case 'e':
            no_monitor = true;
            break;
        case 'p':
            paused = true;
            break;
        case 'd':
            debug = true;
            break;
        case 'r':
            break;
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("migrate-receive");
        }
    }
    /* stdout is the connection: nothing else may be printed there. */
    int out = dup(1);
    if (out < 0 || dup2(2, 1) < 0) {
        xl_err("cannot set up the connection: %s", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The guard keeps the connection open until it has torn down what a killed receiver
     * built, and is released once the sender is about to hear that the copy runs. */
    if (xl_guard_open_ctx("xl migrate-receive") < 0)
        return 1;
    uint16_t domid;
    struct kxl_domain_config dc;
    int rc = kxl_domain_migrate_receive(xl_ctx, 0, out, paused, timeout_s, &domid, &dc);
    close(out);
    if (rc < 0) {
        xl_err("migration receiver: %s", kxl_errmsg(xl_ctx));
        return 1;
    }
    fprintf(stderr, "migration target: Domain started successfully (domain %u).\n", domid);
    if (xl_verbose || debug)
        xl_print_restore_times("migration target", domid, 0);
    char rundir[PATH_MAX];
    xl_close_ctx_keep_rundir(rundir, sizeof(rundir));
    if (!no_monitor)
        xl_start_monitor(rundir, &dc, domid);
    kxl_domain_config_free(&dc);
    return 0;
}
