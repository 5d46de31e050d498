/* Registration: every part of kxend that the core iterates over (hypercall families,
 * accelerators, per-domain subsystems, emulated device models, control-op groups) puts a
 * pointer to its descriptor in a named ELF section with KXEND_REGISTER(). The core walks the
 * section with KXEND_FOREACH() and never names a part; which parts a binary has is decided
 * only by which objects the build links into it.
 *
 * How it works: GNU ld defines __start_<sect> and __stop_<sect> for every section whose name
 * is a C identifier. Entries are pointers (all the same size and alignment), so the section is
 * a plain array even under AddressSanitizer, which leaves globals with an explicit section
 * unpadded. The bounds are weak, so a section nobody registered in is an empty array. */
#ifndef KXEND_REGISTRY_H
#define KXEND_REGISTRY_H

#define KXEND_REG_CAT_(a, b) a##b
#define KXEND_REG_CAT(a, b) KXEND_REG_CAT_(a, b)

/* KXEND_REGISTER(kxend_hypercalls, struct hypercall_family, hc_sched_op): registers &var.
 * var must be a const object of type `type` with static storage duration. */
#define KXEND_REGISTER(sect, type, var)                                                            \
    static const type *const KXEND_REG_CAT(kxend_reg_, var)                                        \
        __attribute__((used, section(#sect), aligned(sizeof(void *)))) = &(var)

/* Declares the bounds of a section (once per file that walks it). */
#define KXEND_SECTION_DECLARE(sect, type)                                                          \
    extern const type *const __start_##sect[] __attribute__((weak));                               \
    extern const type *const __stop_##sect[] __attribute__((weak))

/* for (KXEND_FOREACH(kxend_hypercalls, struct hypercall_family, f)) use(*f); f is a
 * `const type *const *`. Order is link order: callers that need an order sort by a field of
 * the descriptor (see domain_subsys.order). */
#define KXEND_FOREACH(sect, type, it)                                                              \
    const type *const *it = __start_##sect;                                                        \
    it &&it < __stop_##sect;                                                                       \
    it++

#define KXEND_SECTION_COUNT(sect) ((size_t)(__start_##sect ? __stop_##sect - __start_##sect : 0))

#endif
