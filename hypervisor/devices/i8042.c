/* The i8042 keyboard controller and the machine's reset paths ("i8042" model): ports 0x60
 * (data) and 0x64 (status/command) with a keyboard and a mouse that answer what firmware and
 * Linux's i8042/atkbd/psmouse probes ask (self-tests, identify, reset, enable) and never send
 * keystrokes; port 0x92 (fast A20, bit 0 fast reset) and 0xCF9 (PIIX reset control). Every
 * reset asks for a reboot with domain_shutdown(SHUTDOWN_reboot).
 *
 * Invariants: the output buffer is a FIFO of bytes each tagged keyboard or mouse; IRQ 1
 * (keyboard) or IRQ 12 (mouse) is high exactly while its byte heads the FIFO and the command
 * byte enables that interrupt. Xen has no save record for the controller. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/sched.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/io.h"
#include "kxend/irq.h"

#define KBD_IRQ 1
#define AUX_IRQ 12
#define OUT_QUEUE 16
#define STAT_OBF 0x01
#define STAT_SYS 0x04
#define STAT_CMD 0x08
#define STAT_UNLOCKED 0x10
#define STAT_AUX_OBF 0x20
#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS 0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20
#define CB_XLATE 0x40
#define ACK 0xfa

/* What the next write to port 0x60 means. */
enum pending {
    PEND_NONE,      /* a keyboard command or its argument */
    PEND_CMD_BYTE,  /* 0x60: the command byte */
    PEND_OUT_PORT,  /* 0xD1: the output port */
    PEND_KBD_ECHO,  /* 0xD2: a byte to return as if from the keyboard */
    PEND_AUX_ECHO,  /* 0xD3: ... from the mouse */
    PEND_AUX_WRITE, /* 0xD4: a byte for the mouse */
};

struct i8042 {
    struct domain *d;
    pthread_mutex_t lock;
    uint8_t queue[OUT_QUEUE];
    bool queue_aux[OUT_QUEUE];
    unsigned head, count;
    uint8_t cmd_byte, status_cmd, out_port;
    enum pending pending;
    uint8_t kbd_arg_cmd, aux_arg_cmd; /* device command awaiting its argument, 0 = none */
    bool irq1, irq12;
    uint8_t port92, cf9;
    struct io_region *r_60, *r_64, *r_92, *r_cf9;
};

static void irq_update(struct i8042 *k)
{
    bool kbd = false, aux = false;
    if (k->count) {
        bool is_aux = k->queue_aux[k->head];
        kbd = !is_aux && (k->cmd_byte & CB_KBD_INT);
        aux = is_aux && (k->cmd_byte & CB_AUX_INT);
    }
    if (kbd != k->irq1)
        domain_irq_set_level(k->d, KBD_IRQ, k->irq1 = kbd);
    if (aux != k->irq12)
        domain_irq_set_level(k->d, AUX_IRQ, k->irq12 = aux);
}

static void push(struct i8042 *k, uint8_t byte, bool aux)
{
    if (k->count == OUT_QUEUE) /* Buggy guest: it never reads; newer replies are lost. */
        return;
    unsigned i = (k->head + k->count++) % OUT_QUEUE;
    k->queue[i] = byte;
    k->queue_aux[i] = aux;
}

static void reset_request(struct i8042 *k)
{
    domain_shutdown(k->d, SHUTDOWN_reboot);
}

