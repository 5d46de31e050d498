/* QEMU's firmware configuration interface ("fw-cfg" model), the one source of machine facts
 * SeaBIOS trusts on a QEMU-like PC: the selector port 0x510 (16-bit write), the data port 0x511
 * (byte reads, each advancing the offset into the selected item) and the DMA address
 * register at 0x514-0x51b (big-endian; writing its low half at 0x518 runs the transfer the
 * descriptor at that guest address asks for). Items: the signature "QEMU", the ID (plain and
 * DMA interfaces), RAM size, CPU count, the file directory, and the files etc/e820 and, with
 * acpi=1, etc/acpi/rsdp, etc/acpi/tables and etc/table-loader: the emulated PC's ACPI tables
 * (hvm_acpi_build(), as the direct kernel boot writes them) with the loader commands that tell
 * SeaBIOS where to put them and which address fields and checksums to fix.
 *
 * Layouts follow QEMU's fw_cfg specification (docs/hvm.md names the keys): directory entries
 * and the DMA descriptor are big-endian, item contents little-endian.
 * Invariant: the items are built once in create() and never change, so the only guest state
 * is the selector, the offset (never past the selected item's end) and the DMA address's high
 * half; every guest address goes through guest_mem.h and a transfer outside RAM ends with the
 * error bit, never an access. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/guest_mem.h"
#include "kxend/hvm_acpi.h"
#include "kxend/io.h"

#define PORT_SEL 0x510           /* selector (+0), data (+1) */
#define PORT_DMA 0x514           /* address high half (+0), low half (+4) */
#define DMA_SIGNATURE "QEMU CFG" /* what the DMA register reads as, byte by byte */

/* Selector bits: bit 15 picks the architecture's own keys, bit 14 asked for writes in old
 * versions (ignored: nothing here is writable); the rest is the key. */
#define SEL_ARCH 0x8000u
#define SEL_WRITE 0x4000u
#define KEY_SIGNATURE 0x00
#define KEY_ID 0x01
#define KEY_RAM_SIZE 0x03
#define KEY_NB_CPUS 0x05
#define KEY_MAX_CPUS 0x0f
#define KEY_FILE_DIR 0x19
#define KEY_FILE_FIRST 0x20
#define ID_TRADITIONAL 0x1u
#define ID_DMA 0x2u

/* DMA control bits (the descriptor's first be32; the selector in its top 16 bits). */
#define DMA_ERROR 0x01u
#define DMA_READ 0x02u
#define DMA_SKIP 0x04u
#define DMA_SELECT 0x08u
#define DMA_WRITE 0x10u
#define DMA_DESC_LEN 16 /* be32 control, be32 length, be64 address */

/* The table loader's commands (128 bytes each, little-endian), as SeaBIOS executes them. */
#define LOADER_ENTRY 128
#define LOADER_FILESZ 56
#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define ZONE_HIGH 1 /* RAM SeaBIOS keeps reserved below the top of low RAM */
#define ZONE_FSEG 2 /* 0xf0000-0xfffff, where an OS looks for the RSDP */

#define FILE_NAME_LEN 56
#define DIR_ENTRY 64 /* be32 size, be16 select, be16 reserved, name */
#define E820_ENTRY 20
#define E820_RAM 1
#define E820_RESERVED 2
#define GiB4 (1ull << 32)

#define MAX_ITEMS 12
#define MAX_FILES 4

struct item {
    uint16_t key;
    const char *name; /* a file's name, NULL for a numbered key */
    uint8_t *data;    /* owned */
    uint32_t len;
};

struct fw_cfg_save { /* the guest-visible state (hypervisor/devices/README.md) */
    uint16_t selector;
    uint16_t pad0;
    uint32_t offset;
    uint32_t dma_high;
    uint32_t pad1;
};
_Static_assert(sizeof(struct fw_cfg_save) == 16, "fw-cfg save body is 16 bytes");

