/* Shared set-up of the blkback tests: a temporary raw image, the fake platform, a started
 * blkback and a fake blkfront on one vbd. */
#ifndef KXEN_DRIVERS_TESTS_BLK_ENV_H
#define KXEN_DRIVERS_TESTS_BLK_ENV_H

#include "fake_blkfront.h"

#define ENV_SECTORS 8192 /* 4 MiB image */

struct blk_env {
    char image[64];
    struct fake_platform *fp;
    struct blkback *bb;
    struct fake_blkfront fb;
    char log[4096]; /* what the backend logged */
    unsigned int nr_logs;
};

/* Where env_setup creates the image: "/tmp" unless a test picks another (a tmpfs, to take
 * blkback's path for images in memory). */
extern const char *env_image_dir;

/* cfg NULL: the defaults. mode "w" or "r". */
void env_setup(struct blk_env *e, const struct blkback_config *cfg, const char *mode,
               unsigned int order, unsigned int nr_queues, bool persistent);
void env_teardown(struct blk_env *e);
/* Reads/writes the image directly (to check data). */
void env_image_read(struct blk_env *e, uint64_t off, void *buf, size_t len);
void env_image_write(struct blk_env *e, uint64_t off, const void *buf, size_t len);
/* The backend's key, or "" if absent. */
const char *env_be_key(struct blk_env *e, const char *key);
/* Writes a frontend key (as a hostile frontend could at any time). */
void env_fe_write(struct blk_env *e, const char *key, const char *val);

#endif
