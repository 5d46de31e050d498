/* Protocol over the real unix socket, against the real daemon binary, with a raw client. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../xenstored.h"
#include "sock_msg.h"

#ifndef XS_DAEMON_BIN
#define XS_DAEMON_BIN "build/san/bin/xenstored"
#endif

static char dir[32], sock_path[96], pid_path[96];
static pid_t daemon_pid;

static int try_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static int client(void)
{
    for (int i = 0; i < 200; i++) {
        int fd = try_connect();
        if (fd >= 0)
            return fd;
        usleep(20000);
    }
    cr_assert_fail("daemon never listened on %s", sock_path);
    return -1;
}

static void start(void)
{
    snprintf(dir, sizeof(dir), "/tmp/xsd-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/socket", dir);
    snprintf(pid_path, sizeof(pid_path), "%s/xenstored.pid", dir);
    daemon_pid = fork();
    cr_assert_geq(daemon_pid, 0);
    if (daemon_pid == 0) {
        /* The default socket path comes from XENSTORED_RUNDIR, as Xen's clients expect. */
        setenv("XENSTORED_RUNDIR", dir, 1);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        /* The daemon must not inherit the test runner's channels. */
        close_range(3, ~0u, 0);
        execl(XS_DAEMON_BIN, "xenstored", "-N", "-F", pid_path, "-l", "warn", (char *)NULL);
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
    unlink(pid_path);
    rmdir(dir);
    /* A clean stop: exit 0, and (sanitized builds) no leak report, which would fail it. */
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon status %d", status);
}
TestSuite(socket, .init = start, .fini = stop, .timeout = 60);

Test(socket, write_read_and_a_watch_event_across_connections)
{
    int a = client(), b = client();
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    send_msg(b, XS_WATCH, 1, "/vm\0w1", 7);
    cr_assert_eq(recv_msg(b, &h, body), 0);
    cr_assert_eq(h.type, XS_WATCH);
    cr_assert_eq(recv_msg(b, &h, body), 0);
    cr_assert_eq(h.type, XS_WATCH_EVENT);
    send_msg(a, XS_WRITE, 2, "/vm/name\0demo", 13);
    cr_assert_eq(recv_msg(a, &h, body), 0);
    cr_assert_eq(h.req_id, 2);
    cr_assert_str_eq(body, "OK");
    cr_assert_eq(recv_msg(b, &h, body), 0);
    cr_assert_eq(h.type, XS_WATCH_EVENT);
    cr_assert_str_eq(body, "/vm/name");
    cr_assert_str_eq(body + 9, "w1");
    send_msg(b, XS_READ, 3, "/vm/name", 9);
    cr_assert_eq(recv_msg(b, &h, body), 0);
    cr_assert_eq(h.req_id, 3);
    cr_assert_str_eq(body, "demo");
    close(a);
    close(b);
}

Test(socket, a_lying_length_closes_only_that_connection)
{
    int bad = client(), good = client();
    struct xsd_sockmsg h = {XS_READ, 1, 0, 100000};
    cr_assert_eq(write(bad, &h, sizeof(h)), sizeof(h));
    char c;
    cr_assert_eq(read(bad, &c, 1), 0, "connection should be closed");
    char body[XENSTORE_PAYLOAD_MAX + 1];
    send_msg(good, XS_GET_DOMAIN_PATH, 9, "3", 2);
    cr_assert_eq(recv_msg(good, &h, body), 0);
    cr_assert_str_eq(body, "/local/domain/3");
    close(bad);
    close(good);
}

Test(socket, a_client_that_never_reads_does_not_stall_others)
{
    int lazy = client(), good = client();
    send_unread_flood(lazy);
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    send_msg(good, XS_GET_DOMAIN_PATH, 1, "1", 2);
    cr_assert_eq(recv_msg(good, &h, body), 0);
    cr_assert_str_eq(body, "/local/domain/1");
    close(lazy);
    close(good);
}

Test(socket, pid_file_holds_the_daemon_pid)
{
    FILE *f = fopen(pid_path, "r");
    cr_assert_not_null(f);
    int pid = 0;
    cr_assert_eq(fscanf(f, "%d", &pid), 1);
    fclose(f);
    cr_assert_eq(pid, daemon_pid);
}
