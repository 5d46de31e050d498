/* hvmtest's interrupt checks, where the machine has a PIC (kvm's in-kernel 8259 pair; soft has
 * no interrupt controller and the checks are skipped): an IDT for vectors 0x20-0x2f, the PICs
 * remapped there, then the IDE controller's IRQ 14 at the end of a DMA read and the UART's
 * IRQ 4 for an empty transmitter must each arrive once. */
#include "hvmtest.h"

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

extern const uint64_t irq_stubs[16];
extern volatile uint32_t irq_count[16];
static struct idt_gate idt[0x30] __attribute__((aligned(16)));

static void idt_load(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (unsigned i = 0; i < 16; i++) {
        uint64_t h = irq_stubs[i];
        idt[0x20 + i] = (struct idt_gate){(uint16_t)h,         cs, 0, 0x8e, (uint16_t)(h >> 16),
                                          (uint32_t)(h >> 32), 0};
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) desc = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(desc));
}

/* Remaps the PICs to 0x20/0x28 and leaves only the cascade and the IRQs in mask unmasked.
 * False when no PIC answers (its mask register does not read back). */
static bool pic_init(uint16_t unmasked)
{
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, 0x20);
    outb(0xa1, 0x28);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    uint16_t mask = (uint16_t) ~(unmasked | 1u << 2);
    outb(0x21, mask & 0xff);
    outb(0xa1, mask >> 8);
    return inb(0x21) == (mask & 0xff) && inb(0xa1) == (mask >> 8);
}

/* Waits with interrupts on until irq_count[irq] reaches want (or a generous timeout). */
static bool wait_irq(unsigned irq, uint32_t want)
{
    for (int i = 0; i < 2000000 && irq_count[irq] < want; i++)
        __asm__ volatile("sti; nop; cli");
    return irq_count[irq] >= want;
}

bool irq_setup(uint16_t unmasked)
{
    if (!pic_init(unmasked))
        return false;
    idt_load();
    return true;
}

void irq_tests(int ide_devfn)
{
    if (!pic_init(1u << 4 | 1u << 14)) {
        say("irq: no interrupt controller on this machine, skipped");
        return;
    }
    idt_load();
    if (ide_devfn >= 0) {
        outb(0x3f6, 0x00); /* nIEN off: the drive interrupts */
        ide_dma_read_for_irq();
        check(wait_irq(14, 1), "irq: the IDE controller raises IRQ 14 at the end of a DMA read");
        inb(0x1f7); /* acknowledge */
        outb(0x3f6, 0x02);
    }
    outb(0x3f8 + 4, 0x0b); /* DTR, RTS, OUT2 */
    outb(0x3f8 + 1, 0x02); /* THR empty interrupt */
    check(wait_irq(4, 1), "irq: the UART raises IRQ 4 for an empty transmitter");
    outb(0x3f8 + 1, 0x00);
    inb(0x3f8 + 2);
    for (int i = 0; i < 100000; i++)
        __asm__ volatile("sti; nop; cli");
    check(irq_count[14] == 1 && irq_count[4] == 1, "irq: each arrived exactly once");
    pic_init(0);
}

bool irq_listen(unsigned irq)
{
    if (!pic_init((uint16_t)(1u << irq)))
        return false;
    idt_load();
    return true;
}

bool irq_wait(unsigned irq, uint32_t want)
{
    return wait_irq(irq, want);
}
