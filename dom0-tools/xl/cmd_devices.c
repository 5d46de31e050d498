/* xl's PV device commands with Xen's syntax and output (block-*, network-*), and `xl devd`,
 * which runs the backend daemon kxen-devd installed next to xl. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xl.h"

/* Xen's spec components may come as several arguments: they are one spec joined by ','. */
static char *join_spec(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(1, len);
    for (int i = 0; s && i < argc; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, argv[i]);
    }
    return s;
}

/* Leading -f / --force, as Xen's block-detach and network-detach take it. */
static bool take_force(int *argc, char ***argv)
{
    bool force = false;
    while (*argc > 1 && (!strcmp((*argv)[1], "-f") || !strcmp((*argv)[1], "--force"))) {
        force = true;
        (*argv)[1] = (*argv)[0];
        (*argv)++;
        (*argc)--;
    }
    return force;
}

int main_block_attach(int argc, char **argv)
{
    uint16_t domid;
    if (argc < 3)
        return xl_usage("block-attach");
    if (xl_find_domain(argv[1], &domid) < 0)
        return 1;
    char *spec = join_spec(argc - 2, argv + 2), why[256];
    struct kxl_disk disk;
    if (!spec)
        return 1;
    if (kxl_parse_disk_spec(spec, &disk, why, sizeof(why)) < 0) {
        xl_err("invalid disk spec '%s': %s", spec, why);
        free(spec);
        return 1;
    }
    free(spec);
    int rc = kxl_device_disk_add(xl_ctx, domid, &disk);
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    kxl_disk_free(&disk);
    return rc < 0 ? 1 : 0;
}

int main_block_detach(int argc, char **argv)
{
    uint16_t domid;
    bool force = take_force(&argc, &argv);
    if (argc != 3)
        return xl_usage("block-detach");
    if (xl_find_domain(argv[1], &domid) < 0)
        return 1;
    int rc = kxl_device_disk_remove(xl_ctx, domid, argv[2], force);
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    else if (rc == 1)
        fprintf(stderr, "xl: disk %s of domain %u did not close in time: removed by force\n",
                argv[2], domid);
    return rc < 0 ? 1 : 0;
}

static int list_devices(int argc, char **argv, const char *kind, const char *cmd)
{
    if (argc < 2)
        return xl_usage(cmd);
    bool vif = strcmp(kind, "vif") == 0;
    if (vif)
        printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE", "Mac Addr.",
               "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
    else
        printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch",
               "ring-ref", "BE-path");
    int status = 0;
    for (int a = 1; a < argc; a++) {
        uint16_t domid;
        struct kxl_devinfo *d;
        size_t nr;
        if (xl_find_domain(argv[a], &domid) < 0) {
            status = 1;
            continue;
        }
        if (kxl_device_list(xl_ctx, kind, domid, &d, &nr) < 0) {
            xl_err("listing the devices of domain %u failed", domid);
            status = 1;
            continue;
        }
        for (size_t i = 0; i < nr; i++) {
            if (vif)
                printf("%-3u %-2d %-17s %-6u %-5d %-6d %5d/%-11d %-30s\n", d[i].devid,
                       d[i].backend_id, d[i].mac, d[i].devid, d[i].state, d[i].evtch, d[i].rref_tx,
                       d[i].rref_rx, d[i].backend);
            else
                printf("%-5u %-3d %-6d %-5d %-6d %-8d %-30s\n", d[i].devid, d[i].backend_id,
                       d[i].frontend_id, d[i].state, d[i].evtch, d[i].rref, d[i].backend);
        }
        free(d);
    }
    return status;
}

int main_block_list(int argc, char **argv)
{
    return list_devices(argc, argv, "vbd", "block-list");
}

int main_network_list(int argc, char **argv)
{
    return list_devices(argc, argv, "vif", "network-list");
}

int main_network_attach(int argc, char **argv)
{
    uint16_t domid;
    if (argc < 2)
        return xl_usage("network-attach");
    if (xl_find_domain(argv[1], &domid) < 0)
        return 1;
    char *spec = join_spec(argc - 2, argv + 2), why[256];
    struct kxl_vif vif;
    if (!spec)
        return 1;
    if (kxl_parse_vif_spec(spec, &vif, why, sizeof(why)) < 0) {
        xl_err("invalid vif spec '%s': %s", spec, why);
        free(spec);
        return 1;
    }
    free(spec);
    int rc = kxl_device_nic_add(xl_ctx, domid, &vif, NULL);
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    kxl_vif_free(&vif);
    return rc < 0 ? 1 : 0;
}

int main_network_detach(int argc, char **argv)
{
    uint16_t domid;
    bool force = take_force(&argc, &argv);
    if (argc != 3)
        return xl_usage("network-detach");
    if (xl_find_domain(argv[1], &domid) < 0)
        return 1;
    int rc = kxl_device_nic_remove(xl_ctx, domid, argv[2], force);
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    else if (rc == 1)
        fprintf(stderr, "xl: vif %s of domain %u did not close in time: removed by force\n",
                argv[2], domid);
    return rc < 0 ? 1 : 0;
}

/* xl devd [-F] [-p PIDFILE]: Xen's options (-F stay in the foreground) over kxen-devd. */
int main_devd(int argc, char **argv)
{
    const char *pidfile = NULL;
    bool foreground = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-F"))
            foreground = true;
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            pidfile = argv[++i];
        else
            return xl_usage("devd");
    }
    char exe[PATH_MAX], prog[PATH_MAX + 16];
    const char *bin = getenv("KXEN_BINDIR");
    if (!bin) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0) {
            xl_err("cannot find the kxen programs");
            return 1;
        }
        exe[n] = '\0';
        bin = dirname(exe);
    }
    snprintf(prog, sizeof(prog), "%s/kxen-devd", bin);
    const char *args[6];
    int n = 0;
    args[n++] = prog;
    if (foreground)
        args[n++] = "-N";
    if (pidfile) {
        args[n++] = "-F";
        args[n++] = pidfile;
    }
    args[n] = NULL;
    execv(prog, (char *const *)args);
    xl_err("cannot run %s: %s", prog, strerror(errno));
    return 1;
}
