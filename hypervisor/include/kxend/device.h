/* Emulated device models (UART, IDE, NIC, PCI host bridge, ...): each model file registers
 * one struct device_model with DEVICE_MODEL_REGISTER(); the toolstack's device list names
 * models and device_model_find() looks them up, so the core never names a device. A model
 * claims its ports and MMIO ranges through io.h from create() and releases them in destroy().
 *
 * The save/load/post_load hooks are the save/restore stream's (as in subsys.h), per
 * instance: each writes and reads its own records. They are called with the domain paused. */
#ifndef KXEND_DEVICE_H
#define KXEND_DEVICE_H

#include "kxend/domain.h"
#include "kxend/registry.h"

struct kxend_save_ctx;

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
    int (*save)(struct domain *d, void *state, struct kxend_save_ctx *ctx);
    int (*load)(struct domain *d, void *state, struct kxend_save_ctx *ctx);
    int (*post_load)(struct domain *d, void *state);
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
