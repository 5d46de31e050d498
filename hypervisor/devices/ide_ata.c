/* The ATA command set of the emulated IDE disks: IDENTIFY DEVICE, READ/WRITE SECTORS and
 * MULTIPLE (PIO, LBA28, LBA48 and CHS), READ/WRITE DMA (handed to the bus master, ide.c),
 * FLUSH CACHE, and the housekeeping commands firmware and Linux issue at probe. Anything else
 * is aborted (status ERR, error ABRT) as a disk that does not implement it would.
 *
 * Invariants: every transfer lies inside the image (checked once when the command starts,
 * IDNF otherwise); a PIO transfer moves whole DRQ blocks through buf; a write to a read-only
 * image is aborted before any data moves. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ide.h"

#define CHS_HEADS 16u
#define CHS_SPT 63u

static struct ide_drive *cur(struct ide_channel *ch)
{
    return &ch->drive[ch->sel];
}

void ide_finish(struct ide_channel *ch, uint8_t err)
{
    ch->xfer = XFER_NONE;
    ch->buf_pos = ch->buf_len = 0;
    ch->error = err;
    ch->status = ATA_ST_DRDY | ATA_ST_DSC | (err ? ATA_ST_ERR : 0);
    ide_raise(ch);
}

void ide_set_signature(struct ide_channel *ch)
{
    /* An ATA device's signature after reset or diagnostics (ATAPI would be 0x14/0xEB). */
    ch->nsect.cur = 1;
    ch->lbal.cur = 1;
    ch->lbam.cur = 0;
    ch->lbah.cur = 0;
    ch->device &= 0x10;
}

static void put_word(uint8_t *buf, unsigned word, uint16_t v)
{
    buf[2 * word] = v & 0xff;
    buf[2 * word + 1] = v >> 8;
}

/* ATA strings are space-padded with the two bytes of each word swapped. */
static void put_string(uint8_t *buf, unsigned word, unsigned words, const char *s)
{
    size_t len = strlen(s);
    for (unsigned i = 0; i < 2 * words; i++)
        buf[2 * word + (i ^ 1)] = i < len ? (uint8_t)s[i] : ' ';
}

static void identify(struct ide_channel *ch)
{
    struct ide_drive *dr = cur(ch);
    uint8_t *b = ch->buf;
    memset(b, 0, IDE_SECTOR);
    uint64_t cyl = dr->sectors / (CHS_HEADS * CHS_SPT);
    if (cyl > 16383)
        cyl = 16383;
    uint64_t chs = cyl * CHS_HEADS * CHS_SPT;
    uint64_t lba28 = dr->sectors > 0x0fffffff ? 0x0fffffff : dr->sectors;
    char serial[21];
    snprintf(serial, sizeof(serial), "KXEN%04u%u%u", ch->d->domid, ch->index, ch->sel);
    put_word(b, 0, 0x0040); /* fixed device */
    put_word(b, 1, (uint16_t)cyl);
    put_word(b, 3, CHS_HEADS);
    put_word(b, 6, CHS_SPT);
    put_string(b, 10, 10, serial);
    put_string(b, 23, 4, "1.0");
    put_string(b, 27, 20, "KXEN HARDDISK");
    put_word(b, 47, 0x8000 | IDE_MAX_MULT);
    put_word(b, 49, 0x0300); /* LBA, DMA */
    put_word(b, 50, 0x4000);
    put_word(b, 51, 0x0200);
    put_word(b, 53, 0x0007); /* words 54-58, 64-70 and 88 are valid */
    put_word(b, 54, (uint16_t)cyl);
    put_word(b, 55, CHS_HEADS);
    put_word(b, 56, CHS_SPT);
    put_word(b, 57, chs & 0xffff);
    put_word(b, 58, (uint16_t)(chs >> 16));
    put_word(b, 59, dr->mult ? 0x100 | dr->mult : 0);
    put_word(b, 60, lba28 & 0xffff);
    put_word(b, 61, (uint16_t)(lba28 >> 16));
    put_word(b, 63, 0x0407); /* multiword DMA 0-2, mode 2 selected */
    put_word(b, 64, 0x0003); /* PIO 3 and 4 */
    for (unsigned w = 65; w <= 68; w++)
        put_word(b, w, 120);
    put_word(b, 80, 0x00f0); /* ATA/ATAPI-4 to -7 */
    put_word(b, 82, 0x4020); /* write cache */
    put_word(b, 83, 0x7400); /* LBA48, FLUSH CACHE, FLUSH CACHE EXT */
    put_word(b, 84, 0x4000);
    put_word(b, 85, 0x4020);
    put_word(b, 86, 0x3400);
    put_word(b, 87, 0x4000);
    put_word(b, 88, 0x203f);       /* UDMA 0-5, mode 5 selected */
    put_word(b, 93, 0x6000 | 0x1); /* an 80-wire cable, so Linux keeps UDMA above 2 */
    for (unsigned i = 0; i < 4; i++)
        put_word(b, 100 + i, (uint16_t)(dr->sectors >> (16 * i)));
    ch->buf_pos = 0;
    ch->buf_len = IDE_SECTOR;
    ch->left = 0;
    ch->xfer = XFER_PIO_IN;
    ch->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
    ide_raise(ch);
}

