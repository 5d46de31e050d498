/* The PIIX3 IDE controller at 00:01.1 (8086:7010, "piix3-ide" model): two channels in legacy
 * mode (0x1F0-0x1F7/0x3F6 on IRQ 14, 0x170-0x177/0x376 on IRQ 15), up to two raw-image disks
 * each, and bus-master DMA through BAR4 with PRD tables in guest memory. The unplug protocol
 * detaches the disks (the controller stays, its drive ports then read as "no device").
 *
 * Invariants: every PRD entry and every buffer it names is checked against guest RAM before
 * use; one that is not RAM stops the transfer with the bus master's error bit and an aborted
 * command, never a host access. A channel's interrupt line is high exactly while a drive
 * asserts INTRQ and device control's nIEN is clear. Xen has no save record for IDE (its
 * device model keeps one), so the state is struct ide_channel. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices.h"
#include "ide.h"
#include "kxend/device.h"
#include "kxend/guest_mem.h"
#include "kxend/io.h"
#include "kxend/irq.h"
#include "pci.h"

#define BM_MAX_PRDS 8192 /* a PRD table lives in one 64 KiB region: 8-byte entries */

struct ide {
    struct pci_function fn;
    struct ide_channel ch[2];
    struct io_region *cmd_region[2], *ctl_region[2];
};

static const uint16_t cmd_base[2] = {0x1f0, 0x170};
static const uint16_t ctl_port[2] = {0x3f6, 0x376};
static const unsigned chan_irq[2] = {14, 15};

void ide_irq_update(struct ide_channel *ch)
{
    bool level = ch->intrq && !(ch->ctl & ATA_CTL_NIEN);
    if (ch->intrq)
        ch->bm_status |= BM_ST_INTR;
    if (level != ch->line_up) {
        ch->line_up = level;
        domain_irq_set_level(ch->d, ch->irq, level);
    }
}

void ide_raise(struct ide_channel *ch)
{
    if (ch->line_up) {
        ch->line_up = false;
        domain_irq_set_level(ch->d, ch->irq, false);
    }
    ch->intrq = true;
    ide_irq_update(ch);
}

static bool channel_empty(const struct ide_channel *ch)
{
    return ch->drive[0].fd < 0 && ch->drive[1].fd < 0;
}

/* ---- Bus master DMA -----------------------------------------------------------------------*/

static void dma_fail(struct ide_channel *ch, uint8_t bm_bits, uint8_t ata_err)
{
    ch->bm_status = (ch->bm_status & ~BM_ST_ACTIVE) | bm_bits;
    ide_finish(ch, ata_err);
}

void ide_dma_run(struct ide_channel *ch)
{
    if (ch->xfer != XFER_DMA || !(ch->bm_cmd & BM_CMD_START))
        return;
    struct ide_drive *dr = &ch->drive[ch->sel];
    /* The bus master's direction must match the command's, or the data would go nowhere. */
    if (!!(ch->bm_cmd & BM_CMD_TO_MEMORY) == ch->xfer_write) {
        dma_fail(ch, BM_ST_ERROR, ATA_ER_ABRT);
        return;
    }
    ch->bm_status |= BM_ST_ACTIVE;
    uint64_t bytes = ch->left * IDE_SECTOR, off = ch->lba * IDE_SECTOR;
    uint64_t prd = ch->bm_prd;
    bool eot = false;
    for (unsigned n = 0; bytes && !eot; n++) {
        uint8_t e[8];
        /* Buggy or malicious guest: a table outside RAM or one that never ends. */
        if (n == BM_MAX_PRDS || copy_from_guest_phys(ch->d, e, prd, sizeof(e)) < 0) {
            dma_fail(ch, BM_ST_ERROR, ATA_ER_ABRT);
            return;
        }
        prd += sizeof(e);
        uint64_t addr = (uint64_t)e[0] | e[1] << 8 | e[2] << 16 | (uint64_t)e[3] << 24;
        uint64_t len = (uint64_t)e[4] | e[5] << 8;
        if (!len)
            len = 0x10000;
        eot = e[7] & 0x80;
        if (len > bytes)
            len = bytes;
        void *p = guest_phys_ptr(ch->d, addr, len);
        if (!p) { /* Buggy or malicious guest: a buffer that is not RAM. */
            dma_fail(ch, BM_ST_ERROR, ATA_ER_ABRT);
            return;
        }
        ssize_t done =
            ch->xfer_write ? pwrite(dr->fd, p, len, (off_t)off) : pread(dr->fd, p, len, (off_t)off);
        if (done != (ssize_t)len) {
            dma_fail(ch, 0, ch->xfer_write ? ATA_ER_ABRT : ATA_ER_UNC);
            return;
        }
        if (!ch->xfer_write)
            guest_mark_dirty(ch->d, addr, len);
        bytes -= len;
        off += len;
    }
    if (bytes) { /* the table ended before the transfer: a PRD underrun */
        dma_fail(ch, BM_ST_ERROR, ATA_ER_ABRT);
        return;
    }
    ch->lba += ch->left;
    ch->left = 0;
    /* A table longer than the transfer leaves the bus master active, as the PIIX does. */
    if (eot)
        ch->bm_status &= ~BM_ST_ACTIVE;
    ide_finish(ch, 0);
}

