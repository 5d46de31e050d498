/* What the emulated device models share among themselves and offer the machine: the options
 * parser every create() uses, the UART's console interface and the unplug masks. Models reach
 * each other only through these functions and pci.h, never through each other's state. */
#ifndef KXEND_DEVICES_H
#define KXEND_DEVICES_H

#include <stddef.h>
#include <stdint.h>

/* Calls fn(ctx, key, value) for each comma-separated key=value of options (NULL or "" = none;
 * a bare key gets the value ""). Stops at fn's first non-zero return and returns it; -EINVAL
 * for an empty key or a pair longer than 255 bytes. */
int dev_opts_each(const char *options, int (*fn)(void *ctx, const char *key, const char *val),
                  void *ctx);
/* A C literal (decimal, 0x hex, 0 octal) up to max: 0 or -EINVAL. */
int dev_opt_u64(const char *val, uint64_t max, uint64_t *out);

/* UART: where the transmitted bytes go (called on the writing vCPU's thread with no model
 * lock held; must not block), and the console's bytes for the receiver. uart_receive() takes
 * what fits the receive FIFO and returns how many it took. */
typedef void (*uart_sink_fn)(void *opaque, const uint8_t *buf, size_t len);
void uart_set_sink(void *uart_state, uart_sink_fn fn, void *opaque);
size_t uart_receive(void *uart_state, const uint8_t *buf, size_t len);

/* The unplug protocol's mask (written to port 0x10), as pci_bus_unplug() passes it on. */
#define UNPLUG_IDE_DISKS 0x1u
#define UNPLUG_NICS 0x2u
#define UNPLUG_AUX_IDE_DISKS 0x4u

#endif
