/* Storage in the driver domain's memory: a disk is a zeroed heap block, found again by name
 * when its device reconnects (blkback closes storage on disconnect; the data stays). Requests
 * complete before submit returns: done runs inside submit, and blkback answers the request
 * from its completion queue on its next poll.
 * Invariant: a request never leaves the disk (blkback checked the range). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddom.h"

#define MEM_DISKS 8
#define MEM_NAME_MAX 64

struct mem_disk {
    char name[MEM_NAME_MAX];
    uint8_t *data;
    uint64_t size;
};
static struct mem_disk disks[MEM_DISKS];

struct mem_storage {
    struct storage base;
    struct mem_disk *disk;
};

static int mem_submit(struct storage *s, struct storage_io *io)
{
    struct mem_disk *d = ((struct mem_storage *)s)->disk;
    uint64_t off = io->offset;
    io->result = 0;
    switch (io->op) {
    case STORAGE_READ:
    case STORAGE_WRITE:
        for (int i = 0; i < io->iovcnt; i++) {
            size_t n = io->iov[i].iov_len;
            if (off > d->size || n > d->size - off) {
                io->result = -EIO;
                break;
            }
            if (io->op == STORAGE_READ)
                memcpy(io->iov[i].iov_base, d->data + off, n);
            else
                memcpy(d->data + off, io->iov[i].iov_base, n);
            off += n;
        }
        break;
    case STORAGE_DISCARD:
        if (off <= d->size && io->len <= d->size - off)
            memset(d->data + off, 0, io->len);
        else
            io->result = -EIO;
        break;
    case STORAGE_FLUSH:
        break;
    }
    ddom_count_io(io);
    io->done(io);
    return 0;
}

static void mem_close(struct storage *s)
{
    free(s);
}

static const struct storage_ops mem_ops = {.submit = mem_submit, .close = mem_close};

/* "SIZE[K|M|G]" -> bytes; 0 for anything else. */
static uint64_t parse_size(const char *s, const char **end)
{
    uint64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9' && v < (1ull << 40))
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == s)
        return 0;
    if (*p == 'K' || *p == 'k')
        v <<= 10, p++;
    else if (*p == 'M' || *p == 'm')
        v <<= 20, p++;
    else if (*p == 'G' || *p == 'g')
        v <<= 30, p++;
    *end = p;
    return v;
}

int ddom_storage_mem_open(const char *spec, bool readonly, struct storage **out)
{
    const char *rest;
    uint64_t size = parse_size(spec, &rest);
    if (!size || size % 4096 || (*rest && *rest != ':'))
        return -EINVAL;
    const char *name = *rest == ':' ? rest + 1 : spec;
    if (!*name || strlen(name) >= MEM_NAME_MAX)
        return -EINVAL;
    struct mem_disk *d = NULL, *free_slot = NULL;
    for (unsigned int i = 0; i < MEM_DISKS && !d; i++) {
        if (disks[i].data && !strcmp(disks[i].name, name))
            d = &disks[i];
        else if (!disks[i].data && !free_slot)
            free_slot = &disks[i];
    }
    if (d && d->size != size)
        return -EINVAL;
    if (!d) {
        if (!free_slot)
            return -ENOSPC;
        free_slot->data = calloc(1, size);
        if (!free_slot->data)
            return -ENOMEM;
        free_slot->size = size;
        strlcpy(free_slot->name, name, sizeof(free_slot->name));
        d = free_slot;
    }
    struct mem_storage *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->disk = d;
    m->base = (struct storage){.ops = &mem_ops,
                               .size_bytes = size,
                               .sector_size = 512,
                               .physical_sector_size = 4096,
                               .readonly = readonly,
                               .can_discard = true,
                               .discard_granularity = 4096};
    *out = &m->base;
    return 0;
}

struct ddom_blk_stats ddom_blk_stats;

void ddom_count_io(const struct storage_io *io)
{
    if (io->result || (io->op != STORAGE_READ && io->op != STORAGE_WRITE))
        return;
    uint64_t n = 0;
    for (int i = 0; i < io->iovcnt; i++)
        n += io->iov[i].iov_len;
    if (io->op == STORAGE_READ)
        ddom_blk_stats.reads++, ddom_blk_stats.read_bytes += n;
    else
        ddom_blk_stats.writes++, ddom_blk_stats.write_bytes += n;
}

int ddom_open_storage(void *ctx, const char *params, bool readonly, unsigned int nr_workers,
                      struct storage **out)
{
    (void)ctx;
    (void)nr_workers;
    if (!strncmp(params, "mem:", 4))
        return ddom_storage_mem_open(params + 4, readonly, out);
    if (!strncmp(params, "vbd:", 4))
        return ddom_storage_vbd_open(params + 4, readonly, out);
    return -ENOENT;
}

/* blkback's default storage open, for a configuration without open_storage. */
int storage_open(const char *path, bool readonly, unsigned int nr_workers, struct storage **out)
{
    return ddom_open_storage(NULL, path, readonly, nr_workers, out);
}