static void kbd_command(struct i8042 *k, uint8_t v)
{
    if (k->kbd_arg_cmd) { /* the argument of 0xED (LEDs), 0xF3 (rate) or 0xF0 (set) */
        uint8_t c = k->kbd_arg_cmd;
        k->kbd_arg_cmd = 0;
        push(k, ACK, false);
        if (c == 0xf0 && v == 0)
            push(k, k->cmd_byte & CB_XLATE ? 0x41 : 0x02, false);
        return;
    }
    switch (v) {
    case 0xed:
    case 0xf3:
    case 0xf0:
        k->kbd_arg_cmd = v;
        push(k, ACK, false);
        break;
    case 0xee: /* echo */
        push(k, 0xee, false);
        break;
    case 0xf2: /* identify: an MF2 keyboard, translated or not */
        push(k, ACK, false);
        push(k, 0xab, false);
        push(k, k->cmd_byte & CB_XLATE ? 0x41 : 0x83, false);
        break;
    case 0xff: /* reset: ACK then the basic assurance test passed */
        push(k, ACK, false);
        push(k, 0xaa, false);
        break;
    default: /* enable, disable, defaults, typematic modes: acknowledged */
        push(k, ACK, false);
    }
}

static void aux_command(struct i8042 *k, uint8_t v)
{
    if (k->aux_arg_cmd) { /* argument of 0xE8 (resolution) or 0xF3 (sample rate) */
        k->aux_arg_cmd = 0;
        push(k, ACK, true);
        return;
    }
    switch (v) {
    case 0xe8:
    case 0xf3:
        k->aux_arg_cmd = v;
        push(k, ACK, true);
        break;
    case 0xe9: /* status request: ACK and three status bytes */
        push(k, ACK, true);
        for (int i = 0; i < 3; i++)
            push(k, 0, true);
        break;
    case 0xf2: /* device id: a standard PS/2 mouse */
        push(k, ACK, true);
        push(k, 0x00, true);
        break;
    case 0xff:
        push(k, ACK, true);
        push(k, 0xaa, true);
        push(k, 0x00, true);
        break;
    default:
        push(k, ACK, true);
    }
}

static void data_write(struct i8042 *k, uint8_t v)
{
    enum pending p = k->pending;
    k->pending = PEND_NONE;
    switch (p) {
    case PEND_CMD_BYTE:
        k->cmd_byte = v;
        break;
    case PEND_OUT_PORT:
        k->out_port = v;
        if (!(v & 1)) /* bit 0 low holds the CPU in reset */
            reset_request(k);
        break;
    case PEND_KBD_ECHO:
        push(k, v, false);
        break;
    case PEND_AUX_ECHO:
        push(k, v, true);
        break;
    case PEND_AUX_WRITE:
        aux_command(k, v);
        break;
    case PEND_NONE:
        kbd_command(k, v);
        break;
    }
}

static void controller_command(struct i8042 *k, uint8_t v)
{
    switch (v) {
    case 0x20:
        push(k, k->cmd_byte, false);
        break;
    case 0x60:
        k->pending = PEND_CMD_BYTE;
        break;
    case 0xa7:
        k->cmd_byte |= CB_AUX_OFF;
        break;
    case 0xa8:
        k->cmd_byte &= ~CB_AUX_OFF;
        break;
    case 0xa9: /* mouse port test: no fault */
    case 0xab: /* keyboard port test */
        push(k, 0x00, false);
        break;
    case 0xaa: /* controller self-test */
        push(k, 0x55, false);
        k->cmd_byte |= CB_SYS;
        break;
    case 0xad:
        k->cmd_byte |= CB_KBD_OFF;
        break;
    case 0xae:
        k->cmd_byte &= ~CB_KBD_OFF;
        break;
    case 0xd0:
        push(k, k->out_port, false);
        break;
    case 0xd1:
        k->pending = PEND_OUT_PORT;
        break;
    case 0xd2:
        k->pending = PEND_KBD_ECHO;
        break;
    case 0xd3:
        k->pending = PEND_AUX_ECHO;
        break;
    case 0xd4:
        k->pending = PEND_AUX_WRITE;
        break;
    default:
        /* 0xF0-0xFF pulse output port bits low for 6 us; bit 0 is the CPU reset line. */
        if (v >= 0xf0 && !(v & 1))
            reset_request(k);
    }
}

