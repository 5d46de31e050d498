/* xl's entry point: the command table, `xl help`, opening the toolstack context (which starts
 * the host's services on first use) for the commands that need it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/util.h"

#include "xl.h"

struct kxl_ctx *xl_ctx;

static int main_help(int argc, char **argv);

static const struct xl_cmd commands[] = {
    {"create", main_create, false, "[-c] [-p] [-q] [-e] [-F] <ConfigFile> [key=value ...]",
     "Create a domain from a config file (-c: attach the console, -p: leave paused, "
     "-q: quiet, -e: no monitor for on_* actions, -F: monitor in the foreground)"},
    {"list", main_list, true, "[-l] [Domain ...]", "List domains (-l: JSON)"},
    {"destroy", main_destroy, true, "<Domain>", "Terminate a domain immediately"},
    {"shutdown", main_shutdown, true, "[-w] [-a] [<Domain>]",
     "Ask a domain to shut down (-w: wait until it is gone, -a: every domain)"},
    {"reboot", main_reboot, true, "[-w] [-a] [<Domain>]", "Ask a domain to reboot"},
    {"pause", main_pause, true, "<Domain>", "Pause the execution of a domain"},
    {"unpause", main_unpause, true, "<Domain>", "Unpause a paused domain"},
    {"console", main_console, true, "[-t pv|serial] [-n 0] <Domain>",
     "Attach to a domain's console (detach with Ctrl-])"},
    {"info", main_info, true, "", "Information about the host and the hypervisor"},
    {"domid", main_domid, true, "<DomainName>", "Convert a domain name to its id"},
    {"domname", main_domname, true, "<DomainId>", "Convert a domain id to its name"},
    {"rename", main_rename, true, "<Domain> <NewName>", "Rename a domain"},
    {"dmesg", main_dmesg, true, "[-c]", "Read the hypervisor console (-c: clear it after)"},
    {"vcpu-list", main_vcpu_list, true, "[Domain ...]", "List the vCPUs of domains"},
    {"uptime", main_uptime, true, "[-s] [Domain ...]", "Print the uptime of domains"},
    {"block-attach", main_block_attach, true, "<Domain> <disk-spec-component(s)>...",
     "Create a new virtual block device"},
    {"block-detach", main_block_detach, true, "[-f] <Domain> <DevId>",
     "Destroy a domain's virtual block device (-f: at once, without the guest)"},
    {"block-list", main_block_list, true, "<Domain(s)>", "List virtual block devices for a domain"},
    {"network-attach", main_network_attach, true,
     "<Domain> [type=<type>] [mac=<mac>] "
     "[bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>]",
     "Create a new virtual network device"},
    {"network-detach", main_network_detach, true, "[-f] <Domain> <DevId|mac>",
     "Destroy a domain's virtual network device"},
    {"network-list", main_network_list, true, "<Domain(s)>",
     "List virtual network interfaces for a domain"},
    {"devd", main_devd, false, "[-F] [-p pidfile]",
     "Daemon that serves the PV disk and nic backends (-F: foreground)"},
    {"help", main_help, false, "[command]", "Print this help"},
};

void xl_err(const char *fmt, ...)
{
    va_list ap;
    fputs("xl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int xl_find_domain(const char *spec, uint16_t *domid)
{
    int rc = kxl_domain_lookup(xl_ctx, spec, domid);
    if (rc < 0)
        xl_err("%s", kxl_errmsg(xl_ctx));
    return rc;
}

int xl_open_ctx(void)
{
    char err[KXL_ERR_LEN];
    if (xl_ctx)
        return 0;
    int rc = kxl_ctx_open(KXL_OPEN_AUTOSTART, &xl_ctx, err, sizeof(err));
    if (rc < 0)
        xl_err("%s", err);
    return rc;
}

static const struct xl_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int xl_usage(const char *name)
{
    const struct xl_cmd *c = find_cmd(name);
    if (c)
        fprintf(stderr, "Usage: xl %s %s\n\n%s.\n", c->name, c->usage, c->summary);
    return 2;
}

static int main_help(int argc, char **argv)
{
    if (argc > 1) {
        const struct xl_cmd *c = find_cmd(argv[1]);
        if (!c) {
            xl_err("unknown command '%s' (see 'xl help')", argv[1]);
            return 2;
        }
        printf("Usage: xl %s %s\n\n%s.\n", c->name, c->usage, c->summary);
        return 0;
    }
    printf("Usage: xl <subcommand> [args]\n\nkxen's xl: Xen's toolstack commands on kxen.\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        printf(" %-12s %s\n", commands[i].name, commands[i].summary);
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            return main_help(1, argv) == 0 ? 0 : 2;
        } else if (!strcmp(argv[i], "-v")) {
            i++; /* accepted for compatibility: xl has no extra verbosity yet */
        } else {
            xl_err("unknown global option '%s'", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        main_help(1, argv);
        return 2;
    }
    const struct xl_cmd *c = find_cmd(argv[i]);
    if (!c) {
        xl_err("unknown command '%s' (see 'xl help')", argv[i]);
        return 2;
    }
    if (c->needs_ctx && xl_open_ctx() < 0)
        return 1;
    int rc = c->fn(argc - i, argv + i);
    kxl_ctx_close(xl_ctx);
    xl_ctx = NULL;
    return rc;
}
