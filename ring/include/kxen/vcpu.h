/* vCPU operations: HYPERVISOR_vcpu_op(cmd, vcpuid, arg). Xen's numbers and layouts (checked by
 * ring/tests); kxen's text. */
#ifndef KXEN_VCPU_H
#define KXEN_VCPU_H

#include <kxen/xen.h>

#define VCPUOP_initialise 0 /* arch context of a not yet started vCPU */
#define VCPUOP_up 1
#define VCPUOP_down 2
#define VCPUOP_is_up 3             /* returns 1 or 0 */
#define VCPUOP_get_runstate_info 4 /* struct vcpu_runstate_info */
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_set_periodic_timer 6 /* struct vcpu_set_periodic_timer */
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8 /* struct vcpu_set_singleshot_timer */
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10 /* struct vcpu_register_vcpu_info */
#define VCPUOP_send_nmi 11
#define VCPUOP_get_physid 12
#define VCPUOP_register_vcpu_time_memory_area 13

/* Time spent in each RUNSTATE_*, in ns of system time. */
struct vcpu_runstate_info {
    int state; /* RUNSTATE_* now */
    uint64_t state_entry_time;
/* Set in state_entry_time while the hypervisor updates the area (VMASST runstate_update_flag). */
#define XEN_RUNSTATE_UPDATE (1ULL << 63)
    uint64_t time[4];
};
typedef struct vcpu_runstate_info vcpu_runstate_info_t;
DEFINE_XEN_GUEST_HANDLE(vcpu_runstate_info_t);

#define RUNSTATE_running 0
#define RUNSTATE_runnable 1
#define RUNSTATE_blocked 2
#define RUNSTATE_offline 3

/* Guest area the hypervisor keeps up to date with this vCPU's runstate. */
struct vcpu_register_runstate_memory_area {
    union {
        XEN_GUEST_HANDLE(vcpu_runstate_info_t) h;
        struct vcpu_runstate_info *v;
        uint64_t p;
    } addr;
};
typedef struct vcpu_register_runstate_memory_area vcpu_register_runstate_memory_area_t;

struct vcpu_set_periodic_timer {
    uint64_t period_ns;
};
typedef struct vcpu_set_periodic_timer vcpu_set_periodic_timer_t;

/* Fire VIRQ_TIMER once at absolute system time timeout_abs_ns. With VCPU_SSHOTTMR_future a
 * time already in the past fails with -ETIME instead of firing at once. */
struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;
    uint32_t flags;
};
typedef struct vcpu_set_singleshot_timer vcpu_set_singleshot_timer_t;
#define _VCPU_SSHOTTMR_future (0)
#define VCPU_SSHOTTMR_future (1U << _VCPU_SSHOTTMR_future)

/* Move this vCPU's vcpu_info out of shared_info to guest frame mfn at offset (it must not
 * cross the page). Needed for vCPUs >= XEN_LEGACY_MAX_VCPUS. */
struct vcpu_register_vcpu_info {
    uint64_t mfn;
    uint32_t offset;
    uint32_t rsvd;
};
typedef struct vcpu_register_vcpu_info vcpu_register_vcpu_info_t;

struct vcpu_get_physid {
    uint64_t phys_id;
};
typedef struct vcpu_get_physid vcpu_get_physid_t;

struct vcpu_register_time_memory_area {
    union {
        XEN_GUEST_HANDLE(vcpu_time_info_t) h;
        struct vcpu_time_info *v;
        uint64_t p;
    } addr;
};
typedef struct vcpu_register_time_memory_area vcpu_register_time_memory_area_t;

#endif
