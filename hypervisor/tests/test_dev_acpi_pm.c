/* acpi-pm: the PM1 event and control blocks and the PM timer at the ports the FADT names, the
 * power button (the toolstack's trigger) raising the SCI only while enabled, S5 as a
 * poweroff, and a hostile guest's pokes (bits the machine lacks, odd sizes and offsets,
 * accesses running off the block, sleep types the DSDT does not offer). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
/* Before xen/sched.h: Xen's headers define console_evtchn, a field name of ctl_hvm.h. */
#include "kxen/ctl_hvm.h"
#include <xen/sched.h>

#include "kxend/hvm_acpi.h"
#include "test_dev_fake.h"

#define STS ACPI_PM1A_EVT
#define EN (ACPI_PM1A_EVT + 2)
#define CNT ACPI_PM1A_CNT
#define TMR ACPI_PM_TMR
#define SCI ACPI_SCI_IRQ

static void *pm;

static void setup(void)
{
    fake_machine_reset();
    pm = dev_create("acpi-pm", NULL);
}

static void teardown(void)
{
    if (pm)
        dev_destroy("acpi-pm", pm);
    cr_assert_eq(fake_io_count(), 0, "destroy releases the block");
}

static int press(unsigned trigger)
{
    return device_model_find("acpi-pm")->trigger(&fake_dom, pm, trigger);
}

TestSuite(acpi_pm, .init = setup, .fini = teardown);

Test(acpi_pm, powers_on_in_acpi_mode_with_nothing_pending)
{
    cr_assert_eq(pin(STS, 2), 0);
    cr_assert_eq(pin(EN, 2), 0);
    cr_assert_eq(pin(CNT, 2), ACPI_PM1_SCI_EN, "no SMI_CMD: SCI_EN from power-on");
    cr_assert_not(fake_irq_level[SCI]);
}

Test(acpi_pm, the_power_button_raises_the_sci_only_while_enabled_and_until_cleared)
{
    cr_assert_eq(press(KXEN_TRIGGER_POWER), 0);
    cr_assert_eq(pin(STS, 2), ACPI_PM1_PWRBTN);
    cr_assert_not(fake_irq_level[SCI], "PWRBTN_EN is off");
    pout(EN, 2, ACPI_PM1_PWRBTN);
    cr_assert(fake_irq_level[SCI], "enabling a pending event raises the SCI");
    cr_assert_eq(fake_irq_rises[SCI], 1);
    pout(STS, 2, 0);
    cr_assert(fake_irq_level[SCI], "writing 0 clears nothing");
    pout(STS, 2, ACPI_PM1_PWRBTN);
    cr_assert_eq(pin(STS, 2), 0, "write one to clear");
    cr_assert_not(fake_irq_level[SCI]);
    cr_assert_eq(press(KXEN_TRIGGER_POWER), 0);
    cr_assert(fake_irq_level[SCI], "enabled: a press raises it at once");
    cr_assert_eq(fake_irq_rises[SCI], 2);
    cr_assert_eq(press(KXEN_TRIGGER_POWER), 0);
    cr_assert_eq(fake_irq_rises[SCI], 2, "a second press while pending is the same level");
}

Test(acpi_pm, sci_en_off_masks_the_sci)
{
    pout(EN, 2, ACPI_PM1_PWRBTN);
    press(KXEN_TRIGGER_POWER);
    cr_assert(fake_irq_level[SCI]);
    pout(CNT, 2, 0);
    cr_assert_not(fake_irq_level[SCI], "events would go to SMI, which the PC does not have");
    cr_assert_eq(pin(STS, 2), ACPI_PM1_PWRBTN, "the status stays");
    pout(CNT, 2, ACPI_PM1_SCI_EN);
    cr_assert(fake_irq_level[SCI]);
}

