/* Boots guests through the 64-bit PV-style entry on a bare Unicorn CPU, the way the soft
 * accelerator does (docs/soft-accel.md): image loaded at its physical addresses, hypercall page
 * filled by the builder with `mov $nr, %eax; vmcall; ret` (uc_emu_start returns after each
 * vmcall), %rsi = start_info, no stack, default CS 0. A tiny hypercall handler answers what the
 * runtime needs (console_io, memory_op, hvm_op, bind_virq, unmask, send, block, shutdown) and
 * -ENOSYS otherwise; a fake xenstored serves the store ring; exceptions and upcalls are
 * delivered through the guest's own IDT. Proves the soft entry path, GDT/IDT setup, the
 * hypercall convention, boot-info normalization, printf, the trap handler, the xenbus client
 * and the upcall path at arbitrary instruction boundaries, without kxend. */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#include <kxen/elfnote.h>
#include <kxen/errno.h>
#include <kxen/event_channel.h>
#include <kxen/io/xs_wire.h>
#include <kxen/memory.h>
#include <kxen/sched.h>
#include <kxen/xen.h>

#define RAM_SIZE (16u << 20)
#define START_INFO_GPA 0x800000u
#define STORE_PFN 0x900u
#define STORE_PORT 2u
#define MAX_KEYS 16
/* Stops the other thread must have caused before the toolstack asks the guest to shut down */
#define STOPS_BEFORE_REQUEST 16u

/* A fake xenstored: a flat table of relative keys, enough for the hello guest. */
struct store {
    char keys[MAX_KEYS][64], values[MAX_KEYS][64];
    unsigned nr;
    char req[4096 + 16];
    size_t req_len;
    char watch_token[64];
    int watching;        /* the guest watches control/shutdown */
    const char *request; /* value to write to control/shutdown once the guest waits */
    int requested;
    unsigned writes;
};

struct vm {
    uc_engine *uc;
    uint8_t *ram;
    uint64_t entry, hypercall_page;
    char out[16384];
    size_t out_len;
    int shutdown_reason;
    unsigned calls[64];
    uint64_t shared_info_gpa;
    struct store store;
    unsigned upcall_every; /* > 0: inject the callback vector every N instructions (IF=1) */
    unsigned upcalls;
    int async_stop_us;  /* > 0: another thread asks for a stop this often (kxend's ticker) */
    bool stop_at_block; /* the request is a flag a UC_HOOK_BLOCK callback acts on */
    volatile int running;
    int stop_wanted;
    unsigned block_stops;
};

/* Another thread wanting the vCPU back, as kxend's ticker does for kicks and slice ends:
 * either uc_emu_stop() straight from this thread, or a flag for the block hook. */
static void *async_stopper(void *arg)
{
    struct vm *vm = arg;
    while (vm->running) {
        struct timespec ts = {0, vm->async_stop_us * 1000L};
        nanosleep(&ts, NULL);
        if (!vm->running)
            break;
        if (vm->stop_at_block)
            __atomic_store_n(&vm->stop_wanted, 1, __ATOMIC_RELEASE);
        else
            uc_emu_stop(vm->uc);
    }
    return NULL;
}

/* Runs before the first instruction of every translated block: nothing of the block has
 * executed, so stopping here leaves RIP exact (unlike uc_emu_stop from another thread). */
static void on_block(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    (void)address;
    (void)size;
    struct vm *vm = user;
    if (__atomic_exchange_n(&vm->stop_wanted, 0, __ATOMIC_ACQ_REL)) {
        vm->block_stops++;
        uc_emu_stop(uc);
    }
}

static void store_serve(struct vm *vm);

static void *gpa(struct vm *vm, uint64_t addr, uint64_t len)
{
    if (addr > RAM_SIZE || len > RAM_SIZE - addr)
        return NULL;
    return vm->ram + addr;
}

