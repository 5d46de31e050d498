/* xl save and xl restore with Xen's syntax and messages: save suspends the domain and writes
 * its image (compressed; docs/save-format.md), then destroys it unless -c or -p keep it;
 * restore validates the whole image before it builds the domain, then starts the domain
 * monitor as create does (unless -e). Both show their pages' progress on stderr (progress.c):
 * Xen's xl has no option to silence it, and neither has this one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/util.h"
#include "progress.h"
#include "xl.h"

/* xl -v: where a restore's time went, the pages apart from everything else (docs/xl.md).
 * since_ns: when the timed part began (xl's start, so the rest includes it); 0 for a
 * migration's receiver, whose pages arrive with the sender's pre-copy. */
void xl_print_restore_times(const char *who, uint16_t domid, uint64_t since_ns)
{
    struct kxl_restore_times t;
    kxl_restore_times(xl_ctx, &t);
    double pages = t.pages_ns / 1e6;
    if (since_ns) {
        double all = (kxen_now_ns() - since_ns) / 1e6;
        fprintf(stderr,
                "%s: domain %u running after %.1f ms: its pages %.1f ms (%llu pages, %llu "
                "without data: read, inflated, put in place), the rest %.1f ms:",
                who, domid, all, pages, (unsigned long long)t.pages,
                (unsigned long long)t.zero_pages, all - pages);
        fprintf(stderr, " xl start and services %.1f,", all - t.total_ns / 1e6);
    } else {
        fprintf(stderr,
                "%s: domain %u: its pages %.1f ms (%llu pages, %llu without data, as the "
                "sender's rounds arrived), the rest (ms):",
                who, domid, pages, (unsigned long long)t.pages, (unsigned long long)t.zero_pages);
    }
    fprintf(stderr,
            " head and config %.1f, domain %.1f, xenstore tree %.1f, kxend state %.1f, "
            "introduce %.1f, backends %.1f, unpause %.1f\n",
            t.head_ns / 1e6, t.create_ns / 1e6, t.tree_ns / 1e6, t.state_ns / 1e6,
            t.introduce_ns / 1e6, t.backends_ns / 1e6, t.unpause_ns / 1e6);
}

int main_save(int argc, char **argv)
{
    bool checkpoint = false, paused = false;
    int opt;
    while ((opt = xl_getopt(argc, argv, "cpD", NULL, "save")) != -1) {
        switch (opt) {
        case 'c':
            checkpoint = true;
            break;
        case 'p':
            paused = true;
            break;
        case 'D':
            break; /* the domid is not kept: a restore picks a free one, as Xen's default */
        case XL_OPT_HELP:
            return 0;
        default:
            return xl_usage("save");
        }
    }
    if (argc - optind < 2 || argc - optind > 3)
        return xl_usage("save");
    const char *dom = argv[optind], *file = argv[optind + 1];
    const char *cfgfile = argc - optind == 3 ? argv[optind + 2] : NULL;
    uint16_t domid;
    if (xl_find_domain(dom, &domid) < 0)
        return 1;
    char *cfg = NULL;
    if (cfgfile && !(cfg = xl_read_config_text(cfgfile)))
        return 1;
    fprintf(stderr, "Saving to %s new xl format (info 0x%x/0x0/%s)\n", file, 2u,
            cfgfile ? cfgfile : "config from xenstore");
    struct kxl_save_stats st;
    unsigned flags = (checkpoint ? KXL_SAVE_CHECKPOINT : 0) | (paused ? KXL_SAVE_PAUSED : 0);
    struct xl_progress pr;
    xl_progress_init(&pr, "xl save", xl_progress_cr || isatty(2), stderr);
    kxl_set_progress(xl_ctx, xl_progress_show, &pr);
    int rc = kxl_domain_save(xl_ctx, domid, file, cfg, flags, &st);
    kxl_set_progress(xl_ctx, NULL, NULL);
    xl_progress_done(&pr);
    free(cfg);
    if (rc < 0) {
        xl_err("cannot save domain %u: %s", domid, kxl_errmsg(xl_ctx));
        return 1;
    }
    struct stat sb;
    long long size = stat(file, &sb) == 0 ? (long long)sb.st_size : -1;
    fprintf(stderr,
            "Saved domain %u: %llu pages (%llu zero, sent without data), %llu bytes of stream, "
            "%lld bytes compressed, domain stopped for %.1f ms\n",
            domid, (unsigned long long)st.pages, (unsigned long long)st.zero_pages,
            (unsigned long long)st.stream_bytes, size, st.downtime_ns / 1e6);
    return 0;
}

int main_restore(int argc, char **argv)
{
    bool paused = false, no_monitor = false;
    int opt;
    static const struct option opts[] = {{"vncviewer", no_argument, NULL, 'V'},
                                         {"vncviewer-autopass", no_argument, NULL, 'A'},
                                         {0, 0, 0, 0}};
    while ((opt = xl_getopt(argc, argv, "pedVA", opts, "restore")) != -1) {
        switch (opt) {
        case 'p':
            paused = true;
            break;
        case 'e':
            no_monitor = true;
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
            return xl_usage("restore");
        }
    }
    if (argc - optind < 1 || argc - optind > 2)
        return xl_usage("restore");
    const char *file = argv[optind];
    const char *cfgfile = argc - optind == 2 ? argv[optind + 1] : NULL;
    struct kxl_domain_config dc;
    if (cfgfile && xl_load_config(cfgfile, NULL, 0, &dc) < 0)
        return 1;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        xl_err("cannot open %s: %s", file, strerror(errno));
        if (cfgfile)
            kxl_domain_config_free(&dc);
        return 1;
    }
    fprintf(stderr, "Loading new save file %s (new xl fmt info 0x%x/0x0/%s)\n", file, 2u,
            cfgfile ? cfgfile : "saved config");
    if (xl_guard_open_ctx("xl restore") < 0) {
        close(fd);
        if (cfgfile)
            kxl_domain_config_free(&dc);
        return 1;
    }
    uint16_t domid;
    struct xl_progress pr;
    xl_progress_init(&pr, "xl restore", xl_progress_cr || isatty(2), stderr);
    kxl_set_progress(xl_ctx, xl_progress_show, &pr);
    int rc = kxl_domain_restore(xl_ctx, fd, file, cfgfile ? &dc : NULL, paused, &domid,
                                cfgfile ? NULL : &dc);
    kxl_set_progress(xl_ctx, NULL, NULL);
    xl_progress_done(&pr);
    close(fd);
    if (rc < 0) {
        xl_err("cannot restore %s: %s", file, kxl_errmsg(xl_ctx));
        if (cfgfile)
            kxl_domain_config_free(&dc);
        return 1;
    }
    xl_guard_release();
    if (xl_verbose)
        xl_print_restore_times("xl restore", domid, xl_start_ns);
    char rundir[PATH_MAX];
    xl_close_ctx_keep_rundir(rundir, sizeof(rundir));
    if (!no_monitor)
        xl_start_monitor(rundir, &dc, domid);
    kxl_domain_config_free(&dc);
    return 0;
}
