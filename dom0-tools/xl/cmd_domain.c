/* xl commands that change domains: create, destroy, shutdown, reboot, pause, unpause, rename,
 * config-update. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "xenstore.h"

#include "xl.h"

char *xl_read_config_text(const char *file)
{
    char err[KXL_ERR_LEN], *text;
    size_t len;
    if (kxl_cfg_read_file(file, &text, &len, err, sizeof(err)) < 0) {
        xl_err("%s", err);
        return NULL;
    }
    return text;
}

/* Reads the config file plus command-line key=value overrides into a domain config. */
int xl_load_config(const char *file, char **extras, int nr_extras, struct kxl_domain_config *dc)
{
    struct kxl_cfg cfg;
    char err[KXL_ERR_LEN];
    int rc;
    kxl_cfg_init(&cfg);
    rc = kxl_cfg_parse_file(&cfg, file, err, sizeof(err));
    for (int i = 0; rc == 0 && i < nr_extras; i++) {
        char src[48];
        snprintf(src, sizeof(src), "command line argument %d", i + 1);
        rc = kxl_cfg_parse(&cfg, src, extras[i], strlen(extras[i]), err, sizeof(err));
    }
    if (rc == 0)
        rc = kxl_domain_config_from_cfg(dc, &cfg, err, sizeof(err));
    kxl_cfg_free(&cfg);
    if (rc < 0) {
        xl_err("%s", rc == -ENOMEM ? "out of memory" : err);
        return rc;
    }
    /* The monitor may rebuild the domain later, from another working directory. */
    char abs[PATH_MAX];
    if (dc->kernel && dc->kernel[0] != '/' && realpath(dc->kernel, abs)) {
        char *k = strdup(abs);
        if (k) {
            free(dc->kernel);
            dc->kernel = k;
        }
    }
    return 0;
}

/* The per-domain monitor runs detached, logging to <log dir>/xl-<name>.log, as Xen's to
 * /var/log/xen/xl-<name>.log (the log dir: kxen_log_dir(), docs/paths.md). */
void xl_detach_monitor(const char *rundir, const char *name)
{
    char path[PATH_MAX + 80], dir[PATH_MAX];
    if (kxen_log_dir(rundir, dir, sizeof(dir)) < 0)
        snprintf(dir, sizeof(dir), "%s", rundir);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/xl-%s.log", dir, name);
    setsid();
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (in >= 0)
        dup2(in, 0);
    if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
    }
    if (in > 2)
        close(in);
    if (log > 2)
        close(log);
}

void xl_close_ctx_keep_rundir(char *rundir, size_t len)
{
    snprintf(rundir, len, "%s", kxl_rundir(xl_ctx));
    kxl_ctx_close(xl_ctx);
    xl_ctx = NULL;
}

void xl_start_monitor(const char *rundir, struct kxl_domain_config *dc, uint16_t domid)
{
    pid_t pid = fork();
    if (pid < 0) {
        xl_err("cannot fork the domain monitor: %s", strerror(errno));
    } else if (pid == 0) {
        xl_detach_monitor(rundir, dc->name);
        int rc = xl_monitor_run(dc, domid);
        kxl_domain_config_free(dc);
        exit(rc < 0 ? 1 : 0);
    }
}

static const struct option create_opts[] = {{"defconfig", required_argument, NULL, 'f'},
                                            {"quiet", no_argument, NULL, 'q'},
                                            {"dryrun", no_argument, NULL, 'n'},
                                            {"vncviewer", no_argument, NULL, 'V'},
                                            {"vncviewer-autopass", no_argument, NULL, 'A'},
                                            {0, 0, 0, 0}};