static long hc_console_io(struct vm *vm, uint64_t cmd, uint64_t count, uint64_t buf)
{
    if (cmd != CONSOLEIO_write)
        return -XEN_ENOSYS;
    const char *p = gpa(vm, buf, count);
    if (!p)
        return -XEN_EFAULT;
    size_t n =
        count < sizeof(vm->out) - 1 - vm->out_len ? count : sizeof(vm->out) - 1 - vm->out_len;
    memcpy(vm->out + vm->out_len, p, n);
    vm->out_len += n;
    return 0;
}

static long hc_memory_op(struct vm *vm, uint64_t cmd, uint64_t arg)
{
    if (cmd == XENMEM_add_to_physmap) {
        struct xen_add_to_physmap *x = gpa(vm, arg, sizeof(*x));
        if (!x)
            return -XEN_EFAULT;
        if (x->space == XENMAPSPACE_shared_info)
            vm->shared_info_gpa = (uint64_t)x->gpfn << 12;
        return 0;
    }
    if (cmd == XENMEM_memory_map) {
        struct xen_memory_map *mm = gpa(vm, arg, sizeof(*mm));
        if (!mm || mm->nr_entries < 2)
            return -XEN_EINVAL;
        struct kxen_e820_entry *e = gpa(vm, mm->buffer.q, 2 * sizeof(*e));
        if (!e)
            return -XEN_EFAULT;
        e[0] = (struct kxen_e820_entry){0, 0xa0000, KXEN_E820_RAM};
        e[1] = (struct kxen_e820_entry){0x100000, RAM_SIZE - 0x100000, KXEN_E820_RAM};
        mm->nr_entries = 2;
        return 0;
    }
    return -XEN_ENOSYS;
}

static long hc_evtchn_op(struct vm *vm, uint64_t cmd, uint64_t arg)
{
    if (cmd == EVTCHNOP_bind_virq) {
        struct evtchn_bind_virq *b = gpa(vm, arg, sizeof(*b));
        if (!b)
            return -XEN_EFAULT;
        b->port = 1;
        return 0;
    }
    if (cmd == EVTCHNOP_unmask)
        return 0;
    if (cmd == EVTCHNOP_send) {
        const struct evtchn_send *snd = gpa(vm, arg, sizeof(*snd));
        if (!snd)
            return -XEN_EFAULT;
        if (snd->port == STORE_PORT)
            store_serve(vm);
        return 0;
    }
    return -XEN_ENOSYS;
}

static const char *store_get(struct store *st, const char *key)
{
    for (unsigned i = 0; i < st->nr; i++)
        if (!strcmp(st->keys[i], key))
            return st->values[i];
    return NULL;
}

static void store_set(struct store *st, const char *key, const char *value, size_t vlen)
{
    unsigned i = 0;
    while (i < st->nr && strcmp(st->keys[i], key))
        i++;
    if (i == st->nr) {
        cr_assert(st->nr < MAX_KEYS);
        snprintf(st->keys[st->nr++], 64, "%s", key);
    }
    snprintf(st->values[i], 64, "%.*s", (int)vlen, value);
}

static void rsp_put(struct vm *vm, const void *data, size_t len)
{
    struct xenstore_domain_interface *x = gpa(vm, (uint64_t)STORE_PFN << 12, sizeof(*x));
    const char *d = data;
    cr_assert(x->rsp_prod - x->rsp_cons + len <= XENSTORE_RING_SIZE, "fake store: reply fits");
    for (size_t i = 0; i < len; i++)
        x->rsp[MASK_XENSTORE_IDX(x->rsp_prod + i)] = d[i];
    __atomic_store_n(&x->rsp_prod, x->rsp_prod + (uint32_t)len, __ATOMIC_RELEASE);
}

static void reply(struct vm *vm, uint32_t type, uint32_t req_id, const void *payload, size_t len)
{
    struct xsd_sockmsg h = {.type = type, .req_id = req_id, .len = (uint32_t)len};
    rsp_put(vm, &h, sizeof(h));
    rsp_put(vm, payload, len);
}

