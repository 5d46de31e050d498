/* hvmtest's console, PCI access and the order of its tests (see hvmtest.h). */
#include <stdarg.h>

#include "guest/printf.h"
#include "hvmtest.h"

#define COM1 0x3f8
#define DEBUG_PORT 0xe9

static unsigned failures;
uint64_t console_ios;

static void put_char(char c)
{
    console_ios += 3; /* the status read below (the UART sends at once), and the two bytes */
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        console_ios++;
    outb(COM1, (uint8_t)c);
    outb(DEBUG_PORT, (uint8_t)c);
}

uint64_t say_ios(unsigned len)
{
    return 3ull * (sizeof("hvmtest: ") - 1 + len + 1);
}

void say(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    guest_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    for (const char *p = "hvmtest: "; *p; p++)
        put_char(*p);
    for (const char *p = line; *p; p++)
        put_char(*p);
    put_char('\n');
}

void check(bool ok, const char *what)
{
    say("%s %s", ok ? "ok" : "FAIL", what);
    failures += !ok;
}

uint32_t pci_read(unsigned devfn, unsigned reg)
{
    outl(0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc));
    return inl(0xcfc);
}

void pci_write(unsigned devfn, unsigned reg, uint32_t v)
{
    outl(0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc));
    outl(0xcfc, v);
}

int pci_find(uint16_t vendor, uint16_t device)
{
    for (unsigned devfn = 0; devfn < 256; devfn++)
        if (pci_read(devfn, 0) == ((uint32_t)device << 16 | vendor))
            return (int)devfn;
    return -1;
}

static void uart_tests(void)
{
    outb(COM1 + 3, 0x80); /* divisor latch: 115200 baud */
    outb(COM1, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0x07); /* FIFO on, cleared */
    check((inb(COM1 + 2) & 0xc0) == 0xc0, "uart: a 16550A with its FIFO");
    outb(COM1 + 7, 0x5a);
    check(inb(COM1 + 7) == 0x5a, "uart: scratch register");
    outb(COM1 + 4, 0x10); /* loopback: a byte sent comes back */
    outb(COM1, 'L');
    bool back = (inb(COM1 + 5) & 1) && inb(COM1) == 'L';
    outb(COM1 + 4, 0x03);
    check(back, "uart: loopback returns the byte sent");
}

void hvmtest_main(uint32_t zero_page)
{
    (void)zero_page;
    uart_tests();
    int ide = pci_find(0x8086, 0x7010);
    if (bench_main(ide, pci_find(0x10ec, 0x8139)) || save_main(ide, pci_find(0x10ec, 0x8139)))
        return;
    say("start: no Xen interface, emulated devices only");
    check(pci_read(0, 0) == 0x12378086u, "pci: i440FX host bridge at 00:00.0");
    check(ide >= 0, "pci: PIIX3 IDE found");
    if (ide >= 0)
        ide_tests(ide);
    irq_tests(ide);
    int nic = pci_find(0x10ec, 0x8139);
    if (nic >= 0)
        nic_tests(nic);
    else
        say("nic: no RTL8139 on this machine, skipped");
    say("RESULT %s (%u failed)", failures ? "FAIL" : "PASS", failures);
    /* Then the power button (its own "acpi:" lines), or halt with interrupts off: the test
     * reads the result and destroys the domain. */
    acpi_power_tests();
}
