/* xenstore, xenstore-{read,write,rm,exists,list,ls,chmod,watch}: Xen's command-line clients
 * with their options, output formats and exit codes. The mode comes from the program name
 * (xenstore-read) or, for the plain "xenstore" multiplexer, from the first argument. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xenstore.h>

enum xsc_mode { XSC_READ, XSC_WRITE, XSC_RM, XSC_EXISTS, XSC_LIST, XSC_LS, XSC_CHMOD, XSC_WATCH };

/* Per mode: name, getopt letters, usage tail. */
static const struct xsc_mode_desc {
    const char *name;
    const char *opts;
    const char *usage;
} xsc_modes[] = {
    [XSC_READ] = {"read", "hpsR", "[-h] [-p] [-s] [-R] key [...]"},
    [XSC_WRITE] = {"write", "hsR", "[-h] [-s] [-R] key value [...]"},
    [XSC_RM] = {"rm", "hst", "[-h] [-s] [-t] key [...]"},
    [XSC_EXISTS] = {"exists", "hps", "[-h] [-p] [-s] key [...]"},
    [XSC_LIST] = {"list", "hps", "[-h] [-p] [-s] key [...]"},
    [XSC_LS] = {"ls", "hfps", "[-h] [-f] [-p] [-s] [path]"},
    [XSC_CHMOD] = {"chmod", "hurs", "[-h] [-u] [-r] [-s] key <mode [modes...]>"},
    [XSC_WATCH] = {"watch", "hn:", "[-h] [-n NR] key"},
};

/* Column where xenstore-ls -p aligns the permissions, and the room kept for the value's
 * quotes and truncation mark, as Xen's xenstore-ls lays its lines out. */
#define XSC_LS_PERMS_COLUMN 60
#define XSC_LS_TAG_LEN 8

struct xsc_opts {
    enum xsc_mode mode;
    const char *prog, *mode_prefix;
    bool prefix, raw, tidy, upto, recurse, full_path, show_perms, socket_only;
    int max_events;
    int max_width;
};

static struct expanding_buffer xsc_ebuf;

static void __attribute__((noreturn)) xsc_usage(const struct xsc_opts *o)
{
    errx(1, "Usage: %s %s%s", o->prog, o->mode_prefix, xsc_modes[o->mode].usage);
}

static const char *xsc_sanitise(const char *val, unsigned int len)
{
    const char *s = sanitise_value(&xsc_ebuf, val, len);
    if (!s)
        errx(1, "out of memory");
    return s;
}

static int xsc_read(struct xs_handle *h, xs_transaction_t t, const struct xsc_opts *o,
                    const char *key)
{
    unsigned int len;
    char *val = xs_read(h, t, key, &len);
    if (!val) {
        warnx("couldn't read path %s", key);
        return 1;
    }
    if (o->prefix)
        printf("%s: ", key);
    /* Raw output is the exact bytes, without even a newline. */
    if (o->raw)
        fwrite(val, 1, len, stdout);
    else
        printf("%s\n", xsc_sanitise(val, len));
    free(val);
    return 0;
}

static int xsc_write(struct xs_handle *h, xs_transaction_t t, const struct xsc_opts *o,
                     const char *key, const char *arg)
{
    char *buf = NULL;
    const char *val = arg;
    unsigned int len = (unsigned int)strlen(arg);
    if (!o->raw) {
        /* Unescaping only ever shrinks the text. */
        buf = malloc(len + 1);
        if (!buf)
            errx(1, "out of memory");
        unsanitise_value(buf, &len, arg);
        val = buf;
    }
    bool ok = xs_write(h, t, key, val, len);
    free(buf);
    if (!ok) {
        warnx("could not write path %s", key);
        return 1;
    }
    return 0;
}

/* -t: after removing a node, remove each parent left empty (no value, no children). */
static int xsc_rm(struct xs_handle *h, xs_transaction_t t, const struct xsc_opts *o,
                  const char *key)
{
    if (!xs_rm(h, t, key)) {
        warnx("could not remove path %s", key);
        return 1;
    }
    if (!o->tidy)
        return 0;
    char *path = strdup(key);
    if (!path)
        errx(1, "out of memory");
    for (;;) {
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;
        *slash = '\0';
        unsigned int len, num;
        char *val = xs_read(h, t, path, &len);
        free(val);
        if (!val || len)
            break;
        char **children = xs_directory(h, t, path, &num);
        free(children);
        if (!children || num || !xs_rm(h, t, path))
            break;
    }
    free(path);
    return 0;
}

