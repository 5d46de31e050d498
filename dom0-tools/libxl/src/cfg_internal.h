/* Private to the xl.cfg parser's files (cfg_domain.c, cfg_hvm.c). */
#ifndef KXL_CFG_INTERNAL_H
#define KXL_CFG_INTERNAL_H

#include <stddef.h>

#include "kxl/cfg.h"

/* The HVM keys of a type "hvm" config into dc->hvm: 0, -EINVAL with "file:line: key: what" in
 * err, -ENOMEM. */
/* "file:line: key: " and the message into err (when err and errlen are non-zero), for the
 * setting e; returns -EINVAL. */
int kxl__cfg_err(char *err, size_t errlen, const struct kxl_cfg_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int kxl__cfg_hvm_read(struct kxl_domain_config *dc, const struct kxl_cfg *cfg, char *err,
                      size_t errlen);

#endif