/* Marks a port pending the 2-level way: pending bit, selector bit, upcall_pending. */
static void raise_port(struct vm *vm, unsigned port)
{
    struct shared_info *si = gpa(vm, vm->shared_info_gpa, sizeof(*si));
    cr_assert(vm->shared_info_gpa && si, "guest placed shared_info before using events");
    si->evtchn_pending[port / 64] |= 1ull << (port % 64);
    si->vcpu_info[0].evtchn_pending_sel |= 1ull << (port / 64);
    si->vcpu_info[0].evtchn_upcall_pending = 1;
}

static void store_watch_event(struct vm *vm, const char *path)
{
    char ev[160];
    int n = snprintf(ev, sizeof(ev), "%s%c%s", path, 0, vm->store.watch_token);
    reply(vm, XS_WATCH_EVENT, 0, ev, (size_t)n + 1);
}

/* Serves every complete request in the guest's request ring. */
static void store_serve(struct vm *vm)
{
    struct store *st = &vm->store;
    struct xenstore_domain_interface *x = gpa(vm, (uint64_t)STORE_PFN << 12, sizeof(*x));
    while (x->req_cons != x->req_prod) {
        cr_assert(st->req_len < sizeof(st->req));
        st->req[st->req_len++] = x->req[MASK_XENSTORE_IDX(x->req_cons)];
        x->req_cons++;
    }
    for (;;) {
        struct xsd_sockmsg h;
        if (st->req_len < sizeof(h))
            break;
        memcpy(&h, st->req, sizeof(h));
        if (st->req_len < sizeof(h) + h.len)
            break;
        char body[4097];
        memcpy(body, st->req + sizeof(h), h.len);
        body[h.len] = 0;
        memmove(st->req, st->req + sizeof(h) + h.len, st->req_len - sizeof(h) - h.len);
        st->req_len -= sizeof(h) + h.len;
        const char *v;
        switch (h.type) {
        case XS_READ:
            if ((v = store_get(st, body)))
                reply(vm, XS_READ, h.req_id, v, strlen(v));
            else
                reply(vm, XS_ERROR, h.req_id, "ENOENT", 7);
            break;
        case XS_WRITE: {
            size_t klen = strlen(body);
            store_set(st, body, body + klen + 1, h.len - klen - 1);
            st->writes++;
            reply(vm, XS_WRITE, h.req_id, "OK", 3);
            break;
        }
        case XS_WATCH:
            snprintf(st->watch_token, sizeof(st->watch_token), "%s", body + strlen(body) + 1);
            st->watching = !strcmp(body, "control/shutdown");
            reply(vm, XS_WATCH, h.req_id, "OK", 3);
            store_watch_event(vm, body); /* xenstored fires every new watch once */
            break;
        default:
            reply(vm, XS_ERROR, h.req_id, "ENOSYS", 7);
        }
    }
    raise_port(vm, STORE_PORT);
}