struct fw_cfg {
    struct domain *d;
    struct io_region *sel_port, *dma_port;
    struct item items[MAX_ITEMS];
    unsigned nr_items;
    pthread_mutex_t lock; /* vCPUs of one domain use the ports concurrently */
    uint16_t selector;
    uint32_t offset;   /* into the selected item; at most its length */
    uint32_t dma_high; /* the address's high half, until the low half's write uses it */
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t bswap32(uint32_t v)
{
    return __builtin_bswap32(v);
}

/* ---- the items, built once ---- */

/* Adds an item that takes ownership of data (freed on failure too). */
static int item_add(struct fw_cfg *f, uint16_t key, const char *name, uint8_t *data, uint32_t len)
{
    if (f->nr_items == MAX_ITEMS) {
        free(data);
        return -ENOSPC;
    }
    f->items[f->nr_items++] = (struct item){key, name, data, len};
    return 0;
}

static int item_bytes(struct fw_cfg *f, uint16_t key, const void *bytes, uint32_t len)
{
    uint8_t *p = malloc(len);
    if (!p)
        return -ENOMEM;
    memcpy(p, bytes, len);
    return item_add(f, key, NULL, p, len);
}

/* The selected item, or NULL for a key nothing answers (reads as zeros). */
static const struct item *item_find(const struct fw_cfg *f, uint16_t selector)
{
    uint16_t key = selector & (uint16_t)~SEL_WRITE;
    for (unsigned i = 0; i < f->nr_items; i++)
        if (f->items[i].key == key)
            return &f->items[i];
    return NULL;
}

static uint32_t item_len(const struct fw_cfg *f, uint16_t selector)
{
    const struct item *it = item_find(f, selector);
    return it ? it->len : 0;
}

struct machine {
    uint64_t lowmem, highmem; /* RAM the guest may use below and above 4 GiB */
    bool acpi;
};

/* etc/e820: RAM below 4 GiB from 0 (SeaBIOS carves out the legacy holes itself, as on a PC),
 * the pages above it that kxend keeps for the guest's Xen interface reserved, RAM above 4 GiB. */
static int e820_file(const struct machine *m, uint64_t ram_size, uint8_t **out, uint32_t *len)
{
    uint8_t *e = calloc(3, E820_ENTRY);
    if (!e)
        return -ENOMEM;
    unsigned n = 0;
    const uint64_t map[3][3] = {
        {0, m->lowmem, E820_RAM},
        {m->lowmem, ram_size > m->lowmem ? ram_size - m->lowmem : 0, E820_RESERVED},
        {GiB4, m->highmem, E820_RAM}};
    for (unsigned i = 0; i < 3; i++) {
        if (!map[i][1])
            continue;
        put64(e + n * E820_ENTRY, map[i][0]);
        put64(e + n * E820_ENTRY + 8, map[i][1]);
        put32(e + n * E820_ENTRY + 16, (uint32_t)map[i][2]);
        n++;
    }
    *out = e;
    *len = n * E820_ENTRY;
    return 0;
}

static uint8_t *loader_cmd(uint8_t *at, uint32_t cmd, const char *file)
{
    put32(at, cmd);
    snprintf((char *)at + 4, LOADER_FILESZ, "%s", file);
    return at + 4 + LOADER_FILESZ;
}

/* etc/acpi/tables is the whole image (the RSDP's bytes zeroed: SeaBIOS places the RSDP from
 * etc/acpi/rsdp in the F segment), built for address 0 so every pointer field holds its
 * target's offset in the file; the loader adds the file's address to each and then fixes the
 * checksums of the tables that hold them. */
#define ACPI_RSDP_FILE "etc/acpi/rsdp"
#define ACPI_TABLES_FILE "etc/acpi/tables"
#define LOADER_FILE "etc/table-loader"
#define LOADER_MAX_CMDS (2 + 3 * 8) /* two allocations, per pointer one addition and two sums */

static int acpi_files(struct fw_cfg *f, unsigned nr_vcpus)
{
    uint8_t *img = malloc(HVM_ACPI_IMAGE_MAX);
    uint8_t *rsdp = malloc(HVM_ACPI_RSDP_LEN);
    uint8_t *ld = calloc(LOADER_MAX_CMDS, LOADER_ENTRY);
    int len = img ? hvm_acpi_build(img, HVM_ACPI_IMAGE_MAX, 0, nr_vcpus) : -ENOMEM;
    if (len < 0 || !rsdp || !ld || hvm_acpi_nr_pointers > 8) {
        free(img), free(rsdp), free(ld);
        return len < 0 ? len : -ENOMEM;
    }
    memcpy(rsdp, img + HVM_ACPI_RSDP, HVM_ACPI_RSDP_LEN);
    memset(img + HVM_ACPI_RSDP, 0, HVM_ACPI_RSDP_LEN);

    uint8_t *c = ld;
    uint8_t *p = loader_cmd(c, LOADER_ALLOCATE, ACPI_RSDP_FILE);
    put32(p, 16), p[4] = ZONE_FSEG;
    p = loader_cmd(c += LOADER_ENTRY, LOADER_ALLOCATE, ACPI_TABLES_FILE);
    put32(p, 64), p[4] = ZONE_HIGH; /* the FACS must be 64-byte aligned */
    for (unsigned i = 0; i < hvm_acpi_nr_pointers; i++) {
        const struct hvm_acpi_pointer *ptr = &hvm_acpi_pointers[i];
        bool in_rsdp = ptr->table == HVM_ACPI_RSDP;
        p = loader_cmd(c += LOADER_ENTRY, LOADER_ADD_POINTER,
                       in_rsdp ? ACPI_RSDP_FILE : ACPI_TABLES_FILE);
        snprintf((char *)p, LOADER_FILESZ, "%s", ACPI_TABLES_FILE);
        put32(p + LOADER_FILESZ, ptr->field - (in_rsdp ? HVM_ACPI_RSDP : 0));
        p[LOADER_FILESZ + 4] = ptr->size;
        /* The checksums once the table's last pointer is patched (the list is in table order). */
        if (i + 1 < hvm_acpi_nr_pointers && hvm_acpi_pointers[i + 1].table == ptr->table)
            continue;
        uint32_t sums[2][3] = {{HVM_ACPI_RSDP_SUM, 0, 20}, {HVM_ACPI_RSDP_EXT_SUM, 0, 36}};
        unsigned nsums = 2;
        if (!in_rsdp) { /* a standard header: checksum at +9 over the length at +4 */
            uint32_t tlen = (uint32_t)img[ptr->table + 4] | (uint32_t)img[ptr->table + 5] << 8 |
                            (uint32_t)img[ptr->table + 6] << 16 |
                            (uint32_t)img[ptr->table + 7] << 24;
            sums[0][0] = ptr->table + 9, sums[0][1] = ptr->table, sums[0][2] = tlen;
            nsums = 1;
        }
        for (unsigned s = 0; s < nsums; s++) {
            p = loader_cmd(c += LOADER_ENTRY, LOADER_ADD_CHECKSUM,
                           in_rsdp ? ACPI_RSDP_FILE : ACPI_TABLES_FILE);
            put32(p, sums[s][0]), put32(p + 4, sums[s][1]), put32(p + 8, sums[s][2]);
        }
    }
    uint32_t ld_len = (uint32_t)(c + LOADER_ENTRY - ld);
    int rc = item_add(f, 0, ACPI_RSDP_FILE, rsdp, HVM_ACPI_RSDP_LEN);
    if (rc == 0)
        rc = item_add(f, 0, ACPI_TABLES_FILE, img, (uint32_t)len);
    else
        free(img);
    if (rc == 0)
        rc = item_add(f, 0, LOADER_FILE, ld, ld_len);
    else
        free(ld);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct item *const *)a)->name, (*(const struct item *const *)b)->name);
}

