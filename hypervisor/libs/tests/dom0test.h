/* Shared by dom0test.c (the dom0-library checks) and dom0bench.c (benchmark and wake-up
 * stress): guest start-up over libxenctrl and the echo guest's announcement. */
#ifndef KXEN_DOM0TEST_H
#define KXEN_DOM0TEST_H

#include <stdint.h>

#include <xenctrl.h>
#include <xenevtchn.h>

/* What the echo guest (guests/dom0libs-echo) announces on its console. */
struct echo_info {
    uint32_t domid;
    unsigned port, ref, roref;
    unsigned long pfn;
};

uint64_t now_ns(void);
int start_guest(xc_interface *xch, const char *name, uint32_t *domid);
int load_guest(xc_interface *xch, uint32_t domid, const char *elf, const char *cmdline);
/* A hypervisor-console line of domid starting with prefix, within timeout_ms. */
int wait_line(xc_interface *xch, uint32_t domid, const char *prefix, char *line, size_t cap,
              int timeout_ms);
/* One event within timeout_ms: the port (unmasked again), -1 on timeout. */
int wait_event(xenevtchn_handle *xce, int timeout_ms);
int start_echo(xc_interface *xch, const char *elf, const char *cmdline, struct echo_info *e);

int bench(const char *elf, long n);
int stress(const char *elf, long n);

#endif
