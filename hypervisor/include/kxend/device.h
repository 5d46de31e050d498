/* Emulated device models (UART, IDE, NIC, PCI host bridge, ...): each model file registers
 * one struct device_model with DEVICE_MODEL_REGISTER(); the toolstack's device list names
 * models and device_model_find() looks them up, so the core never names a device. A model
 * claims its ports and MMIO ranges through io.h from create() and releases them in destroy().
 *
 * The save/load hooks carry an instance through the save stream (docs/save-format.md): the
 * machine (hvm_devices.c) frames each body in a KXEN_SREC_DEVICE record. They are called with
 * the domain's vCPUs stopped; a model's own threads (a tap or pty reader, a timer) may still
 * run, so each hook takes the instance's locks. */
#ifndef KXEND_DEVICE_H
#define KXEND_DEVICE_H

#include "kxend/domain.h"
#include "kxend/registry.h"

struct device_model {
    const char *name; /* as the toolstack names it; unique among the registered models */
    /* Among one domain's devices: lower orders are created first and destroyed last (a PCI
     * host bridge before the devices behind it). */
    int order;
    /* One instance for d, configured by options (the toolstack's string; may be NULL). *state
     * gets the instance, handed back to every other hook. 0 or -errno (nothing to undo). */
    int (*create)(struct domain *d, const char *options, void **state);
    /* After every vCPU has stopped for good: releases everything create() took. */
    void (*destroy)(struct domain *d, void *state);
    /* Writes the instance's state into buf (cap bytes): its length, or -ENOSPC. NULL: the
     * model keeps nothing a guest could notice losing. */
    int (*save)(void *state, void *buf, uint32_t cap);
    /* Takes back a body save wrote, on an instance created with the same options. The body
     * came from a file: every field is checked before anything changes (-EINVAL with why
     * naming the field; the instance is then as create() left it), then the state is applied
     * and the interrupt lines are driven as it says. */
    int (*load)(void *state, const void *body, uint32_t len, char *why, size_t whylen);
    /* Optional: the instance's state in Xen's public HVM save records
     * (xen/arch-x86/hvm/save.h), for the libxc HVM_CONTEXT Xen's tools read: record nr
     * (0, 1, ...) into buf with its typecode in *code; its length, or -ENOENT past the last. */
    int (*save_xen)(void *state, unsigned nr, uint16_t *code, void *buf, uint32_t cap);
    /* A platform event from the toolstack (KXEN_TRIGGER_* of kxen/ctl_hvm.h, `xl trigger`):
     * 0 when the model delivered it, -EOPNOTSUPP when it has no such input. NULL for most
     * models. Called on the control thread while the vCPUs run. */
    int (*trigger)(struct domain *d, void *state, unsigned trigger);
};

#define DEVICE_MODEL_REGISTER(var) KXEND_REGISTER(kxend_device_models, struct device_model, var)
KXEND_SECTION_DECLARE(kxend_device_models, struct device_model);

/* The registered model called name, or NULL. */
const struct device_model *device_model_find(const char *name);

#endif