/* The start sector and count of the command's taskfile; false when outside the image. */
static bool taskfile_range(struct ide_channel *ch, bool lba48)
{
    struct ide_drive *dr = cur(ch);
    uint64_t lba, count;
    if (lba48) {
        lba = (uint64_t)ch->lbah.prev << 40 | (uint64_t)ch->lbam.prev << 32 |
              (uint64_t)ch->lbal.prev << 24 | (uint64_t)ch->lbah.cur << 16 |
              (uint64_t)ch->lbam.cur << 8 | ch->lbal.cur;
        count = (uint64_t)ch->nsect.prev << 8 | ch->nsect.cur;
        if (!count)
            count = 65536;
    } else {
        if (ch->device & ATA_DEV_LBA) {
            lba = (uint64_t)(ch->device & 0xf) << 24 | (uint64_t)ch->lbah.cur << 16 |
                  (uint64_t)ch->lbam.cur << 8 | ch->lbal.cur;
        } else {
            uint64_t c = (uint64_t)ch->lbah.cur << 8 | ch->lbam.cur, h = ch->device & 0xf;
            uint64_t s = ch->lbal.cur;
            if (!s || s > CHS_SPT || h >= CHS_HEADS)
                return false; /* Buggy guest: no such sector. */
            lba = (c * CHS_HEADS + h) * CHS_SPT + s - 1;
        }
        count = ch->nsect.cur ? ch->nsect.cur : 256;
    }
    if (lba > dr->sectors || count > dr->sectors - lba)
        return false;
    ch->lba = lba;
    ch->left = count;
    return true;
}

/* Reads the next PIO block into buf and raises DRQ with an interrupt. */
static void pio_fill(struct ide_channel *ch)
{
    struct ide_drive *dr = cur(ch);
    unsigned n = ch->left < ch->block ? (unsigned)ch->left : ch->block;
    ssize_t got = pread(dr->fd, ch->buf, (size_t)n * IDE_SECTOR, (off_t)(ch->lba * IDE_SECTOR));
    if (got != (ssize_t)n * IDE_SECTOR) {
        ide_finish(ch, ATA_ER_UNC);
        return;
    }
    ch->lba += n;
    ch->left -= n;
    ch->buf_pos = 0;
    ch->buf_len = n * IDE_SECTOR;
    ch->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
    ide_raise(ch);
}

/* Opens the next PIO block for the host to fill (the first without an interrupt). */
static void pio_expect(struct ide_channel *ch, bool irq)
{
    unsigned n = ch->left < ch->block ? (unsigned)ch->left : ch->block;
    ch->buf_pos = 0;
    ch->buf_len = n * IDE_SECTOR;
    ch->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
    if (irq) {
        ide_raise(ch);
    }
}

