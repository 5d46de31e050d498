/* The HVM builder (hvm_build.c, hvm_linux.c, hvm_devices.c, irq.c) on a fake accelerator that
 * records what the builder asks of it: the firmware's two placements and the reset state, the
 * refusals, the debug ports into the console ring, interrupt lines, the device list's order,
 * and Linux's boot_params for direct kernel boot. The last test runs Debian's SeaBIOS on the
 * real kvm accelerator, when this host has /dev/kvm, until its banner reaches the console. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kxend/hvm_internal.h"
#include "kxen/ctl_hvm.h"
#include "kxen/hvm/params.h"
#include "kxend/guest_mem.h"
#include "kxend/irq.h"

#define RAM (32ull << 20)

static struct {
    unsigned hvm_inits, lines[KXEN_NR_GSIS];
    bool level[KXEN_NR_GSIS];
    uint64_t rom_gpa, rom_len;
    const void *rom_host;
} fake;

static int fake_hvm_init(struct domain *d, char *why, size_t whylen)
{
    (void)d, (void)why, (void)whylen;
    fake.hvm_inits++;
    return 0;
}
static int fake_irq_line(struct domain *d, unsigned gsi, bool level)
{
    (void)d;
    fake.lines[gsi]++;
    fake.level[gsi] = level;
    return 0;
}
static int fake_map_rom(struct domain *d, uint64_t gpa, const void *host, uint64_t len)
{
    (void)d;
    fake.rom_gpa = gpa, fake.rom_host = host, fake.rom_len = len;
    return 0;
}

/* The soft accelerator's ops plus the HVM hooks above (the builder reads only those). */
static struct domain *hvm_domain(uint64_t ram, unsigned vcpus)
{
    static struct accel_ops ops;
    ops = *accel_find("soft");
    ops.hvm_init = fake_hvm_init;
    ops.irq_line = fake_irq_line;
    ops.map_rom = fake_map_rom;
    kxend_accel = &ops;
    memset(&fake, 0, sizeof(fake));
    struct domain_config cfg = {.name = "hvm", .ram_bytes = ram, .nr_vcpus = vcpus};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    return d;
}

static void drop(struct domain *d)
{
    domain_destroy(d);
    domain_put(d);
}

/* A firmware image of len bytes: byte i is (i * 7 + 3) & 0xff. */
static int firmware_fd(size_t len)
{
    int fd = memfd_create("bios.bin", MFD_CLOEXEC);
    cr_assert_geq(fd, 0);
    uint8_t *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(i * 7 + 3);
    cr_assert_eq(write(fd, b, len), (ssize_t)len);
    free(b);
    return fd;
}

