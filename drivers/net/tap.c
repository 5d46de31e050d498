/* Tap ports on Linux bridges (see tap.h), and the software checksum a tap needs because the
 * host stack expects complete frames from it. The ioctls run on a throw-away AF_LOCAL socket
 * (any socket serves SIOC* interface requests). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <kxen/io/netif.h>

#include "gso.h"
#include "tap.h"

static int name_ok(const char *name)
{
    size_t n = strnlen(name, NET_TAP_NAME_MAX);
    if (n == 0 || n >= NET_TAP_NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return -EINVAL;
    return 0;
}

int net_tap_bridge_check(const char *bridge)
{
    char path[64];
    struct stat st;
    if (name_ok(bridge))
        return -EINVAL;
    snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", bridge);
    return stat(path, &st) == 0 ? 0 : -ENODEV;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
    int s = socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    int rc = ioctl(s, req, ifr) < 0 ? -errno : 0;
    close(s);
    return rc;
}

int net_tap_bridge_make(const char *bridge)
{
    int rc = net_tap_bridge_check(bridge);
    if (rc != -ENODEV)
        return rc;
    char name[NET_TAP_NAME_MAX];
    snprintf(name, sizeof(name), "%s", bridge);
    int s = socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    rc = ioctl(s, SIOCBRADDBR, name) < 0 ? -errno : 0;
    close(s);
    if (rc == -EEXIST) /* made meanwhile, or an interface that is no bridge */
        return net_tap_bridge_check(bridge) ? -EEXIST : 0;
    if (rc)
        return rc;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
    rc = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
    if (!rc) {
        ifr.ifr_flags |= IFF_UP;
        rc = ifreq_ioctl(SIOCSIFFLAGS, &ifr);
    }
    return rc;
}

static int tap_setup(struct net_tap *t, unsigned int mtu)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
    ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
    memset(ifr.ifr_hwaddr.sa_data, 0xff, 6);
    ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
    int rc = ifreq_ioctl(SIOCSIFHWADDR, &ifr);
    if (!rc && mtu) {
        ifr.ifr_mtu = (int)mtu;
        rc = ifreq_ioctl(SIOCSIFMTU, &ifr);
    }
    if (!rc)
        rc = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
    if (!rc) {
        ifr.ifr_flags |= IFF_UP;
        rc = ifreq_ioctl(SIOCSIFFLAGS, &ifr);
    }
    if (rc || !t->bridge[0])
        return rc;
    struct ifreq br = {0};
    snprintf(br.ifr_name, sizeof(br.ifr_name), "%s", t->bridge);
    br.ifr_ifindex = (int)if_nametoindex(t->name);
    if (br.ifr_ifindex == 0)
        return -errno;
    return ifreq_ioctl(SIOCBRADDIF, &br);
}

int net_tap_open(struct net_tap *t, const char *name, const char *bridge, unsigned int mtu)
{
    t->fd = -1;
    int rc = name_ok(name);
    if (rc || (bridge && (rc = net_tap_bridge_check(bridge)) != 0))
        return rc;
    snprintf(t->name, sizeof(t->name), "%s", name);
    snprintf(t->bridge, sizeof(t->bridge), "%s", bridge ? bridge : "");
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    t->vnet_hdr = 1;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        /* A kernel without the header: plain frames, GSO cut here. */
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        t->vnet_hdr = 0;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            rc = -errno;
            close(fd);
            return rc;
        }
    }
    t->fd = fd;
    rc = tap_setup(t, mtu);
    if (rc)
        net_tap_close(t);
    return rc;
}

void net_tap_close(struct net_tap *t)
{
    if (t->fd < 0)
        return;
    struct ifreq br = {0};
    snprintf(br.ifr_name, sizeof(br.ifr_name), "%s", t->bridge);
    br.ifr_ifindex = (int)if_nametoindex(t->name);
    if (br.ifr_ifindex && t->bridge[0])
        ifreq_ioctl(SIOCBRDELIF, &br);
    close(t->fd); /* a non-persistent tap goes with its last descriptor */
    t->fd = -1;
}

ssize_t net_tap_read(struct net_tap *t, void *buf, size_t len)
{
    struct virtio_net_hdr h;
    struct iovec iov[2] = {{&h, sizeof(h)}, {buf, len}};
    ssize_t n = t->vnet_hdr ? readv(t->fd, iov, 2) : read(t->fd, buf, len);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (!t->vnet_hdr)
        return n;
    /* No offload was offered, so the header says nothing we must act on. */
    return n < (ssize_t)sizeof(h) ? -EIO : n - (ssize_t)sizeof(h);
}

static int write_hdr(struct net_tap *t, const struct virtio_net_hdr *h, const void *frame,
                     size_t len)
{
    struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)frame, len}};
    ssize_t n = t->vnet_hdr ? writev(t->fd, iov, 2) : write(t->fd, frame, len);
    if (n < 0)
        return -errno;
    return (size_t)n == len + (t->vnet_hdr ? sizeof(*h) : 0) ? 0 : -EIO;
}

int net_tap_write(struct net_tap *t, const void *frame, size_t len)
{
    const struct virtio_net_hdr none = {.gso_type = VIRTIO_NET_HDR_GSO_NONE};
    return write_hdr(t, &none, frame, len);
}

int net_tap_write_gso(struct net_tap *t, uint8_t *f, size_t len, const struct net_gso_info *gi)
{
    if (!t->vnet_hdr)
        return -EOPNOTSUPP;
    size_t hdr_len;
    struct net_l4_info l4i;
    if (net_gso_check(f, len, gi, &hdr_len) || net_l4_parse(f, len, &l4i) || l4i.proto != 6)
        return -EINVAL;
    /* CHECKSUM_PARTIAL as Linux builds it: the field holds the folded pseudo-header sum
     * (addresses, protocol, the whole TCP length), the kernel adds each segment's bytes. */
    uint16_t p = (uint16_t)~net_csum_fold(l4i.pseudo + l4i.proto + (uint32_t)l4i.len);
    f[l4i.off + 16] = (uint8_t)(p >> 8);
    f[l4i.off + 17] = (uint8_t)p;
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = gi->type == XEN_NETIF_GSO_TYPE_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
                                                         : VIRTIO_NET_HDR_GSO_TCPV6,
        .hdr_len = (uint16_t)hdr_len,
        .gso_size = (uint16_t)gi->size,
        .csum_start = (uint16_t)l4i.off,
        .csum_offset = 16,
    };
    return write_hdr(t, &h, f, len);
}