static void start_rw(struct ide_channel *ch, bool write, bool lba48, bool multiple, bool dma)
{
    struct ide_drive *dr = cur(ch);
    if (multiple && !dr->mult) {
        ide_finish(ch, ATA_ER_ABRT);
        return;
    }
    if (write && dr->ro) {
        ide_finish(ch, ATA_ER_ABRT);
        return;
    }
    if (!taskfile_range(ch, lba48)) {
        ide_finish(ch, ATA_ER_IDNF | ATA_ER_ABRT);
        return;
    }
    ch->block = multiple ? dr->mult : 1;
    if (dma) {
        ch->xfer = XFER_DMA;
        ch->xfer_write = write;
        ch->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ | ATA_ST_BSY;
        ide_dma_run(ch);
    } else if (write) {
        ch->xfer = XFER_PIO_OUT;
        pio_expect(ch, false);
    } else {
        ch->xfer = XFER_PIO_IN;
        pio_fill(ch);
    }
}

static void set_lba_result(struct ide_channel *ch, uint64_t lba, bool lba48)
{
    ch->lbal.cur = lba & 0xff;
    ch->lbam.cur = (lba >> 8) & 0xff;
    ch->lbah.cur = (lba >> 16) & 0xff;
    if (lba48) {
        ch->lbal.prev = (lba >> 24) & 0xff;
        ch->lbam.prev = (lba >> 32) & 0xff;
        ch->lbah.prev = (lba >> 40) & 0xff;
    } else {
        ch->device = (ch->device & 0xf0) | ((lba >> 24) & 0xf);
    }
}

void ide_command(struct ide_channel *ch, uint8_t cmd)
{
    struct ide_drive *dr = cur(ch);
    if (dr->fd < 0)
        return; /* no drive answers: the command goes nowhere */
    /* A new command cancels one in progress, as a drive that sees its command register
     * written while busy gives no defined result. */
    ch->xfer = XFER_NONE;
    ch->intrq = false;
    switch (cmd) {
    case 0xec: /* IDENTIFY DEVICE */
        identify(ch);
        break;
    case 0x20: /* READ SECTORS (and without retries) */
    case 0x21:
        start_rw(ch, false, false, false, false);
        break;
    case 0x24: /* READ SECTORS EXT */
        start_rw(ch, false, true, false, false);
        break;
    case 0xc4: /* READ MULTIPLE */
        start_rw(ch, false, false, true, false);
        break;
    case 0x29:
        start_rw(ch, false, true, true, false);
        break;
    case 0x30: /* WRITE SECTORS */
    case 0x31:
        start_rw(ch, true, false, false, false);
        break;
    case 0x34:
        start_rw(ch, true, true, false, false);
        break;
    case 0xc5: /* WRITE MULTIPLE */
        start_rw(ch, true, false, true, false);
        break;
    case 0x39:
        start_rw(ch, true, true, true, false);
        break;
    case 0xc8: /* READ DMA */
    case 0xc9:
        start_rw(ch, false, false, false, true);
        break;
    case 0x25:
        start_rw(ch, false, true, false, true);
        break;
    case 0xca: /* WRITE DMA */
    case 0xcb:
        start_rw(ch, true, false, false, true);
        break;
    case 0x35:
        start_rw(ch, true, true, false, true);
        break;
    case 0xe7: /* FLUSH CACHE (EXT) */
    case 0xea:
        ide_finish(ch, dr->ro || fdatasync(dr->fd) == 0 || errno == EINVAL ? 0 : ATA_ER_ABRT);
        break;
    case 0xc6: { /* SET MULTIPLE MODE: 0 turns it off, else a power of two up to the max */
        unsigned n = ch->nsect.cur;
        if (n > IDE_MAX_MULT || (n & (n - 1))) {
            ide_finish(ch, ATA_ER_ABRT);
        } else {
            dr->mult = n;
            ide_finish(ch, 0);
        }
        break;
    }
    case 0x40: /* READ VERIFY SECTORS (EXT): the range check is the verification */
    case 0x41:
    case 0x42:
        ide_finish(ch, taskfile_range(ch, cmd == 0x42) ? 0 : ATA_ER_IDNF | ATA_ER_ABRT);
        ch->left = 0;
        break;
    case 0xf8: /* READ NATIVE MAX ADDRESS (EXT) */
    case 0x27:
        set_lba_result(ch, dr->sectors ? dr->sectors - 1 : 0, cmd == 0x27);
        ide_finish(ch, 0);
        break;
    case 0x90: /* EXECUTE DEVICE DIAGNOSTIC: signature, error 1 = device 0 passed */
        ide_set_signature(ch);
        ch->sel = 0;
        ide_finish(ch, 0);
        ch->error = 0x01;
        break;
    case 0xe5: /* CHECK POWER MODE: active */
        ch->nsect.cur = 0xff;
        ide_finish(ch, 0);
        break;
    case 0xef: /* SET FEATURES: transfer modes, write cache, look-ahead */
    case 0x91: /* INITIALIZE DEVICE PARAMETERS */
    case 0x70: /* SEEK */
    case 0xe0: /* STANDBY IMMEDIATE, IDLE IMMEDIATE, STANDBY, IDLE */
    case 0xe1:
    case 0xe2:
    case 0xe3:
        ide_finish(ch, 0);
        break;
    default:
        if (cmd >= 0x10 && cmd <= 0x1f) { /* RECALIBRATE */
            ide_finish(ch, 0);
            break;
        }
        /* Everything else (ATAPI's IDENTIFY PACKET and PACKET included): not a disk's. */
        if (cmd == 0xa1 || cmd == 0xa0)
            ide_set_signature(ch);
        ide_finish(ch, ATA_ER_ABRT);
    }
}

