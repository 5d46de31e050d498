/* `xl -N create` / `xl create -n`: the domain configuration xl would build, printed as JSON in
 * the shape of Xen's dry run (c_info, b_info, disks, nics, on_* actions), so that an
 * administrator can check what a config file and its key=value overrides amount to without
 * starting anything. */
#include <stdio.h>

#include "xl.h"

void xl_json_str(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void mac_str(const uint8_t m[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

void xl_print_config_json(const struct kxl_domain_config *dc)
{
    char uuid[37] = "";
    if (dc->has_uuid)
        kxl_format_uuid(dc->uuid, uuid);
    printf("{\n    \"c_info\": {\n        \"type\": ");
    xl_json_str(kxl_domain_type_name(dc->type));
    printf(",\n        \"name\": ");
    xl_json_str(dc->name);
    printf(",\n        \"uuid\": ");
    xl_json_str(dc->has_uuid ? uuid : NULL);
    printf("\n    },\n    \"b_info\": {\n        \"max_vcpus\": %u,\n", dc->vcpus);
    printf("        \"max_memkb\": %llu,\n", (unsigned long long)dc->maxmem_mb * 1024);
    printf("        \"target_memkb\": %llu,\n", (unsigned long long)dc->memory_mb * 1024);
    printf("        \"kernel\": ");
    xl_json_str(dc->kernel);
    printf(",\n        \"cmdline\": ");
    xl_json_str(dc->cmdline);
    printf("\n    },\n    \"disks\": [");
    for (size_t i = 0; i < dc->nr_disks; i++) {
        const struct kxl_disk *k = &dc->disks[i];
        printf("%s\n        {\n            \"pdev_path\": ", i ? "," : "");
        xl_json_str(k->target);
        printf(",\n            \"vdev\": ");
        xl_json_str(k->vdev);
        printf(",\n            \"backend_domname\": ");
        xl_json_str(k->backend);
        printf(",\n            \"readwrite\": %d,\n            \"is_cdrom\": %d\n        }",
               k->readwrite, k->cdrom);
    }
    printf("%s],\n    \"nics\": [", dc->nr_disks ? "\n    " : "");
    for (size_t i = 0; i < dc->nr_vifs; i++) {
        const struct kxl_vif *v = &dc->vifs[i];
        char mac[18];
        mac_str(v->mac, mac);
        printf("%s\n        {\n            \"devid\": %zu,\n            \"mac\": ", i ? "," : "",
               i);
        xl_json_str(v->has_mac ? mac : NULL);
        printf(",\n            \"bridge\": ");
        xl_json_str(v->bridge);
        printf(",\n            \"backend_domname\": ");
        xl_json_str(v->backend);
        printf("\n        }");
    }
    printf("%s],\n", dc->nr_vifs ? "\n    " : "");
    printf("    \"on_poweroff\": ");
    xl_json_str(kxl_action_name(dc->on_poweroff));
    printf(",\n    \"on_reboot\": ");
    xl_json_str(kxl_action_name(dc->on_reboot));
    printf(",\n    \"on_watchdog\": ");
    xl_json_str(kxl_action_name(dc->on_watchdog));
    printf(",\n    \"on_crash\": ");
    xl_json_str(kxl_action_name(dc->on_crash));
    printf("\n}\n");
}
