/* A 16550A UART ("uart" model; COM1 0x3F8 IRQ 4 by default): THR/RBR, IER, IIR/FCR, LCR, MCR,
 * LSR, MSR, SCR and the divisor latch, 16-byte receive FIFO, loopback, and the four interrupt
 * sources in the 16550's priority order. Transmission is instantaneous: a byte written to THR
 * goes to the sink at once, so THR and the shift register are always empty again.
 *
 * Invariants: the interrupt line is high exactly while IIR reports a pending source; the sink
 * is called with no lock held (it may take its own). Xen has no save record for a UART (its
 * device model keeps one), so the state is this model's own struct uart_regs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/io.h"
#include "kxend/irq.h"

#define UART_FIFO 16
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS 0x1e
#define MSR_DELTAS 0x0f

struct uart_regs {
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    bool thr_pending; /* a THR-empty interrupt waits until IIR is read or THR written */
    uint8_t rx[UART_FIFO];
    uint8_t rx_head, rx_count;
};

struct uart {
    struct domain *d;
    pthread_mutex_t lock;
    struct uart_regs r;
    unsigned irq;
    bool irq_high;
    uint64_t port;
    int fd; /* -1: the sink below and uart_receive() */
    /* With fd: a thread reads the console's bytes while the receive FIFO has room. */
    pthread_t rx_thread;
    pthread_cond_t rx_room;
    int stop_pipe[2];
    bool rx_started, stop;
    uart_sink_fn sink;
    void *sink_opaque;
    struct io_region *region;
};

static uint8_t iir_value(const struct uart *u)
{
    const struct uart_regs *r = &u->r;
    uint8_t fifo = r->fcr & FCR_ENABLE ? IIR_FIFO : 0;
    if (r->ier & IER_RLSI && r->lsr & LSR_ERRORS)
        return fifo | IIR_RLSI;
    if (r->ier & IER_RDI && r->rx_count)
        return fifo | IIR_RDI;
    if (r->ier & IER_THRI && r->thr_pending)
        return fifo | IIR_THRI;
    if (r->ier & IER_MSI && r->msr & MSR_DELTAS)
        return fifo | IIR_MSI;
    return fifo | IIR_NONE;
}

static void irq_update(struct uart *u)
{
    bool level = !(iir_value(u) & IIR_NONE);
    if (level != u->irq_high) {
        u->irq_high = level;
        domain_irq_set_level(u->d, u->irq, level);
    }
}

/* Takes byte into the receive FIFO (lock held); false when full (an overrun). */
static bool rx_push(struct uart *u, uint8_t byte)
{
    struct uart_regs *r = &u->r;
    unsigned cap = r->fcr & FCR_ENABLE ? UART_FIFO : 1;
    if (r->rx_count >= cap) {
        r->lsr |= LSR_OE;
        return false;
    }
    r->rx[(r->rx_head + r->rx_count) % UART_FIFO] = byte;
    r->rx_count++;
    r->lsr |= LSR_DR;
    return true;
}