uint32_t ide_data_read(struct ide_channel *ch, unsigned size)
{
    if (ch->xfer != XFER_PIO_IN || !(ch->status & ATA_ST_DRQ) || (size != 2 && size != 4))
        return size == 4 ? 0xffffffffu : 0xffffu;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && ch->buf_pos < ch->buf_len; i++)
        v |= (uint32_t)ch->buf[ch->buf_pos++] << (8 * i);
    if (ch->buf_pos >= ch->buf_len) {
        if (ch->left) {
            pio_fill(ch);
        } else { /* the last block's interrupt came when it was filled: none at its end */
            ch->xfer = XFER_NONE;
            ch->buf_pos = ch->buf_len = 0;
            ch->error = 0;
            ch->status = ATA_ST_DRDY | ATA_ST_DSC;
        }
    }
    return v;
}

void ide_data_write(struct ide_channel *ch, unsigned size, uint32_t val)
{
    if (ch->xfer != XFER_PIO_OUT || !(ch->status & ATA_ST_DRQ) || (size != 2 && size != 4))
        return;
    for (unsigned i = 0; i < size && ch->buf_pos < ch->buf_len; i++)
        ch->buf[ch->buf_pos++] = (val >> (8 * i)) & 0xff;
    if (ch->buf_pos < ch->buf_len)
        return;
    struct ide_drive *dr = cur(ch);
    unsigned n = ch->buf_len / IDE_SECTOR;
    ssize_t put = pwrite(dr->fd, ch->buf, ch->buf_len, (off_t)(ch->lba * IDE_SECTOR));
    if (put != (ssize_t)ch->buf_len) {
        ide_finish(ch, ATA_ER_ABRT);
        return;
    }
    ch->lba += n;
    ch->left -= n;
    if (ch->left)
        pio_expect(ch, true);
    else
        ide_finish(ch, 0);
}
