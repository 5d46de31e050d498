/* hvmtest's ACPI checks (the "acpi-pm" model, kxend/hvm_acpi.h), run after the RESULT line so
 * the toolstack can press the button: the PM1 block at 0xb000 in ACPI mode, only PWRBTN_EN
 * sticks, then the guest waits for `xl trigger DOM power`: PWRBTN_STS set and, where the
 * machine has a PIC (kvm), the SCI on IRQ 9; the status cleared by writing it back; last the
 * S5 write (SLP_TYP 5 | SLP_EN), after which the guest must not run on. Soft has no interrupt
 * controller: the status is polled there. */
#include "hvmtest.h"

#define PM1_STS 0xb000
#define PM1_EN 0xb002
#define PM1_CNT 0xb004
#define PWRBTN 0x0100
#define SCI_EN 0x0001
#define SLP_S5 (5u << 10)
#define SLP_EN 0x2000
#define SCI_IRQ 9

static unsigned rtc_second(void)
{
    outb(0x70, 0x00);
    return inb(0x71);
}

/* Polls PM1_STS for the power button for up to a minute of the CMOS clock. */
static bool poll_button(void)
{
    unsigned last = rtc_second(), seconds = 0;
    while (seconds < 60) {
        if (inw(PM1_STS) & PWRBTN)
            return true;
        for (uint64_t t = rdtsc(); rdtsc() - t < 20000000ull;)
            __asm__ volatile("pause"); /* a few ms between polls: few exits */
        unsigned now = rtc_second();
        seconds += now != last;
        last = now;
    }
    return false;
}

void acpi_power_tests(void)
{
    uint16_t cnt = inw(PM1_CNT);
    if (cnt == 0xffff) {
        say("acpi: no PM block on this machine, skipped");
        return;
    }
    check(cnt & SCI_EN, "acpi: the PM1 block at 0xb000 is in ACPI mode (SCI_EN)");
    outw(PM1_EN, 0xffff);
    check(inw(PM1_EN) == PWRBTN, "acpi: of PM1_EN only the power button's enable sticks");
    bool pic = irq_listen(SCI_IRQ);
    say("acpi: waiting for the power button");
    check(poll_button(), "acpi: the power button sets PWRBTN_STS");
    if (pic) /* interrupts were off while polling: the SCI waits in the PIC */
        check(irq_wait(SCI_IRQ, 1) && irq_count[SCI_IRQ] == 1, "acpi: the SCI arrives on IRQ 9");
    outw(PM1_STS, PWRBTN);
    check(!(inw(PM1_STS) & PWRBTN), "acpi: writing PWRBTN_STS back clears it");
    say("acpi: entering S5");
    outw(PM1_CNT, SCI_EN | SLP_S5 | SLP_EN);
    for (int i = 0; i < 100; i++)
        __asm__ volatile("pause");
    say("acpi: FAIL the machine runs on after the S5 write");
}
