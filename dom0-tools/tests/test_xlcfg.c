/* xl.cfg parser and domain-config validation: good configs read as Xen reads them, bad ones
 * are refused with "file:line: what". */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "kxl/cfg.h"

static char err[KXL_ERR_LEN];

/* Parses text as "t.cfg" and builds the domain config; returns the rc of whichever failed. */
static int load(const char *text, struct kxl_domain_config *dc)
{
    struct kxl_cfg cfg;
    kxl_cfg_init(&cfg);
    err[0] = '\0';
    int rc = kxl_cfg_parse(&cfg, "t.cfg", text, strlen(text), err, sizeof(err));
    if (rc == 0)
        rc = kxl_domain_config_from_cfg(dc, &cfg, err, sizeof(err));
    kxl_cfg_free(&cfg);
    return rc;
}

static void expect_error(const char *text, const char *msg_part)
{
    struct kxl_domain_config dc;
    int rc = load(text, &dc);
    cr_assert_eq(rc, -EINVAL, "config accepted but should fail: %s", text);
    cr_assert(strstr(err, msg_part), "error '%s' does not contain '%s'", err, msg_part);
}

Test(xlcfg, full_config_reads_every_key)
{
    struct kxl_domain_config dc;
    const char *text = "# a guest\n"
                       "name = \"web1\"\n"
                       "uuid = '0b3e2a4c-1d2e-4f50-8a9b-0c1d2e3f4a5b'\n"
                       "type = 'pvh'\n"
                       "memory = 64 ; maxmem = 96\n"
                       "vcpus = 2\n"
                       "kernel = '/boot/hello.elf'   # trailing comment\n"
                       "cmdline = 'console=hvc0 quiet'\n"
                       "on_poweroff = 'destroy'\n"
                       "on_reboot = 'restart'\n"
                       "on_crash = 'preserve'\n"
                       "on_watchdog = 'rename-restart'\n"
                       "disk = [ 'format=raw, vdev=xvda, access=rw, target=/img/a,b.img',\n"
                       "         # second disk, legacy form\n"
                       "         'phy:/dev/vg/x,xvdb,r', ]\n"
                       "vif = [ 'mac=00:16:3e:01:02:03,bridge=xenbr0' ]\n";
    cr_assert_eq(load(text, &dc), 0, "%s", err);
    cr_assert_str_eq(dc.name, "web1");
    cr_assert(dc.has_uuid);
    cr_assert_eq(dc.uuid[0], 0x0b);
    cr_assert_eq(dc.uuid[15], 0x5b);
    cr_assert_eq(dc.type, KXL_TYPE_PVH);
    cr_assert_eq(dc.memory_mb, 64);
    cr_assert_eq(dc.maxmem_mb, 96);
    cr_assert_eq(dc.vcpus, 2);
    cr_assert_str_eq(dc.kernel, "/boot/hello.elf");
    cr_assert_str_eq(dc.cmdline, "console=hvc0 quiet");
    cr_assert_eq(dc.on_crash, KXL_ACTION_PRESERVE);
    cr_assert_eq(dc.on_watchdog, KXL_ACTION_RENAME_RESTART);
    cr_assert_eq(dc.nr_disks, 2);
    cr_assert_str_eq(dc.disks[0].target, "/img/a,b.img", "target= takes the rest, commas too");
    cr_assert_eq(dc.disks[0].virtual_dev, 51712); /* xvda = 202 << 8 */
    cr_assert(dc.disks[0].readwrite);
    cr_assert_str_eq(dc.disks[1].target, "/dev/vg/x");
    cr_assert_eq(dc.disks[1].backendtype, KXL_DISK_BT_PHY);
    cr_assert_not(dc.disks[1].readwrite);
    cr_assert_eq(dc.disks[1].virtual_dev, 51728); /* xvdb */
    cr_assert_eq(dc.nr_vifs, 1);
    cr_assert(dc.vifs[0].has_mac);
    cr_assert_eq(dc.vifs[0].mac[5], 3);
    cr_assert_str_eq(dc.vifs[0].bridge, "xenbr0");
    kxl_domain_config_free(&dc);
}

Test(xlcfg, defaults_follow_xl)
{
    struct kxl_domain_config dc;
    cr_assert_eq(load("name='a'\nkernel='k'\n", &dc), 0, "%s", err);
    cr_assert_eq(dc.type, KXL_TYPE_PV);
    cr_assert_eq(dc.vcpus, 1);
    cr_assert_eq(dc.memory_mb, 128);
    cr_assert_eq(dc.maxmem_mb, 128);
    cr_assert_eq(dc.on_poweroff, KXL_ACTION_DESTROY);
    cr_assert_eq(dc.on_reboot, KXL_ACTION_RESTART);
    cr_assert_eq(dc.on_crash, KXL_ACTION_DESTROY);
    cr_assert_not(dc.has_uuid);
    cr_assert_str_eq(dc.cmdline, "");
    kxl_domain_config_free(&dc);
}