static void build_firmware(struct domain *d, size_t len)
{
    char msg[256] = "";
    int fd = firmware_fd(len);
    cr_assert_eq(hvm_prepare(d, true, false, 1, 2, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(hvm_load_firmware(d, fd, msg, sizeof(msg)), 0, "%s", msg);
    close(fd);
}

Test(hvm, firmware_ends_at_4g_and_its_last_128k_at_1m_and_vcpu0_starts_at_the_reset_vector)
{
    struct domain *d = hvm_domain(RAM, 2);
    build_firmware(d, 256u << 10);
    cr_assert_eq(fake.hvm_inits, 1);
    cr_assert_eq(fake.rom_gpa, (1ull << 32) - (256u << 10));
    cr_assert_eq(fake.rom_len, 256u << 10);
    const uint8_t *rom = fake.rom_host;
    cr_assert_eq(rom[0], 3);
    /* The low copy is the image's last 128 KiB: byte 0xe0000 is image byte 128 KiB. */
    const uint8_t *low = guest_phys_ptr(d, 0xe0000, 0x20000);
    cr_assert_eq(memcmp(low, rom + (128u << 10), 128u << 10), 0);
    struct vcpu *v0 = d->vcpus[0];
    cr_assert(v0->boot_set);
    cr_assert_eq(v0->boot.mode, VCPU_BOOT_REAL16);
    cr_assert_eq(v0->boot.entry, 0xfffffff0ull);
    cr_assert_eq(atomic_load(&d->vcpus[1]->state), VCPU_RUNNABLE, "APs wait for SIPI running");
    cr_assert_lt(d->hvm->ram_end, d->ram_size, "the special pages are not guest RAM");
    cr_assert_eq(d->store_pfn << 12 >= d->hvm->ram_end, true);
    drop(d);
}

Test(hvm, a_128k_firmware_is_copied_whole_below_1m)
{
    struct domain *d = hvm_domain(RAM, 1);
    build_firmware(d, 128u << 10);
    cr_assert_eq(fake.rom_gpa, 0xfffe0000ull);
    cr_assert_eq(memcmp(guest_phys_ptr(d, 0xe0000, 0x20000), fake.rom_host, 0x20000), 0);
    drop(d);
}

Test(hvm, firmware_of_a_wrong_size_and_a_second_build_are_refused)
{
    struct domain *d = hvm_domain(RAM, 1);
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), 0);
    int fd = firmware_fd(100000);
    cr_assert_eq(hvm_load_firmware(d, fd, msg, sizeof(msg)), -ENOEXEC);
    cr_assert(strstr(msg, "64 KiB steps"), "%s", msg);
    close(fd);
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), -EBUSY);
    drop(d);
}

Test(hvm, soft_refuses_an_hvm_guest_and_says_to_use_kvm)
{
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "hvm", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), -EOPNOTSUPP);
    cr_assert(strstr(msg, "--accel kvm"), "%s", msg);
    cr_assert_null(d->hvm);
    cr_assert_eq(domain_irq_set_level(d, 4, true), -ENODEV, "no interrupt controllers");
    drop(d);
}

Test(hvm, too_little_ram_is_refused_by_name)
{
    struct domain *d = hvm_domain(2ull << 20, 1);
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), -ENOMEM);
    cr_assert(strstr(msg, "needs 4 MiB"), "%s", msg);
    drop(d);
}

Test(hvm, debug_ports_write_whole_lines_to_the_console_and_read_back_0xe9)
{
    struct domain *d = hvm_domain(RAM, 1);
    build_firmware(d, 128u << 10);
    struct vcpu *v = d->vcpus[0];
    const char *text = "SeaBIOS (version x)\nno newline";
    for (const char *c = text; *c; c++) {
        uint32_t val = (uint8_t)*c;
        io_port_access(v, c - text < 5 ? 0x402 : 0xe9, 1, true, &val);
    }
    char out[128];
    uint64_t start, end;
    size_t n = console_read(d, 0, out, sizeof(out), &start, &end);
    cr_assert_eq(n, strlen("SeaBIOS (version x)\n"), "only the finished line so far");
    cr_assert_eq(memcmp(out, text, n), 0);
    uint32_t val = 0;
    io_port_access(v, 0x402, 1, false, &val);
    cr_assert_eq(val, 0xe9);
    drop(d);
}

Test(hvm, interrupt_lines_reach_the_accelerator_and_bad_lines_are_refused)
{
    struct domain *d = hvm_domain(RAM, 1);
    cr_assert_eq(domain_irq_set_level(d, 4, true), -ENODEV, "before the build: no controllers");
    build_firmware(d, 128u << 10);
    cr_assert_eq(domain_irq_pulse(d, 14), 0);
    cr_assert_eq(fake.lines[14], 2);
    cr_assert_eq(fake.level[14], false);
    cr_assert_eq(domain_irq_set_level(d, KXEN_NR_GSIS, true), -EINVAL);
    drop(d);
}

