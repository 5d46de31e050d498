/* Emulated device models: lookup by name over the registered models (kxend/device.h). kxend itself
 * registers none here; each model's own file does. */
#include <string.h>

#include "kxend/device.h"

const struct device_model *device_model_find(const char *name)
{
    if (!name)
        return NULL;
    for (KXEND_FOREACH(kxend_device_models, struct device_model, m))
        if (!strcmp((*m)->name, name))
            return *m;
    return NULL;
}