Test(xlcfg, root_and_extra_make_the_cmdline)
{
    struct kxl_domain_config dc;
    cr_assert_eq(load("name='a'\nkernel='k'\nroot='/dev/xvda1'\nextra=\"ro quiet\"\n", &dc), 0);
    cr_assert_str_eq(dc.cmdline, "root=/dev/xvda1 ro quiet");
    kxl_domain_config_free(&dc);
}

Test(xlcfg, later_assignment_overrides_and_plus_equals_appends)
{
    struct kxl_cfg cfg;
    kxl_cfg_init(&cfg);
    const char *t1 = "name='a'\nextra='x'\ndisk=['vdev=xvda,target=/a']\n";
    const char *t2 = "name='b'\nextra+=' y'\ndisk+=['vdev=xvdb,target=/b']\n";
    cr_assert_eq(kxl_cfg_parse(&cfg, "f", t1, strlen(t1), err, sizeof(err)), 0);
    cr_assert_eq(kxl_cfg_parse(&cfg, "command line", t2, strlen(t2), err, sizeof(err)), 0);
    const struct kxl_cfg_entry *e = kxl_cfg_get(&cfg, "name");
    cr_assert_str_eq(e->val.str, "b");
    cr_assert_str_eq(e->file, "command line");
    cr_assert_str_eq(kxl_cfg_get(&cfg, "extra")->val.str, "x y");
    e = kxl_cfg_get(&cfg, "disk");
    cr_assert_eq(e->val.nr_items, 2);
    cr_assert_str_eq(e->val.items[1], "vdev=xvdb,target=/b");
    kxl_cfg_free(&cfg);
}