static uint64_t bm_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ide *ide = opaque;
    if (offset >= 16)
        return ~0ull;
    struct ide_channel *ch = &ide->ch[offset / 8];
    unsigned reg = offset % 8;
    pthread_mutex_lock(&ch->lock);
    uint8_t regs[8] = {ch->bm_cmd,
                       0,
                       ch->bm_status,
                       0,
                       ch->bm_prd & 0xff,
                       (ch->bm_prd >> 8) & 0xff,
                       (ch->bm_prd >> 16) & 0xff,
                       ch->bm_prd >> 24};
    pthread_mutex_unlock(&ch->lock);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)(reg + i < 8 ? regs[reg + i] : 0xff) << (8 * i);
    return v;
}

static void bm_write_byte(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    switch (reg) {
    case 0: {
        uint8_t old = ch->bm_cmd;
        ch->bm_cmd = v & (BM_CMD_START | BM_CMD_TO_MEMORY);
        if (old & BM_CMD_START && !(v & BM_CMD_START))
            ch->bm_status &= ~BM_ST_ACTIVE; /* stop: the transfer is abandoned */
        else if (!(old & BM_CMD_START) && v & BM_CMD_START)
            ide_dma_run(ch);
        break;
    }
    case 2: /* bits 5-6 drive DMA capable; interrupt and error are write-one-to-clear */
        ch->bm_status = (ch->bm_status & ~(0x60 | (v & (BM_ST_INTR | BM_ST_ERROR)))) | (v & 0x60);
        break;
    case 4:
    case 5:
    case 6:
    case 7: {
        unsigned shift = 8 * (reg - 4);
        ch->bm_prd = ((ch->bm_prd & ~(0xffu << shift)) | (uint32_t)v << shift) & ~3u;
        break;
    }
    }
}

static void bm_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct ide *ide = opaque;
    if (offset >= 16)
        return;
    struct ide_channel *ch = &ide->ch[offset / 8];
    pthread_mutex_lock(&ch->lock);
    /* PRD address bytes first, the command byte last: a dword write that starts the engine
     * already names its table. */
    for (unsigned i = size; i-- > 0;)
        if (offset % 8 + i < 8)
            bm_write_byte(ch, (unsigned)(offset % 8 + i), (val >> (8 * i)) & 0xff);
    pthread_mutex_unlock(&ch->lock);
}

static const struct io_region_ops bm_ops = {"ide-busmaster", bm_read, bm_write};

/* ---- Taskfile ports -----------------------------------------------------------------------*/

static uint8_t reg_read(const struct ide_channel *ch, const struct ide_reg *r)
{
    return ch->ctl & ATA_CTL_HOB ? r->prev : r->cur;
}

static void reg_write(struct ide_channel *ch, struct ide_reg *r, uint8_t v)
{
    r->prev = r->cur;
    r->cur = v;
    ch->ctl &= ~ATA_CTL_HOB;
}

static uint64_t cmd_read(struct ide_channel *ch, uint64_t offset, unsigned size)
{
    uint64_t ones = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    if (channel_empty(ch)) /* nothing drives the bus: it floats high */
        return ones;
    if (offset == 0)
        return ide_data_read(ch, size);
    if (size != 1 || offset > 7)
        return ones;
    if (ch->drive[ch->sel].fd < 0)
        return offset == 6 ? (ch->device | 0xa0) : 0; /* the absent drive of a pair */
    switch (offset) {
    case 1:
        return ch->error;
    case 2:
        return reg_read(ch, &ch->nsect);
    case 3:
        return reg_read(ch, &ch->lbal);
    case 4:
        return reg_read(ch, &ch->lbam);
    case 5:
        return reg_read(ch, &ch->lbah);
    case 6:
        return ch->device | 0xa0;
    default: /* status: reading it acknowledges the interrupt */
        ch->intrq = false;
        ide_irq_update(ch);
        return ch->status;
    }
}

