/* i8042, port 0x92 and 0xCF9: the self-tests and device replies firmware and Linux wait for,
 * the interrupt of a reply, and every reset path asking for a reboot. */
#include <stdint.h>
#include <xen/sched.h>

#include "test_dev_fake.h"

static void *k;

static void setup(void)
{
    fake_machine_reset();
    k = dev_create("i8042", NULL);
}

static void teardown(void)
{
    dev_destroy("i8042", k);
    cr_assert_eq(fake_io_count(), 0);
}

TestSuite(i8042, .init = setup, .fini = teardown);

static uint8_t reply(void)
{
    cr_assert(pin(0x64, 1) & 1, "output buffer full");
    return (uint8_t)pin(0x60, 1);
}

Test(i8042, the_controller_passes_its_self_tests_and_the_keyboard_identifies)
{
    cr_assert_eq(pin(0x64, 1) & 1, 0, "nothing to read at power-on");
    pout(0x64, 1, 0xaa);
    cr_assert_eq(reply(), 0x55);
    pout(0x64, 1, 0xab);
    cr_assert_eq(reply(), 0x00);
    pout(0x64, 1, 0xa9);
    cr_assert_eq(reply(), 0x00);
    pout(0x60, 1, 0xff);
    cr_assert_eq(reply(), 0xfa);
    cr_assert_eq(reply(), 0xaa);
    pout(0x60, 1, 0xf2);
    cr_assert_eq(reply(), 0xfa);
    cr_assert_eq(reply(), 0xab);
    cr_assert_eq(reply(), 0x41);
    pout(0x60, 1, 0xed);
    cr_assert_eq(reply(), 0xfa);
    pout(0x60, 1, 0x07);
    cr_assert_eq(reply(), 0xfa, "the LED argument is acknowledged");
    cr_assert_eq(pin(0x64, 1) & 1, 0);
}

Test(i8042, the_command_byte_round_trips_and_gates_irq_1)
{
    pout(0x64, 1, 0x20);
    uint8_t cb = reply();
    cr_assert_eq(cb & 0x01, 1);
    pout(0x64, 1, 0x60);
    pout(0x60, 1, cb & ~1);
    pout(0x60, 1, 0xf4);
    cr_assert_not(fake_irq_level[1], "keyboard interrupt off");
    cr_assert_eq(reply(), 0xfa);
    pout(0x64, 1, 0x60);
    pout(0x60, 1, cb);
    pout(0x60, 1, 0xf4);
    cr_assert(fake_irq_level[1]);
    cr_assert_eq(reply(), 0xfa);
    cr_assert_not(fake_irq_level[1], "read: line drops");
}

Test(i8042, the_mouse_answers_through_d4_on_irq_12)
{
    pout(0x64, 1, 0x60);
    pout(0x60, 1, 0x47);
    pout(0x64, 1, 0xd4);
    pout(0x60, 1, 0xf2);
    cr_assert(fake_irq_level[12]);
    cr_assert(pin(0x64, 1) & 0x20, "mouse data");
    cr_assert_eq(reply(), 0xfa);
    cr_assert_eq(reply(), 0x00);
    pout(0x64, 1, 0xd3);
    pout(0x60, 1, 0x5a);
    cr_assert_eq(reply(), 0x5a, "loop back through the mouse port");
}

Test(i8042, each_byte_of_a_reply_gets_its_own_edge_on_irq_1)
{
    unsigned before = fake_irq_rises[1];
    pout(0x60, 1, 0xf2); /* ACK, 0xAB, 0x41 */
    for (int i = 0; i < 3; i++)
        pin(0x60, 1);
    cr_assert_eq(fake_irq_rises[1] - before, 3);
    cr_assert_not(fake_irq_level[1]);
}

Test(i8042, command_fe_reboots)
{
    pout(0x64, 1, 0xfe);
    cr_assert_eq(fake_shutdown_reason, SHUTDOWN_reboot);
}

Test(i8042, port_92_bit_0_and_cf9_bit_2_reboot_and_a20_reads_back)
{
    cr_assert_eq(pin(0x92, 1), 0x02, "A20 on");
    pout(0x92, 1, 0x00);
    cr_assert_eq(pin(0x92, 1), 0x00);
    cr_assert_eq(fake_shutdown_reason, -1);
    pout(0x92, 1, 0x01);
    cr_assert_eq(fake_shutdown_reason, SHUTDOWN_reboot);
    fake_shutdown_reason = -1;
    pout(0xcf9, 1, 0x02);
    cr_assert_eq(fake_shutdown_reason, -1);
    cr_assert_eq(pin(0xcf9, 1), 0x02);
    pout(0xcf9, 1, 0x06);
    cr_assert_eq(fake_shutdown_reason, SHUTDOWN_reboot);
}

Test(i8042, a_guest_that_never_reads_loses_replies_not_memory)
{
    for (int i = 0; i < 100; i++)
        pout(0x60, 1, 0xee);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(reply(), 0xee);
    cr_assert_eq(pin(0x64, 1) & 1, 0);
    cr_assert_eq(pin(0x60, 2), 0xffff, "word access");
}
