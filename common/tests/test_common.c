#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/log.h"
#include "kxen/util.h"

Test(rundir, env_overrides_default)
{
    char buf[256];
    setenv("KXEN_RUNDIR", "/tmp/some-host", 1);
    cr_assert_eq(kxen_rundir(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "/tmp/some-host");
    cr_assert_eq(kxen_rundir_path(buf, sizeof(buf), "kxend.sock"), 0);
    cr_assert_str_eq(buf, "/tmp/some-host/kxend.sock");
}

Test(rundir, too_long_is_enametoolong)
{
    char buf[8];
    setenv("KXEN_RUNDIR", "/tmp/a-much-longer-path", 1);
    cr_assert_eq(kxen_rundir(buf, sizeof(buf)), -ENAMETOOLONG);
}

Test(log, writes_one_line_per_call_with_level)
{
    char path[] = "/tmp/kxen-log-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(klog_init("testd", KLOG_INFO, path), 0);
    log_info("hello %d", 42);
    log_debug("hidden");
    log_err("bad thing");
    klog_close();
    char buf[512] = {0};
    cr_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
    close(fd);
    unlink(path);
    cr_assert(strstr(buf, "testd[") && strstr(buf, "info: hello 42\n"));
    cr_assert(strstr(buf, "err: bad thing\n"));
    cr_assert_null(strstr(buf, "hidden"));
}

Test(log, parse_level)
{
    cr_assert_eq(klog_parse_level("debug"), KLOG_DEBUG);
    cr_assert_eq(klog_parse_level("loud"), -EINVAL);
}
