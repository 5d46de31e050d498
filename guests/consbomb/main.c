/* consbomb: a hostile test guest for xenconsoled. It prints a line normally, then claims
 * (out_prod) far more output than the console ring holds and notifies the backend.
 * xenconsoled must disconnect this console and keep serving the others. The guest reports
 * through the hypervisor console only (its ring is broken on purpose) and then idles until
 * destroyed. */
#include <stdint.h>

#include <kxen/io/console.h>

#include "guest/console.h"
#include "guest/evtchn.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/time.h"

int main(void)
{
    hv_printf("consbomb: console works before the attack\n");
    sleep_ns(300000000ull); /* let xenconsoled log the line */
    if (!boot_info.console_pfn) {
        hv_printf("consbomb: no console ring\nRESULT FAIL\n");
        return 1;
    }
    volatile struct xencons_interface *intf =
        (volatile struct xencons_interface *)(uintptr_t)(boot_info.console_pfn << 12);
    intf->out_prod = intf->out_cons + 0x10000u; /* 64 KiB "written" into a 2 KiB ring */
    evtchn_send(boot_info.console_evtchn);
    const char msg[] = "consbomb: ring indices broken, backend notified\n";
    xen_console_write(msg, sizeof(msg) - 1);
    for (;;)
        sleep_ns(1000000000ull);
}
