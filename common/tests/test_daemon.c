/* The daemon skeleton: the pid-file lock, the ready pipe, READY=1 and the signal -> stop path.
 * Criterion runs every test in a process of its own, so forks and signal handlers stay there. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kxen/daemon.h"
#include "kxen/daemon_event.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kxen-daemon-test.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static long pid_in(const char *path)
{
    char buf[32] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    return strtol(buf, NULL, 10);
}

TestSuite(pidfile, .init = make_dir, .fini = remove_dir);

Test(pidfile, a_second_instance_in_the_same_dir_is_refused_and_leaves_the_files_alone)
{
    struct kxen_daemon a, b;
    char lock[128], other[128];
    snprintf(lock, sizeof(lock), "%s/testd.pid", dir);
    snprintf(other, sizeof(other), "%s/other.pid", dir);
    kxen_daemon_init(&a, "testd");
    kxen_daemon_init(&b, "testd");
    cr_assert_eq(kxen_daemon_lock(&a, dir, NULL), 0, "%s", a.msg);
    cr_assert_eq(kxen_daemon_write_pid(&a), 0);

    /* Even with a -F of its own the second one is refused, and creates nothing. */
    cr_assert_eq(kxen_daemon_lock(&b, dir, other), -EEXIST);
    cr_assert(strstr(b.msg, "another testd already runs"), "%s", b.msg);
    cr_assert_eq(access(other, F_OK), -1);
    kxen_daemon_cleanup(&b);
    cr_assert_eq(pid_in(lock), (long)getpid(), "the live instance's pid file survives");

    kxen_daemon_cleanup(&a);
    cr_assert_eq(access(lock, F_OK), -1, "the owner removes its pid file");
}

Test(pidfile, a_pid_file_in_use_as_minus_F_elsewhere_is_refused)
{
    char sub[128], shared[128];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    snprintf(shared, sizeof(shared), "%s/shared.pid", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    struct kxen_daemon a, b;
    kxen_daemon_init(&a, "testd");
    kxen_daemon_init(&b, "testd");
    cr_assert_eq(kxen_daemon_lock(&a, dir, shared), 0, "%s", a.msg);
    cr_assert_eq(kxen_daemon_write_pid(&a), 0);
    cr_assert_eq(kxen_daemon_lock(&b, sub, shared), -EEXIST);
    cr_assert_eq(pid_in(shared), (long)getpid());
    kxen_daemon_cleanup(&b);
    kxen_daemon_cleanup(&a);
    cr_assert_eq(access(shared, F_OK), -1);
}

Test(pidfile, a_stale_pid_file_from_a_dead_process_is_taken_over)
{
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    cr_assert_eq(waitpid(dead, NULL, 0), dead);
    char lock[128];
    snprintf(lock, sizeof(lock), "%s/testd.pid", dir);
    FILE *f = fopen(lock, "w");
    cr_assert_not_null(f);
    fprintf(f, "%d\n", (int)dead);
    fclose(f);

    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_lock(&d, dir, NULL), 0, "%s", d.msg);
    cr_assert_eq(kxen_daemon_write_pid(&d), 0);
    cr_assert_eq(pid_in(lock), (long)getpid());
    kxen_daemon_cleanup(&d);
}

Test(pidfile, a_symlink_is_refused)
{
    char lock[128], target[128];
    snprintf(lock, sizeof(lock), "%s/testd.pid", dir);
    snprintf(target, sizeof(target), "%s/victim", dir);
    cr_assert_eq(symlink(target, lock), 0);
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_lock(&d, dir, NULL), -ELOOP);
    cr_assert(strstr(d.msg, "symbolic link"), "%s", d.msg);
    cr_assert_eq(access(target, F_OK), -1, "nothing was written through the link");
    kxen_daemon_cleanup(&d);
}

Test(pidfile, only_the_owner_removes_it)
{
    char lock[128];
    snprintf(lock, sizeof(lock), "%s/testd.pid", dir);
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_lock(&d, dir, NULL), 0);
    cr_assert_eq(kxen_daemon_write_pid(&d), 0);
    pid_t child = fork();
    if (child == 0) {
        kxen_daemon_cleanup(&d); /* a forked helper exiting must not take the file along */
        _exit(access(lock, F_OK) == 0 ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(pid_in(lock), (long)getpid());
    kxen_daemon_cleanup(&d);
}

Test(ready_pipe, the_child_error_and_status_reach_the_parent)
{
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_detach(&d, false), 0);
    if (!d.is_parent) {
        kxen_daemon_fail(&d, 3, "cannot listen on %s: %s", "/x/sock", "Permission denied");
        _exit(3);
    }
    cr_assert_eq(d.exit_status, 3);
    cr_assert_str_eq(d.msg, "cannot listen on /x/sock: Permission denied");
}

Test(ready_pipe, ready_means_status_0)
{
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_detach(&d, false), 0);
    if (!d.is_parent) {
        kxen_daemon_ready(&d, false);
        _exit(0);
    }
    cr_assert_eq(d.exit_status, 0);
    cr_assert_str_eq(d.msg, "");
    waitpid(d.child, NULL, 0);
}

