/* The start-up and shutdown skeleton every kxen daemon shares: log set-up, the pid-file lock
 * (one instance per directory), daemonizing behind a ready pipe, READY=1 to $NOTIFY_SOCKET,
 * signals turned into a stop request, and removal of the pid files by their owner only.
 *
 * Invariants: nothing here prints or exits; every failure returns -errno and leaves a
 * sentence in d->msg for the daemon to print or log. A pid file is removed only by the
 * process that wrote its pid into it, while it still holds the lock. */
#ifndef KXEN_DAEMON_H
#define KXEN_DAEMON_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "kxen/log.h"

#define KXEN_DAEMON_PATH_MAX 4096

struct kxen_daemon {
    const char *name; /* "kxend": log ident, and the lock file is <dir>/<name>.pid */
    char lock_path[KXEN_DAEMON_PATH_MAX];
    char pid_path[KXEN_DAEMON_PATH_MAX]; /* -F copy; empty when it is the lock file */
    int lock_fd, pid_fd;
    pid_t owner;    /* the process that wrote its pid into the files; 0 before */
    int ready_fd;   /* the child's end of the ready pipe until it reports; else -1 */
    bool is_parent; /* after kxen_daemon_detach(): the caller must exit(exit_status) */
    int exit_status;
    pid_t child;                          /* in the parent: the daemon's pid */
    bool logs_to_file;                    /* kxen_daemon_log_init() was given a path */
    char msg[KXEN_DAEMON_PATH_MAX + 256]; /* why the last call failed, or what the child reported */
};

/* Fills *d with no files and no pipe. name must outlive d. */
void kxen_daemon_init(struct kxen_daemon *d, const char *name);

/* Logging through kxen/log.h: ident d->name, to path (NULL: stderr) at level. */
int kxen_daemon_log_init(struct kxen_daemon *d, enum klog_level level, const char *path);

/* Takes the instance lock <dir>/<name>.pid (opened O_NOFOLLOW, flock'ed), and pid_file too
 * when it names another file. -EEXIST when a live instance holds either: its files are left
 * alone. A file left by a dead instance is taken over. Call before daemonizing (the lock
 * belongs to the open file, so the forked child keeps it) and before creating any socket. */
int kxen_daemon_lock(struct kxen_daemon *d, const char *dir, const char *pid_file);

/* First raises the soft RLIMIT_NOFILE to the hard limit (descriptors grow with guests).
 * Without no_fork: forks; the child calls setsid() and returns 0 with d->is_parent false.
 * The parent waits until the child calls kxen_daemon_ready() or kxen_daemon_fail() (or
 * dies), then returns 0 with d->is_parent set, d->child, d->exit_status and, on failure, the
 * child's message in d->msg (the parent prints it). With no_fork: returns 0, nothing else. */
int kxen_daemon_detach(struct kxen_daemon *d, bool no_fork);

/* Writes the caller's pid into the locked files. */
int kxen_daemon_write_pid(struct kxen_daemon *d);

/* The daemon serves: tells the waiting parent (then points stdin and stdout, and stderr
 * when logging to a file, at /dev/null) and sends READY=1 to $NOTIFY_SOCKET when set. */
int kxen_daemon_ready(struct kxen_daemon *d, bool stderr_to_null);

/* Start-up failed: formats the reason into d->msg (fmt NULL keeps the message a failed
 * skeleton call left there), logs it when the log goes to a file, and, in a detached child,
 * hands it and status to the waiting parent. Returns true when nobody else will show the
 * message (no parent waits): the caller then prints d->msg itself. */
bool kxen_daemon_fail(struct kxen_daemon *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For a daemon's main(): kxen_daemon_fail(), then "<name>: <msg>" on the daemon's stderr
 * when no parent waits to show it. Evaluates to status. */
#define KXEN_DAEMON_FAIL(d, status, ...)                                                           \
    ({                                                                                             \
        int kxen_fail_status_ = (status);                                                          \
        if (kxen_daemon_fail((d), kxen_fail_status_, __VA_ARGS__))                                 \
            fprintf(stderr, "%s: %s\n", (d)->name, (d)->msg);                                      \
        kxen_fail_status_;                                                                         \
    })

/* SIGTERM, SIGINT and SIGHUP become a stop request: a byte (the signal number) on a
 * non-blocking self-pipe whose read end kxen_daemon_stop_fd() gives an event loop, plus the
 * optional on_stop hook, which runs in the handler and must be async-signal-safe. SIGPIPE
 * is ignored. One set of handlers per process. */
int kxen_daemon_signals(struct kxen_daemon *d, void (*on_stop)(int sig));
int kxen_daemon_stop_fd(void);
/* The signal behind the first pending stop request (consumed), or 0 when none. */
int kxen_daemon_stop_signal(void);

/* ---- Options (daemon_args.c) ---- */
struct option;
struct kxen_daemon_opts {
    bool no_fork;         /* -N, --no-fork */
    const char *pid_file; /* -F, --pid-file, --pidfile */
    const char *log_file; /* --log-file */
    int level;            /* --log-level (enum klog_level; KLOG_INFO by default) */
};
/* A daemon's own long option: val (>= 0x200) and its argument. 0, or -EINVAL for a bad value
 * (with a sentence in the daemon's message if the callback has one to give). */
typedef int (*kxen_daemon_option_fn)(int val, const char *arg, void *ctx);
#define KXEN_DAEMON_ARGS_HELP 1
/* getopt_long over the shared options (above, and --rundir DIR, which sets KXEN_RUNDIR) and
 * extra (terminated by a zero entry; each val >= 0x200, handed to on_extra). Returns 0,
 * KXEN_DAEMON_ARGS_HELP for -h/--help, or -EINVAL with d->msg saying what was wrong (the
 * caller prints its usage and exits 2). */
int kxen_daemon_parse_args(struct kxen_daemon *d, int argc, char **argv, const struct option *extra,
                           kxen_daemon_option_fn on_extra, void *ctx, struct kxen_daemon_opts *o);

/* At exit: removes the pid files if this process owns them, closes the lock, the pipes and
 * the log. Safe in the parent after detaching (it owns nothing). */
void kxen_daemon_cleanup(struct kxen_daemon *d);

#endif
