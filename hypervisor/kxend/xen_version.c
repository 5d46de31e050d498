/* __HYPERVISOR_xen_version: version, strings, feature bitmap, page size, domain handle. */
#include <errno.h>
#include <string.h>

#include <kxen/features.h>
#include <kxen/version.h>

#include "kxen/ctl_domain.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"

static int64_t copy_str(struct vcpu *v, uint64_t gva, const char *s, size_t size)
{
    char buf[1024] = {0};
    strncpy(buf, s, size - 1);
    return copy_to_guest(v, gva, buf, size);
}

static int64_t do_xen_version(struct vcpu *v, const uint64_t a[5])
{
    uint64_t arg = a[1];
    switch (a[0]) {
    case XENVER_version:
        return (KXEN_XEN_MAJOR << 16) | KXEN_XEN_MINOR;
    case XENVER_extraversion:
        return copy_str(v, arg, KXEN_XEN_EXTRA, XEN_EXTRAVERSION_LEN);
    case XENVER_capabilities:
        return copy_str(v, arg, "xen-3.0-x86_64 hvm-3.0-x86_64", XEN_CAPABILITIES_INFO_LEN);
    case XENVER_changeset:
        return copy_str(v, arg, "kxen", XEN_CHANGESET_INFO_LEN);
    case XENVER_compile_info: {
        struct xen_compile_info ci;
        memset(&ci, 0, sizeof(ci));
        strcpy(ci.compiler, "gcc");
        strcpy(ci.compile_by, "kxen");
        strcpy(ci.compile_domain, "kxen");
        strncpy(ci.compile_date, __DATE__, sizeof(ci.compile_date) - 1);
        return copy_to_guest(v, arg, &ci, sizeof(ci));
    }
    case XENVER_platform_parameters: {
        struct xen_platform_parameters pp = {.virt_start = 0xffff800000000000ul};
        return copy_to_guest(v, arg, &pp, sizeof(pp));
    }
    case XENVER_get_features: {
        struct xen_feature_info fi;
        if (copy_from_guest(v, &fi, arg, sizeof(fi)))
            return -EFAULT;
        if (fi.submap_idx >= XENFEAT_NR_SUBMAPS)
            return -EINVAL;
        fi.submap = (1u << XENFEAT_auto_translated_physmap) | (1u << XENFEAT_hvm_callback_vector) |
                    (1u << XENFEAT_hvm_safe_pvclock) | (1u << XENFEAT_supervisor_mode_kernel);
        return copy_to_guest(v, arg, &fi, sizeof(fi));
    }
    case XENVER_pagesize:
        return 4096;
    case XENVER_guest_handle:
        return copy_to_guest(v, arg, v->dom->uuid, 16);
    case XENVER_commandline:
        if (!v->dom->privileged)
            return -EPERM;
        return copy_str(v, arg, "", sizeof(xen_commandline_t));
    case XENVER_build_id:
        return -ENODATA;
    default:
        return -ENOSYS;
    }
}

static const struct hypercall_family hc_xen_version = {__HYPERVISOR_xen_version, "xen_version",
                                                       do_xen_version};
HYPERCALL_REGISTER(hc_xen_version);