/* Numbers the files in name order from KEY_FILE_FIRST and writes the directory. */
static int file_dir(struct fw_cfg *f)
{
    struct item *files[MAX_FILES];
    unsigned n = 0;
    for (unsigned i = 0; i < f->nr_items; i++)
        if (f->items[i].name)
            files[n++] = &f->items[i];
    qsort(files, n, sizeof(files[0]), name_cmp);
    uint32_t len = 4 + n * DIR_ENTRY;
    uint8_t *dir = calloc(1, len);
    if (!dir)
        return -ENOMEM;
    put_be32(dir, n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = dir + 4 + i * DIR_ENTRY;
        files[i]->key = (uint16_t)(KEY_FILE_FIRST + i);
        put_be32(e, files[i]->len);
        put_be16(e + 4, files[i]->key);
        snprintf((char *)e + 8, FILE_NAME_LEN, "%s", files[i]->name);
    }
    return item_add(f, KEY_FILE_DIR, NULL, dir, len);
}

static int items_build(struct fw_cfg *f, const struct machine *m)
{
    struct domain *d = f->d;
    uint8_t id[4], ram[8], cpus[2];
    put32(id, ID_TRADITIONAL | ID_DMA);
    put64(ram, m->lowmem + m->highmem);
    put16(cpus, (uint16_t)d->nr_vcpus);
    int rc;
    if ((rc = item_bytes(f, KEY_SIGNATURE, "QEMU", 4)) < 0 ||
        (rc = item_bytes(f, KEY_ID, id, 4)) < 0 || (rc = item_bytes(f, KEY_RAM_SIZE, ram, 8)) < 0 ||
        (rc = item_bytes(f, KEY_NB_CPUS, cpus, 2)) < 0 ||
        (rc = item_bytes(f, KEY_MAX_CPUS, cpus, 2)) < 0)
        return rc;
    uint8_t *e820;
    uint32_t e820_len;
    if ((rc = e820_file(m, d->ram_size, &e820, &e820_len)) < 0 ||
        (rc = item_add(f, 0, "etc/e820", e820, e820_len)) < 0)
        return rc;
    if (m->acpi && (rc = acpi_files(f, d->nr_vcpus)) < 0)
        return rc;
    return file_dir(f);
}