/* port: 0 for 0x60, 4 for 0x64. */
static uint64_t kbd_read(struct i8042 *k, unsigned port, uint64_t offset, unsigned size)
{
    if (size != 1 || offset)
        return ~0ull;
    pthread_mutex_lock(&k->lock);
    uint8_t v;
    if (port == 4) {
        v = STAT_UNLOCKED | (k->cmd_byte & CB_SYS ? STAT_SYS : 0) | k->status_cmd;
        if (k->count)
            v |= STAT_OBF | (k->queue_aux[k->head] ? STAT_AUX_OBF : 0);
    } else if (k->count) {
        v = k->queue[k->head];
        k->head = (k->head + 1) % OUT_QUEUE;
        k->count--;
        /* The next byte loads into an empty output buffer: a new edge for the (edge-
         * triggered) PIC, so each byte gets its own interrupt. */
        if (k->irq1)
            domain_irq_set_level(k->d, KBD_IRQ, k->irq1 = false);
        if (k->irq12)
            domain_irq_set_level(k->d, AUX_IRQ, k->irq12 = false);
    } else {
        v = 0; /* an empty buffer reads its last value on hardware; 0 is as good */
    }
    irq_update(k);
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void kbd_write(struct i8042 *k, unsigned port, uint64_t offset, unsigned size, uint64_t val)
{
    if (size != 1 || offset)
        return;
    pthread_mutex_lock(&k->lock);
    if (port == 4) {
        k->status_cmd = STAT_CMD;
        controller_command(k, (uint8_t)val);
    } else {
        k->status_cmd = 0;
        data_write(k, (uint8_t)val);
    }
    irq_update(k);
    pthread_mutex_unlock(&k->lock);
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    return kbd_read(opaque, 0, offset, size);
}

static void data_port_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    kbd_write(opaque, 0, offset, size, val);
}

static uint64_t status_read(void *opaque, uint64_t offset, unsigned size)
{
    return kbd_read(opaque, 4, offset, size);
}

static void command_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    kbd_write(opaque, 4, offset, size, val);
}

static uint64_t p92_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *k = opaque;
    (void)offset, (void)size;
    pthread_mutex_lock(&k->lock);
    uint8_t v = k->port92;
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void p92_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct i8042 *k = opaque;
    (void)offset, (void)size;
    pthread_mutex_lock(&k->lock);
    bool reset = val & 1 && !(k->port92 & 1); /* a rising edge of bit 0 */
    k->port92 = val & 0x02;                   /* bit 1: A20 (always on with this RAM) */
    pthread_mutex_unlock(&k->lock);
    if (reset)
        reset_request(k);
}

static uint64_t cf9_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *k = opaque;
    if (offset || size != 1)
        return ~0ull;
    pthread_mutex_lock(&k->lock);
    uint8_t v = k->cf9;
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void cf9_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct i8042 *k = opaque;
    if (offset || size != 1)
        return;
    pthread_mutex_lock(&k->lock);
    k->cf9 = val & 0x0a; /* bit 1 reset type, bit 3 full reset: kept; bit 2 starts it */
    pthread_mutex_unlock(&k->lock);
    if (val & 0x04)
        reset_request(k);
}

static const struct io_region_ops data_ops = {"i8042-data", data_read, data_port_write};
static const struct io_region_ops status_ops = {"i8042-status", status_read, command_write};
static const struct io_region_ops p92_ops = {"port92", p92_read, p92_write};
static const struct io_region_ops cf9_ops = {"reset-control", cf9_read, cf9_write};

static int i8042_opt(void *ctx, const char *key, const char *val)
{
    (void)ctx, (void)key, (void)val;
    return -EINVAL;
}

