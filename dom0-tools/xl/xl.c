/* xl's entry point: global options, the command table (and Xen's commands kxen does not offer
 * yet, named as such), `xl help`, per-command option parsing with Xen's habits, opening the
 * toolstack context (which starts the host's services on first use) for the commands that
 * need it. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/util.h"

#include "xl.h"

struct kxl_ctx *xl_ctx;
bool xl_dry_run;
bool xl_verbose;
bool xl_progress_cr;
uint64_t xl_start_ns;

static int main_help(int argc, char **argv);

static const struct xl_cmd commands[] = {
    {"create", main_create, false,
     "<ConfigFile> [options] [key=value ...]  (options: -c -p -q|--quiet -n|--dryrun "
     "-f|--defconfig FILE -e -F -d)",
     "Create a domain from a config file (-c: attach the console, -p: leave paused, "
     "-q: quiet, -n: print the config and stop, -f: the config file, -e: no monitor for on_* "
     "actions, -F: monitor in the foreground)"},
    {"list", main_list, true, "[-l|--long] [-v|--verbose] [-Z] [-c] [-n|--numa] [Domain ...]",
     "List domains (-l: JSON, -v: uuid and shutdown reason)"},
    {"destroy", main_destroy, true, "[-f] <Domain>", "Terminate a domain immediately"},
    {"shutdown", main_shutdown, true, "[-w|--wait] [-a|--all] [-F] [<Domain>]",
     "Ask a domain to shut down (-w: wait until it is gone, -a: every domain)"},
    {"reboot", main_reboot, true, "[-w|--wait] [-a|--all] [-F] [<Domain>]",
     "Ask a domain to reboot"},
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
    {"vcpu-exits", main_vcpu_exits, true, "[Domain ...]",
     "Count each vCPU's exits to kxend by kind (IO, MMIO, Hypercall, Halt, Other)"},
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
    {"vm-list", main_vm_list, true, "", "List guest domains: uuid, id and name"},
    {"top", main_top, true,
     "[-b|--batch] [-d|--delay SECONDS] [-i|--iterations N] [-n] [-x] [-v] [-r] [-f]",
     "Monitor domains as xentop does (-b: batch lines for scripts, -i: stop after N screens, "
     "-d: seconds between them, 3 by default)"},
    {"mem-set", main_mem_set, true, "<Domain> <MemKB|<num>[tgmkb]>",
     "Set the domain's memory target: its balloon driver gives back or takes memory"},
    {"mem-max", main_mem_max, true, "<Domain> <MemKB|<num>[tgmkb]>",
     "Set the most memory the domain may balloon up to"},
    {"vcpu-set", main_vcpu_set, true, "[-i|--ignore-host] <Domain> <vCPUs>",
     "Set the number of vCPUs the guest is asked to keep online (cpu/N/availability)"},
    {"vcpu-pin", main_vcpu_pin, true,
     "[-f|--force] <Domain> <VCPU|all> <Hard affinity|-|all> [Soft affinity|-|all]",
     "Set the host CPUs a vCPU's thread may run on (e.g. 0-3,^2)"},
    {"sched-credit", main_sched_credit, true,
     "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s] [-p CPUPOOL]",
     "Get or set credit weight (the vCPU threads' nice value) and cap (a duty cycle)"},
    {"sysrq", main_sysrq, true, "<Domain> <letter>",
     "Send a magic sysrq key to the guest (control/sysrq)"},
    {"trigger", main_trigger, true, "<Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]",
     "Send a trigger to a domain (hvm guests only: kxen's pv and pvh guests have none)"},
    {"button-press", main_button_press, true, "<Domain> <Button>",
     "Press a virtual power or sleep button (hvm guests only, as trigger)"},
    {"dump-core", main_dump_core, true, "<Domain> <filename>",
     "Write the domain's memory to a sparse ELF core file (paused meanwhile)"},
    {"config-update", main_config_update, true, "<Domain> <ConfigFile> [options] [vars]",
     "Replace the config the domain is restarted with (no effect until its next restart)"},
    {"devd", main_devd, false, "[-F] [-p pidfile]",
     "Daemon that serves the PV disk and nic backends (-F: foreground)"},
    {"save", main_save, true, "[-c] [-p] <Domain> <CheckpointFile> [<ConfigFile>]",
     "Save a domain state to restore later (-c: leave the domain running, -p: leave it "
     "paused)"},
    {"restore", main_restore, false, "[-p] [-e] [-d] <CheckpointFile> [<ConfigFile>]",
     "Restore a domain from a saved state (-p: do not unpause, -e: no monitor for on_* "
     "actions, -d: debug messages)"},
    {"migrate", main_migrate, true,
     "[-s <sshcommand>] [-e] [-C <config>] [--debug] [--max-rounds N] [--downtime MS] "
     "[--no-throttle] [--suspend-timeout SECS] <Domain> <host>",
     "Migrate a domain to another host (-s: the command that reaches the host instead of "
     "ssh, -e: no monitor on the new host, -C: the config to send, --max-rounds: pre-copy "
     "rounds (1-8), --downtime: stop once the rest sends within MS, --no-throttle: never slow "
     "the guest down, --suspend-timeout: how long the guest has to suspend, default 60)"},
    {"migrate-receive", main_migrate_receive, false, "[-e] [-p] [-d] [-T SECS]",
     "Receive a migrating domain on stdin/stdout (run by xl migrate on the target host)"},
    {"help", main_help, false, "[command]", "Print this help"},
};

/* Xen's xl commands that kxen lacks: named as such rather than as unknown commands, so that
 * an administrator knows the command is right and the feature is missing. */
