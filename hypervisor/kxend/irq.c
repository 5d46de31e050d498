/* Interrupt lines of an emulated machine (kxend/irq.h): checks the line and hands it to the
 * accelerator's interrupt controllers. Only a domain the HVM builder prepared has them; on
 * any other (PV, PVH, or an accelerator without HVM support) a model gets -ENODEV. */
#include <errno.h>

#include "kxend/accel.h"
#include "kxend/irq.h"

int domain_irq_set_level(struct domain *d, unsigned gsi, bool level)
{
    if (gsi >= KXEN_NR_GSIS)
        return -EINVAL;
    if (!d->hvm || !d->accel->irq_line)
        return -ENODEV;
    return d->accel->irq_line(d, gsi, level);
}
