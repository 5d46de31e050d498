/* A fake kxend core for the event-channel and grant-table unit tests: domains with RAM in a
 * memfd and vCPUs, an accelerator that only counts grant maps. Guest-virtual = guest-physical
 * (as on the soft accelerator). */
#ifndef TEST_EVTCHN_FAKE_DOMAIN_H
#define TEST_EVTCHN_FAKE_DOMAIN_H

#include <stdint.h>

#include "kxend/domain.h"

#define FAKE_RAM_PAGES 64
#define FAKE_SHARED_INFO_GPA 0x1000ull
#define FAKE_ARGS_GPA 0x2000ull /* scratch page for hypercall arguments */
#define FAKE_GNTTAB_BASE_PFN 8  /* frames the loader would reserve */

struct domain *fake_domain_create(uint16_t domid, unsigned nr_vcpus, bool privileged);
void fake_domain_destroy(struct domain *d);
/* Number of vcpu_kick() calls on v so far. */
unsigned fake_kicks(const struct vcpu *v);
/* Runs hypercall `fn` on v with arg (size bytes) copied to FAKE_ARGS_GPA and back. */
int64_t fake_hypercall(const struct hypercall_family *hc, struct vcpu *v, uint64_t cmd, void *arg,
                       size_t size, uint64_t count);
void *fake_gpa(struct domain *d, uint64_t gpa);
/* The fake accelerator's grant-map calls for d (pages placed, pages removed) so far. */
unsigned fake_foreign_mapped(const struct domain *d);
unsigned fake_foreign_unmapped(const struct domain *d);
/* The next copy_to_guest runs `before` (as another vCPU would, meanwhile) and then fails with
 * -EFAULT (a guest whose argument page went read-only or away). */
void fake_fail_next_copy_to_guest(void (*before)(void));

#endif
