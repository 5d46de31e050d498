/* LD_PRELOAD shim that lets Debian's C xenstored (Xen 4.17) run without a hypervisor, so the
 * benchmark can compare it with ours on the same machine.
 *
 * Xen's daemon opens libxenctrl, libxenevtchn and libxengnttab at start-up and maps dom0's
 * xenstore ring from /proc/xen/xsd_kva (port from /proc/xen/xsd_port). We answer those few calls
 * with inert handles: an event-channel fd that never becomes readable, one domain (dom0) that is
 * always alive, and a private zeroed page standing in for dom0's ring. Unix-socket clients, the
 * only ones the benchmark uses, then behave exactly as on a Xen host. Built with Xen's headers
 * (this file is never linked into kxen itself). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Any non-NULL pointer works as a handle: the daemon only passes it back to us. */
static char shim_xc_handle, shim_gnttab_handle;
static int shim_evtchn_fds[2] = {-1, -1};
static evtchn_port_t shim_next_port = 10;

SHIM_EXPORT xc_interface *xc_interface_open(xentoollog_logger *l, xentoollog_logger *dl, unsigned f)
{
    (void)l, (void)dl, (void)f;
    return (xc_interface *)&shim_xc_handle;
}

SHIM_EXPORT int xc_interface_close(xc_interface *xch)
{
    (void)xch;
    return 0;
}

/* Every domain the daemon asks about exists and is running, so it never reaps dom0. */
SHIM_EXPORT int xc_domain_getinfo(xc_interface *xch, uint32_t first, unsigned int max,
                                  xc_dominfo_t *info)
{
    (void)xch;
    if (max == 0)
        return 0;
    memset(info, 0, sizeof(*info));
    info->domid = first;
    info->running = 1;
    info->max_vcpu_id = 0;
    info->nr_online_vcpus = 1;
    return 1;
}

SHIM_EXPORT xenevtchn_handle *xenevtchn_open(xentoollog_logger *l, unsigned flags)
{
    (void)l, (void)flags;
    if (shim_evtchn_fds[0] < 0 && pipe2(shim_evtchn_fds, O_CLOEXEC) != 0)
        return NULL;
    return (xenevtchn_handle *)&shim_evtchn_fds;
}

SHIM_EXPORT xenevtchn_handle *xenevtchn_fdopen(xentoollog_logger *l, int fd, unsigned flags)
{
    (void)fd;
    return xenevtchn_open(l, flags);
}

SHIM_EXPORT int xenevtchn_close(xenevtchn_handle *xce)
{
    (void)xce;
    return 0;
}

SHIM_EXPORT int xenevtchn_fd(xenevtchn_handle *xce)
{
    (void)xce;
    return shim_evtchn_fds[0];
}

SHIM_EXPORT int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce, (void)port;
    return 0;
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
                                                                 uint32_t domid,
                                                                 evtchn_port_t remote)
{
    (void)xce, (void)domid, (void)remote;
    return shim_next_port++;
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    (void)xce, (void)virq;
    return shim_next_port++;
}

SHIM_EXPORT int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce, (void)port;
    return 0;
}

/* Never called in practice: the fd never becomes readable. */
SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    (void)xce;
    errno = EAGAIN;
    return -1;
}

SHIM_EXPORT int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce, (void)port;
    return 0;
}

SHIM_EXPORT xengnttab_handle *xengnttab_open(xentoollog_logger *l, unsigned flags)
{
    (void)l, (void)flags;
    return (xengnttab_handle *)&shim_gnttab_handle;
}

SHIM_EXPORT int xengnttab_close(xengnttab_handle *xgt)
{
    (void)xgt;
    return 0;
}

SHIM_EXPORT int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t count)
{
    (void)xgt, (void)count;
    return 0;
}

/* Guests introduced through the shim get a private zeroed page as their ring. */
SHIM_EXPORT void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref,
                                          int prot)
{
    (void)xgt, (void)domid, (void)ref;
    void *p = mmap(NULL, 4096, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

SHIM_EXPORT int xengnttab_unmap(xengnttab_handle *xgt, void *start, uint32_t count)
{
    (void)xgt;
    return munmap(start, count * 4096);
}

/* /proc/xen/xsd_port and /proc/xen/xsd_kva: dom0's ring event channel and page. */
static int shim_fake_proc_xen(const char *path)
{
    if (strcmp(path, "/proc/xen/xsd_port") == 0) {
        int fd = memfd_create("xsd_port", MFD_CLOEXEC);
        if (fd >= 0 && (write(fd, "1", 1) != 1 || lseek(fd, 0, SEEK_SET) != 0)) {
            close(fd);
            return -1;
        }
        return fd;
    }
    if (strcmp(path, "/proc/xen/xsd_kva") == 0) {
        int fd = memfd_create("xsd_kva", MFD_CLOEXEC);
        if (fd >= 0 && ftruncate(fd, 4096) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    return -2;
}

typedef int (*shim_open_fn)(const char *, int, ...);
typedef int (*shim_openat_fn)(int, const char *, int, ...);

static int shim_forward_open(const char *sym, const char *path, int flags, mode_t mode)
{
    int fd = shim_fake_proc_xen(path);
    if (fd != -2)
        return fd;
    shim_open_fn real = (shim_open_fn)dlsym(RTLD_NEXT, sym);
    return real(path, flags, mode);
}

static mode_t shim_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = shim_mode(flags, ap);
    va_end(ap);
    return shim_forward_open("open", path, flags, mode);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = shim_mode(flags, ap);
    va_end(ap);
    return shim_forward_open("open64", path, flags, mode);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = shim_mode(flags, ap);
    va_end(ap);
    int fd = shim_fake_proc_xen(path);
    if (fd != -2)
        return fd;
    shim_openat_fn real = (shim_openat_fn)dlsym(RTLD_NEXT, "openat");
    return real(dirfd, path, flags, mode);
}
