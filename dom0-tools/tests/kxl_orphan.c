/* kxl-orphan DOMID UUID: runs kxl_domain_destroy_orphan on this host's services (KXEN_RUNDIR)
 * as xl's build guard does, for tests/system/xl_migrate_killed.sh to show that a domain
 * whose uuid is not the one given is left alone. Prints "torn down", "left alone" or the
 * error; exits 0, 0 or 1. */
#include <stdio.h>
#include <stdlib.h>

#include "kxl/kxl.h"

int main(int argc, char **argv)
{
    uint8_t uuid[16];
    char *end;
    unsigned long domid = argc == 3 ? strtoul(argv[1], &end, 10) : 0;
    if (argc != 3 || *end || !domid || domid > 0x7fef || kxl_parse_uuid(argv[2], uuid) < 0) {
        fprintf(stderr, "usage: kxl-orphan DOMID UUID\n");
        return 2;
    }
    struct kxl_ctx *ctx;
    char err[KXL_ERR_LEN];
    if (kxl_ctx_open(0, &ctx, err, sizeof(err)) < 0) {
        fprintf(stderr, "kxl-orphan: %s\n", err);
        return 1;
    }
    int rc = kxl_domain_destroy_orphan(ctx, (uint16_t)domid, uuid);
    if (rc < 0)
        fprintf(stderr, "kxl-orphan: %s\n", kxl_errmsg(ctx));
    else
        printf("%s\n", rc ? "torn down" : "left alone");
    kxl_ctx_close(ctx);
    return rc < 0;
}