static int xsc_exists(struct xs_handle *h, xs_transaction_t t, const char *key)
{
    char *val = xs_read(h, t, key, NULL);
    if (!val)
        return 1;
    free(val);
    return 0;
}

static int xsc_list(struct xs_handle *h, xs_transaction_t t, const struct xsc_opts *o,
                    const char *key)
{
    unsigned int num;
    char **names = xs_directory(h, t, key, &num);
    if (!names) {
        warnx("could not list path %s", key);
        return 1;
    }
    for (unsigned int i = 0; i < num; i++)
        printf(o->prefix ? "%s/%s\n" : "%.0s%s\n", key, names[i]);
    free(names);
    return 0;
}

static void xsc_print_perms(struct xs_handle *h, const char *path, const char *name)
{
    unsigned int n;
    struct xs_permissions *perms = xs_get_permissions(h, XBT_NULL, path, &n);
    if (!perms) {
        warn("\ncould not access permissions for %s", name);
        return;
    }
    fputs("  (", stdout);
    for (unsigned int i = 0; i < n; i++) {
        char buf[MAX_STRLEN(unsigned int) + 1];
        if (i)
            putchar(',');
        if (xs_perm_to_string(&perms[i], buf, sizeof(buf)))
            fputs(buf, stdout);
    }
    putchar(')');
    free(perms);
}

/* One line per node: indented name (or full path with -f), its value, and with -p its
 * permissions; long values are cut to the terminal width unless -f. */
static void xsc_ls(struct xs_handle *h, const struct xsc_opts *o, const char *path, int depth)
{
    unsigned int num;
    char **names = xs_directory(h, XBT_NULL, path, &num);
    if (!names) {
        /* A node removed while we walk is not an error below the top. */
        if (depth && (errno == ENOENT || errno == EACCES))
            return;
        err(1, "xs_directory (%s)", path);
    }
    size_t plen = strlen(path);
    for (unsigned int i = 0; i < num; i++) {
        char *child;
        if (asprintf(&child, "%s%s%s", path, plen && path[plen - 1] == '/' ? "" : "/", names[i]) <
            0)
            errx(1, "out of memory");
        int width = 0;
        if (o->full_path) {
            fputs(child, stdout);
        } else {
            for (; width < depth; width++)
                putchar(' ');
            width += printf("%.*s", o->max_width - XSC_LS_TAG_LEN - width, names[i]);
        }
        unsigned int len;
        char *val = xs_read(h, XBT_NULL, child, &len);
        if (!val) {
            printf(":\n");
        } else if (!o->full_path && o->max_width < width + (int)len + XSC_LS_TAG_LEN) {
            printf(" = \"%.*s\\...\"", o->max_width - XSC_LS_TAG_LEN - width,
                   xsc_sanitise(val, len));
        } else {
            width += printf(" = \"%s\"", xsc_sanitise(val, len));
            if (o->show_perms) {
                putchar(' ');
                int stop = XSC_LS_PERMS_COLUMN < o->max_width ? XSC_LS_PERMS_COLUMN : o->max_width;
                for (width++; !o->full_path && width < stop; width++)
                    putchar(width & 1 ? '.' : ' ');
            }
        }
        if (val && o->show_perms)
            xsc_print_perms(h, child, names[i]);
        if (val)
            putchar('\n');
        free(val);
        xsc_ls(h, o, child, depth + 1);
        free(child);
    }
    free(names);
}

static int xsc_set_perms(struct xs_handle *h, xs_transaction_t t, const char *path,
                         struct xs_permissions *perms, unsigned int n)
{
    if (!xs_set_permissions(h, t, path, perms, n))
        err(1, "Error occurred setting permissions on '%s'", path);
    return 0;
}

static void xsc_chmod_recurse(struct xs_handle *h, xs_transaction_t t, const char *path,
                              struct xs_permissions *perms, unsigned int n)
{
    xsc_set_perms(h, t, path, perms, n);
    unsigned int num;
    char **names = xs_directory(h, t, path, &num);
    if (!names)
        return;
    for (unsigned int i = 0; i < num; i++) {
        char *child;
        if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "", names[i]) < 0)
            errx(1, "out of memory");
        xsc_chmod_recurse(h, t, child, perms, n);
        free(child);
    }
    free(names);
}