/* Two models that log create and destroy into one string. */
static char dev_log[64];
static int dev_create(struct domain *d, const char *options, void **state)
{
    (void)d;
    if (options && strstr(options, "fail"))
        return -EINVAL;
    *state = (void *)(options && *options ? "B" : "A");
    strcat(dev_log, "+");
    strcat(dev_log, *state);
    return 0;
}
static void dev_destroy(struct domain *d, void *state)
{
    (void)d;
    strcat(dev_log, "-");
    strcat(dev_log, state);
}
static const struct device_model test_dev_low = {
    .name = "test-low", .order = 1, .create = dev_create, .destroy = dev_destroy};
static const struct device_model test_dev_high = {
    .name = "test-high", .order = 2, .create = dev_create, .destroy = dev_destroy};
DEVICE_MODEL_REGISTER(test_dev_low);
DEVICE_MODEL_REGISTER(test_dev_high);

Test(hvm, devices_are_created_in_order_and_destroyed_in_reverse)
{
    struct domain *d = hvm_domain(RAM, 1);
    dev_log[0] = 0;
    cr_assert_eq(hvm_device_add(d, &test_dev_low, "", NULL, 0), -ENODEV, "not an HVM domain yet");
    build_firmware(d, 128u << 10);
    cr_assert_eq(hvm_device_add(d, &test_dev_low, "", NULL, 0), 0);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(hvm_device_add(d, &test_dev_high, "x=1", &p[1], 1), 0);
    cr_assert_eq(hvm_device_add(d, &test_dev_low, "", NULL, 0), -EINVAL,
                 "a lower order after a higher");
    cr_assert_eq(hvm_device_add(d, &test_dev_high, "fail", NULL, 0), -EINVAL,
                 "the model's refusal");
    drop(d);
    cr_assert_str_eq(dev_log, "+A+B-B-A");
    char c;
    cr_assert_eq(read(p[0], &c, 1), 0, "the instance's descriptor is closed after destroy");
    close(p[0]);
}

/* A bzImage shaped as Linux lays it out: one setup sector after the boot sector, the header
 * (protocol 2.15), then the protected-mode kernel. */
static size_t build_bzimage(uint8_t *b, size_t pm_len, uint32_t init_size)
{
    size_t setup = 2 * 512;
    memset(b, 0, setup + pm_len);
    b[0x1f1] = 1;
    b[0x1fe] = 0x55, b[0x1ff] = 0xaa;
    b[0x200] = 0xeb, b[0x201] = 0x6a; /* jmp: the header ends at 0x26c */
    memcpy(b + 0x202, "HdrS", 4);
    b[0x206] = 0x0f, b[0x207] = 0x02;
    b[0x211] = 0x01; /* LOADED_HIGH */
    uint32_t v = 0x7fffffff;
    memcpy(b + 0x22c, &v, 4); /* initrd_addr_max */
    v = 2048;
    memcpy(b + 0x238, &v, 4); /* cmdline_size */
    memcpy(b + 0x260, &init_size, 4);
    memcpy(b + setup, "KERNEL32", 8);
    return setup + pm_len;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

Test(hvm, direct_kernel_boot_fills_boot_params_and_enters_at_1m_in_protected_mode)
{
    struct domain *d = hvm_domain(RAM, 1);
    static uint8_t img[0x4000];
    size_t len = build_bzimage(img, 0x1000, 0x400000);
    int rd = memfd_create("initrd", MFD_CLOEXEC);
    cr_assert_eq(write(rd, "INITRD", 6), 6);
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), 0);
    cr_assert_eq(hvm_load_linux(d, img, len, rd, "console=ttyS0", false, msg, sizeof(msg)), 0, "%s",
                 msg);
    close(rd);
    struct vcpu_boot *b = &d->vcpus[0]->boot;
    cr_assert_eq(b->mode, VCPU_BOOT_PROT32);
    cr_assert_eq(b->entry, 0x100000);
    const uint8_t *zp = guest_phys_ptr(d, b->rsi, 4096);
    cr_assert_not_null(zp);
    cr_assert_eq(memcmp(guest_phys_ptr(d, 0x100000, 8), "KERNEL32", 8), 0);
    cr_assert_eq(memcmp(zp + 0x202, "HdrS", 4), 0, "the setup header is copied");
    cr_assert_eq(zp[0x210], 0xff, "type_of_loader");
    const char *cmd = guest_phys_ptr(d, rd32(zp + 0x228), 14);
    cr_assert_str_eq(cmd, "console=ttyS0");
    uint32_t rd_at = rd32(zp + 0x218);
    cr_assert_eq(rd32(zp + 0x21c), 6);
    cr_assert_eq(memcmp(guest_phys_ptr(d, rd_at, 6), "INITRD", 6), 0);
    cr_assert_leq(rd_at + 6, d->hvm->ram_end, "the ramdisk is in usable RAM");
    cr_assert_eq(zp[0x1e8], 5, "e820: low RAM, EBDA, BIOS, high RAM, special pages");
    uint64_t addr, size;
    uint32_t type;
    memcpy(&addr, zp + 0x2d0 + 3 * 20, 8);
    memcpy(&size, zp + 0x2d0 + 3 * 20 + 8, 8);
    memcpy(&type, zp + 0x2d0 + 3 * 20 + 16, 4);
    cr_assert_eq(addr, 0x100000);
    cr_assert_eq(addr + size, d->hvm->ram_end);
    cr_assert_eq(type, 1);
    drop(d);
}