static const char *const unsupported[] = {"pci-attach",
                                          "pci-detach",
                                          "pci-list",
                                          "pci-assignable-add",
                                          "pci-assignable-remove",
                                          "pci-assignable-list",
                                          "vncviewer",
                                          "cd-insert",
                                          "cd-eject",
                                          "sharing",
                                          "sched-credit2",
                                          "sched-rtds",
                                          "debug-keys",
                                          "set-parameters",
                                          "channel-list",
                                          "vtpm-attach",
                                          "vtpm-list",
                                          "vtpm-detach",
                                          "vdispl-attach",
                                          "vdispl-list",
                                          "vdispl-detach",
                                          "vsnd-attach",
                                          "vsnd-list",
                                          "vsnd-detach",
                                          "vkb-attach",
                                          "vkb-list",
                                          "vkb-detach",
                                          "claims",
                                          "cpupool-create",
                                          "cpupool-list",
                                          "cpupool-destroy",
                                          "cpupool-rename",
                                          "cpupool-cpu-add",
                                          "cpupool-cpu-remove",
                                          "cpupool-migrate",
                                          "cpupool-numa-split",
                                          "getenforce",
                                          "setenforce",
                                          "loadpolicy",
                                          "remus",
                                          "psr-hwinfo",
                                          "psr-cmt-attach",
                                          "psr-cmt-detach",
                                          "psr-cmt-show",
                                          "psr-cat-set",
                                          "psr-cat-show",
                                          "psr-mba-set",
                                          "psr-mba-show",
                                          "usbctrl-attach",
                                          "usbctrl-detach",
                                          "usbdev-attach",
                                          "usbdev-detach",
                                          "usb-list",
                                          "qemu-monitor-command",
                                          "xenstore-quota-get",
                                          "xenstore-quota-set",
                                          "dt-overlay"};

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
    /* Hosts whose daemons systemd runs set KXEN_NO_AUTOSTART=1: xl then only connects. */
    const char *no = getenv("KXEN_NO_AUTOSTART");
    bool autostart = !no || !*no || !strcmp(no, "0");
    int rc = kxl_ctx_open(autostart ? KXL_OPEN_AUTOSTART : 0, &xl_ctx, err, sizeof(err));
    if (rc < 0) {
        xl_err("%s%s", err,
               autostart ? "" : " (KXEN_NO_AUTOSTART is set: start the services first)");
        return rc;
    }
    const char *gone = kxl_services_replaced(xl_ctx);
    if (*gone)
        fprintf(stderr,
                "xl: started a new daemon in place of %s, which had died%s "
                "(docs/reliability.md)\n",
                gone,
                strstr(gone, "kxend") ? ": the old kxend is gone, and every domain died with it"
                : strstr(gone, "xenstored") ? ": the new xenstored is empty, and running domains "
                                              "lost their xenstore connection"
                                            : "");
    else if (kxl_services_started(xl_ctx))
        fprintf(stderr,
                "xl: started the kxen services in %s (kxend, xenstored, xenconsoled, "
                "kxen-devd; KXEN_NO_AUTOSTART=1 disables this)\n",
                kxl_rundir(xl_ctx));
    return 0;
}