/* ---- the guest's side ---- */

static void select_locked(struct fw_cfg *f, uint16_t selector)
{
    f->selector = selector;
    f->offset = 0;
}

/* Reads up to len bytes of the selected item at the offset into dst, advancing the offset;
 * the rest of dst (past the item's end, or all of it for a missing key) is zeroed. */
static void read_locked(struct fw_cfg *f, uint8_t *dst, uint64_t len)
{
    const struct item *it = item_find(f, f->selector);
    uint64_t n = 0;
    if (it && f->offset < it->len) { /* Buggy or malicious guest: never past the item. */
        n = it->len - f->offset < len ? it->len - f->offset : len;
        memcpy(dst, it->data + f->offset, n);
        f->offset += (uint32_t)n;
    }
    memset(dst + n, 0, len - n);
}

static uint64_t sel_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fw_cfg *f = opaque;
    if (offset != 1 || size != 1) /* the selector reads as zero, as QEMU's does */
        return 0;
    uint8_t b;
    pthread_mutex_lock(&f->lock);
    read_locked(f, &b, 1);
    pthread_mutex_unlock(&f->lock);
    return b;
}

/* Data port writes are ignored (QEMU's since 2.4): no item is writable. */
static void sel_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct fw_cfg *f = opaque;
    if (offset != 0 || size != 2)
        return;
    pthread_mutex_lock(&f->lock);
    select_locked(f, (uint16_t)val);
    pthread_mutex_unlock(&f->lock);
}

/* The descriptor at gpa (guest-controlled, as is everything it names). A descriptor outside
 * RAM cannot even report its error: the transfer is dropped. */
static void dma_run_locked(struct fw_cfg *f, uint64_t gpa)
{
    uint8_t desc[DMA_DESC_LEN];
    if (copy_from_guest_phys(f->d, desc, gpa, sizeof(desc)) < 0)
        return;
    uint32_t control = get_be32(desc), length = get_be32(desc + 4);
    uint64_t addr = (uint64_t)get_be32(desc + 8) << 32 | get_be32(desc + 12);
    if (control & DMA_SELECT)
        select_locked(f, (uint16_t)(control >> 16));
    uint32_t result = 0;
    if (control & DMA_READ) {
        /* Buggy or malicious guest: the whole destination must be RAM, else nothing moves. */
        uint8_t *dst = guest_phys_ptr(f->d, addr, length);
        if (dst) {
            read_locked(f, dst, length);
            guest_mark_dirty(f->d, addr, length);
        } else {
            result = DMA_ERROR;
        }
    } else if (control & DMA_WRITE) {
        result = DMA_ERROR; /* nothing is writable */
    } else if (control & DMA_SKIP) {
        uint32_t left = item_len(f, f->selector) - f->offset;
        f->offset += length < left ? length : left;
    }
    uint8_t done[4];
    put_be32(done, result);
    copy_to_guest_phys(f->d, gpa, done, sizeof(done));
}

