/* The soft accelerator's register access (accel_ops get/set_regs and get/set_sregs): for a
 * paused or stopped domain (save, debugging) and for VCPUOP_initialise of a vCPU that never
 * ran, whose engine is created here. */
#include <errno.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "kxen/util.h"
#include "kxend/accel.h"
#include "soft_priv.h"

static const int gpr_ids[18] = {
    UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX,    UC_X86_REG_RDX, UC_X86_REG_RSI,
    UC_X86_REG_RDI, UC_X86_REG_RSP, UC_X86_REG_RBP,    UC_X86_REG_R8,  UC_X86_REG_R9,
    UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12,    UC_X86_REG_R13, UC_X86_REG_R14,
    UC_X86_REG_R15, UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
};

/* Register access is for a paused or stopped domain (save, debugging). */
int soft_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
    struct soft_vcpu *sv = v->accel_priv;
    if (!sv || !sv->uc)
        return -EAGAIN;
    uint64_t *vals = &r->rax;
    for (int i = 0; i < 18; i++)
        uc_reg_read(sv->uc, gpr_ids[i], &vals[i]);
    return 0;
}

/* Setting registers of a vCPU that never ran (VCPUOP_initialise) creates its engine. The
 * caller guarantees the vCPU is not executing (its domain's runner is this thread, or the
 * domain is paused). */
static int engine_ensure(struct vcpu *v)
{
    struct soft_vcpu *sv = v->accel_priv;
    if (!sv)
        return -EAGAIN;
    return sv->uc ? 0 : soft_engine_create(v);
}

int soft_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
    struct soft_vcpu *sv = v->accel_priv;
    int rc = engine_ensure(v);
    if (rc < 0)
        return rc;
    const uint64_t *vals = &r->rax;
    for (int i = 0; i < 18; i++)
        uc_reg_write(sv->uc, gpr_ids[i], &vals[i]);
    return 0;
}

int soft_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
    struct soft_vcpu *sv = v->accel_priv;
    if (!sv || !sv->uc)
        return -EAGAIN;
    memset(s, 0, sizeof(*s));
    uc_x86_mmr gdtr, idtr;
    uint64_t cs, ss, ds, es;
    uc_reg_read(sv->uc, UC_X86_REG_GDTR, &gdtr);
    uc_reg_read(sv->uc, UC_X86_REG_IDTR, &idtr);
    uc_reg_read(sv->uc, UC_X86_REG_CS, &cs);
    uc_reg_read(sv->uc, UC_X86_REG_SS, &ss);
    uc_reg_read(sv->uc, UC_X86_REG_DS, &ds);
    uc_reg_read(sv->uc, UC_X86_REG_ES, &es);
    s->gdt_base = gdtr.base;
    s->gdt_limit = (uint16_t)gdtr.limit;
    s->idt_base = idtr.base;
    s->idt_limit = (uint16_t)idtr.limit;
    s->cs.selector = (uint16_t)cs;
    s->ss.selector = (uint16_t)ss;
    s->ds.selector = (uint16_t)ds;
    s->es.selector = (uint16_t)es;
    uc_reg_read(sv->uc, UC_X86_REG_CR0, &s->cr0);
    uc_reg_read(sv->uc, UC_X86_REG_CR2, &s->cr2);
    uc_reg_read(sv->uc, UC_X86_REG_CR3, &s->cr3);
    uc_reg_read(sv->uc, UC_X86_REG_CR4, &s->cr4);
    s->efer = 0x500; /* LME | LMA: a UC_MODE_64 engine is always in long mode */
    uc_reg_read(sv->uc, UC_X86_REG_FS_BASE, &s->fs_base);
    uc_reg_read(sv->uc, UC_X86_REG_GS_BASE, &s->gs_base);
    return 0;
}

int soft_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
    struct soft_vcpu *sv = v->accel_priv;
    if (!(s->efer & (1ull << 10)))
        return -EOPNOTSUPP; /* a UC_MODE_64 engine cannot leave long mode (docs/soft-accel.md) */
    int rc = engine_ensure(v);
    if (rc < 0)
        return rc;
    uc_x86_mmr gdtr = {0, s->gdt_base, s->gdt_limit, 0};
    uc_x86_mmr idtr = {0, s->idt_base, s->idt_limit, 0};
    uc_reg_write(sv->uc, UC_X86_REG_GDTR, &gdtr);
    uc_reg_write(sv->uc, UC_X86_REG_IDTR, &idtr);
    /* A null selector is not loaded: the fresh engine's flat 64-bit state stays (loading a
     * null CS would drop the engine out of 64-bit code). */
    const struct {
        int id;
        uint16_t sel;
    } segs[] = {{UC_X86_REG_CS, s->cs.selector},
                {UC_X86_REG_SS, s->ss.selector},
                {UC_X86_REG_DS, s->ds.selector},
                {UC_X86_REG_ES, s->es.selector}};
    for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
        uint64_t sel = segs[i].sel;
        if (sel)
            uc_reg_write(sv->uc, segs[i].id, &sel);
    }
    uc_reg_write(sv->uc, UC_X86_REG_FS_BASE, &s->fs_base);
    uc_reg_write(sv->uc, UC_X86_REG_GS_BASE, &s->gs_base);
    return 0;
}