static bool on_vmcall(uc_engine *uc, void *user)
{
    struct vm *vm = user;
    uint64_t nr, a1, a2, a3, rip;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    const uint8_t *insn = gpa(vm, rip, 3);
    if (!insn || insn[0] != 0x0f || insn[1] != 0x01 || insn[2] != 0xc1)
        return false; /* a real invalid opcode: the emulation stops with an error */
    uc_reg_read(uc, UC_X86_REG_RAX, &nr);
    uc_reg_read(uc, UC_X86_REG_RDI, &a1);
    uc_reg_read(uc, UC_X86_REG_RSI, &a2);
    uc_reg_read(uc, UC_X86_REG_RDX, &a3);
    long rc = -XEN_ENOSYS;
    if (nr < 64)
        vm->calls[nr]++;
    switch (nr) {
    case __HYPERVISOR_console_io:
        rc = hc_console_io(vm, a1, a2, a3);
        break;
    case __HYPERVISOR_memory_op:
        rc = hc_memory_op(vm, a1, a2);
        break;
    case __HYPERVISOR_hvm_op:
    case __HYPERVISOR_vcpu_op:
        rc = 0;
        break;
    case __HYPERVISOR_event_channel_op:
        rc = hc_evtchn_op(vm, a1, a2);
        break;
    case __HYPERVISOR_sched_op:
        if (a1 == SCHEDOP_shutdown) {
            const uint32_t *reason = gpa(vm, a2, 4);
            vm->shutdown_reason = reason ? (int)*reason : -1;
            uc_emu_stop(uc); /* never resumed: RIP exactness does not matter */
            rc = 0;
        } else if (a1 == SCHEDOP_block) {
            struct store *st = &vm->store;
            if (vm->stop_at_block && vm->block_stops < STOPS_BEFORE_REQUEST) {
                /* The toolstack holds its request until the other thread's stops have been
                 * acted on: the guest alone runs in a few milliseconds, less than a loaded
                 * scheduler may leave that thread waiting. Blocking gives the CPU away, as a
                 * real SCHEDOP_block does, so the other thread runs even on one CPU or under
                 * SCHED_FIFO; the guest then spins in its wait loop until the request. */
                struct timespec ts = {0, 50 * 1000};
                nanosleep(&ts, NULL);
            } else if (st->watching && st->request && !st->requested) {
                /* the toolstack asks the guest to shut down */
                store_set(st, "control/shutdown", st->request, strlen(st->request));
                st->requested = 1;
                store_watch_event(vm, "control/shutdown");
                raise_port(vm, STORE_PORT);
            }
            rc = 0;
        }
        break;
    }
    uc_reg_write(uc, UC_X86_REG_RAX, &rc);
    rip += 3;
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
    return true;
}

/* Exceptions go through the guest's IDT as the soft accelerator delivers them: an interrupt
 * frame on a 16-byte aligned stack, IF cleared. */
static void on_intr(uc_engine *uc, uint32_t intno, void *user)
{
    struct vm *vm = user;
    uc_x86_mmr idtr;
    uint64_t rsp, rip, rflags, cs, ss;
    uc_reg_read(uc, UC_X86_REG_IDTR, &idtr);
    uc_reg_read(uc, UC_X86_REG_RSP, &rsp);
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    uc_reg_read(uc, UC_X86_REG_EFLAGS, &rflags);
    uc_reg_read(uc, UC_X86_REG_CS, &cs);
    uc_reg_read(uc, UC_X86_REG_SS, &ss);
    const uint8_t *g = gpa(vm, idtr.base + 16ull * intno, 16);
    if (!g || 16ull * intno + 15 > idtr.limit) {
        uc_emu_stop(uc);
        return;
    }
    uint64_t handler = (uint64_t)(g[0] | g[1] << 8) | (uint64_t)(g[6] | g[7] << 8) << 16 |
                       (uint64_t)(g[8] | g[9] << 8 | g[10] << 16 | (uint32_t)g[11] << 24) << 32;
    uint64_t frame[5] = {rip, cs, rflags, rsp, ss};
    uint64_t sp = (rsp & ~15ull) - sizeof(frame);
    uint64_t *dst = gpa(vm, sp, sizeof(frame));
    if (!dst) {
        uc_emu_stop(uc);
        return;
    }
    memcpy(dst, frame, sizeof(frame));
    rflags &= ~(1ull << 9);
    uc_reg_write(uc, UC_X86_REG_RSP, &sp);
    uc_reg_write(uc, UC_X86_REG_EFLAGS, &rflags);
    uc_reg_write(uc, UC_X86_REG_RIP, &handler);
}

/* Reports a stray guest access in the failure message. */
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                        void *user)
{
    (void)type;
    (void)value;
    struct vm *vm = user;
    uint64_t rip;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    int n = snprintf(vm->out + vm->out_len, sizeof(vm->out) - vm->out_len,
                     "[harness: unmapped access to 0x%lx (%d bytes) at rip 0x%lx]\n",
                     (unsigned long)addr, size, (unsigned long)rip);
    if (n > 0 && (size_t)n < sizeof(vm->out) - vm->out_len)
        vm->out_len += (size_t)n;
    return false;
}