static void cmd_write(struct ide_channel *ch, uint64_t offset, unsigned size, uint64_t val)
{
    if (offset == 0) {
        if (!channel_empty(ch))
            ide_data_write(ch, size, (uint32_t)val);
        return;
    }
    if (size != 1 || offset > 7)
        return;
    uint8_t v = (uint8_t)val;
    switch (offset) {
    case 1:
        reg_write(ch, &ch->feature, v);
        break;
    case 2:
        reg_write(ch, &ch->nsect, v);
        break;
    case 3:
        reg_write(ch, &ch->lbal, v);
        break;
    case 4:
        reg_write(ch, &ch->lbam, v);
        break;
    case 5:
        reg_write(ch, &ch->lbah, v);
        break;
    case 6:
        ch->device = v & 0x5f;
        ch->sel = (v >> 4) & 1;
        break;
    default:
        ide_command(ch, v);
    }
}

static void soft_reset(struct ide_channel *ch)
{
    ch->xfer = XFER_NONE;
    ch->left = 0;
    ch->buf_pos = ch->buf_len = 0;
    ch->sel = 0;
    ch->device = 0;
    ide_set_signature(ch);
    ch->status = ATA_ST_DRDY | ATA_ST_DSC;
    ch->error = 0x01; /* diagnostics passed */
    ch->intrq = false;
}

static void ctl_write_locked(struct ide_channel *ch, uint8_t v)
{
    if (v & ATA_CTL_SRST && !(ch->ctl & ATA_CTL_SRST))
        soft_reset(ch);
    ch->ctl = v & (ATA_CTL_NIEN | ATA_CTL_SRST | ATA_CTL_HOB);
    ide_irq_update(ch);
}

#define CHANNEL_OPS(n)                                                                             \
    static uint64_t cmd_read##n(void *o, uint64_t off, unsigned size)                              \
    {                                                                                              \
        struct ide_channel *ch = &((struct ide *)o)->ch[n];                                        \
        pthread_mutex_lock(&ch->lock);                                                             \
        uint64_t v = cmd_read(ch, off, size);                                                      \
        pthread_mutex_unlock(&ch->lock);                                                           \
        return v;                                                                                  \
    }                                                                                              \
    static void cmd_write##n(void *o, uint64_t off, unsigned size, uint64_t val)                   \
    {                                                                                              \
        struct ide_channel *ch = &((struct ide *)o)->ch[n];                                        \
        pthread_mutex_lock(&ch->lock);                                                             \
        cmd_write(ch, off, size, val);                                                             \
        pthread_mutex_unlock(&ch->lock);                                                           \
    }                                                                                              \
    static uint64_t ctl_read##n(void *o, uint64_t off, unsigned size)                              \
    {                                                                                              \
        struct ide_channel *ch = &((struct ide *)o)->ch[n];                                        \
        if (off || size != 1)                                                                      \
            return ~0ull;                                                                          \
        pthread_mutex_lock(&ch->lock); /* alternate status: no acknowledgement */                  \
        uint64_t v = channel_empty(ch) ? 0xff : ch->drive[ch->sel].fd < 0 ? 0 : ch->status;        \
        pthread_mutex_unlock(&ch->lock);                                                           \
        return v;                                                                                  \
    }                                                                                              \
    static void ctl_write##n(void *o, uint64_t off, unsigned size, uint64_t val)                   \
    {                                                                                              \
        struct ide_channel *ch = &((struct ide *)o)->ch[n];                                        \
        if (off || size != 1)                                                                      \
            return;                                                                                \
        pthread_mutex_lock(&ch->lock);                                                             \
        ctl_write_locked(ch, (uint8_t)val);                                                        \
        pthread_mutex_unlock(&ch->lock);                                                           \
    }                                                                                              \
    static const struct io_region_ops cmd_ops##n = {"ide-cmd", cmd_read##n, cmd_write##n};         \
    static const struct io_region_ops ctl_ops##n = {"ide-ctl", ctl_read##n, ctl_write##n}

