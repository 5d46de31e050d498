/* CMOS/RTC: the memory-size, CPU and boot-order bytes firmware reads, a running BCD clock the
 * guest can set, the NMI mask bit, register C's interrupt flags on IRQ 8. */
#include <time.h>
#include <unistd.h>

#include "test_dev_fake.h"

static uint8_t cmos(uint8_t idx)
{
    pout(0x70, 1, idx);
    return (uint8_t)pin(0x71, 1);
}

static void cmos_set(uint8_t idx, uint8_t v)
{
    pout(0x70, 1, idx);
    pout(0x71, 1, v);
}

TestSuite(cmos, .init = fake_machine_reset);

Test(cmos, the_memory_sizes_cpus_and_boot_order_come_from_the_options)
{
    void *s = dev_create("cmos", "lowmem=0xc0000000,highmem=0x40000000,cpus=4,boot=dc");
    cr_assert_eq(cmos(0x15) | cmos(0x16) << 8, 640);
    cr_assert_eq(cmos(0x17) | cmos(0x18) << 8, 0xffff, "extended KiB saturates");
    cr_assert_eq(cmos(0x30) | cmos(0x31) << 8, 0xffff);
    cr_assert_eq(cmos(0x34) | cmos(0x35) << 8, (0xc0000000u - (16u << 20)) >> 16);
    cr_assert_eq(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 0x40000000u >> 16);
    cr_assert_eq(cmos(0x5f), 3);
    cr_assert_eq(cmos(0x3d), 0x23, "cdrom first, then disk");
    cr_assert_eq(cmos(0x38) & 0xf0, 0);
    cr_assert_neq(cmos(0x08), 0xff, "an RTC is present");
    cr_assert_eq(cmos(0x0d), 0x80);
    dev_destroy("cmos", s);
    cr_assert_eq(fake_io_count(), 0);
}

Test(cmos, small_memory_fills_only_the_extended_bytes)
{
    void *s = dev_create("cmos", "lowmem=0x800000");
    cr_assert_eq(cmos(0x30) | cmos(0x31) << 8, 7 * 1024);
    cr_assert_eq(cmos(0x34) | cmos(0x35) << 8, 0);
    cr_assert_eq(cmos(0x3d), 0x02, "disk by default");
    dev_destroy("cmos", s);
}

Test(cmos, the_clock_runs_in_bcd_and_the_guest_can_set_it)
{
    void *s = dev_create("cmos", NULL);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    unsigned year = cmos(0x09);
    cr_assert_eq(year, (unsigned)((tm.tm_year % 100) / 10 << 4 | (tm.tm_year % 10)));
    cr_assert_eq(cmos(0x32), 0x20, "century");
    cmos_set(0x0b, 0x82); /* SET: freeze */
    cmos_set(0x09, 0x99);
    cmos_set(0x08, 0x12);
    cmos_set(0x07, 0x31);
    cmos_set(0x32, 0x19);
    cmos_set(0x0b, 0x02);
    cr_assert_eq(cmos(0x09), 0x99);
    cr_assert_eq(cmos(0x32), 0x19);
    cr_assert_eq(cmos(0x08), 0x12);
    cmos_set(0x0b, 0x06); /* binary mode */
    cr_assert_eq(cmos(0x09), 99);
    cmos_set(0x0a, 0xff);
    cr_assert_eq(cmos(0x0a) & 0x80, 0, "UIP is read-only");
    dev_destroy("cmos", s);
}

Test(cmos, bit_7_of_the_index_masks_nmi_and_the_nvram_keeps_writes)
{
    void *s = dev_create("cmos", NULL);
    pout(0x70, 1, 0x80 | 0x40);
    pout(0x71, 1, 0x5a);
    cr_assert_eq(cmos(0x40), 0x5a);
    cr_assert_eq(pin(0x70, 1), 0xff, "the index is write-only");
    cr_assert_eq(pin(0x71, 2), 0xffff, "a word access is not a CMOS access");
    dev_destroy("cmos", s);
}

Test(cmos, the_update_interrupt_raises_irq_8_until_register_c_is_read)
{
    void *s = dev_create("cmos", NULL);
    cmos_set(0x0b, 0x12); /* UIE */
    for (int i = 0; i < 30 && !fake_irq_level[8]; i++)
        usleep(100000);
    cr_assert(fake_irq_level[8], "an update-ended interrupt within 3 s");
    cr_assert_eq(cmos(0x0c) & 0x90, 0x90);
    cr_assert_not(fake_irq_level[8], "reading C acknowledges");
    cmos_set(0x0b, 0x02);
    dev_destroy("cmos", s);
}

Test(cmos, bad_options_are_refused)
{
    void *s;
    const struct device_model *m = device_model_find("cmos");
    cr_assert_eq(m->create(&fake_dom, "boot=x", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "cpus=-1", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "color=red", &s), -EINVAL);
    cr_assert_eq(fake_io_count(), 0);
}