static void load_image(struct vm *vm, const char *name)
{
    char exe[PATH_MAX], path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    cr_assert(n > 0);
    exe[n] = 0;
    snprintf(path, sizeof(path), "%s/../guests/%s.elf", dirname(exe), name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "guest image %s is built", path);
    static uint8_t file[1 << 20];
    size_t size = fread(file, 1, sizeof(file), f);
    fclose(f);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            uint8_t *dst = gpa(vm, ph[i].p_paddr, ph[i].p_memsz);
            cr_assert(dst && ph[i].p_offset + ph[i].p_filesz <= size);
            memcpy(dst, file + ph[i].p_offset, ph[i].p_filesz);
        } else if (ph[i].p_type == PT_NOTE) {
            size_t off = ph[i].p_offset, end = off + ph[i].p_filesz;
            while (off + sizeof(Elf64_Nhdr) <= end) {
                const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(file + off);
                const uint8_t *desc = file + off + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
                if (nh->n_type == XEN_ELFNOTE_ENTRY)
                    memcpy(&vm->entry, desc, 8);
                if (nh->n_type == XEN_ELFNOTE_HYPERCALL_PAGE)
                    memcpy(&vm->hypercall_page, desc, 8);
                off += sizeof(*nh) + ((nh->n_namesz + 3) & ~3u) + ((nh->n_descsz + 3) & ~3u);
            }
        }
    }
    cr_assert(vm->entry && vm->hypercall_page);
    /* The builder's stubs, as the soft accelerator writes them: mov $nr, %eax; vmcall; ret
     * (vmcall reaches an invalid-instruction hook with an exact RIP). */
    uint8_t *hp = gpa(vm, vm->hypercall_page, 4096);
    memset(hp, 0xcc, 4096);
    for (unsigned i = 0; i < 128; i++) {
        uint8_t *s = hp + 32 * i;
        s[0] = 0xb8;
        memcpy(s + 1, &i, 4);
        s[5] = 0x0f;
        s[6] = 0x01;
        s[7] = 0xc1;
        s[8] = 0xc3;
    }
}