CHANNEL_OPS(0);
CHANNEL_OPS(1);
static const struct io_region_ops *const cmd_ops[2] = {&cmd_ops0, &cmd_ops1};
static const struct io_region_ops *const ctl_ops[2] = {&ctl_ops0, &ctl_ops1};

/* ---- Drives, unplug, the model ------------------------------------------------------------*/

static void drive_detach(struct ide_drive *dr)
{
    if (dr->fd >= 0)
        close(dr->fd);
    dr->fd = -1;
    dr->sectors = 0;
}

static void ide_unplug(struct pci_function *f, unsigned mask)
{
    struct ide *ide = f->opaque;
    if (!(mask & (UNPLUG_IDE_DISKS | UNPLUG_AUX_IDE_DISKS)))
        return;
    for (unsigned c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        pthread_mutex_lock(&ch->lock);
        for (unsigned u = 0; u < 2; u++)
            if (mask & UNPLUG_IDE_DISKS || c || u)
                drive_detach(&ch->drive[u]);
        soft_reset(ch);
        ide_irq_update(ch);
        pthread_mutex_unlock(&ch->lock);
    }
}

struct ide_opts {
    const char *path[4];
    bool ro[4];
    char store[4][256];
};

static int ide_opt(void *ctx, const char *key, const char *val)
{
    struct ide_opts *o = ctx;
    if (strlen(key) < 3 || strncmp(key, "hd", 2) || key[2] < 'a' || key[2] > 'd')
        return -EINVAL;
    unsigned i = (unsigned)(key[2] - 'a');
    if (!key[3]) {
        if (!*val)
            return -EINVAL;
        snprintf(o->store[i], sizeof(o->store[i]), "%s", val);
        o->path[i] = o->store[i];
        return 0;
    }
    uint64_t v;
    if (strcmp(key + 3, "-ro") || dev_opt_u64(val, 1, &v))
        return -EINVAL;
    o->ro[i] = v;
    return 0;
}

static int drive_open(struct ide_drive *dr, const char *path, bool ro)
{
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
        close(fd);
        return -EINVAL;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < (off_t)IDE_SECTOR) {
        close(fd);
        return -EINVAL;
    }
    dr->fd = fd;
    dr->ro = ro;
    dr->sectors = (uint64_t)size / IDE_SECTOR;
    return 0;
}

static void ide_free(struct ide *ide)
{
    for (unsigned c = 0; c < 2; c++) {
        io_region_unregister(ide->cmd_region[c]);
        io_region_unregister(ide->ctl_region[c]);
        for (unsigned u = 0; u < 2; u++)
            drive_detach(&ide->ch[c].drive[u]);
        pthread_mutex_destroy(&ide->ch[c].lock);
    }
    free(ide);
}

static int ide_create(struct domain *d, const char *options, void **state)
{
    struct ide_opts *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    int rc = dev_opts_each(options, ide_opt, o);
    struct pci_bus *bus = pci_bus_of(d);
    struct ide *ide = rc ? NULL : calloc(1, sizeof(*ide));
    if (!rc && !bus)
        rc = -ENODEV;
    if (!rc && !ide)
        rc = -ENOMEM;
    if (rc) {
        free(ide);
        free(o);
        return rc;
    }
    for (unsigned c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        pthread_mutex_init(&ch->lock, NULL);
        ch->d = d;
        ch->index = c;
        ch->irq = chan_irq[c];
        ch->drive[0].fd = ch->drive[1].fd = -1;
        soft_reset(ch);
        ch->bm_status = 0x60; /* both drives DMA capable (firmware sets these) */
    }
    for (unsigned i = 0; i < 4 && !rc; i++)
        if (o->path[i])
            rc = drive_open(&ide->ch[i / 2].drive[i % 2], o->path[i], o->ro[i]);
    free(o);
    for (unsigned c = 0; c < 2 && !rc; c++) {
        rc = io_register_port(d, cmd_base[c], 8, cmd_ops[c], ide, &ide->cmd_region[c]);
        if (!rc)
            rc = io_register_port(d, ctl_port[c], 1, ctl_ops[c], ide, &ide->ctl_region[c]);
    }
    if (!rc) {
        struct pci_function *f = &ide->fn;
        pci_config_init(f, 0x8086, 0x7010, 0, 0x010180, 0); /* legacy mode, bus master */
        f->devfn = PCI_DEVFN(1, 1);
        f->opaque = ide;
        f->bars[4] = (struct pci_bar){.size = 16, .io = true, .ops = &bm_ops};
        memset(&f->wmask[0x40], 0xff, 0x10); /* IDE timing registers */
        /* IDETIM's decode-enable bit (15) set on both channels, as a BIOS leaves it: the
         * ports decode regardless here, but Linux's ata_piix skips a channel whose bit is
         * clear, and a kernel booted without firmware (direct boot) finds the reset value. */
        f->config[0x41] = f->config[0x43] = 0x80;
        f->unplug = ide_unplug;
        rc = pci_function_register(bus, f);
    }
    if (rc) {
        ide_free(ide);
        return rc;
    }
    *state = ide;
    return 0;
}