static void i8042_free(struct i8042 *k)
{
    io_region_unregister(k->r_60);
    io_region_unregister(k->r_64);
    io_region_unregister(k->r_92);
    io_region_unregister(k->r_cf9);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

static int i8042_create(struct domain *d, const char *options, void **state)
{
    int rc = dev_opts_each(options, i8042_opt, NULL);
    if (rc < 0)
        return rc;
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->d = d;
    pthread_mutex_init(&k->lock, NULL);
    k->cmd_byte = CB_KBD_INT | CB_SYS | CB_XLATE;
    k->out_port = 0x03; /* not in reset, A20 on */
    k->port92 = 0x02;
    rc = io_register_port(d, 0x60, 1, &data_ops, k, &k->r_60);
    if (!rc)
        rc = io_register_port(d, 0x64, 1, &status_ops, k, &k->r_64);
    if (!rc)
        rc = io_register_port(d, 0x92, 1, &p92_ops, k, &k->r_92);
    if (!rc)
        rc = io_register_port(d, 0xcf9, 1, &cf9_ops, k, &k->r_cf9);
    if (rc) {
        i8042_free(k);
        return rc;
    }
    *state = k;
    return 0;
}

static void i8042_destroy(struct domain *d, void *state)
{
    (void)d;
    i8042_free(state);
}

/* Saved state: the output FIFO with each byte's source, the controller's registers and the
 * command waiting for its argument. */
struct i8042_save {
    uint8_t queue[OUT_QUEUE];
    uint8_t queue_aux[OUT_QUEUE];
    uint8_t head, count, cmd_byte, status_cmd, out_port, pending, kbd_arg_cmd, aux_arg_cmd;
    uint8_t port92, cf9;
    uint8_t pad[6];
};

static int i8042_save(void *state, void *buf, uint32_t cap)
{
    struct i8042 *k = state;
    struct i8042_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pthread_mutex_lock(&k->lock);
    memcpy(s.queue, k->queue, OUT_QUEUE);
    for (unsigned i = 0; i < OUT_QUEUE; i++)
        s.queue_aux[i] = k->queue_aux[i];
    s.head = (uint8_t)k->head, s.count = (uint8_t)k->count, s.cmd_byte = k->cmd_byte;
    s.status_cmd = k->status_cmd, s.out_port = k->out_port, s.pending = (uint8_t)k->pending;
    s.kbd_arg_cmd = k->kbd_arg_cmd, s.aux_arg_cmd = k->aux_arg_cmd;
    s.port92 = k->port92, s.cf9 = k->cf9;
    pthread_mutex_unlock(&k->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int i8042_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct i8042 *k = state;
    struct i8042_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    if (s.head >= OUT_QUEUE || s.count > OUT_QUEUE) {
        snprintf(why, whylen, "output FIFO head %u count %u (it holds %u)", s.head, s.count,
                 OUT_QUEUE);
        return -EINVAL;
    }
    if (s.pending > PEND_AUX_WRITE) {
        snprintf(why, whylen, "pending command state %u is unknown", s.pending);
        return -EINVAL;
    }
    for (unsigned i = 0; i < OUT_QUEUE; i++)
        if (s.queue_aux[i] > 1) {
            snprintf(why, whylen, "queue_aux[%u] is %u", i, s.queue_aux[i]);
            return -EINVAL;
        }
    pthread_mutex_lock(&k->lock);
    memcpy(k->queue, s.queue, OUT_QUEUE);
    for (unsigned i = 0; i < OUT_QUEUE; i++)
        k->queue_aux[i] = s.queue_aux[i];
    k->head = s.head, k->count = s.count, k->cmd_byte = s.cmd_byte;
    k->status_cmd = s.status_cmd, k->out_port = s.out_port, k->pending = (enum pending)s.pending;
    k->kbd_arg_cmd = s.kbd_arg_cmd, k->aux_arg_cmd = s.aux_arg_cmd;
    k->port92 = s.port92, k->cf9 = s.cf9;
    k->irq1 = k->irq12 = false;
    irq_update(k);
    pthread_mutex_unlock(&k->lock);
    return 0;
}

static const struct device_model i8042_model = {
    .name = "i8042",
    .order = 30,
    .create = i8042_create,
    .destroy = i8042_destroy,
    .save = i8042_save,
    .load = i8042_load,
};
DEVICE_MODEL_REGISTER(i8042_model);