static const struct xl_cmd *find_exact(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* As Xen's xl: an exact name, else an unambiguous prefix of one (`xl li` is `xl list`). A
 * prefix shared with one of the unsupported names is ambiguous too. */
static const struct xl_cmd *find_cmd(const char *name)
{
    const struct xl_cmd *c = find_exact(name), *hit = NULL;
    size_t len = strlen(name), count = 0;
    if (c || !len)
        return c;
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strncmp(commands[i].name, name, len) == 0) {
            hit = &commands[i];
            count++;
        }
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
        count += strncmp(unsupported[i], name, len) == 0;
    return count == 1 ? hit : NULL;
}

static bool is_unsupported(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
        if (strcmp(unsupported[i], name) == 0)
            return true;
    return false;
}

/* "unknown command", or Xen's command that kxen lacks. Returns 2 (a usage error). */
static int no_such_command(const char *name)
{
    if (is_unsupported(name))
        xl_err("'%s' is an xl command kxen does not support yet (see 'xl help')", name);
    else
        xl_err("unknown command '%s' (see 'xl help')", name);
    return 2;
}

int xl_getopt(int argc, char **argv, const char *opts, const struct option *longopts,
              const char *cmd)
{
    static const char *scanning;
    static const struct option none[] = {{0, 0, 0, 0}};
    static const struct option help = {"help", no_argument, NULL, 'h'};
    struct option all[24];
    size_t n = 0;
    if (scanning != cmd) {
        scanning = cmd;
        optind = 0; /* GNU getopt: full reinitialisation, permutation included */
    }
    for (const struct option *o = longopts ? longopts : none; o->name && n + 2 < ARRAY_SIZE(all);)
        all[n++] = *o++;
    all[n++] = help;
    all[n] = none[0];
    int opt = getopt_long(argc, argv, opts, all, NULL);
    if (opt == 'h') {
        const struct xl_cmd *c = find_exact(cmd);
        if (c)
            printf("Usage: xl %s %s\n\n%s.\n", c->name, c->usage, c->summary);
        return XL_OPT_HELP;
    }
    return opt;
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
        if (!c)
            return no_such_command(argv[1]);
        printf("Usage: xl %s %s\n\n%s.\n", c->name, c->usage, c->summary);
        return 0;
    }
    printf("Usage: xl [-vfNtT] <subcommand> [args]\n\nkxen's xl: Xen's toolstack commands on "
           "kxen.\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        printf(" %-15s %s\n", commands[i].name, commands[i].summary);
    printf("\nXen's xl commands kxen does not support yet:\n");
    size_t col = 0;
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
        size_t w = strlen(unsupported[i]) + 1;
        if (col + w > 78) {
            putchar('\n');
            col = 0;
        }
        col += (size_t)printf(" %s", unsupported[i]);
    }
    printf("\n\nGlobal options: -v verbose (restore and migrate print their phase times), -N\n"
           "dry run (create prints the config it would build), -t progress lines rewritten\n"
           "in place (CR) even off a terminal, -f force and -T accepted for Xen's scripts.\n");
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1;
    xl_start_ns = kxen_now_ns();
    /* Xen's global options, each its own word or bundled (-vN). -v: restore and migration
     * print where their time went; -t: progress lines rewritten in place with CR even off
     * a terminal; -f (force), -T (timestamps): accepted so that Xen's scripts run, nothing
     * kxen does depends on them. */
    while (i < argc && argv[i][0] == '-' && argv[i][1]) {
        if (!strcmp(argv[i], "--help"))
            return main_help(1, argv);
        for (const char *o = argv[i] + 1; *o; o++) {
            if (*o == 'h')
                return main_help(1, argv);
            if (*o == 'N')
                xl_dry_run = true;
            else if (*o == 'v')
                xl_verbose = true;
            else if (*o == 't')
                xl_progress_cr = true;
            else if (!strchr("vftT", *o)) {
                xl_err("unknown global option '-%c' (see 'xl help')", *o);
                return 2;
            }
        }
        i++;
    }
    if (i >= argc) {
        main_help(1, argv);
        return 2;
    }
    const struct xl_cmd *c = find_cmd(argv[i]);
    if (!c)
        return no_such_command(argv[i]);
    /* `xl CMD -h` prints the usage and succeeds, for every command (as Xen's does). */
    if (i + 1 < argc && (!strcmp(argv[i + 1], "-h") || !strcmp(argv[i + 1], "--help"))) {
        printf("Usage: xl %s %s\n\n%s.\n", c->name, c->usage, c->summary);
        return 0;
    }
    if (c->needs_ctx && xl_open_ctx() < 0)
        return 1;
    int rc = c->fn(argc - i, argv + i);
    kxl_ctx_close(xl_ctx);
    xl_ctx = NULL;
    return rc;
}
