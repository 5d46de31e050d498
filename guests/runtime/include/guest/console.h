/* Guest console output: the hypervisor console (HYPERVISOR_console_io, CONSOLEIO_write) and
 * the PV console ring (struct xencons_interface at the console pfn, console event channel). */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes through console_io; returns the hypercall's result (0 or a negative errno). */
long xen_console_write(const char *buf, size_t len);

/* Starts using the PV console ring at ring (guest address) notified through port. */
int pvcons_init(void *ring, uint32_t port);
bool pvcons_ready(void);
/* Queues len bytes on the ring, waiting for the backend to make room; after a
 * PVCONS_STALL_NS without progress the rest is dropped (a dead backend must not hang the
 * guest). Returns the bytes written. */
size_t pvcons_write(const char *buf, size_t len);
#define PVCONS_STALL_NS 200000000ULL

#endif
