/* The PIIX3 IDE controller's shared state (ide.c: ports, PCI function, bus master DMA and the
 * model; ide_ata.c: the ATA command set). One lock per channel guards the channel, its two
 * drives and its bus-master registers; every function here is called with it held. */
#ifndef KXEND_DEVICES_IDE_H
#define KXEND_DEVICES_IDE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"

#define IDE_SECTOR 512u
#define IDE_MAX_MULT 16u /* sectors per READ/WRITE MULTIPLE block */

#define ATA_ST_BSY 0x80
#define ATA_ST_DRDY 0x40
#define ATA_ST_DF 0x20
#define ATA_ST_DSC 0x10
#define ATA_ST_DRQ 0x08
#define ATA_ST_ERR 0x01
#define ATA_ER_UNC 0x40
#define ATA_ER_IDNF 0x10
#define ATA_ER_ABRT 0x04
#define ATA_DEV_LBA 0x40
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
#define ATA_CTL_HOB 0x80

#define BM_CMD_START 0x01
#define BM_CMD_TO_MEMORY 0x08 /* the device reads: data goes to guest memory */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INTR 0x04

struct ide_drive {
    int fd; /* -1: no drive (never attached or unplugged) */
    bool ro;
    uint64_t sectors;
    unsigned mult; /* SET MULTIPLE MODE block size, 0 = off */
};

/* A taskfile register written twice keeps its previous byte (the "high order byte" LBA48
 * reads back through device control's HOB bit). */
struct ide_reg {
    uint8_t cur, prev;
};

enum ide_xfer {
    XFER_NONE,
    XFER_PIO_IN,  /* device to host through the data port */
    XFER_PIO_OUT, /* host to device */
    XFER_DMA,     /* waits for the bus master's start bit */
};

struct ide_channel {
    struct domain *d;
    pthread_mutex_t lock;
    unsigned index, irq;
    struct ide_drive drive[2];
    unsigned sel; /* selected drive, from the device register */
    struct ide_reg feature, nsect, lbal, lbam, lbah;
    uint8_t device, status, error, ctl;
    bool intrq;   /* the drive asserts INTRQ (the line also needs nIEN clear) */
    bool line_up; /* what domain_irq_set_level was told */

    /* The command in progress. */
    enum ide_xfer xfer;
    bool xfer_write; /* DMA direction: host to device */
    uint64_t lba;    /* next sector */
    uint64_t left;   /* sectors still to transfer */
    unsigned block;  /* sectors per DRQ block (PIO) */
    uint8_t buf[IDE_MAX_MULT * IDE_SECTOR];
    unsigned buf_pos, buf_len;

    /* Bus master IDE registers (BAR4 + 8 * index). */
    uint8_t bm_cmd, bm_status;
    uint32_t bm_prd;
};

/* ide_ata.c */
void ide_set_signature(struct ide_channel *ch);
void ide_command(struct ide_channel *ch, uint8_t cmd);
uint32_t ide_data_read(struct ide_channel *ch, unsigned size);
void ide_data_write(struct ide_channel *ch, unsigned size, uint32_t val);
/* Ends the command in progress: status DRDY|DSC, or DRDY|ERR with err, and an interrupt. */
void ide_finish(struct ide_channel *ch, uint8_t err);

/* ide.c */
void ide_irq_update(struct ide_channel *ch);
/* A new interrupt event: INTRQ on, with a fresh edge even if the line was still high (the
 * legacy IDE lines are edge-triggered at the PIC). */
void ide_raise(struct ide_channel *ch);
/* Runs a DMA command once both the command and the bus master's start bit are there. */
void ide_dma_run(struct ide_channel *ch);

#endif