static void boot_with(struct vm *vm, const char *name, const char *cmdline, bool with_store)
{
    vm->shutdown_reason = -1;
    vm->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(vm->ram != MAP_FAILED);
    load_image(vm, name);
    struct start_info *si = gpa(vm, START_INFO_GPA, sizeof(*si));
    strcpy(si->magic, KXEN_PV_START_MAGIC);
    si->nr_pages = RAM_SIZE / 4096;
    snprintf((char *)si->cmd_line, sizeof(si->cmd_line), "%s", cmdline);
    if (with_store) {
        si->store_mfn = STORE_PFN;
        si->store_evtchn = STORE_PORT;
    }

    cr_assert_eq(uc_open(UC_ARCH_X86, UC_MODE_64, &vm->uc), UC_ERR_OK);
    cr_assert_eq(uc_mem_map_ptr(vm->uc, 0, RAM_SIZE, UC_PROT_ALL, vm->ram), UC_ERR_OK);
    uc_hook h1, h2, h3;
    cr_assert_eq(uc_hook_add(vm->uc, &h3, UC_HOOK_MEM_UNMAPPED, on_unmapped, vm, 1, 0), UC_ERR_OK);
    cr_assert_eq(uc_hook_add(vm->uc, &h1, UC_HOOK_INSN_INVALID, on_vmcall, vm, 1, 0), UC_ERR_OK);
    cr_assert_eq(uc_hook_add(vm->uc, &h2, UC_HOOK_INTR, on_intr, vm, 1, 0), UC_ERR_OK);
    if (vm->stop_at_block) {
        uc_hook h4;
        cr_assert_eq(uc_hook_add(vm->uc, &h4, UC_HOOK_BLOCK, on_block, vm, 1, 0), UC_ERR_OK);
    }
    uint64_t rsi = START_INFO_GPA, rsp = 0;
    uc_reg_write(vm->uc, UC_X86_REG_RSI, &rsi);
    uc_reg_write(vm->uc, UC_X86_REG_RSP, &rsp);
    /* Like the soft accelerator's run loop: uc_emu_start returns after every vmcall (the
     * hook advanced RIP), after an asynchronous stop, or after upcall_every instructions; an
     * upcall is injected at such a boundary when the test asks for it and IF is set. */
    pthread_t th;
    if (vm->async_stop_us) {
        vm->running = 1;
        pthread_create(&th, NULL, async_stopper, vm);
    }
    bool inject = vm->upcall_every || (vm->async_stop_us && !getenv("KXEN_TEST_NO_INJECT"));
    uint64_t rip = vm->entry;
    uc_err err = UC_ERR_OK;
    time_t give_up = time(NULL) + 20;
    for (unsigned i = 0; vm->shutdown_reason < 0 && err == UC_ERR_OK; i++) {
        if (i % 1024 == 0 && time(NULL) > give_up)
            break;
        err = uc_emu_start(vm->uc, rip, 0, inject ? 0 : 10 * 1000 * 1000, vm->upcall_every);
        uint64_t rflags;
        uc_reg_read(vm->uc, UC_X86_REG_EFLAGS, &rflags);
        if (inject && err == UC_ERR_OK && vm->shutdown_reason < 0 && (rflags & (1ull << 9)) &&
            vm->shared_info_gpa) {
            on_intr(vm->uc, 0xf3, vm);
            vm->upcalls++;
        }
        uc_reg_read(vm->uc, UC_X86_REG_RIP, &rip);
    }
    if (vm->async_stop_us) {
        vm->running = 0;
        pthread_join(th, NULL);
    }
    vm->out[vm->out_len] = 0;
    cr_assert_eq(err, UC_ERR_OK, "emulation error %s; console so far:\n%s", uc_strerror(err),
                 vm->out);
    uc_close(vm->uc);
    munmap(vm->ram, RAM_SIZE);
}

static void boot(struct vm *vm, const char *name, const char *cmdline)
{
    memset(vm, 0, sizeof(*vm));
    boot_with(vm, name, cmdline, false);
}

/* hello against the fake xenstored: name and domid read, data/hello written, and the request
 * in control/shutdown obeyed with the matching reason after clearing the node. */
static void run_hello(struct vm *vm, const char *request, unsigned upcall_every)
{
    memset(vm, 0, sizeof(*vm));
    vm->upcall_every = upcall_every;
    /* Diagnostic, off in normal runs: KXEN_TEST_ASYNC_STOP_US=50 stops the engine from a
     * second thread every 50 us (as kxend's ticker does), KXEN_TEST_NO_INJECT=1 resumes without
     * injecting. With Unicorn 2.0.1 this corrupts the guest even without injection (an
     * instruction runs twice: upstream issue unicorn-engine/unicorn#1355), while the
     * exact-boundary injections of the tests below never do. */
    if (getenv("KXEN_TEST_ASYNC_STOP_US"))
        vm->async_stop_us = atoi(getenv("KXEN_TEST_ASYNC_STOP_US"));
    store_set(&vm->store, "name", "harness-guest", 13);
    store_set(&vm->store, "domid", "7", 1);
    vm->store.request = request;
    boot_with(vm, "hello", "", true);
    cr_assert(strstr(vm->out, "Hello from kxen!"), "console:\n%s", vm->out);
    cr_assert(strstr(vm->out, "hello: I am \"harness-guest\", domain 7"), "console:\n%s", vm->out);
    const char *v = store_get(&vm->store, "data/hello");
    cr_assert(v && !strcmp(v, "world"), "data/hello written; console:\n%s", vm->out);
    v = store_get(&vm->store, "control/shutdown");
    cr_assert(v && !strcmp(v, ""), "control/shutdown acknowledged by clearing it");
}