Test(hvm, direct_kernel_boot_refuses_what_is_not_a_bzimage_or_does_not_fit)
{
    struct domain *d = hvm_domain(RAM, 1);
    static uint8_t img[0x4000];
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), 0);
    memset(img, 0x7f, sizeof(img));
    cr_assert_eq(hvm_load_linux(d, img, sizeof(img), -1, "", false, msg, sizeof(msg)), -ENOEXEC);
    cr_assert(strstr(msg, "bzImage"), "%s", msg);
    size_t len = build_bzimage(img, 0x1000, 64u << 20);
    cr_assert_eq(hvm_load_linux(d, img, len, -1, "", false, msg, sizeof(msg)), -ENOMEM);
    cr_assert(strstr(msg, "init_size"), "%s", msg);
    len = build_bzimage(img, 0x1000, 0x1000);
    img[0x1f1] = 200; /* setup beyond the file */
    cr_assert_eq(hvm_load_linux(d, img, len, -1, "", false, msg, sizeof(msg)), -ENOEXEC);
    drop(d);
}

/* Debian's SeaBIOS on /dev/kvm: its banner reaches the domain's console through port 0x402
 * within a few seconds (no devices: it then finds no disk). */
Test(hvm, seabios_prints_its_banner_on_kvm, .timeout = 60)
{
    const struct accel_ops *kvm = accel_find("kvm");
    if (access("/usr/share/seabios/bios.bin", R_OK) != 0)
        cr_skip_test("no /usr/share/seabios/bios.bin (Debian's seabios package)");
    if (!kvm || kvm->probe() < 0)
        cr_skip_test("no usable /dev/kvm");
    kxend_accel = kvm;
    struct domain_config cfg = {.name = "seabios", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    char msg[256] = "";
    int fd = open("/usr/share/seabios/bios.bin", O_RDONLY | O_CLOEXEC);
    cr_assert_eq(hvm_prepare(d, true, false, 0, 0, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(hvm_load_firmware(d, fd, msg, sizeof(msg)), 0, "%s", msg);
    close(fd);
    cr_assert_eq(domain_start(d), 0);
    char out[4096];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t start, end;
        n = console_read(d, 0, out, sizeof(out) - 1, &start, &end);
        out[n] = 0;
        if (strstr(out, "SeaBIOS (version"))
            break;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    drop(d);
    cr_assert(strstr(out, "SeaBIOS (version"), "console: '%s'", out);
}

Test(hvm, the_callback_gsi_follows_vcpu0s_upcall_and_a_per_vcpu_vector_wins)
{
    struct domain *d = hvm_domain(RAM, 2);
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, true, true, 1, 2, msg, sizeof(msg)), 0, "%s", msg);
    struct vcpu *v0 = d->vcpus[0];
    v0->boot.lapic = true; /* as the PV-on-HVM loaders set it */
    uint64_t gsi11 = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_GSI, 11);
    cr_assert_eq(hvm_param_apply(d, HVM_PARAM_CALLBACK_IRQ, gsi11), 0);
    hvm_callback_line_sync(v0, true);
    cr_assert(fake.level[11], "pending: the line is raised");
    cr_assert_neq(v0->callback_line_recheck_ns, 0, "and looked at again soon");
    hvm_callback_line_sync(v0, true);
    cr_assert(fake.level[11]);
    hvm_callback_line_sync(v0, false);
    cr_assert_not(fake.level[11], "cleared: the line comes down");
    cr_assert_eq(v0->callback_line_recheck_ns, 0);
    unsigned n = fake.lines[11];
    hvm_callback_line_sync(v0, false);
    cr_assert_eq(fake.lines[11], n, "a lowered line is left alone");
    hvm_callback_line_sync(d->vcpus[1], true);
    cr_assert_not(fake.level[11], "only vCPU 0's upcall drives it");
    v0->upcall_vector = 0xf3;
    hvm_callback_line_sync(v0, true);
    cr_assert_not(fake.level[11], "a per-vCPU vector wins over the line");
    v0->upcall_vector = 0;
    hvm_callback_line_sync(v0, true);
    cr_assert(fake.level[11]);
    /* 0x10b: GSI 267, whose low byte is 11 again. */
    uint64_t big = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_GSI, 0x10b);
    cr_assert_eq(hvm_param_apply(d, HVM_PARAM_CALLBACK_IRQ, big), 0);
    hvm_callback_line_sync(v0, true);
    for (unsigned g = 0; g < KXEN_NR_GSIS; g++)
        cr_assert_not(fake.level[g], "GSI 267 is no line of this machine (GSI %u raised)", g);
    drop(d);
}

