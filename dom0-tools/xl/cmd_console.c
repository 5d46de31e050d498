/* xl console: attaches the terminal to a domain's PV console through xenconsoled's socket
 * (protocol in docs/xl.md: "ATTACH <domid>\n" -> "OK\n" or "ERR <reason>\n", then raw bytes
 * both ways), or with -t serial to an HVM guest's COM1 pty (named in serial/0/tty, as QEMU
 * names its own). Ctrl-] (0x1d) detaches, as with Xen's xenconsole.
 * Line ends: the terminal is in raw mode (no output post-processing), and kxen's guest
 * runtime ends lines with a bare \n, so xl writes \r\n for each \n not already preceded by
 * \r when its output is a terminal, as a terminal's own ONLCR would. Everything else stays
 * byte for byte: the socket, the log, and xl's output to a pipe or file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "kxen/util.h"

#include "xl.h"

#define XL_CONSOLE_ESCAPE 0x1d

static struct termios saved_tio;
static bool tio_saved;

static void raw_terminal(void)
{
    struct termios t;
    if (!isatty(0) || tcgetattr(0, &saved_tio) < 0)
        return;
    tio_saved = true;
    t = saved_tio;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
}

static void restore_terminal(void)
{
    if (tio_saved)
        tcsetattr(0, TCSANOW, &saved_tio);
    tio_saved = false;
}

/* buf to the terminal with \n as \r\n (see the header); *cr: the last byte written was \r. */
static int write_tty(const char *buf, size_t n, bool *cr)
{
    char out[8192];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' && !*cr)
            out[o++] = '\r';
        out[o++] = buf[i];
        *cr = buf[i] == '\r';
        if (o >= sizeof(out) - 2) {
            if (kxen_write_full(1, out, o) < 0)
                return -1;
            o = 0;
        }
    }
    return kxen_write_full(1, out, o);
}

static int connect_consoled(const char *rundir, uint16_t domid, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenconsoled.sock", rundir) >=
        (int)sizeof(sa.sun_path)) {
        snprintf(err, errlen, "run directory path too long for a socket");
        return -ENAMETOOLONG;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "cannot reach xenconsoled at %s: %s", sa.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -ECONNREFUSED;
    }
    /* The reply must come within 5 s (a hung xenconsoled must not hold xl); the console
     * stream itself is read with no timeout (cleared below). */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char req[32];
    int n = snprintf(req, sizeof(req), "ATTACH %u\n", domid);
    if (kxen_write_full(fd, req, n) < 0) {
        snprintf(err, errlen, "xenconsoled closed the connection");
        close(fd);
        return -EPIPE;
    }
    /* The reply line, byte by byte so no console data is swallowed. */
    char line[256];
    size_t len = 0;
    while (len < sizeof(line) - 1) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0) {
            snprintf(err, errlen, "xenconsoled closed the connection");
            close(fd);
            return -EPIPE;
        }
        if (c == '\n')
            break;
        line[len++] = c;
    }
    line[len] = '\0';
    if (strcmp(line, "OK") != 0) {
        snprintf(err, errlen, "%s", strncmp(line, "ERR ", 4) == 0 ? line + 4 : line);
        close(fd);
        return -ENOENT;
    }
    tv.tv_sec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Whether xenconsoled still serves: after the console closed, this tells "the domain is gone"
 * (xenconsoled lives on and answers) from "xenconsoled is gone". A connect alone cannot tell:
 * a xenconsoled being killed may close our console before its listening socket, which then
 * still accepts; so the probe asks for the console again and needs an answer (OK, or ERR for a
 * domain that is gone). */
static bool consoled_alive(const char *rundir, uint16_t domid)
{
    char err[300];
    int fd = connect_consoled(rundir, domid, err, sizeof(err));
    if (fd >= 0)
        close(fd);
    return fd >= 0 || fd == -ENOENT;
}