Test(xlcfg, string_escapes_are_decoded)
{
    struct kxl_cfg cfg;
    kxl_cfg_init(&cfg);
    const char *t = "a = 'it\\'s\\t\\x41\\101\\\\'\nb = \"q\\\"\"\n";
    cr_assert_eq(kxl_cfg_parse(&cfg, "f", t, strlen(t), err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(kxl_cfg_get(&cfg, "a")->val.str, "it's\tAA\\");
    cr_assert_str_eq(kxl_cfg_get(&cfg, "b")->val.str, "q\"");
    kxl_cfg_free(&cfg);
}

Test(xlcfg, unknown_keys_are_ignored_like_xl)
{
    struct kxl_domain_config dc;
    cr_assert_eq(load("name='a'\nkernel='k'\nvnc=1\nserial='pty'\n", &dc), 0, "%s", err);
    kxl_domain_config_free(&dc);
}

Test(xlcfg, ramdisk_is_read_as_a_path_and_an_empty_one_refused)
{
    struct kxl_domain_config dc;
    cr_assert_eq(load("name='a'\nkernel='k'\nramdisk = '/boot/initrd.img'\n", &dc), 0, "%s", err);
    cr_assert_str_eq(dc.ramdisk, "/boot/initrd.img");
    kxl_domain_config_free(&dc);
    cr_assert_eq(load("name='a'\nkernel='k'\n", &dc), 0, "%s", err);
    cr_assert_null(dc.ramdisk);
    kxl_domain_config_free(&dc);
    expect_error("name='a'\nkernel='k'\nramdisk = ''\n", "t.cfg:3: ramdisk: empty ramdisk path");
}

Test(xlcfg, xen_keys_kxen_cannot_honour_are_refused_not_ignored)
{
    expect_error("name='a'\nkernel='k'\nbootloader = 'pygrub'\n",
                 "t.cfg:3: bootloader: not supported");
    expect_error("name='a'\nkernel='k'\npci = [ '01:00.0' ]\n", "t.cfg:3: pci: not supported");
    expect_error("name='a'\nkernel='k'\ndevice_model_override = '/usr/bin/qemu'\n",
                 "t.cfg:3: device_model_override: not supported: there is no device model");
    expect_error("name='a'\nkernel='k'\nvcpus = 2\nmaxvcpus = 4\n",
                 "t.cfg:4: maxvcpus: 4 differs from vcpus 2: vCPU hot-plug is not supported");
    expect_error("name='a'\nkernel='k'\nmaxvcpus = 'x'\n",
                 "t.cfg:3: maxvcpus: 'x' is not a number");
    struct kxl_domain_config dc;
    cr_assert_eq(load("name='a'\nkernel='k'\nvcpus = 3\nmaxvcpus = 3\n", &dc), 0, "%s", err);
    cr_assert_eq(dc.vcpus, 3);
    kxl_domain_config_free(&dc);
}

Test(xlcfg, syntax_errors_name_file_and_line)
{
    expect_error("name='a'\n\nkernel='k\n", "t.cfg:3: unterminated string");
    expect_error("name='a'\nmemory 64\n", "t.cfg:2: '=' expected after 'memory'");
    expect_error("name='a'\nkernel=hello\n", "t.cfg:2: kernel: unquoted word");
    expect_error("name='a'\nkernel='k'\ndisk=['a'\n\n", "t.cfg:3: disk: list opened here is "
                                                        "never closed");
    expect_error("name='a'\nkernel='k' 'x'\n", "t.cfg:2: kernel: unexpected");
    expect_error("name='a'\nvif=[['x']]\n", "t.cfg:2: vif: nested lists");
    expect_error("name='a'\nmemory=\n", "t.cfg:2: memory: value missing");
    expect_error("name='a'\n= 3\n", "t.cfg:2: setting name expected");
    expect_error("name='a'\ndisk=['x' 'y']\n", "t.cfg:2: disk: ',' or ']' expected");
    expect_error("a='\\q'\n", "t.cfg:1: unknown escape \\q");
}

Test(xlcfg, semantic_errors_name_file_line_and_key)
{
    expect_error("kernel='k'\n", "t.cfg: no 'name' setting");
    expect_error("name='a'\n", "no 'kernel' setting");
    expect_error("name=3\nkernel='k'\n", "t.cfg:1: name: a quoted string is expected");
    expect_error("name='a/b'\nkernel='k'\n", "t.cfg:1: name: domain name 'a/b' has a character");
    expect_error("name='123'\nkernel='k'\n", "all digits");
    expect_error("name='Domain-0'\nkernel='k'\n", "control domain");
    expect_error("name='a'\nkernel='k'\nmemory=0\n", "t.cfg:3: memory: 0 is out of range");
    expect_error("name='a'\nkernel='k'\nmemory='12x'\n", "t.cfg:3: memory: '12x' is not a number");
    expect_error("name='a'\nkernel='k'\nmemory=64\nmaxmem=32\n",
                 "t.cfg:4: maxmem: maxmem 32 is below memory 64");
    expect_error("name='a'\nkernel='k'\nvcpus=33\n", "t.cfg:3: vcpus: 33 is out of range 1..32");
    expect_error("name='a'\nkernel='k'\ntype='xen'\n", "t.cfg:3: type: unknown type 'xen'");
    expect_error("name='a'\nkernel='k'\non_reboot='explode'\n",
                 "t.cfg:3: on_reboot: unknown action 'explode'");
    expect_error("name='a'\nkernel='k'\nuuid='1234'\n", "t.cfg:3: uuid: '1234' is not a UUID");
    expect_error("name='a'\nkernel='k'\ndisk='xvda'\n", "t.cfg:3: disk: a list");
}

Test(xlcfg, bad_disk_specs_are_refused_with_the_reason)
{
    expect_error("name='a'\nkernel='k'\ndisk=['target=/x']\n",
                 "disk: entry 0 'target=/x': no vdev");
    expect_error("name='a'\nkernel='k'\ndisk=['vdev=xvda']\n", "no target given");
    expect_error("name='a'\nkernel='k'\ndisk=['vdev=xvd1,target=/x']\n", "invalid vdev 'xvd1'");
    expect_error("name='a'\nkernel='k'\ndisk=['vdev=hde,target=/x']\n", "invalid vdev 'hde'");
    expect_error("name='a'\nkernel='k'\ndisk=['format=vmdk,vdev=xvda,target=/x']\n",
                 "unknown format 'vmdk'");
    expect_error("name='a'\nkernel='k'\ndisk=['vdev=xvda,access=rx,target=/x']\n",
                 "access must be ro, r, rw or w");
    expect_error("name='a'\nkernel='k'\ndisk=['color=red,vdev=xvda,target=/x']\n",
                 "unknown disk parameter 'color'");
    expect_error("name='a'\nkernel='k'\n\ndisk=['/a,raw,xvda,rw', '/b,xvda,w']\n",
                 "t.cfg:4: disk: entry 1: vdev xvda is used twice");
}

Test(xlcfg, disk_vdev_numbers_follow_the_vbd_encoding)
{
    struct kxl_disk d;
    char why[128];
    struct {
        const char *spec;
        uint32_t num;
    } cases[] = {
        {"/x,raw,xvda,rw", 202u << 8},
        {"/x,raw,xvdb3,rw", (202u << 8) | (1 << 4) | 3},
        {"/x,raw,xvdq,rw", (1u << 28) | (16 << 8)},
        {"/x,raw,xvdaa,rw", (1u << 28) | (26 << 8)},
        {"/x,raw,hda,rw", 3u << 8},
        {"/x,raw,hdb1,rw", (3u << 8) | 65},
        {"/x,raw,hdc,rw", 22u << 8},
        {"/x,raw,sdb2,rw", (8u << 8) | 18},
        {"/x,raw,d0p1,rw", (202u << 8) | 1},
        {"/x,raw,d20,rw", (1u << 28) | (20 << 8)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(kxl_parse_disk_spec(cases[i].spec, &d, why, sizeof(why)), 0, "%s: %s",
                     cases[i].spec, why);
        cr_assert_eq(d.virtual_dev, cases[i].num, "%s: got %u", cases[i].spec, d.virtual_dev);
        kxl_disk_free(&d);
    }
}

Test(xlcfg, empty_cdrom_needs_no_target)
{
    struct kxl_disk d;
    char why[128];
    cr_assert_eq(kxl_parse_disk_spec(",,hdc,ro,devtype=cdrom", &d, why, sizeof(why)), 0, "%s", why);
    cr_assert(d.cdrom);
    cr_assert_eq(d.format, KXL_DISK_EMPTY);
    cr_assert_null(d.target);
    kxl_disk_free(&d);
    cr_assert_eq(kxl_parse_disk_spec("qcow2:/img/c.q2,hdc,r,cdrom", &d, why, sizeof(why)), 0);
    cr_assert_eq(d.format, KXL_DISK_QCOW2);
    cr_assert_str_eq(d.target, "/img/c.q2");
    kxl_disk_free(&d);
}

Test(xlcfg, bad_vif_specs_are_refused_with_the_reason)
{
    expect_error("name='a'\nkernel='k'\nvif=['mac=00:16:3e:01:02']\n", "invalid mac");
    expect_error("name='a'\nkernel='k'\nvif=['mac=01:16:3e:01:02:03']\n", "multicast");
    expect_error("name='a'\nkernel='k'\nvif=['bridge']\n", "'bridge' is not key=value");
    expect_error("name='a'\nkernel='k'\nvif=['speed=fast']\n", "unknown vif parameter 'speed'");
    expect_error("name='a'\nkernel='k'\nvif=['rate=fast']\n", "invalid rate 'fast'");
    expect_error("name='a'\nkernel='k'\nvif=['type=tap']\n", "type must be vif or ioemu");
    struct kxl_vif v;
    char why[128];
    cr_assert_eq(
        kxl_parse_vif_spec("rate=10Mb/s@20ms,vifname=v1,ip=10.0.0.2", &v, why, sizeof(why)), 0,
        "%s", why);
    cr_assert_str_eq(v.ip, "10.0.0.2");
    cr_assert_not(v.has_mac);
    kxl_vif_free(&v);
}

Test(xlcfg, uuid_round_trips)
{
    uint8_t u[16];
    char s[37];
    cr_assert_eq(kxl_parse_uuid("00112233-4455-6677-8899-AABBCCDDEEFF", u), 0);
    kxl_format_uuid(u, s);
    cr_assert_str_eq(s, "00112233-4455-6677-8899-aabbccddeeff");
    cr_assert_eq(kxl_parse_uuid("00112233-4455-6677-8899-AABBCCDDEEFG", u), -EINVAL);
    cr_assert_eq(kxl_parse_uuid("001122334455-6677-8899-AABBCCDDEEFF", u), -EINVAL);
}

Test(xlcfg, missing_file_is_reported_with_its_name)
{
    struct kxl_cfg cfg;
    kxl_cfg_init(&cfg);
    cr_assert_eq(kxl_cfg_parse_file(&cfg, "/nonexistent/x.cfg", err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "/nonexistent/x.cfg: cannot open configuration"), "%s", err);
    kxl_cfg_free(&cfg);
}

Test(xlcfg, discard_flags_and_direct_io_safe_are_bare_words)
{
    struct kxl_disk d;
    char why[128];
    cr_assert_eq(kxl_parse_disk_spec("no-discard, vdev=xvda, target=/x", &d, why, sizeof(why)), 0,
                 "%s", why);
    cr_assert(d.no_discard);
    cr_assert_not(d.direct_io_safe);
    kxl_disk_free(&d);
    cr_assert_eq(kxl_parse_disk_spec("/x,raw,xvdb,ro,no-discard", &d, why, sizeof(why)), 0,
                 "a flag after the positional form: %s", why);
    cr_assert(d.no_discard);
    cr_assert_not(d.readwrite);
    kxl_disk_free(&d);
    cr_assert_eq(
        kxl_parse_disk_spec("discard,direct-io-safe,vdev=xvdb,target=/x", &d, why, sizeof(why)), 0,
        "%s", why);
    cr_assert_not(d.no_discard);
    cr_assert(d.direct_io_safe);
    cr_assert_str_eq(d.target, "/x");
    kxl_disk_free(&d);
}
