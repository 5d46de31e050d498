/* xenstored --poll-us (busy-polling after work): the real daemon binary, raw socket clients.
 * Proves requests and watch events are still served across connections while it polls, that
 * a flooding client does not stall another, that an idle daemon sleeps (no CPU burnt once the
 * window has passed) and that bad values are refused. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../xenstored.h"
#include "sock_msg.h"

#ifndef XS_DAEMON_BIN
#define XS_DAEMON_BIN "build/san/bin/xenstored"
#endif

static char dir[32], sock_path[96];
static pid_t daemon_pid;

static int client(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        usleep(20000);
    }
    cr_assert_fail("daemon never listened on %s", sock_path);
    return -1;
}

static void start(void)
{
    snprintf(dir, sizeof(dir), "/tmp/xsd-poll-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/socket", dir);
    daemon_pid = fork();
    cr_assert_geq(daemon_pid, 0);
    if (daemon_pid == 0) {
        setenv("XENSTORED_RUNDIR", dir, 1);
        close_range(3, ~0u, 0);
        /* The longest window accepted, so a window that never closed would show clearly. */
        execl(XS_DAEMON_BIN, "xenstored", "-N", "-l", "warn", "--poll-us", "1000", (char *)NULL);
        _exit(127);
    }
    close(client());
}

static void stop(void)
{
    int status = 0;
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, &status, 0);
    unlink(sock_path);
    rmdir(dir);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon status %d", status);
}
TestSuite(busy_poll, .init = start, .fini = stop, .timeout = 60);

/* user + system CPU time of the daemon so far, in clock ticks */
static long daemon_ticks(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)daemon_pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    cr_assert_not_null(p);
    long utime = 0, stime = 0;
    /* after ") ": state, then fields 4..13, then utime (14) and stime (15) */
    cr_assert_eq(
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime), 2);
    return utime + stime;
}

Test(busy_poll, requests_and_watch_events_are_served_across_connections_while_polling)
{
    int a = client(), b = client();
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    send_msg(b, XS_WATCH, 1, "/vm\0w1", 7);
    cr_assert_eq(recv_msg(b, &h, body), 0, "a whole reply");
    cr_assert_eq(h.type, XS_WATCH);
    cr_assert_eq(recv_msg(b, &h, body), 0, "a whole reply");
    cr_assert_eq(h.type, XS_WATCH_EVENT);
    for (uint32_t i = 0; i < 50; i++) {
        char req[32];
        int n = snprintf(req, sizeof(req), "/vm/k%u", i);
        memcpy(req + n + 1, "v", 1);
        send_msg(a, XS_WRITE, 100 + i, req, (uint32_t)n + 2);
        cr_assert_eq(recv_msg(a, &h, body), 0, "a whole reply");
        cr_assert_eq(h.req_id, 100 + i);
        cr_assert_str_eq(body, "OK");
        cr_assert_eq(recv_msg(b, &h, body), 0, "a whole reply");
        cr_assert_eq(h.type, XS_WATCH_EVENT);
        cr_assert_str_eq(body, req, "event %u names the written path", i);
    }
    send_msg(b, XS_READ, 3, "/vm/k49", 8);
    cr_assert_eq(recv_msg(b, &h, body), 0, "a whole reply");
    cr_assert_eq(h.req_id, 3);
    cr_assert_str_eq(body, "v");
    close(a);
    close(b);
}

Test(busy_poll, a_flooding_client_does_not_stall_another)
{
    int lazy = client(), good = client();
    send_unread_flood(lazy);
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    send_msg(good, XS_GET_DOMAIN_PATH, 1, "1", 2);
    cr_assert_eq(recv_msg(good, &h, body), 0, "a whole reply");
    cr_assert_str_eq(body, "/local/domain/1");
    close(lazy);
    close(good);
}

Test(busy_poll, an_idle_daemon_sleeps_once_the_window_has_passed)
{
    int a = client();
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    for (uint32_t i = 0; i < 20; i++) {
        send_msg(a, XS_WRITE, i, "/idle\0x", 7);
        cr_assert_eq(recv_msg(a, &h, body), 0, "a whole reply");
        cr_assert_str_eq(body, "OK");
    }
    usleep(50 * 1000); /* well past the 1 ms window */
    long before = daemon_ticks();
    usleep(500 * 1000);
    long used = daemon_ticks() - before;
    /* A daemon still spinning would use ~all of the 500 ms (about 50 ticks at 100 Hz). */
    cr_assert_leq(used, 3, "idle daemon used %ld ticks of CPU in 500 ms", used);
    close(a);
}

static int run_with_poll_us(const char *value, char *err, size_t errlen)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close_range(3, ~0u, 0);
        execl(XS_DAEMON_BIN, "xenstored", "-N", "--socket", "/nonexistent/dir/socket", "--poll-us",
              value, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got < errlen - 1 && (n = read(p[0], err + got, errlen - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(busy_poll, out_of_range_or_malformed_windows_are_refused)
{
    const char *bad[] = {"1001", "-5", "abc", "", "10us"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";
        int rc = run_with_poll_us(bad[i], err, sizeof(err));
        cr_assert_eq(rc, 2, "--poll-us '%s': exit %d", bad[i], rc);
        cr_assert_not_null(strstr(err, "--poll-us wants microseconds from 0 to 1000"),
                           "--poll-us '%s': message was '%s'", bad[i], err);
    }
}
