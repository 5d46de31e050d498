/* hvmtest: a guest with no Xen interface at all, only the emulated PC (hypervisor/devices):
 * it finds its devices on the PCI bus and checks the UART, the IDE disk through PIO and
 * bus-master DMA (and a DMA aimed outside its RAM, which must end in an error bit), and the
 * RTL8139 in internal loopback. Everything is polled: no interrupt is taken. It reports on
 * COM1 and on port 0xe9 (`xl dmesg`), ending with "RESULT PASS" or "RESULT FAIL". */
#ifndef HVMTEST_H
#define HVMTEST_H

#include <stdbool.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* Identity-mapped scratch memory (the image and its stack stay below 2 MiB). */
#define SCRATCH_PRD 0x9000ull
#define SCRATCH_DMA 0x200000ull
#define SCRATCH_NIC 0x300000ull

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Records a check: prints "ok"/"FAIL what" and remembers a failure. */
void check(bool ok, const char *what);

uint32_t pci_read(unsigned devfn, unsigned reg);
void pci_write(unsigned devfn, unsigned reg, uint32_t v);
/* The devfn of vendor:device on bus 0, or -1. */
int pci_find(uint16_t vendor, uint16_t device);

void ide_tests(int devfn);
/* The primary channel's status once BSY clears (0xff if it never does). */
uint8_t ide_wait_idle(void);
/* A one-sector DMA read with the drive's interrupt enabled (irq.c waits for it). */
void ide_dma_read_for_irq(void);
void nic_tests(int devfn);

/* Bench mode (bench.c, bench_nic.c): the options line read from the primary slave. */
struct bench_opts {
    char line[512];
    int ide_devfn;
};
extern struct bench_opts bench;
/* Port accesses of the console so far, and what a line of len characters costs. */
extern uint64_t console_ios;
uint64_t say_ios(unsigned len);
/* Runs the bench the options sector asks for; false (nothing done) when there is none. */
bool bench_main(int ide_devfn, int nic_devfn);
uint64_t bench_opt(const char *key, uint64_t def);
uint64_t bench_us(uint64_t tsc_delta);
/* "bench mark NAME console_ios=N", then quiet= ms without a device access (the host reads
 * the exit counters there). */
void bench_mark(const char *name);
void bench_error(const char *what);
/* path 't' (transmit), 'r' (receive) or 'e' (echo). */
void nic_bench(int devfn, char path);
/* Needs the PIC: skipped (and says so) where none answers. */
void irq_tests(int ide_devfn);
/* The PICs remapped to vectors 0x20-0x2f with only the IRQs in unmasked (and the cascade)
 * open, handlers counting in irq_count[]; false where no PIC answers. */
bool irq_setup(uint16_t unmasked);
/* Save mode (save.c): the rounds the save tests run, when hdb asks for them; false (nothing
 * done) otherwise, else it never returns. */
bool save_main(int ide_devfn, int nic_devfn);
/* irq alone unmasked on the PIC, the IDT in place: false where no PIC answers. Then
 * irq_wait() waits with interrupts on until irq_count[irq] reaches want (or a timeout). */
bool irq_listen(unsigned irq);
bool irq_wait(unsigned irq, uint32_t want);
extern volatile uint32_t irq_count[16];
/* The ACPI power button and S5 (acpi.c): after the other tests, it waits for the toolstack's
 * button press and powers the machine off. Skipped where the machine has no PM block. */
void acpi_power_tests(void);

#endif