static void ide_destroy(struct domain *d, void *state)
{
    (void)d;
    struct ide *ide = state;
    pci_function_unregister(&ide->fn);
    ide_free(ide);
}

/* ---- Save and restore ---------------------------------------------------------------------
 * A DMA command runs whole within the guest's write of the start bit, so a saved channel is
 * never in the middle of one: it waits for its start bit (XFER_DMA) or has finished. A PIO
 * command is saved with its block buffer and position. */
struct ide_chan_save {
    uint8_t buf[IDE_MAX_MULT * IDE_SECTOR];
    uint64_t lba, left;
    uint32_t buf_pos, buf_len, block, bm_prd;
    uint32_t mult[2];
    uint8_t present[2]; /* the drive is attached (0: never, or unplugged) */
    uint8_t sel, xfer, xfer_write, intrq;
    uint8_t feature[2], nsect[2], lbal[2], lbam[2], lbah[2]; /* cur, prev */
    uint8_t device, status, error, ctl, bm_cmd, bm_status;
    uint8_t pad[2];
};
struct ide_save {
    uint8_t config[256];
    struct ide_chan_save ch[2];
};

static void reg_out(uint8_t out[2], const struct ide_reg *r)
{
    out[0] = r->cur, out[1] = r->prev;
}

static void reg_in(struct ide_reg *r, const uint8_t in[2])
{
    r->cur = in[0], r->prev = in[1];
}

static void chan_save(struct ide_channel *ch, struct ide_chan_save *s)
{
    pthread_mutex_lock(&ch->lock);
    memcpy(s->buf, ch->buf, sizeof(s->buf));
    s->lba = ch->lba, s->left = ch->left;
    s->buf_pos = ch->buf_pos, s->buf_len = ch->buf_len, s->block = ch->block;
    s->bm_prd = ch->bm_prd;
    for (unsigned u = 0; u < 2; u++) {
        s->mult[u] = ch->drive[u].mult;
        s->present[u] = ch->drive[u].fd >= 0;
    }
    s->sel = (uint8_t)ch->sel, s->xfer = (uint8_t)ch->xfer, s->xfer_write = ch->xfer_write;
    s->intrq = ch->intrq;
    reg_out(s->feature, &ch->feature), reg_out(s->nsect, &ch->nsect);
    reg_out(s->lbal, &ch->lbal), reg_out(s->lbam, &ch->lbam), reg_out(s->lbah, &ch->lbah);
    s->device = ch->device, s->status = ch->status, s->error = ch->error, s->ctl = ch->ctl;
    s->bm_cmd = ch->bm_cmd, s->bm_status = ch->bm_status;
    pthread_mutex_unlock(&ch->lock);
}

static int ide_save(void *state, void *buf, uint32_t cap)
{
    struct ide *ide = state;
    struct ide_save *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (cap < sizeof(*s)) {
        free(s);
        return -ENOSPC;
    }
    pci_function_save(&ide->fn, s->config);
    for (unsigned c = 0; c < 2; c++)
        chan_save(&ide->ch[c], &s->ch[c]);
    memcpy(buf, s, sizeof(*s));
    free(s);
    return sizeof(*s);
}

#define CHAN_REFUSE(...)                                                                           \
    do {                                                                                           \
        int n_ = snprintf(why, whylen, "channel %u: ", c);                                         \
        snprintf(why + n_, whylen > (size_t)n_ ? whylen - (size_t)n_ : 0, __VA_ARGS__);            \
        return -EINVAL;                                                                            \
    } while (0)