int main_create(int argc, char **argv)
{
    bool console = false, paused = false, quiet = false, no_monitor = false, foreground = false;
    bool dry_run = xl_dry_run;
    const char *file = NULL;
    int opt;
    while ((opt = xl_getopt(argc, argv, "cpqeFhnf:dVA", create_opts, "create")) != -1) {
        switch (opt) {
        case 'c':
            console = true;
            break;
        case 'p':
            paused = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'e':
            no_monitor = true;
            break;
        case 'F':
            foreground = true;
            break;
        case 'n':
            dry_run = true;
            break;
        case 'f':
            file = optarg;
            break;
        case 'd':
            break; /* libxl debug messages: kxen's are in the daemons' logs */
        case 'V':
        case 'A':
            fprintf(stderr, "xl: kxen guests have no VNC display: -%c ignored\n", opt);
            break;
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("create");
        }
    }
    /* Xen's order: the config file (unless -f named it), then key=value overrides. */
    if (!file && optind < argc && !strchr(argv[optind], '='))
        file = argv[optind++];
    if (!file) {
        xl_err("create: no config file given");
        return xl_usage("create");
    }
    if (!quiet)
        fprintf(stderr, "Parsing config from %s\n", file);
    struct kxl_domain_config dc;
    if (xl_load_config(file, argv + optind, argc - optind, &dc) < 0)
        return 1;
    if (dry_run) {
        xl_print_config_json(&dc);
        kxl_domain_config_free(&dc);
        return 0;
    }
    /* Only a valid config starts the services and touches the hypervisor. */
    if (xl_guard_open_ctx("xl create") < 0) {
        kxl_domain_config_free(&dc);
        return 1;
    }
    uint16_t domid;
    int rc = kxl_domain_create(xl_ctx, &dc, paused, &domid);
    if (rc < 0) {
        xl_err("cannot create domain '%s': %s", dc.name, kxl_errmsg(xl_ctx));
        kxl_domain_config_free(&dc);
        return 1;
    }
    xl_guard_release();
    fflush(stdout);
    char rundir[PATH_MAX];
    xl_close_ctx_keep_rundir(rundir, sizeof(rundir));
    if (foreground) {
        rc = xl_monitor_run(&dc, domid);
        kxl_domain_config_free(&dc);
        return rc < 0 ? 1 : 0;
    }
    if (!no_monitor)
        xl_start_monitor(rundir, &dc, domid);
    if (console)
        rc = xl_console_attach(rundir, domid);
    kxl_domain_config_free(&dc);
    return rc < 0 ? 1 : 0;
}