Test(acpi_pm, bits_the_machine_lacks_never_stick)
{
    pout(EN, 2, 0xffff);
    cr_assert_eq(pin(EN, 2), ACPI_PM1_PWRBTN, "no global lock, sleep button, RTC or timer enable");
    pout(STS, 2, 0xffff);
    cr_assert_eq(pin(STS, 2), 0);
    pout(CNT, 2, 0xffff & ~ACPI_PM1_SLP_EN);
    cr_assert_eq(pin(CNT, 2), ACPI_PM1_SCI_EN | ACPI_PM1_SLP_TYP_MASK);
    cr_assert_eq(fake_shutdown_reason, -1);
}

Test(acpi_pm, other_triggers_are_not_this_models)
{
    cr_assert_eq(press(KXEN_TRIGGER_SLEEP), -EOPNOTSUPP, "no fixed sleep button");
    cr_assert_eq(press(KXEN_TRIGGER_NMI), -EOPNOTSUPP);
    cr_assert_eq(press(KXEN_TRIGGER_RESET), -EOPNOTSUPP);
    cr_assert_eq(press(1000), -EOPNOTSUPP);
    cr_assert_eq(pin(STS, 2), 0);
}

Test(acpi_pm, slp_typ_5_with_slp_en_powers_off_and_other_types_do_nothing)
{
    for (unsigned typ = 0; typ < 8; typ++) {
        if (typ == ACPI_S5_SLP_TYP)
            continue;
        pout(CNT, 2, ACPI_PM1_SCI_EN | typ << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
        cr_assert_eq(fake_shutdown_reason, -1, "SLP_TYP %u is not a state the DSDT offers", typ);
    }
    /* ACPICA's order: the type first, then the type with SLP_EN. */
    pout(CNT, 2, ACPI_PM1_SCI_EN | ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT);
    cr_assert_eq(fake_shutdown_reason, -1, "no SLP_EN yet");
    pout(CNT, 2, ACPI_PM1_SCI_EN | ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
    cr_assert_eq(fake_shutdown_reason, SHUTDOWN_poweroff);
    cr_assert_eq(pin(CNT, 2) & ACPI_PM1_SLP_EN, 0, "SLP_EN is write-only");
}

Test(acpi_pm, s5_by_byte_writes_as_a_guest_may_split_them)
{
    pout(CNT, 1, ACPI_PM1_SCI_EN);
    pout(CNT + 1, 1, (ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN) >> 8);
    cr_assert_eq(fake_shutdown_reason, SHUTDOWN_poweroff);
}

Test(acpi_pm, a_dword_across_sts_and_en_and_odd_offsets_split_by_register)
{
    press(KXEN_TRIGGER_POWER);
    pout(STS, 4, (uint32_t)ACPI_PM1_PWRBTN << 16 | 0); /* EN = PWRBTN, STS untouched */
    cr_assert_eq(pin(EN, 2), ACPI_PM1_PWRBTN);
    cr_assert(fake_irq_level[SCI]);
    cr_assert_eq(pin(STS, 4), (uint32_t)ACPI_PM1_PWRBTN << 16 | ACPI_PM1_PWRBTN);
    cr_assert_eq(pin(STS + 1, 1), ACPI_PM1_PWRBTN >> 8, "the high byte alone");
    pout(STS + 1, 1, ACPI_PM1_PWRBTN >> 8);
    cr_assert_not(fake_irq_level[SCI], "cleared by its byte");
    pout(EN + 1, 1, 0);
    cr_assert_eq(pin(EN, 2), 0);
}

Test(acpi_pm, accesses_running_off_the_block_or_into_its_hole_reach_nothing)
{
    cr_assert_eq(pin(CNT + 2, 2), 0xffff, "0xb006-0xb007 is a hole");
    pout(CNT + 2, 2, 0xffff);
    pout(TMR + 2, 4, 0xffffffff); /* two bytes of timer (read-only), two past the block */
    cr_assert_eq(pin(TMR + 3, 4) >> 8, 0xffffff, "past the block reads as nothing");
    cr_assert_eq(pin(CNT, 2), ACPI_PM1_SCI_EN);
    cr_assert_eq(fake_shutdown_reason, -1);
}

Test(acpi_pm, the_pm_timer_counts_at_3_58_mhz_in_24_bits)
{
    uint32_t a = pin(TMR, 4);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint32_t b = pin(TMR, 4);
    cr_assert_eq(a >> 24, 0);
    cr_assert_eq(b >> 24, 0);
    uint32_t ticks = (b - a) & 0xffffff;
    cr_assert_geq(ticks, 20 * ACPI_PM_TMR_HZ / 1000, "at least 20 ms of ticks");
    cr_assert_lt(ticks, 0x800000, "no wrap in a short sleep");
    pout(TMR, 4, 0);
    cr_assert_geq((pin(TMR, 4) - b) & 0xffffff, 0, "writes do not reset it");
}

Test(acpi_pm, options_are_refused)
{
    void *s = NULL;
    cr_assert_eq(device_model_find("acpi-pm")->create(&fake_dom, "port=0x600", &s), -EINVAL);
    cr_assert_eq(fake_io_count(), 1, "only the first instance's block");
}

/* Save and load: a pending, enabled press comes back with its SCI; the timer goes on from its
 * saved count; bodies with bits the machine lacks or a count wider than 24 bits are refused,
 * naming the field. Body: struct hvm_hw_pmtimer (tmr_val, pm1a_sts, pm1a_en), then pm1a_cnt. */
Test(acpi_pm, save_and_load_keep_a_pending_press_and_refuse_corrupt_bodies)
{
    const struct device_model *m = device_model_find("acpi-pm");
    uint8_t body[64];
    char why[160] = "";
    pout(EN, 2, ACPI_PM1_PWRBTN);
    cr_assert_eq(press(KXEN_TRIGGER_POWER), 0);
    int len = m->save(pm, body, sizeof(body));
    cr_assert_eq(len, 16);
    cr_assert_eq(m->save(pm, body, 8), -ENOSPC);
    uint32_t tmr;
    memcpy(&tmr, body, 4);
    dev_destroy("acpi-pm", pm);
    fake_irq_level[SCI] = false; /* the restored domain's machine is a new one */
    pm = dev_create("acpi-pm", NULL);
    cr_assert_eq(pin(STS, 2), 0, "a new instance has nothing pending");
    cr_assert_eq(m->load(pm, body, (uint32_t)len, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(pin(STS, 2), ACPI_PM1_PWRBTN);
    cr_assert_eq(pin(EN, 2), ACPI_PM1_PWRBTN);
    cr_assert(fake_irq_level[SCI], "the load drives the SCI again");
    uint32_t now = (uint32_t)pin(TMR, 4);
    cr_assert_lt((now - tmr) & 0xffffffu, 3579545u, "the count goes on from the saved one");

    uint8_t bad[16];
    memcpy(bad, body, sizeof(bad));
    bad[3] = 1; /* tmr_val 2^24 + ... */
    cr_assert_eq(m->load(pm, bad, 16, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "tmr_val"), "%s", why);
    memcpy(bad, body, sizeof(bad));
    bad[7] = 0x80; /* pm1a_en: a bit the machine lacks */
    cr_assert_eq(m->load(pm, bad, 16, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "pm1a_en"), "%s", why);
    memcpy(bad, body, sizeof(bad));
    bad[5] = 0x02; /* pm1a_sts bit 9, the sleep button: absent */
    cr_assert_eq(m->load(pm, bad, 16, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "pm1a_sts"), "%s", why);
    memcpy(bad, body, sizeof(bad));
    bad[9] = 0x20; /* pm1a_cnt SLP_EN: write-only, no saved state has it */
    cr_assert_eq(m->load(pm, bad, 16, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "pm1a_cnt"), "%s", why);
    cr_assert_eq(m->load(pm, body, 12, why, sizeof(why)), -EINVAL, "a short body");
    cr_assert(strstr(why, "length"), "%s", why);
    cr_assert_eq(pin(STS, 2), ACPI_PM1_PWRBTN, "refused bodies change nothing");
}
