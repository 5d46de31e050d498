/* XS_CONTROL: the daemon's management commands (dom0 only). The reply is one string. */
#include "xenstored.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kxen/log.h"

struct control_cmd {
    const char *name;
    const char *usage;
    int (*fn)(struct xs_conn *conn, char **argv, int argc, char *out, size_t len);
};

static int ctl_help(struct xs_conn *conn, char **argv, int argc, char *out, size_t len);

static int ctl_print(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    (void)conn;
    if (argc < 2)
        return -EINVAL;
    log_info("control print: %s", argv[1]);
    snprintf(out, len, "OK");
    return 0;
}

static int ctl_log(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    struct xs_daemon *d = conn->d;
    if (argc >= 2) {
        if (strcmp(argv[1], "on") == 0)
            d->trace_on = true;
        else if (strcmp(argv[1], "off") == 0)
            d->trace_on = false;
        else
            return -EINVAL;
    }
    snprintf(out, len, "trace %s%s", d->trace_on ? "on" : "off",
             d->trace ? "" : " (no trace file: trace goes to the log at debug level)");
    return 0;
}

static int ctl_quota(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    struct xs_daemon *d = conn->d;
    if (argc == 1)
        return xs_quota_format(&d->quota, out, len);
    if (strcmp(argv[1], "set") == 0) {
        if (argc != 4)
            return -EINVAL;
        int r = xs_quota_set(&d->quota, argv[2], argv[3]);
        if (r == 0)
            snprintf(out, len, "OK");
        return r;
    }
    uint32_t domid;
    if (argc != 2 || xs_domid_parse(argv[1], &domid))
        return -EINVAL;
    struct xs_domain *dom = xs_domain_get(d, domid, false);
    uint32_t watches = 0, txns = 0;
    if (dom && dom->conn) {
        watches = dom->conn->nwatches;
        txns = dom->conn->ntxns;
    }
    if (!dom && domid != 0)
        return -ENOENT;
    snprintf(out, len, "domain %u%s\nnodes %d/%u\nwatches %u/%u\ntransactions %u/%u\n", domid,
             dom && dom->introduced ? "" : " (not introduced)", dom ? dom->nbentry : 0,
             d->quota.entry_nb, watches, d->quota.watch_nb, txns, d->quota.transaction);
    return 0;
}

static int ctl_stats(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    (void)argv;
    (void)argc;
    struct xs_daemon *d = conn->d;
    uint32_t nconn = 0;
    for (struct xs_conn *c = d->conns; c; c = c->next)
        nconn++;
    snprintf(out, len, "nodes %llu\nconnections %u\nrequests %llu\ngeneration %llu\n",
             (unsigned long long)d->tree.nnodes + 1, nconn, (unsigned long long)d->stats_requests,
             (unsigned long long)d->tree.gen);
    return 0;
}

static int ctl_check(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    (void)argv;
    (void)argc;
    xs_daemon_check(conn->d, out, len); /* the reply says OK or what is inconsistent */
    return 0;
}

static const struct control_cmd cmds[] = {
    {"help", "help", ctl_help},
    {"check", "check", ctl_check},
    {"print", "print <string>", ctl_print},
    {"log", "log [on|off]", ctl_log},
    {"quota", "quota [<domid>|set <name> <value>]", ctl_quota},
    {"stats", "stats", ctl_stats},
};

static int ctl_help(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    (void)conn;
    (void)argv;
    (void)argc;
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int r = snprintf(out + used, len - used, "%s\n", cmds[i].usage);
        if (r < 0 || (size_t)r >= len - used)
            return -E2BIG;
        used += (size_t)r;
    }
    return 0;
}

int xs_control(struct xs_conn *conn, char **argv, int argc, char *out, size_t len)
{
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            return cmds[i].fn(conn, argv, argc, out, len);
    return -EINVAL;
}