Test(guest_soft_boot, hello_obeys_poweroff_request_through_xenstore)
{
    static struct vm vm;
    run_hello(&vm, "poweroff", 0);
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_poweroff, "console:\n%s", vm.out);
}

Test(guest_soft_boot, hello_obeys_reboot_request_through_xenstore)
{
    static struct vm vm;
    run_hello(&vm, "reboot", 0);
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_reboot, "console:\n%s", vm.out);
}

/* Upcalls can hit any instruction with interrupts on: formatting, ring copies, hypercall
 * stubs. Two phases so that different instructions are hit. */
Test(guest_soft_boot, hello_survives_upcalls_at_every_37th_instruction)
{
    static struct vm vm;
    run_hello(&vm, "poweroff", 37);
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_poweroff, "console:\n%s", vm.out);
    cr_assert_gt(vm.upcalls, 100, "upcalls injected: %u", vm.upcalls);
}

Test(guest_soft_boot, hello_survives_upcalls_at_every_101st_instruction)
{
    static struct vm vm;
    run_hello(&vm, "reboot", 101);
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_reboot, "console:\n%s", vm.out);
    cr_assert_gt(vm.upcalls, 100, "upcalls injected: %u", vm.upcalls);
}

/* The recipe for the soft accelerator: another thread only raises a flag, and a block hook
 * stops the engine where RIP is exact; upcalls injected there never corrupt the guest. */
Test(guest_soft_boot, hello_survives_upcalls_at_block_hook_stops_requested_by_another_thread)
{
    static struct vm vm;
    memset(&vm, 0, sizeof(vm));
    vm.async_stop_us = 20;
    vm.stop_at_block = true;
    store_set(&vm.store, "name", "harness-guest", 13);
    store_set(&vm.store, "domid", "7", 1);
    vm.store.request = "poweroff";
    boot_with(&vm, "hello", "", true);
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_poweroff, "console:\n%s", vm.out);
    cr_assert(strstr(vm.out, "hello: I am \"harness-guest\", domain 7\n"), "console:\n%s", vm.out);
    cr_assert_gt(vm.block_stops, 0, "the other thread's requests were acted on");
    cr_log_info("%u stops at block boundaries, %u upcalls injected", vm.block_stops, vm.upcalls);
}

Test(guest_soft_boot, pv_entry_reaches_main_with_boot_info_and_powers_off)
{
    static struct vm vm;
    boot(&vm, "boottest", "hello from the builder");
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_poweroff, "console:\n%s", vm.out);
    cr_assert(strstr(vm.out, "boottest: entry pv-entry (soft)"), "console:\n%s", vm.out);
    cr_assert(strstr(vm.out, "boottest: cmdline \"hello from the builder\""), "%s", vm.out);
    cr_assert(strstr(vm.out, "2 map entries from memory_map hypercall"), "%s", vm.out);
    cr_assert(strstr(vm.out, "map 1: 0x000000100000 +0xf00000 type 1"), "%s", vm.out);
    /* boot set up events the Xen way: shared_info placed, callback vector registered */
    cr_assert(vm.calls[__HYPERVISOR_memory_op] >= 2);
    cr_assert(vm.calls[__HYPERVISOR_hvm_op] >= 1);
}

Test(guest_soft_boot, shutdown_reason_reaches_the_hypervisor)
{
    static struct vm vm;
    boot(&vm, "boottest", "reason=reboot");
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_reboot, "console:\n%s", vm.out);
}

Test(guest_soft_boot, exception_is_reported_and_crashes_the_domain)
{
    static struct vm vm;
    boot(&vm, "boottest", "trap");
    cr_assert_eq(vm.shutdown_reason, SHUTDOWN_crash, "console:\n%s", vm.out);
    cr_assert(strstr(vm.out, "PANIC: trap: vector 3 (breakpoint)"), "console:\n%s", vm.out);
}