static uint64_t dma_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && offset + i < 8; i++)
        v |= (uint64_t)(uint8_t)DMA_SIGNATURE[offset + i] << (8 * i);
    return v;
}

/* The address is written big-endian, high half first; the low half starts the transfer and
 * clears the high half, so a firmware that writes only the low half (SeaBIOS) gets an
 * address below 4 GiB. */
static void dma_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct fw_cfg *f = opaque;
    if (size != 4 || (offset != 0 && offset != 4))
        return;
    pthread_mutex_lock(&f->lock);
    if (offset == 0) {
        f->dma_high = bswap32((uint32_t)val);
    } else {
        uint64_t gpa = (uint64_t)f->dma_high << 32 | bswap32((uint32_t)val);
        f->dma_high = 0;
        dma_run_locked(f, gpa);
    }
    pthread_mutex_unlock(&f->lock);
}

static const struct io_region_ops sel_ops = {"fw-cfg", sel_read, sel_write};
static const struct io_region_ops dma_ops = {"fw-cfg-dma", dma_read, dma_write};

/* ---- the model ---- */

static int opt(void *ctx, const char *key, const char *val)
{
    struct machine *m = ctx;
    uint64_t v;
    if (!strcmp(key, "lowmem"))
        return dev_opt_u64(val, GiB4, &m->lowmem);
    if (!strcmp(key, "highmem"))
        return dev_opt_u64(val, 1ull << 52, &m->highmem);
    if (!strcmp(key, "acpi")) {
        int rc = dev_opt_u64(val, 1, &v);
        m->acpi = rc == 0 && v;
        return rc;
    }
    return -EINVAL;
}

static void fw_cfg_destroy(struct domain *d, void *state)
{
    (void)d;
    struct fw_cfg *f = state;
    if (!f)
        return;
    io_region_unregister(f->sel_port);
    io_region_unregister(f->dma_port);
    for (unsigned i = 0; i < f->nr_items; i++)
        free(f->items[i].data);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static int fw_cfg_create(struct domain *d, const char *options, void **state)
{
    struct machine m = {.lowmem = d->ram_size};
    int rc = dev_opts_each(options, opt, &m);
    if (rc < 0)
        return rc;
    if (m.lowmem > d->ram_size || m.lowmem == 0)
        return -EINVAL;
    struct fw_cfg *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->d = d;
    pthread_mutex_init(&f->lock, NULL);
    if ((rc = items_build(f, &m)) < 0 ||
        (rc = io_register_port(d, PORT_SEL, 2, &sel_ops, f, &f->sel_port)) < 0 ||
        (rc = io_register_port(d, PORT_DMA, 8, &dma_ops, f, &f->dma_port)) < 0) {
        fw_cfg_destroy(d, f);
        return rc;
    }
    *state = f;
    return 0;
}

static int fw_cfg_save(void *state, void *buf, uint32_t cap)
{
    struct fw_cfg *f = state;
    struct fw_cfg_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pthread_mutex_lock(&f->lock);
    s.selector = f->selector;
    s.offset = f->offset;
    s.dma_high = f->dma_high;
    pthread_mutex_unlock(&f->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int fw_cfg_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct fw_cfg *f = state;
    struct fw_cfg_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    if (s.pad0 || s.pad1) {
        snprintf(why, whylen, "padding is not zero");
        return -EINVAL;
    }
    /* The items are the same as the saved instance's (same options, same vCPUs). */
    if (s.offset > item_len(f, s.selector)) {
        snprintf(why, whylen, "offset %u is past item %#x's %u bytes", s.offset, s.selector,
                 item_len(f, s.selector));
        return -EINVAL;
    }
    pthread_mutex_lock(&f->lock);
    f->selector = s.selector;
    f->offset = s.offset;
    f->dma_high = s.dma_high;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static const struct device_model fw_cfg_model = {
    .name = "fw-cfg",
    .order = 30,
    .create = fw_cfg_create,
    .destroy = fw_cfg_destroy,
    .save = fw_cfg_save,
    .load = fw_cfg_load,
};
DEVICE_MODEL_REGISTER(fw_cfg_model);
