/* boottest: the smallest useful guest. Prints what the runtime learned at boot (entry path,
 * command line, memory, store and console rings) on the hypervisor console and shuts down.
 * The command line steers it, so a host test can check each path:
 *   "reason=reboot"  shut down with SHUTDOWN_reboot instead of poweroff
 *   "trap"           execute int3: the runtime's exception handler must report it and crash */
#include <stdint.h>

#include <kxen/sched.h>

#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"

static bool has_word(const char *line, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = line; *p; p++)
        if ((p == line || p[-1] == ' ') && !strncmp(p, word, n) && (p[n] == ' ' || !p[n]))
            return true;
    return false;
}

int main(void)
{
    static const char *const sources[] = {"memory_map hypercall", "start_info nr_pages",
                                          "hvm_start_info"};
    hv_printf("boottest: entry %s\n", boot_info.accel_path);
    hv_printf("boottest: cmdline \"%s\"\n", boot_info.cmdline);
    hv_printf("boottest: %lu pages, %u map entries from %s\n", (unsigned long)boot_info.nr_pages,
              boot_info.nr_memmap, sources[boot_info.memmap_source]);
    for (unsigned i = 0; i < boot_info.nr_memmap; i++)
        hv_printf("boottest: map %u: 0x%012lx +0x%lx type %u\n", i,
                  (unsigned long)boot_info.memmap[i].addr, (unsigned long)boot_info.memmap[i].size,
                  boot_info.memmap[i].type);
    hv_printf("boottest: store pfn 0x%lx port %u, console pfn 0x%lx port %u\n",
              (unsigned long)boot_info.store_pfn, boot_info.store_evtchn,
              (unsigned long)boot_info.console_pfn, boot_info.console_evtchn);
    if (has_word(boot_info.cmdline, "trap"))
        __asm__ volatile("int3");
    guest_shutdown(has_word(boot_info.cmdline, "reason=reboot") ? SHUTDOWN_reboot
                                                                : SHUTDOWN_poweroff);
}