int xl_console_attach(const char *rundir, uint16_t domid)
{
    char err[300];
    int fd = -1;
    /* Right after create the console may not be attached by xenconsoled yet: retry briefly. */
    for (int i = 0; i < 100; i++) {
        fd = connect_consoled(rundir, domid, err, sizeof(err));
        if (fd >= 0 || fd == -ECONNREFUSED || fd == -ENAMETOOLONG)
            break;
        usleep(50000);
    }
    if (fd < 0) {
        xl_err("console of domain %u: %s", domid, err);
        return fd;
    }
    raw_terminal();
    bool tty_out = isatty(1), cr = false;
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    char buf[4096];
    bool stdin_open = true;
    int rc = 0;
    for (;;) {
        p[0].fd = stdin_open ? 0 : -1;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                /* The console closed: the domain is gone, or xenconsoled is. */
                if (!consoled_alive(rundir, domid))
                    rc = -ECONNRESET;
                break;
            }
            if ((tty_out ? write_tty(buf, (size_t)n, &cr) : kxen_write_full(1, buf, n)) < 0)
                break;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                stdin_open = false; /* keep showing output until the console closes */
                continue;
            }
            char *esc = memchr(buf, XL_CONSOLE_ESCAPE, n);
            if (esc) {
                if (esc > buf)
                    kxen_write_full(fd, buf, esc - buf);
                break;
            }
            if (kxen_write_full(fd, buf, n) < 0)
                break;
        }
    }
    restore_terminal();
    close(fd);
    if (rc == -ECONNRESET)
        xl_err("console of domain %u: lost xenconsoled (it stopped); the guest's output waits "
               "in its ring until xenconsoled runs again",
               domid);
    return rc;
}

/* COM1 of an HVM guest: the pty slave kxend's UART writes to, relayed until the pty closes
 * (the domain is gone) or Ctrl-]. The slave is made raw so the guest's bytes pass unchanged. */
static int serial_attach(uint16_t domid)
{
    char *tty = kxl_domain_serial_tty(xl_ctx, domid);
    if (!tty) {
        xl_err("console: domain %u has no emulated serial port (HVM guests with serial = "
               "\"pty\" have one; use -t pv)",
               domid);
        return -ENOENT;
    }
    int fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        xl_err("console: cannot open %s (domain %u's serial port): %s", tty, domid, strerror(-rc));
        free(tty);
        return rc;
    }
    free(tty);
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    raw_terminal();
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    char buf[4096];
    bool stdin_open = true;
    for (;;) {
        p[0].fd = stdin_open ? 0 : -1;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0 || kxen_write_full(1, buf, n) < 0)
                break;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(0, buf, sizeof(buf));
            char *esc = n > 0 ? memchr(buf, XL_CONSOLE_ESCAPE, n) : NULL;
            if (n <= 0)
                stdin_open = false;
            else if (esc) {
                if (esc > buf)
                    kxen_write_full(fd, buf, esc - buf);
                break;
            } else if (kxen_write_full(fd, buf, n) < 0)
                break;
        }
    }
    restore_terminal();
    close(fd);
    return 0;
}

int main_console(int argc, char **argv)
{
    const char *type = "pv";
    int opt;
    while ((opt = xl_getopt(argc, argv, "t:n:h", NULL, "console")) != -1) {
        switch (opt) {
        case XL_OPT_HELP:
            return 0;
        case 't':
            type = optarg;
            break;
        case 'n':
            if (strcmp(optarg, "0") != 0) {
                xl_err("console: only console 0 exists");
                return 1;
            }
            break;
        default:
            return xl_usage("console");
        }
    }
    if (strcmp(type, "pv") != 0 && strcmp(type, "serial") != 0) {
        xl_err("console: type must be pv or serial, not '%s'", type);
        return 2;
    }
    if (optind + 1 != argc)
        return xl_usage("console");
    uint16_t domid;
    if (xl_find_domain(argv[optind], &domid) < 0)
        return 1;
    if (domid == 0) {
        xl_err("console: Domain-0 is the host; it has no console here");
        return 1;
    }
    if (strcmp(type, "serial") == 0)
        return serial_attach(domid) < 0 ? 1 : 0;
    return xl_console_attach(kxl_rundir(xl_ctx), domid) < 0 ? 1 : 0;
}