/* Everything a later command would trust: the drives, the transfer's position and range. */
static int chan_check(const struct ide_channel *ch, const struct ide_chan_save *s, unsigned c,
                      char *why, size_t whylen)
{
    for (unsigned u = 0; u < 2; u++) {
        if (s->present[u] > 1 || (s->present[u] && ch->drive[u].fd < 0))
            CHAN_REFUSE("drive %u is in the image but not in the new domain's disks", u);
        if (s->mult[u] > IDE_MAX_MULT)
            CHAN_REFUSE("drive %u: multiple block size %u > %u", u, s->mult[u], IDE_MAX_MULT);
    }
    if (s->sel > 1 || s->xfer > XFER_DMA || s->xfer_write > 1 || s->intrq > 1)
        CHAN_REFUSE("sel %u, xfer %u, xfer_write %u or intrq %u out of range", s->sel, s->xfer,
                    s->xfer_write, s->intrq);
    if (s->block > IDE_MAX_MULT)
        CHAN_REFUSE("PIO block of %u sectors > %u", s->block, IDE_MAX_MULT);
    if (s->buf_len > sizeof(s->buf) || s->buf_len % IDE_SECTOR || s->buf_pos > s->buf_len)
        CHAN_REFUSE("PIO buffer position %u of %u bytes", s->buf_pos, s->buf_len);
    if (s->xfer == XFER_NONE)
        return 0;
    const struct ide_drive *dr = &ch->drive[s->sel];
    if (!s->present[s->sel])
        CHAN_REFUSE("a transfer on drive %u, which is absent", s->sel);
    /* Buggy or corrupt image: sectors beyond the disk would be read or written. */
    if (s->lba > dr->sectors || s->left > dr->sectors - s->lba)
        CHAN_REFUSE("transfer of %llu sectors at LBA %llu, the disk has %llu",
                    (unsigned long long)s->left, (unsigned long long)s->lba,
                    (unsigned long long)dr->sectors);
    if (s->xfer != XFER_DMA && s->left && !s->block)
        CHAN_REFUSE("a PIO transfer with a block of 0 sectors");
    if (s->xfer == XFER_PIO_OUT && s->buf_len / IDE_SECTOR > s->left)
        CHAN_REFUSE("a PIO write block of %u sectors with %llu left", s->buf_len / IDE_SECTOR,
                    (unsigned long long)s->left);
    return 0;
}
#undef CHAN_REFUSE

static void chan_load(struct ide_channel *ch, const struct ide_chan_save *s)
{
    pthread_mutex_lock(&ch->lock);
    memcpy(ch->buf, s->buf, sizeof(ch->buf));
    ch->lba = s->lba, ch->left = s->left;
    ch->buf_pos = s->buf_pos, ch->buf_len = s->buf_len, ch->block = s->block;
    ch->bm_prd = s->bm_prd;
    for (unsigned u = 0; u < 2; u++) {
        ch->drive[u].mult = s->mult[u];
        if (!s->present[u])
            drive_detach(&ch->drive[u]); /* unplugged on the source */
    }
    ch->sel = s->sel, ch->xfer = (enum ide_xfer)s->xfer, ch->xfer_write = s->xfer_write;
    ch->intrq = s->intrq;
    reg_in(&ch->feature, s->feature), reg_in(&ch->nsect, s->nsect);
    reg_in(&ch->lbal, s->lbal), reg_in(&ch->lbam, s->lbam), reg_in(&ch->lbah, s->lbah);
    ch->device = s->device, ch->status = s->status, ch->error = s->error, ch->ctl = s->ctl;
    ch->bm_cmd = s->bm_cmd, ch->bm_status = s->bm_status;
    ch->line_up = false;
    ide_irq_update(ch);
    pthread_mutex_unlock(&ch->lock);
}

static int ide_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct ide *ide = state;
    if (len != sizeof(struct ide_save)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(struct ide_save));
        return -EINVAL;
    }
    struct ide_save *s = malloc(sizeof(*s));
    if (!s)
        return -ENOMEM;
    memcpy(s, body, sizeof(*s));
    int rc = pci_function_check(&ide->fn, s->config, why, whylen);
    for (unsigned c = 0; c < 2 && rc == 0; c++)
        rc = chan_check(&ide->ch[c], &s->ch[c], c, why, whylen);
    if (rc == 0) {
        for (unsigned c = 0; c < 2; c++)
            chan_load(&ide->ch[c], &s->ch[c]);
        pci_function_load(&ide->fn, s->config);
    }
    free(s);
    return rc;
}

static const struct device_model ide_model = {
    .name = "piix3-ide",
    .order = 40,
    .create = ide_create,
    .destroy = ide_destroy,
    .save = ide_save,
    .load = ide_load,
};
DEVICE_MODEL_REGISTER(ide_model);
