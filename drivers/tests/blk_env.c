/* Shared set-up of the blkback tests (see blk_env.h). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_env.h"

static void env_log(void *ctx, const char *msg)
{
    struct blk_env *e = ctx;
    size_t l = strlen(e->log);
    snprintf(e->log + l, sizeof(e->log) - l, "%s\n", msg);
    e->nr_logs++;
}

const char *env_image_dir = "/tmp";

void env_setup(struct blk_env *e, const struct blkback_config *cfg, const char *mode,
               unsigned int order, unsigned int nr_queues, bool persistent)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->image, sizeof(e->image), "%s/kxen-blkback-XXXXXX", env_image_dir);
    int fd = mkstemp(e->image);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, ENV_SECTORS * 512), 0);
    close(fd);
    e->fp = fake_platform_new(0);
    e->bb = blkback_new(fake_platform_base(e->fp), cfg, env_log, e);
    cr_assert_not_null(e->bb);
    cr_assert_eq(blkback_start(e->bb), 0);
    fb_toolstack_add(e->fp, FB_DOMID, FB_DEVID, e->image, mode);
    fb_init(&e->fb, e->fp, e->bb, order, nr_queues, persistent);
}

void env_teardown(struct blk_env *e)
{
    blkback_free(e->bb);
    cr_assert_eq(fake_gnttab_nr_mapped(e->fp), 0, "grant mappings leaked");
    cr_assert_eq(fake_evtchn_nr_bound(e->fp), 0, "event channels leaked");
    xenbus_platform_destroy(fake_platform_base(e->fp));
    unlink(e->image);
}

void env_image_read(struct blk_env *e, uint64_t off, void *buf, size_t len)
{
    int fd = open(e->image, O_RDONLY);
    cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

void env_image_write(struct blk_env *e, uint64_t off, const void *buf, size_t len)
{
    int fd = open(e->image, O_WRONLY);
    cr_assert_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

const char *env_be_key(struct blk_env *e, const char *key)
{
    static char buf[256];
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", e->fb.be, key);
    if (fake_xs_read(e->fp, path, buf, sizeof(buf)) < 0)
        buf[0] = '\0';
    return buf;
}

void env_fe_write(struct blk_env *e, const char *key, const char *val)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", e->fb.fe, key);
    fake_xs_write(e->fp, path, val);
}
