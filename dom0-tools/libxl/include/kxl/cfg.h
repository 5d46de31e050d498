/* xl.cfg parsing: Xen's domain configuration syntax (docs/xl.cfg.md) into a validated
 * struct kxl_domain_config. Two layers: a generic parser (key = value, strings, numbers,
 * lists, comments) producing a kxl_cfg, and the domain layer that reads the known keys and
 * validates each one (disk and vif specs included). Errors come back as "FILE:LINE: what"
 * in a caller buffer; the library never prints. */
#ifndef KXL_CFG_H
#define KXL_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KXL_ERR_LEN 512
#define KXL_NAME_MAX 63 /* longest domain name we accept (kxend keeps 64 bytes with NUL) */
#define KXL_MAX_VCPUS 32

enum kxl_value_kind { KXL_VAL_STRING, KXL_VAL_NUMBER, KXL_VAL_LIST };

struct kxl_cfg_value {
    enum kxl_value_kind kind;
    char *str;    /* STRING and NUMBER: the text (unescaped for strings) */
    char **items; /* LIST: strings (numbers inside lists are kept as their text) */
    size_t nr_items;
};

struct kxl_cfg_entry {
    char *key;
    struct kxl_cfg_value val;
    const char *file; /* points into the kxl_cfg (source name) */
    unsigned line;
};

struct kxl_cfg {
    struct kxl_cfg_entry *entries;
    size_t nr, cap;
    char **sources; /* names given to kxl_cfg_parse (entries point into them) */
    size_t nr_sources;
};

void kxl_cfg_init(struct kxl_cfg *cfg);
void kxl_cfg_free(struct kxl_cfg *cfg);
/* Parses text (len bytes, need not be NUL-terminated) named `source` into cfg. Later
 * assignments of a key override earlier ones (how command-line key=value overrides work).
 * Returns 0, -EINVAL with "source:line: what" in err, or -ENOMEM. */
int kxl_cfg_parse(struct kxl_cfg *cfg, const char *source, const char *text, size_t len, char *err,
                  size_t errlen);
/* Reads a config file whole into *text (NUL-terminated, *len bytes; the caller frees it):
 * 0, or -errno with "path: what" in err (cannot open; not a regular file of at most
 * KXL_CFG_MAX_FILE bytes; out of memory). */
int kxl_cfg_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);
/* Reads a file (kxl_cfg_read_file) and parses it; -errno with the reason in err. */
int kxl_cfg_parse_file(struct kxl_cfg *cfg, const char *path, char *err, size_t errlen);
/* The last assignment of key, or NULL. */
const struct kxl_cfg_entry *kxl_cfg_get(const struct kxl_cfg *cfg, const char *key);

enum kxl_domain_type { KXL_TYPE_PV, KXL_TYPE_PVH, KXL_TYPE_HVM };

/* What to do when the domain stops for a reason (Xen's on_* actions). */
enum kxl_action {
    KXL_ACTION_DESTROY,
    KXL_ACTION_RESTART,
    KXL_ACTION_RENAME_RESTART,
    KXL_ACTION_PRESERVE,
    KXL_ACTION_COREDUMP_DESTROY,
    KXL_ACTION_COREDUMP_RESTART,
    KXL_ACTION_SOFT_RESET,
};

enum kxl_disk_format {
    KXL_DISK_RAW,
    KXL_DISK_QCOW,
    KXL_DISK_QCOW2,
    KXL_DISK_VHD,
    KXL_DISK_QED,
    KXL_DISK_EMPTY
};
enum kxl_disk_backendtype { KXL_DISK_BT_AUTO, KXL_DISK_BT_PHY, KXL_DISK_BT_QDISK, KXL_DISK_BT_TAP };

struct kxl_disk {
    char *target;         /* NULL for an empty cdrom */
    char *vdev;           /* xvda, hdc, sdb, d0p1 ... */
    uint32_t virtual_dev; /* Xen's encoded device number (docs/vbd-interface facts) */
    enum kxl_disk_format format;
    enum kxl_disk_backendtype backendtype;
    bool readwrite;
    bool cdrom;
    char *backend; /* backend domain name, NULL = dom0 */
    char *script;
    bool no_discard;     /* no-discard: discard-enable=0 */
    bool direct_io_safe; /* direct-io-safe: direct-io-safe=1 */
};

struct kxl_vif {
    bool has_mac;
    uint8_t mac[6];
    char *bridge, *ip, *script, *vifname, *model, *backend, *rate;
    bool type_ioemu; /* type=ioemu (emulated NIC) rather than vif */
};

/* The emulated PC of a type "hvm" domain (Xen's HVM keys). */
#define KXL_HVM_BIOS_DEFAULT "/usr/share/seabios/bios.bin" /* Debian's seabios package */
struct kxl_hvm {
    char *firmware;        /* firmware image: bios_path_override, else SeaBIOS */
    char boot[5];          /* boot order: letters of "acdn" (Xen's default "cd") */
    bool serial_pty;       /* serial = "pty": COM1 on a pty (xl console -t serial) */
    bool xen_platform_pci; /* the Xen platform PCI device (default on) */
    bool acpi;             /* ACPI: the PM device, the power button, tables (default on) */
};

struct kxl_domain_config {
    char name[KXL_NAME_MAX + 1];
    bool has_uuid;
    uint8_t uuid[16];
    enum kxl_domain_type type;
    uint64_t memory_mb;
    uint64_t maxmem_mb;
    unsigned vcpus;
    char *kernel;  /* path as written in the file */
    char *ramdisk; /* path or NULL: handed to the guest as its initial ramdisk */
    char *cmdline; /* cmdline, else root + extra */
    enum kxl_action on_poweroff, on_reboot, on_crash, on_watchdog;
    bool driver_domain; /* driver_domain=1: serves backends, owns its backend tree */
    struct kxl_disk *disks;
    size_t nr_disks;
    struct kxl_vif *vifs;
    size_t nr_vifs;
    struct kxl_hvm hvm; /* type "hvm" only */
};

/* Builds the domain config from a parsed cfg, validating every known key (unknown keys are
 * ignored, as Xen's xl does). Returns 0, -EINVAL with "file:line: what" in err, -ENOMEM. */
int kxl_domain_config_from_cfg(struct kxl_domain_config *dc, const struct kxl_cfg *cfg, char *err,
                               size_t errlen);
void kxl_domain_config_free(struct kxl_domain_config *dc);

/* Single-value parsers shared with xl's command line. Return 0 or -EINVAL. */
int kxl_parse_action(const char *s, enum kxl_action *out);
const char *kxl_action_name(enum kxl_action a);
const char *kxl_domain_type_name(enum kxl_domain_type t);
int kxl_parse_uuid(const char *s, uint8_t uuid[16]);
void kxl_format_uuid(const uint8_t uuid[16], char out[37]);
int kxl_validate_domain_name(const char *name, char *why, size_t whylen);
/* Disk and vif specs (one list item each). On error, `why` says what is wrong. */
int kxl_parse_disk_spec(const char *spec, struct kxl_disk *disk, char *why, size_t whylen);
void kxl_disk_free(struct kxl_disk *disk);
int kxl_parse_vif_spec(const char *spec, struct kxl_vif *vif, char *why, size_t whylen);
void kxl_vif_free(struct kxl_vif *vif);

#endif
