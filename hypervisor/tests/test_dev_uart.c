/* 16550A UART: transmit to the sink, receive FIFO, interrupt identification and the line,
 * divisor latch, loopback as the 8250 driver probes it. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../devices/devices.h"
#include "test_dev_fake.h"

#define COM1 0x3f8
static char out[64];
static size_t out_len;
static void *u;

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
    cr_assert_eq(opaque, &out);
    for (size_t i = 0; i < len && out_len < sizeof(out); i++)
        out[out_len++] = (char)buf[i];
}

static void setup(void)
{
    fake_machine_reset();
    out_len = 0;
    u = dev_create("uart", NULL);
    uart_set_sink(u, sink, &out);
}

static void teardown(void)
{
    dev_destroy("uart", u);
    cr_assert_eq(fake_io_count(), 0);
}

TestSuite(uart, .init = setup, .fini = teardown);

Test(uart, transmitted_bytes_reach_the_sink_and_thr_is_empty_at_once)
{
    for (const char *p = "hi\n"; *p; p++) {
        cr_assert(pin(COM1 + 5, 1) & 0x20, "THRE");
        pout(COM1, 1, (uint8_t)*p);
    }
    cr_assert_eq(out_len, 3);
    cr_assert_eq(memcmp(out, "hi\n", 3), 0);
    cr_assert_eq(pin(COM1 + 5, 1) & 0x60, 0x60);
}

Test(uart, received_bytes_fill_the_fifo_and_raise_irq_4)
{
    pout(COM1 + 2, 1, 0x07); /* FIFO on, cleared */
    pout(COM1 + 1, 1, 0x01); /* RDI */
    cr_assert_not(fake_irq_level[4]);
    uint8_t in[20];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)('a' + i);
    cr_assert_eq(uart_receive(u, in, sizeof(in)), 16, "the FIFO holds 16");
    cr_assert(fake_irq_level[4]);
    cr_assert_eq(pin(COM1 + 2, 1), 0xc4, "FIFO enabled, received data");
    for (unsigned i = 0; i < 16; i++) {
        cr_assert(pin(COM1 + 5, 1) & 1);
        cr_assert_eq(pin(COM1, 1), 'a' + i);
    }
    cr_assert_eq(pin(COM1 + 5, 1) & 1, 0);
    cr_assert_not(fake_irq_level[4]);
    cr_assert_eq(pin(COM1 + 2, 1), 0xc1);
}

Test(uart, enabling_the_thr_interrupt_raises_it_until_iir_is_read)
{
    pout(COM1 + 1, 1, 0x02);
    cr_assert(fake_irq_level[4]);
    cr_assert_eq(pin(COM1 + 2, 1) & 0x0f, 0x02);
    cr_assert_not(fake_irq_level[4], "reading IIR acknowledged THRE");
    pout(COM1, 1, 'x');
    cr_assert(fake_irq_level[4], "empty again after the byte left");
    pout(COM1 + 1, 1, 0);
    cr_assert_not(fake_irq_level[4]);
}

Test(uart, the_divisor_latch_hides_rbr_and_ier)
{
    pout(COM1 + 3, 1, 0x83);
    pout(COM1, 1, 0x01);
    pout(COM1 + 1, 1, 0x00);
    cr_assert_eq(pin(COM1, 1), 1);
    pout(COM1 + 3, 1, 0x03);
    cr_assert_eq(pin(COM1 + 1, 1), 0, "IER untouched");
    cr_assert_eq(out_len, 0, "divisor writes are not output");
    pout(COM1 + 7, 1, 0xa5);
    cr_assert_eq(pin(COM1 + 7, 1), 0xa5, "scratch");
}

Test(uart, loopback_returns_output_and_mirrors_the_modem_lines)
{
    pout(COM1 + 4, 1, 0x10 | 0x0a); /* loop, RTS, OUT2 */
    cr_assert_eq(pin(COM1 + 6, 1) & 0xf0, 0x90, "CTS and DCD follow RTS and OUT2");
    pout(COM1 + 4, 1, 0x1f);
    cr_assert_eq(pin(COM1 + 6, 1) & 0xf0, 0xf0);
    pout(COM1, 1, 'z');
    cr_assert_eq(out_len, 0, "loopback keeps bytes inside");
    cr_assert_eq(pin(COM1, 1), 'z');
    uint8_t b = 'q';
    cr_assert_eq(uart_receive(u, &b, 1), 0, "the line is disconnected");
    pout(COM1 + 4, 1, 0x0b);
    cr_assert_eq(pin(COM1 + 6, 1) & 0xb0, 0xb0, "carrier, DSR, CTS up");
}

Test(uart, wide_accesses_and_options_are_refused)
{
    cr_assert_eq(pin(COM1, 2), 0xffff);
    pout(COM1, 4, 0x41414141);
    cr_assert_eq(out_len, 0);
    void *s;
    const struct device_model *m = device_model_find("uart");
    cr_assert_eq(m->create(&fake_dom, "irq=16", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "fd=999", &s), -EBADF);
    cr_assert_eq(m->create(&fake_dom, "port=0x3f8", &s), -EEXIST);
}

TestSuite(uart_fd, .init = fake_machine_reset);

Test(uart_fd, with_an_fd_output_goes_to_it_and_its_input_arrives_without_loss)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    char opts[32];
    snprintf(opts, sizeof(opts), "fd=%d", sv[1]);
    void *s = dev_create("uart", opts);
    pout(COM1, 1, 'k');
    char c;
    cr_assert_eq(read(sv[0], &c, 1), 1);
    cr_assert_eq(c, 'k');
    pout(COM1 + 2, 1, 0x01); /* FIFO */
    const char *msg = "more than sixteen bytes of console input";
    cr_assert_eq(write(sv[0], msg, strlen(msg)), (ssize_t)strlen(msg));
    for (size_t i = 0; i < strlen(msg); i++) {
        for (int t = 0; t < 300 && !(pin(COM1 + 5, 1) & 1); t++)
            usleep(10000);
        cr_assert(pin(COM1 + 5, 1) & 1, "byte %zu arrived", i);
        cr_assert_eq(pin(COM1, 1), (uint8_t)msg[i]);
    }
    cr_assert_eq(pin(COM1 + 5, 1) & 0x02, 0, "no overrun");
    dev_destroy("uart", s);
    cr_assert_eq(write(sv[0], "x", 1), 1, "the fd stays open for the machine");
    close(sv[0]);
    close(sv[1]);
}