Test(ready_pipe, a_child_that_dies_silently_is_reported)
{
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_detach(&d, false), 0);
    if (!d.is_parent)
        _exit(7);
    cr_assert_neq(d.exit_status, 0);
    cr_assert(strstr(d.msg, "exited with status 7 before it was ready"), "%s", d.msg);
}

Test(ready_pipe, without_fork_a_failure_is_for_the_caller_to_print)
{
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_detach(&d, true), 0);
    cr_assert(!d.is_parent);
    cr_assert(kxen_daemon_fail(&d, 1, "bad %d", 42));
    cr_assert_str_eq(d.msg, "bad 42");
}

Test(ready_pipe, ready_sends_READY_1_to_NOTIFY_SOCKET)
{
    make_dir();
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_ready(&d, false), 0, "%s", d.msg);
    char buf[32] = "";
    cr_assert_eq(recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT), 7);
    cr_assert_str_eq(buf, "READY=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
    remove_dir();
}

static volatile sig_atomic_t hook_sig;
static void hook(int sig)
{
    hook_sig = sig;
}

Test(signals, sigterm_becomes_a_stop_request)
{
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_signals(&d, hook), 0);
    cr_assert_eq(kxen_daemon_stop_signal(), 0, "no request before a signal");
    cr_assert_eq(raise(SIGTERM), 0);
    cr_assert_eq(hook_sig, SIGTERM);
    cr_assert_eq(kxen_daemon_stop_signal(), SIGTERM);
    cr_assert_eq(raise(SIGPIPE), 0, "SIGPIPE is ignored");
    cr_assert_eq(raise(SIGHUP), 0);
    cr_assert_eq(kxen_daemon_stop_signal(), SIGHUP);
    kxen_daemon_cleanup(&d);
}

Test(signals, a_stop_request_breaks_an_event_loop)
{
    struct kxen_daemon d;
    kxen_daemon_init(&d, "testd");
    cr_assert_eq(kxen_daemon_signals(&d, NULL), 0);
    struct event_base *base = event_base_new();
    struct kxen_daemon_stop stop;
    cr_assert_eq(kxen_daemon_stop_watch(&stop, base), 0);
    raise(SIGINT);
    cr_assert_eq(event_base_dispatch(base), 0);
    cr_assert(event_base_got_break(base));
    cr_assert_eq(stop.signal, SIGINT);
    kxen_daemon_stop_unwatch(&stop);
    event_base_free(base);
    kxen_daemon_cleanup(&d);
}

/* ---- Shared options (daemon_args.c) ---- */

static int take_accel(int val, const char *arg, void *ctx)
{
    if (val != 0x200 || strcmp(arg, "bad") == 0)
        return -EINVAL;
    *(const char **)ctx = arg;
    return 0;
}

static const struct option accel_opt[] = {{"accel", required_argument, NULL, 0x200},
                                          {NULL, 0, NULL, 0}};

Test(daemon_args, shared_and_daemon_options_are_parsed_into_their_fields)
{
    char *argv[] = {"d",          "-N", "--pidfile", "/p",   "--log-level", "debug",
                    "--log-file", "/l", "--accel",   "soft", NULL};
    struct kxen_daemon d;
    struct kxen_daemon_opts o;
    const char *accel = NULL;
    kxen_daemon_init(&d, "d");
    cr_assert_eq(kxen_daemon_parse_args(&d, 10, argv, accel_opt, take_accel, &accel, &o), 0);
    cr_assert(o.no_fork);
    cr_assert_str_eq(o.pid_file, "/p");
    cr_assert_str_eq(o.log_file, "/l");
    cr_assert_eq(o.level, KLOG_DEBUG);
    cr_assert_str_eq(accel, "soft");
}

Test(daemon_args, help_bad_values_and_stray_arguments_are_told_apart)
{
    struct kxen_daemon d;
    struct kxen_daemon_opts o;
    const char *accel = NULL;
    kxen_daemon_init(&d, "d");
    char *help[] = {"d", "--help", NULL};
    cr_assert_eq(kxen_daemon_parse_args(&d, 2, help, NULL, NULL, NULL, &o), KXEN_DAEMON_ARGS_HELP);
    char *level[] = {"d", "--log-level", "loud", NULL};
    cr_assert_eq(kxen_daemon_parse_args(&d, 3, level, NULL, NULL, NULL, &o), -EINVAL);
    cr_assert(strstr(d.msg, "loud"), "%s", d.msg);
    char *bad[] = {"d", "--accel", "bad", NULL};
    cr_assert_eq(kxen_daemon_parse_args(&d, 3, bad, accel_opt, take_accel, &accel, &o), -EINVAL);
    cr_assert(strstr(d.msg, "bad"), "%s", d.msg);
    char *stray[] = {"d", "-N", "extra", NULL};
    cr_assert_eq(kxen_daemon_parse_args(&d, 3, stray, NULL, NULL, NULL, &o), -EINVAL);
    cr_assert(strstr(d.msg, "extra"), "%s", d.msg);
}