/* Modes are "<n|r|w|b><domid>"; the first names the owner (and everyone else's access). */
static struct xs_permissions *xsc_parse_modes(char **modes, int n)
{
    struct xs_permissions *perms = calloc((size_t)n ? (size_t)n : 1, sizeof(*perms));
    if (!perms)
        errx(1, "out of memory");
    for (int i = 0; i < n; i++) {
        switch (modes[i][0]) {
        case 'n':
            perms[i].perms = XS_PERM_NONE;
            break;
        case 'r':
            perms[i].perms = XS_PERM_READ;
            break;
        case 'w':
            perms[i].perms = XS_PERM_WRITE;
            break;
        case 'b':
            perms[i].perms = XS_PERM_READ | XS_PERM_WRITE;
            break;
        default:
            errx(1, "Invalid permission specification: '%c'", modes[i][0]);
        }
        perms[i].id = (unsigned int)strtol(modes[i] + 1, NULL, 10);
    }
    return perms;
}

static int xsc_chmod(struct xs_handle *h, xs_transaction_t t, const struct xsc_opts *o, char **args,
                     int nargs)
{
    struct xs_permissions *perms = xsc_parse_modes(args + 1, nargs - 1);
    unsigned int n = (unsigned int)(nargs - 1);
    if (o->recurse)
        xsc_chmod_recurse(h, t, args[0], perms, n);
    else
        xsc_set_perms(h, t, args[0], perms, n);
    if (o->upto) {
        char *path = strdup(args[0]);
        if (!path)
            errx(1, "out of memory");
        char *slash;
        while ((slash = strrchr(path, '/')) && slash != path) {
            *slash = '\0';
            xsc_set_perms(h, t, path, perms, n);
        }
        free(path);
    }
    free(perms);
    return 0;
}

static int xsc_watch(struct xs_handle *h, const struct xsc_opts *o, const char *key)
{
    if (!xs_watch(h, key, key))
        errx(1, "Unable to add watch on %s", key);
    for (int seen = 0; o->max_events < 0 || seen < o->max_events; seen++) {
        unsigned int num;
        char **vec = xs_read_watch(h, &num);
        if (!vec)
            err(1, "xs_read_watch");
        printf("%s\n", vec[XS_WATCH_PATH]);
        fflush(stdout);
        free(vec);
    }
    return 0;
}

/* Runs the mode's operation over its arguments; 0 or the exit status. */
static int xsc_perform(struct xs_handle *h, xs_transaction_t t, const struct xsc_opts *o,
                       char **args, int nargs)
{
    int ret = 0;
    switch (o->mode) {
    case XSC_CHMOD:
        return xsc_chmod(h, t, o, args, nargs);
    case XSC_WRITE:
        for (int i = 0; ret == 0 && i + 1 < nargs; i += 2)
            ret = xsc_write(h, t, o, args[i], args[i + 1]);
        return ret;
    default:
        break;
    }
    for (int i = 0; ret == 0 && i < nargs; i++) {
        switch (o->mode) {
        case XSC_READ:
            ret = xsc_read(h, t, o, args[i]);
            break;
        case XSC_RM:
            ret = xsc_rm(h, t, o, args[i]);
            break;
        case XSC_EXISTS:
            ret = xsc_exists(h, t, args[i]);
            break;
        case XSC_LIST:
            ret = xsc_list(h, t, o, args[i]);
            break;
        default:
            break;
        }
    }
    return ret;
}

