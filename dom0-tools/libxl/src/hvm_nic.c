/* An HVM guest's emulated NIC (vif type=ioemu): a tap named vif<domid>.<devid>-emu, as Xen
 * names the emulated half of a vif, up and on the vif's bridge, whose descriptor the RTL8139
 * model gets with DEVICE_ADD. The tap is not persistent: it disappears when kxend closes the
 * last descriptor, after the model is destroyed with the domain. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxl_internal.h"

#define HVM_NIC_DEFAULT_BRIDGE "xenbr0" /* xl's default, as for PV vifs */

static const char *bridge_of(const struct kxl_vif *v)
{
    return v->bridge ? v->bridge : HVM_NIC_DEFAULT_BRIDGE;
}

int kxl__hvm_nic_check(struct kxl_ctx *ctx, const struct kxl_vif *v, const char *label)
{
    if (v->model && strcmp(v->model, "rtl8139") != 0)
        return kxl_fail(ctx, -EOPNOTSUPP, "%s: model=%s: kxen emulates an rtl8139 only", label,
                        v->model);
    if (v->rate || v->backend || v->script)
        return kxl_fail(ctx, -EOPNOTSUPP,
                        "%s: rate=, backend= and script= apply to PV vifs, not to an emulated nic",
                        label);
    char path[96];
    struct stat st;
    snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", bridge_of(v));
    if (strchr(bridge_of(v), '/') || stat(path, &st) < 0)
        return kxl_fail(ctx, -ENODEV, "%s: bridge %s does not exist", label, bridge_of(v));
    return 0;
}

/* The tap, up, on the bridge; its descriptor, or -errno with the reason recorded. */
static int open_tap(struct kxl_ctx *ctx, const char *name, const char *bridge)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return kxl_fail(ctx, -errno, "cannot open /dev/net/tun: %s", strerror(errno));
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const char *step = "create";
    if (s < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
        goto fail;
    step = "bring up";
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        goto fail;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        goto fail;
    step = "add to the bridge";
    struct ifreq br = {.ifr_ifindex = (int)if_nametoindex(name)};
    snprintf(br.ifr_name, sizeof(br.ifr_name), "%s", bridge);
    if (br.ifr_ifindex == 0 || ioctl(s, SIOCBRADDIF, &br) < 0)
        goto fail;
    close(s);
    return fd;
fail:;
    int rc = -errno;
    if (s >= 0)
        close(s);
    close(fd);
    return kxl_fail(ctx, rc, "cannot %s tap %s (bridge %s): %s", step, name, bridge, strerror(-rc));
}

int kxl__hvm_nic_add(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_vif *v, uint32_t devid)
{
    uint8_t mac[6];
    int rc = kxl__vif_mac(ctx, v, mac);
    if (rc < 0)
        return rc;
    char name[IFNAMSIZ], opts[40];
    snprintf(name, sizeof(name), "vif%u.%u-emu", domid, devid);
    snprintf(opts, sizeof(opts), "mac=%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
    int fd = open_tap(ctx, name, bridge_of(v));
    if (fd < 0)
        return fd;
    rc = kxl__hvm_device_add(ctx, domid, "rtl8139", opts, fd);
    close(fd); /* kxend holds its own copy for the model's life */
    return rc;
}