int main_destroy(int argc, char **argv)
{
    uint16_t domid;
    int opt;
    while ((opt = xl_getopt(argc, argv, "fh", NULL, "destroy")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt != 'f') /* -f permits destroying domain 0: still refused, it is the host */
            return xl_usage("destroy");
    }
    if (optind + 1 != argc)
        return xl_usage("destroy");
    if (xl_dry_run) {
        printf("would destroy domain %s\n", argv[optind]);
        return 0;
    }
    if (xl_find_domain(argv[optind], &domid) < 0)
        return 1;
    if (kxl_domain_destroy(xl_ctx, domid) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    return 0;
}

/* -w: waits until this incarnation of the domain is destroyed (kxend's DESTROYED event:
 * a restart may reuse the id at once), or has stayed shut down for 2 s (no monitor acted:
 * on_* = preserve, or created with -e). Reports each end on stderr with Xen's xl lines. */
static int wait_shutdown_done(struct kxen_ctl *ev, uint16_t domid)
{
    uint64_t shut_since = 0;
    for (;;) {
        uint32_t op, len;
        struct kxen_ctl_domain_event e;
        int rc = kxen_ctl_recv_event(ev, 200, &op, &e, sizeof(e), &len);
        if (rc == 0 && len >= sizeof(e) && e.domid == domid && e.event == KXEN_DOMEV_DESTROYED) {
            fprintf(stderr, "Domain %u has been destroyed\n", domid);
            return 0;
        }
        if (rc < 0 && rc != -ETIMEDOUT && rc != -EMSGSIZE)
            return rc;
        struct kxl_dominfo di;
        if (kxl_domain_info(xl_ctx, domid, &di) < 0) {
            fprintf(stderr, "Domain %u has been destroyed\n", domid);
            return 0;
        }
        if (di.flags & KXEN_DOMINFO_SHUTDOWN) {
            if (!shut_since) {
                shut_since = kxen_now_ns();
            } else if (kxen_now_ns() - shut_since > 2000000000ull) {
                fprintf(stderr, "Domain %u has been shut down, reason code %u\n", domid,
                        di.shutdown_reason);
                return 0;
            }
        } else {
            shut_since = 0;
        }
        /* xenstored died meanwhile: the guest can no longer see the request. (xenstored also
         * releases a domain as soon as it is destroyed: that is the end we wait for.) */
        if (!xs_is_domain_introduced(kxl_xs(xl_ctx), domid)) {
            if (kxl_domain_info(xl_ctx, domid, &di) < 0) {
                fprintf(stderr, "Domain %u has been destroyed\n", domid);
                return 0;
            }
            fprintf(stderr,
                    "xl: domain %u lost its xenstore connection (xenstored died): it cannot "
                    "see the shutdown request; use xl destroy\n",
                    domid);
            return -ENOTCONN;
        }
    }
}

/* The PV request, or for an HVM guest without PV drivers Xen's xl answer: refused, or with
 * -F the ACPI event instead (the power button; a reset button the PC does not have). */
static int request_one(uint16_t domid, const char *how, bool fallback)
{
    bool reboot = !strcmp(how, "reboot");
    int rc = kxl_domain_request_shutdown(xl_ctx, domid, how);
    if (rc == -EOPNOTSUPP) {
        const char *what = reboot ? "reboot" : "shutdown";
        if (fallback) {
            fprintf(stderr, "PV control interface not available: sending ACPI %s event.\n",
                    reboot ? "reset button" : "power button");
            rc = kxl_send_trigger(xl_ctx, domid, reboot ? "reset" : "power");
        } else {
            fprintf(stderr,
                    "PV control interface not available: external graceful %s not "
                    "possible.\nUse \"-F\" to fallback to ACPI %s event.\n",
                    what, reboot ? "reset" : "power");
            xl_err("%s failed: %s", what, kxl_errmsg(xl_ctx));
            return rc;
        }
    }
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    return rc;
}

static int shutdown_common(int argc, char **argv, const char *how, const char *cmd)
{
    bool wait = false, all = false, fallback = false;
    int opt;
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'a'}, {"wait", no_argument, NULL, 'w'}, {0, 0, 0, 0}};
    while ((opt = xl_getopt(argc, argv, "waFh", longopts, cmd)) != -1) {
        switch (opt) {
        case XL_OPT_HELP:
            return 0;
        case 'w':
            wait = true;
            break;
        case 'a':
            all = true;
            break;
        case 'F':
            fallback = true;
            break;
        default:
            return xl_usage(cmd);
        }
    }
    uint16_t *ids = NULL;
    size_t n = 0;
    if (all) {
        if (optind != argc)
            return xl_usage(cmd);
        struct kxl_dominfo *list;
        size_t nr;
        if (kxl_domain_list(xl_ctx, &list, &nr) < 0) {
            xl_err("%s", kxl_errmsg(xl_ctx));
            return 1;
        }
        ids = calloc(nr, sizeof(*ids));
        for (size_t i = 1; ids && i < nr; i++)
            ids[n++] = list[i].domid;
        free(list);
        if (!ids)
            return 1;
    } else {
        if (optind + 1 != argc)
            return xl_usage(cmd);
        ids = malloc(sizeof(*ids));
        if (!ids || xl_find_domain(argv[optind], &ids[0]) < 0) {
            free(ids);
            return 1;
        }
        n = 1;
    }
    /* Subscribe before asking, so that no DESTROYED event can be missed. */
    struct kxen_ctl *ev = NULL;
    if (wait) {
        int rc = kxen_ctl_open(kxl_rundir(xl_ctx), &ev);
        if (rc == 0)
            rc = kxen_ctl_simple(ev, KXEN_CTL_EVENTS_SUBSCRIBE, NULL, 0, NULL, 0, NULL);
        if (rc < 0) {
            xl_err("cannot follow domain events: %s", strerror(-rc));
            if (ev)
                kxen_ctl_close(ev);
            free(ids);
            return 1;
        }
    }
    int ret = 0;
    bool reboot = !strcmp(how, "reboot");
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "%s domain %u\n", reboot ? "Rebooting" : "Shutting down", ids[i]);
        if (request_one(ids[i], how, fallback) < 0)
            ret = 1;
    }
    if (wait && ret == 0) {
        fprintf(stderr, "Waiting for %zu domains\n", n);
        for (size_t i = 0; i < n; i++)
            if (wait_shutdown_done(ev, ids[i]) < 0)
                ret = 1;
    }
    if (ev)
        kxen_ctl_close(ev);
    free(ids);
    return ret;
}

int main_shutdown(int argc, char **argv)
{
    return shutdown_common(argc, argv, "poweroff", "shutdown");
}

int main_reboot(int argc, char **argv)
{
    return shutdown_common(argc, argv, "reboot", "reboot");
}