static void xsc_parse(struct xsc_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", 0, NULL, 'h'},    {"flat", 0, NULL, 'f'},   {"socket", 0, NULL, 's'},
        {"prefix", 0, NULL, 'p'},  {"tidy", 0, NULL, 't'},   {"upto", 0, NULL, 'u'},
        {"recurse", 0, NULL, 'r'}, {"number", 1, NULL, 'n'}, {"raw", 0, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, xsc_modes[o->mode].opts, longopts, NULL)) != -1) {
        /* As Xen's: an unknown option only gets getopt's warning, but a known one the mode does
         * not take (xenstore-read --tidy) is a usage error. */
        if (c == '?')
            continue;
        if (c == 'h' || !strchr(xsc_modes[o->mode].opts, c))
            xsc_usage(o);
        switch (c) {
        case 'f':
            o->full_path = true;
            break;
        case 's':
            o->socket_only = true;
            break;
        case 'p':
            o->mode == XSC_LS ? (o->show_perms = true) : (o->prefix = true);
            break;
        case 't':
            o->tidy = true;
            break;
        case 'u':
            o->upto = true;
            break;
        case 'r':
            o->recurse = true;
            break;
        case 'n':
            o->max_events = atoi(optarg);
            break;
        case 'R':
            o->raw = true;
            break;
        default:
            break;
        }
    }
}

/* The argument counts each mode accepts. */
static bool xsc_args_ok(const struct xsc_opts *o, int nargs)
{
    switch (o->mode) {
    case XSC_LS:
        return true;
    case XSC_WRITE:
        return nargs >= 2 && nargs % 2 == 0;
    case XSC_CHMOD:
        return nargs >= 1; /* no modes: the daemon's EINVAL is reported */
    case XSC_WATCH:
        return nargs == 1;
    default:
        return nargs >= 1;
    }
}

static int xsc_lookup_mode(const char *name)
{
    for (size_t i = 0; i < sizeof(xsc_modes) / sizeof(xsc_modes[0]); i++)
        if (strcmp(name, xsc_modes[i].name) == 0)
            return (int)i;
    return -1;
}

int main(int argc, char **argv)
{
    struct xsc_opts o = {.max_events = -1, .max_width = 80, .mode_prefix = ""};
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    o.prog = argv[0]; /* usage lines show the name as invoked, as Xen's do */
    int mode;
    if (strncmp(base, "xenstore-", 9) == 0) {
        mode = xsc_lookup_mode(base + 9);
        if (mode < 0)
            errx(1, "unknown mode %s", base + 9);
    } else {
        if (argc < 2)
            errx(1, "Usage: %s <mode> [-h] [...]", argv[0]);
        mode = xsc_lookup_mode(argv[1]);
        if (mode < 0)
            errx(1, "unknown mode %s\n", argv[1]); /* Xen's message ends in a blank line */
        static char prefix[32];
        snprintf(prefix, sizeof(prefix), "%s ", argv[1]);
        o.mode_prefix = prefix;
        argv++;
        argc--;
    }
    o.mode = (enum xsc_mode)mode;
    xsc_parse(&o, argc, argv);
    char **args = argv + optind;
    int nargs = argc - optind;
    if (!xsc_args_ok(&o, nargs))
        xsc_usage(&o);
    if (o.mode == XSC_WATCH && o.max_events == 0)
        return 0;

    struct winsize ws;
    if (o.mode == XSC_LS && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        o.max_width = ws.ws_col;

    struct xs_handle *h = xs_open(o.socket_only ? XS_OPEN_SOCKETONLY : 0);
    if (!h)
        err(1, "xs_open %s", xs_daemon_socket() ? xs_daemon_socket() : "(path too long)");

    int ret;
    if (o.mode == XSC_LS) {
        xsc_ls(h, &o, nargs ? args[nargs - 1] : "/", 0);
        ret = 0;
    } else if (o.mode == XSC_WATCH) {
        ret = xsc_watch(h, &o, args[0]);
    } else if ((o.mode == XSC_READ && nargs == 1) || (o.mode == XSC_WRITE && nargs == 2)) {
        /* A single read or write is atomic by itself: no transaction, as in Xen. */
        ret = xsc_perform(h, XBT_NULL, &o, args, nargs);
    } else {
        for (;;) {
            xs_transaction_t t = xs_transaction_start(h);
            if (t == XBT_NULL)
                errx(1, "couldn't start transaction");
            ret = xsc_perform(h, t, &o, args, nargs);
            if (xs_transaction_end(h, t, ret != 0))
                break;
            if (ret == 0 && errno == EAGAIN)
                continue; /* a concurrent change: redo the whole operation */
            if (ret == 0)
                errx(1, "couldn't end transaction");
            break;
        }
    }
    xs_close(h);
    free(xsc_ebuf.buf);
    return ret;
}