/* A restored HVM domain's vCPUs get the boot flags the builder gave the saved one: with the
 * platform device a LAPIC domain (VCPUOP_up of an AP, the GSI callback via and grant frames
 * outside RAM depend on it) with Xen's CPUID and hypercall routing; a plain PC neither. */
Test(hvm, a_restore_gives_the_vcpus_the_boot_flags_of_the_first_build)
{
    for (int xen = 0; xen <= 1; xen++) {
        struct domain *d = hvm_domain(RAM, 2);
        char msg[256] = "";
        int fd = firmware_fd(128u << 10);
        cr_assert_eq(hvm_prepare(d, true, xen, 1, 2, msg, sizeof(msg)), 0, "%s", msg);
        cr_assert_eq(hvm_load_firmware(d, fd, msg, sizeof(msg)), 0, "%s", msg);
        close(fd);
        struct vcpu_boot built = d->vcpus[0]->boot;
        drop(d);
        d = hvm_domain(RAM, 2);
        cr_assert_eq(hvm_prepare(d, true, xen, 1, 2, msg, sizeof(msg)), 0, "%s", msg);
        struct vcpu_boot restored = {.mode = VCPU_BOOT_PROT32};
        hvm_restore_boot(d, &restored);
        cr_assert_eq(restored.lapic, built.lapic, "xen_platform_pci = %d: lapic", xen);
        cr_assert_eq(restored.lapic, (bool)xen);
        cr_assert_eq(restored.xen_hvm, built.xen_hvm, "xen_platform_pci = %d: xen_hvm", xen);
        cr_assert_eq(restored.xen_hvm, (bool)xen);
        drop(d);
    }
}
