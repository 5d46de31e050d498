/* A client written only against Xen's xenstore.h API. It is built twice, once with Xen's
 * header and Debian's libxenstore and once with kxen's header and library; both builds run
 * against the same daemon and must print the same transcript (tests/system/xs_compat_client.sh).
 * Only API-level facts are printed, never pointers or timing. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

static struct xs_handle *h;

static void show_read(xs_transaction_t t, const char *path)
{
    unsigned int len = 0;
    char *v = xs_read(h, t, path, &len);
    if (v)
        printf("read %s = '%s' (%u)\n", path, v, len);
    else
        printf("read %s failed: %s\n", path, strerror(errno));
    free(v);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show_dir(const char *path)
{
    unsigned int n = 0;
    char **names = xs_directory(h, XBT_NULL, path, &n);
    if (!names) {
        printf("dir %s failed: %s\n", path, strerror(errno));
        return;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    printf("dir %s (%u):", path, n);
    for (unsigned int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
    free(names);
}

static void show_perms(const char *path)
{
    unsigned int n = 0;
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, path, &n);
    if (!p) {
        printf("perms %s failed: %s\n", path, strerror(errno));
        return;
    }
    printf("perms %s:", path);
    for (unsigned int i = 0; i < n; i++)
        printf(" %u/%u", p[i].id, p[i].perms);
    printf("\n");
    free(p);
}

static void show_event(const char *what)
{
    unsigned int num = 0;
    char **ev = xs_read_watch(h, &num);
    if (ev)
        printf("%s: %s token=%s (%u)\n", what, ev[XS_WATCH_PATH], ev[XS_WATCH_TOKEN], num);
    else
        printf("%s failed: %s\n", what, strerror(errno));
    free(ev);
}

int main(void)
{
    h = xs_open(0);
    if (!h) {
        printf("xs_open failed: %s\n", strerror(errno));
        return 1;
    }
    printf("write %d\n", xs_write(h, XBT_NULL, "/compat/a", "hello", 5));
    printf("write binary %d\n", xs_write(h, XBT_NULL, "/compat/bin", "x\0y", 3));
    show_read(XBT_NULL, "/compat/a");
    unsigned int len;
    char *bin = xs_read(h, XBT_NULL, "/compat/bin", &len);
    printf("binary len %u middle byte %d\n", len, bin ? bin[1] : -1);
    free(bin);
    show_read(XBT_NULL, "/compat/missing");
    printf("mkdir %d\n", xs_mkdir(h, XBT_NULL, "/compat/dir"));
    printf("mkdir again %d\n", xs_mkdir(h, XBT_NULL, "/compat/dir"));
    show_dir("/compat");
    show_dir("/compat/missing");

    struct xs_permissions perms[2] = {{.id = 0, .perms = XS_PERM_NONE},
                                      {.id = 5, .perms = XS_PERM_READ}};
    printf("set perms %d\n", xs_set_permissions(h, XBT_NULL, "/compat/a", perms, 2));
    show_perms("/compat/a");
    show_perms("/compat/missing");

    /* Transactions: a committed write is visible, an aborted one is not. */
    xs_transaction_t t = xs_transaction_start(h);
    printf("tx started %d\n", t != XBT_NULL);
    xs_write(h, t, "/compat/tx", "in", 2);
    show_read(t, "/compat/tx");
    show_read(XBT_NULL, "/compat/tx");
    printf("commit %d\n", xs_transaction_end(h, t, false));
    show_read(XBT_NULL, "/compat/tx");
    t = xs_transaction_start(h);
    xs_write(h, t, "/compat/tx", "aborted", 7);
    printf("abort %d\n", xs_transaction_end(h, t, true));
    show_read(XBT_NULL, "/compat/tx");

    /* Watches: the registration event, then a change below the path on another handle. */
    printf("watch %d\n", xs_watch(h, "/compat/w", "tok"));
    show_event("initial event");
    struct xs_handle *other = xs_open(0);
    xs_write(other, XBT_NULL, "/compat/w/child", "1", 1);
    show_event("change event");
    xs_write(other, XBT_NULL, "/compat/w", "2", 1);
    struct pollfd pfd = {.fd = xs_fileno(h), .events = POLLIN};
    printf("fileno readable %d\n", poll(&pfd, 1, 5000) == 1);
    char **ev = xs_check_watch(h);
    printf("check_watch %s\n", ev ? ev[XS_WATCH_PATH] : strerror(errno));
    free(ev);
    ev = xs_check_watch(h);
    printf("check_watch again %s\n", ev ? "event" : (errno == EAGAIN ? "EAGAIN" : "error"));
    free(ev);
    printf("unwatch %d\n", xs_unwatch(h, "/compat/w", "tok"));
    printf("unwatch unknown %d\n", xs_unwatch(h, "/compat/w", "nope"));
    xs_close(other);

    char *dompath = xs_get_domain_path(h, 7);
    printf("domain path 7 %s\n", dompath ? dompath : strerror(errno));
    free(dompath);
    printf("dom0 introduced %d\n", xs_is_domain_introduced(h, 0));
    printf("subpath %d %d %d\n", xs_path_is_subpath("/a", "/a/b"), xs_path_is_subpath("/a", "/ab"),
           xs_path_is_subpath("/a/b", "/a"));
    printf("rm %d\n", xs_rm(h, XBT_NULL, "/compat/dir"));
    printf("rm missing parent %d\n", xs_rm(h, XBT_NULL, "/compat/nope/x"));
    show_dir("/compat");
    printf("rm all %d\n", xs_rm(h, XBT_NULL, "/compat"));
    show_read(XBT_NULL, "/compat/a");
    xs_close(h);
    return 0;
}
