/* The soft accelerator's interrupt and exception delivery: Unicorn has no injection API, so
 * kxend pushes the frame and enters the handler from the guest's IDT by hand, for the event
 * upcall vector and for guest CPU exceptions (docs/kxend.md). */
#include <stdint.h>
#include <unicorn/unicorn.h>

#include "../kxend/core.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/accel.h"
#include "kxend/guest_mem.h"
#include "soft_priv.h"

/* Pushes a 64-bit interrupt frame (and the error code when err is set) and enters the handler
 * of vector vec from the guest IDT (interrupt gate: IF cleared). Returns false when the guest
 * has no usable gate or the frame cannot be written (no stack in RAM). */
bool soft_deliver_vector(struct vcpu *v, uint8_t vec, const uint64_t *err)
{
    struct soft_vcpu *sv = v->accel_priv;
    uc_engine *uc = sv->uc;
    uc_x86_mmr idtr;
    uint8_t gate[16];
    uint64_t rsp, rip, rflags, cs, ss;

    uc_reg_read(uc, UC_X86_REG_IDTR, &idtr);
    if ((uint32_t)vec * 16 + 15 > idtr.limit ||
        copy_from_guest_phys(v->dom, gate, idtr.base + vec * 16ull, sizeof(gate)))
        return false;
    unsigned type = gate[5] & 0xf;
    if (!(gate[5] & 0x80) || (type != 0xe && type != 0xf))
        return false;
    uint64_t handler = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
                       (uint64_t)gate[7] << 24 | (uint64_t)gate[8] << 32 | (uint64_t)gate[9] << 40 |
                       (uint64_t)gate[10] << 48 | (uint64_t)gate[11] << 56;
    uint16_t sel = (uint16_t)(gate[2] | gate[3] << 8);

    uc_reg_read(uc, UC_X86_REG_RSP, &rsp);
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    uc_reg_read(uc, UC_X86_REG_RFLAGS, &rflags);
    uc_reg_read(uc, UC_X86_REG_CS, &cs);
    uc_reg_read(uc, UC_X86_REG_SS, &ss);
    uint64_t frame[6] = {err ? *err : 0, rip, cs, rflags, rsp, ss};
    size_t skip = err ? 0 : 1, len = sizeof(frame) - skip * sizeof(frame[0]);
    uint64_t nsp = (rsp & ~0xfull) - len;
    if (nsp > rsp || copy_to_guest_phys(v->dom, nsp, frame + skip, len))
        return false;
    if (vec < 32)
        sv->exc_handler = handler;
    if (type == 0xe)
        rflags &= ~RFLAGS_IF;
    rflags &= ~RFLAGS_TF;
    uc_reg_write(uc, UC_X86_REG_RSP, &nsp);
    uc_reg_write(uc, UC_X86_REG_RFLAGS, &rflags);
    if (sel != cs) {
        uint64_t s = sel;
        uc_reg_write(uc, UC_X86_REG_CS, &s);
    }
    uc_reg_write(uc, UC_X86_REG_RIP, &handler);
    return true;
}

static const char *exc_name(int vec)
{
    static const char *names[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                  "#DF", "?",   "#TS", "#NP", "#SS", "#GP", "#PF"};
    return vec >= 0 && vec < (int)ARRAY_SIZE(names) ? names[vec] : "int";
}

/* Vectors for which the CPU pushes an error code. */
static bool vector_has_error_code(int vec)
{
    return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30;
}

/* The run ended on a guest exception (hook_intr, or a real #UD in hook_invalid): deliver it through
 * the guest IDT as the CPU would. When that is impossible (no gate, no stack, or the handler itself
 * faults at its first instruction) the guest would double fault: crash it with a hypervisor-console
 * line naming the exception. */
void soft_guest_exception(struct domain *d, struct vcpu *v, uc_err err, uint64_t rip)
{
    struct soft_vcpu *sv = v->accel_priv;
    int vec = sv->exc;
    uint64_t code = 0;
    bool unmapped =
        err == UC_ERR_READ_UNMAPPED || err == UC_ERR_WRITE_UNMAPPED || err == UC_ERR_FETCH_UNMAPPED;
    if (vec < 0 && unmapped) {
        /* Would be a #PF, but Unicorn leaves RIP at the start of the translated block, not at
         * the faulting instruction: a handler could not resume correctly, so crash instead. */
        const char *what = sv->fault_code & 2 ? "write" : sv->fault_code & 16 ? "fetch" : "read";
        log_warn("domain %u vcpu %u: %s at %#llx outside RAM (block at rip %#llx): crashed",
                 d->domid, v->id, what, (unsigned long long)sv->fault_addr,
                 (unsigned long long)rip);
        console_hv_printf("(XEN) d%u v%u crashed: %s at %#llx outside RAM (page fault; soft "
                          "cannot deliver it)\n",
                          d->domid, v->id, what, (unsigned long long)sv->fault_addr);
        domain_shutdown(d, 3 /* SHUTDOWN_crash */);
        return;
    }
    if (vec < 0) {
        log_warn("domain %u vcpu %u: %s at rip %#llx: crashed", d->domid, v->id, uc_strerror(err),
                 (unsigned long long)rip);
        console_hv_printf("(XEN) d%u v%u crashed: %s at rip %#llx\n", d->domid, v->id,
                          uc_strerror(err), (unsigned long long)rip);
        domain_shutdown(d, 3 /* SHUTDOWN_crash */);
        return;
    }
    /* Unicorn's error code for #GP/#TS/#NP/#SS is not readable through its API: 0 is pushed
     * (docs/kxend.md). */
    bool nested = vec < 32 && rip == sv->exc_handler;
    if (!nested && soft_deliver_vector(v, (uint8_t)vec, vector_has_error_code(vec) ? &code : NULL))
        return;
    log_warn("domain %u vcpu %u: double fault delivering exception %d (%s) at rip %#llx: "
             "crashed",
             d->domid, v->id, vec, exc_name(vec), (unsigned long long)rip);
    console_hv_printf("(XEN) d%u v%u crashed: double fault delivering %s (vector %d) at rip "
                      "%#llx%s\n",
                      d->domid, v->id, exc_name(vec), vec, (unsigned long long)rip,
                      nested ? ": the handler faults" : ": no usable IDT gate or stack");
    domain_shutdown(d, 3 /* SHUTDOWN_crash */);
}
