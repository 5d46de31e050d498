/* Raw image primitives: a regular file or a block device. Reads and writes go through the
 * O_DIRECT descriptor when the file system allows it and the request is aligned (grant pages
 * are page-aligned, so whole-page segments are), else through the page cache. Flush is
 * fdatasync; discard punches a hole in a file and is BLKDISCARD on a block device. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "storage.h"

int storage_image_open(const char *path, bool readonly, struct storage_image *img,
                       struct storage *geo)
{
    int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    int fd = open(path, flags);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *img = (struct storage_image){.fd = fd, .direct_fd = -1, .direct_align = 4096};
    geo->readonly = readonly;
    geo->sector_size = 512;
    geo->physical_sector_size = 4096;
    if (S_ISBLK(st.st_mode)) {
        uint64_t bytes;
        int ssz = 512;
        unsigned int pssz = 4096;
        if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && ssz <= 4096)
            geo->sector_size = (uint32_t)ssz;
        if (ioctl(fd, BLKPBSZGET, &pssz) == 0 && pssz >= geo->sector_size && pssz <= 65536)
            geo->physical_sector_size = pssz;
        geo->size_bytes = bytes;
        geo->is_blockdev = img->is_blockdev = true;
        img->direct_align = geo->sector_size;
    } else if (S_ISREG(st.st_mode)) {
        struct statfs fs;
        geo->size_bytes = (uint64_t)st.st_size;
        geo->in_memory =
            fstatfs(fd, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
        geo->run_inline = geo->in_memory && sysconf(_SC_NPROCESSORS_ONLN) == 1;
    } else {
        close(fd);
        return -EINVAL;
    }
    geo->can_discard = !readonly;
    geo->discard_granularity = geo->physical_sector_size;
    img->direct_fd = open(path, flags | O_DIRECT);
    return 0;
}

void storage_image_close(struct storage_image *img)
{
    if (img->direct_fd >= 0)
        close(img->direct_fd);
    if (img->fd >= 0)
        close(img->fd);
    img->fd = img->direct_fd = -1;
}

static bool aligned(const struct storage_image *img, const struct storage_io *io)
{
    uint64_t a = img->direct_align - 1;
    if (io->offset & a)
        return false;
    for (int i = 0; i < io->iovcnt; i++)
        if (((uintptr_t)io->iov[i].iov_base & a) || (io->iov[i].iov_len & a))
            return false;
    return true;
}

/* preadv/pwritev until every byte moved; a short read past the end is an error (the caller
 * checked the range, so the image shrank underneath us). */
static int rw_all(struct storage_image *img, struct storage_io *io, bool write)
{
    int fd = img->direct_fd >= 0 && aligned(img, io) ? img->direct_fd : img->fd;
    struct iovec iov[64];
    int cnt = io->iovcnt;
    const struct iovec *cur = io->iov;
    uint64_t off = io->offset;
    size_t skip = 0;
    while (cnt > 0) {
        int n = cnt > 64 ? 64 : cnt;
        memcpy(iov, cur, (size_t)n * sizeof(iov[0]));
        iov[0].iov_base = (char *)iov[0].iov_base + skip;
        iov[0].iov_len -= skip;
        ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EINVAL && fd == img->direct_fd) { /* O_DIRECT refused this one */
                fd = img->fd;
                continue;
            }
            return -errno;
        }
        if (r == 0)
            return -EIO;
        off += (uint64_t)r;
        size_t left = (size_t)r + skip;
        skip = 0;
        while (cnt > 0 && left >= cur->iov_len) {
            left -= cur->iov_len;
            cur++;
            cnt--;
        }
        skip = left;
    }
    return 0;
}

static int discard(struct storage_image *img, struct storage_io *io)
{
    if (img->is_blockdev) {
        uint64_t range[2] = {io->offset, io->len};
        return ioctl(img->fd, BLKDISCARD, range) < 0 ? -errno : 0;
    }
    int rc = fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)io->offset,
                       (off_t)io->len);
    return rc < 0 ? -errno : 0;
}

int storage_image_run(struct storage_image *img, struct storage_io *io)
{
    switch (io->op) {
    case STORAGE_READ:
        return rw_all(img, io, false);
    case STORAGE_WRITE: {
        int rc = rw_all(img, io, true);
        if (rc == 0 && io->flush_after && fdatasync(img->fd) < 0)
            rc = -errno;
        return rc;
    }
    case STORAGE_FLUSH:
        return fdatasync(img->fd) < 0 ? -errno : 0;
    case STORAGE_DISCARD:
        return discard(img, io);
    }
    return -EOPNOTSUPP;
}