/* MSR as the modem lines are: in loopback the MCR outputs drive them (DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD); otherwise carrier, DSR and CTS are always up. */
static void msr_update(struct uart *u)
{
    struct uart_regs *r = &u->r;
    uint8_t lines;
    if (r->mcr & MCR_LOOP)
        lines = (r->mcr & 1) << 5 | (r->mcr & 2) << 3 | (r->mcr & 4) << 4 | (r->mcr & 8) << 4;
    else
        lines = 0xb0;
    uint8_t changed = (r->msr ^ lines) & 0xf0;
    r->msr = lines | (r->msr & MSR_DELTAS) | (changed >> 4);
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
    struct uart *u = opaque;
    struct uart_regs *r = &u->r;
    uint8_t v = 0xff;
    if (size != 1 || offset > 7)
        return ~0ull;
    pthread_mutex_lock(&u->lock);
    switch (offset) {
    case 0:
        if (r->lcr & LCR_DLAB) {
            v = r->divisor & 0xff;
        } else {
            v = r->rx_count ? r->rx[r->rx_head] : 0;
            if (r->rx_count) {
                r->rx_head = (r->rx_head + 1) % UART_FIFO;
                r->rx_count--;
            }
            if (!r->rx_count)
                r->lsr &= ~LSR_DR;
            pthread_cond_signal(&u->rx_room);
        }
        break;
    case 1:
        v = r->lcr & LCR_DLAB ? r->divisor >> 8 : r->ier;
        break;
    case 2:
        v = iir_value(u);
        if ((v & 0x0f) == IIR_THRI) /* reading IIR acknowledges THR empty */
            r->thr_pending = false;
        break;
    case 3:
        v = r->lcr;
        break;
    case 4:
        v = r->mcr;
        break;
    case 5:
        v = r->lsr;
        r->lsr &= ~(LSR_ERRORS); /* error bits clear on read */
        break;
    case 6:
        v = r->msr;
        r->msr &= ~MSR_DELTAS;
        break;
    case 7:
        v = r->scr;
        break;
    }
    irq_update(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void transmit(struct uart *u, uint8_t byte)
{
    if (u->fd >= 0) {
        /* A full pty drops output rather than stall the vCPU, as a real line would. */
        ssize_t n = write(u->fd, &byte, 1);
        (void)n;
    } else if (u->sink) {
        u->sink(u->sink_opaque, &byte, 1);
    }
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct uart *u = opaque;
    struct uart_regs *r = &u->r;
    uint8_t v = (uint8_t)val;
    bool send = false;
    if (size != 1 || offset > 7)
        return;
    pthread_mutex_lock(&u->lock);
    switch (offset) {
    case 0:
        if (r->lcr & LCR_DLAB) {
            r->divisor = (r->divisor & 0xff00) | v;
        } else if (r->mcr & MCR_LOOP) {
            rx_push(u, v);
            r->thr_pending = true;
        } else {
            send = true;
            r->thr_pending = true;
        }
        break;
    case 1:
        if (r->lcr & LCR_DLAB) {
            r->divisor = (r->divisor & 0xff) | v << 8;
        } else {
            /* Enabling the THR-empty interrupt while THR is empty raises it at once (the
             * 8250 driver's transmit start relies on this). */
            if (v & IER_THRI && !(r->ier & IER_THRI))
                r->thr_pending = true;
            r->ier = v & 0x0f;
        }
        break;
    case 2:
        if (v & FCR_CLEAR_RX || (v ^ r->fcr) & FCR_ENABLE) {
            r->rx_count = 0;
            r->rx_head = 0;
            r->lsr &= ~LSR_DR;
            pthread_cond_signal(&u->rx_room);
        }
        r->fcr = v & 0xc9; /* enable, DMA mode, trigger level; the reset bits self-clear */
        break;
    case 3:
        r->lcr = v;
        break;
    case 4:
        r->mcr = v & 0x1f;
        msr_update(u);
        break;
    case 5: /* LSR and MSR are read-only */
    case 6:
        break;
    case 7:
        r->scr = v;
        break;
    }
    irq_update(u);
    pthread_mutex_unlock(&u->lock);
    if (send)
        transmit(u, v);
}

static const struct io_region_ops uart_ops = {"uart", uart_read, uart_write};

void uart_set_sink(void *uart_state, uart_sink_fn fn, void *opaque)
{
    struct uart *u = uart_state;
    pthread_mutex_lock(&u->lock);
    u->sink = fn;
    u->sink_opaque = opaque;
    pthread_mutex_unlock(&u->lock);
}

size_t uart_receive(void *uart_state, const uint8_t *buf, size_t len)
{
    struct uart *u = uart_state;
    size_t n = 0;
    pthread_mutex_lock(&u->lock);
    /* In loopback the line is disconnected from the outside. */
    if (!(u->r.mcr & MCR_LOOP))
        while (n < len && rx_push(u, buf[n]))
            n++;
    u->r.lsr &= ~LSR_OE; /* the console retries what was refused: not an overrun */
    irq_update(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

static unsigned rx_room(const struct uart *u)
{
    unsigned cap = u->r.fcr & FCR_ENABLE ? UART_FIFO : 1;
    return u->r.rx_count < cap ? cap - u->r.rx_count : 0;
}

/* Reads the console fd into the receive FIFO, never more than it has room for, so no byte is
 * lost to an overrun: the console waits, as a terminal would with flow control. */
static void *rx_main(void *arg)
{
    struct uart *u = arg;
    struct pollfd p[2] = {{.fd = u->fd, .events = POLLIN},
                          {.fd = u->stop_pipe[0], .events = POLLIN}};
    for (;;) {
        pthread_mutex_lock(&u->lock);
        while (!u->stop && !rx_room(u))
            pthread_cond_wait(&u->rx_room, &u->lock);
        unsigned room = rx_room(u);
        bool stop = u->stop;
        pthread_mutex_unlock(&u->lock);
        if (stop || (poll(p, 2, -1) < 0 && errno != EINTR) || p[1].revents)
            break;
        if (!(p[0].revents & POLLIN)) {
            /* A pty master with no reader on the slave side reports a hang-up until one
             * opens it: look again later instead of spinning. */
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        uint8_t buf[UART_FIFO];
        ssize_t n = read(u->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n > 0)
            uart_receive(u, buf, (size_t)n);
    }
    return NULL;
}

static int uart_opt(void *ctx, const char *key, const char *val)
{
    struct uart *u = ctx;
    uint64_t v;
    if (!strcmp(key, "port"))
        return dev_opt_u64(val, IO_PORT_SPACE_SIZE - 8, &u->port);
    if (!strcmp(key, "irq")) {
        int rc = dev_opt_u64(val, 15, &v);
        u->irq = (unsigned)v;
        return rc;
    }
    if (!strcmp(key, "fd")) {
        int rc = dev_opt_u64(val, INT32_MAX, &v);
        if (rc == 0 && fcntl((int)v, F_GETFD) < 0)
            return -EBADF;
        u->fd = (int)v;
        return rc;
    }
    return -EINVAL;
}

/* Stops the console reader; the fd stays the machine's. */
static void uart_free(struct uart *u)
{
    if (u->rx_started) {
        pthread_mutex_lock(&u->lock);
        u->stop = true;
        pthread_cond_signal(&u->rx_room);
        pthread_mutex_unlock(&u->lock);
        ssize_t w = write(u->stop_pipe[1], "x", 1);
        (void)w;
        pthread_join(u->rx_thread, NULL);
    }
    if (u->stop_pipe[0] >= 0) {
        close(u->stop_pipe[0]);
        close(u->stop_pipe[1]);
    }
    pthread_cond_destroy(&u->rx_room);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static int uart_create(struct domain *d, const char *options, void **state)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->d = d;
    u->port = 0x3f8;
    u->irq = 4;
    u->fd = -1;
    pthread_mutex_init(&u->lock, NULL);
    u->r.lsr = LSR_THRE | LSR_TEMT;
    u->r.divisor = 12; /* 9600 baud */
    msr_update(u);
    u->r.msr &= ~MSR_DELTAS;
    pthread_cond_init(&u->rx_room, NULL);
    u->stop_pipe[0] = u->stop_pipe[1] = -1;
    int rc = dev_opts_each(options, uart_opt, u);
    if (rc == 0 && u->fd >= 0 && pipe2(u->stop_pipe, O_CLOEXEC) < 0)
        rc = -errno;
    if (rc == 0 && u->fd >= 0) {
        if (pthread_create(&u->rx_thread, NULL, rx_main, u))
            rc = -EAGAIN;
        else
            u->rx_started = true;
    }
    if (rc == 0)
        rc = io_register_port(d, u->port, 8, &uart_ops, u, &u->region);
    if (rc) {
        uart_free(u);
        return rc;
    }
    *state = u;
    return 0;
}

static void uart_destroy(struct domain *d, void *state)
{
    (void)d;
    struct uart *u = state;
    io_region_unregister(u->region);
    uart_free(u);
}

/* Saved state: the registers and the receive FIFO (bytes the console sent and the guest has
 * not read yet travel with it). */
struct uart_save {
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, thr_pending;
    uint16_t divisor;
    uint8_t rx_head, rx_count;
    uint8_t pad[4];
    uint8_t rx[UART_FIFO];
};

static int uart_save(void *state, void *buf, uint32_t cap)
{
    struct uart *u = state;
    struct uart_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pthread_mutex_lock(&u->lock);
    const struct uart_regs *r = &u->r;
    s.ier = r->ier, s.lcr = r->lcr, s.mcr = r->mcr, s.lsr = r->lsr, s.msr = r->msr;
    s.scr = r->scr, s.fcr = r->fcr, s.thr_pending = r->thr_pending, s.divisor = r->divisor;
    s.rx_head = r->rx_head, s.rx_count = r->rx_count;
    memcpy(s.rx, r->rx, UART_FIFO);
    pthread_mutex_unlock(&u->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int uart_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct uart *u = state;
    struct uart_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    unsigned cap = s.fcr & FCR_ENABLE ? UART_FIFO : 1;
    if (s.rx_head >= UART_FIFO || s.rx_count > cap) {
        snprintf(why, whylen, "receive FIFO head %u count %u (the FIFO holds %u)", s.rx_head,
                 s.rx_count, cap);
        return -EINVAL;
    }
    if (s.thr_pending > 1) {
        snprintf(why, whylen, "thr_pending is %u", s.thr_pending);
        return -EINVAL;
    }
    pthread_mutex_lock(&u->lock);
    struct uart_regs *r = &u->r;
    r->ier = s.ier, r->lcr = s.lcr, r->mcr = s.mcr, r->lsr = s.lsr, r->msr = s.msr;
    r->scr = s.scr, r->fcr = s.fcr, r->thr_pending = s.thr_pending, r->divisor = s.divisor;
    r->rx_head = s.rx_head, r->rx_count = s.rx_count;
    memcpy(r->rx, s.rx, UART_FIFO);
    u->irq_high = false;
    irq_update(u);
    pthread_cond_signal(&u->rx_room);
    pthread_mutex_unlock(&u->lock);
    return 0;
}

static const struct device_model uart_model = {
    .name = "uart",
    .order = 30,
    .create = uart_create,
    .destroy = uart_destroy,
    .save = uart_save,
    .load = uart_load,
};
DEVICE_MODEL_REGISTER(uart_model);