static int simple_op(int argc, char **argv, const char *cmd, int (*op)(struct kxl_ctx *, uint16_t))
{
    uint16_t domid;
    if (argc != 2)
        return xl_usage(cmd);
    if (xl_find_domain(argv[1], &domid) < 0)
        return 1;
    if (op(xl_ctx, domid) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    return 0;
}

int main_pause(int argc, char **argv)
{
    return simple_op(argc, argv, "pause", kxl_domain_pause);
}

int main_unpause(int argc, char **argv)
{
    return simple_op(argc, argv, "unpause", kxl_domain_unpause);
}

int main_rename(int argc, char **argv)
{
    uint16_t domid;
    if (argc != 3)
        return xl_usage("rename");
    if (xl_find_domain(argv[1], &domid) < 0)
        return 1;
    if (kxl_domain_rename(xl_ctx, domid, argv[2]) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    return 0;
}

int xl_config_update_path(const char *rundir, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/config-update/%s.cfg", rundir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xl_config_update_take(const char *rundir, const char *name, struct kxl_domain_config *dc)
{
    char path[PATH_MAX];
    int rc = xl_config_update_path(rundir, name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (access(path, F_OK) < 0)
        return -errno;
    rc = xl_load_config(path, NULL, 0, dc);
    unlink(path); /* used once: a later restart keeps the config it was built with */
    return rc;
}

/* Writes the config file's text and then the key=value overrides (later keys win, as on the
 * command line) to path, so that the restart parses exactly what was validated here. */
static int store_config(const char *file, char **extras, int nr_extras, const char *path)
{
    FILE *in = fopen(file, "re");
    if (!in)
        return -errno;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    FILE *out = fopen(tmp, "we");
    if (!out) {
        int rc = -errno;
        fclose(in);
        return rc;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fprintf(out, "\n");
    for (int i = 0; i < nr_extras; i++)
        fprintf(out, "%s\n", extras[i]);
    fclose(in);
    int rc = ferror(out) ? -EIO : 0;
    if (fclose(out) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* Xen's config-update: the new config replaces the one the domain's monitor restarts it with;
 * nothing changes in the running domain. The name must stay (it finds the domain). */
int main_config_update(int argc, char **argv)
{
    static const struct option longopts[] = {{"defconfig", required_argument, NULL, 'f'},
                                             {0, 0, 0, 0}};
    const char *file = NULL;
    int opt;
    while ((opt = xl_getopt(argc, argv, "f:dh", longopts, "config-update")) != -1) {
        if (opt == XL_OPT_HELP)
            return 0;
        if (opt == 'f')
            file = optarg;
        else if (opt != 'd')
            return xl_usage("config-update");
    }
    if (optind >= argc)
        return xl_usage("config-update");
    const char *dom = argv[optind++];
    if (!file && optind < argc && !strchr(argv[optind], '='))
        file = argv[optind++];
    if (!file) {
        xl_err("config-update: no config file given");
        return xl_usage("config-update");
    }
    uint16_t domid;
    if (xl_find_domain(dom, &domid) < 0)
        return 1;
    struct kxl_dominfo info;
    struct kxl_domain_config dc;
    if (kxl_domain_info(xl_ctx, domid, &info) < 0) {
        xl_err("%s", kxl_errmsg(xl_ctx));
        return 1;
    }
    if (xl_load_config(file, argv + optind, argc - optind, &dc) < 0)
        return 1;
    int rc = strcmp(dc.name, info.name) ? -EINVAL : 0;
    if (rc < 0)
        xl_err("config-update: the config names '%s', the domain is '%s' (rename it with xl "
               "rename)",
               dc.name, info.name);
    kxl_domain_config_free(&dc);
    char dir[PATH_MAX], path[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/config-update", kxl_rundir(xl_ctx));
    if (rc == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        xl_err("cannot create %s: %s", dir, strerror(-rc));
    }
    if (rc == 0 &&
        (rc = xl_config_update_path(kxl_rundir(xl_ctx), info.name, path, sizeof(path))) == 0 &&
        (rc = store_config(file, argv + optind, argc - optind, path)) < 0)
        xl_err("cannot store the config in %s: %s", path, strerror(-rc));
    if (rc == 0)
        fprintf(stderr, "xl: domain %u (%s) will be restarted with the config from %s\n", domid,
                info.name, file);
    return rc < 0 ? 1 : 0;
}
