#!/usr/bin/env bash
# Checks the Debian packages kxen builds and tests with; installs the missing ones when root,
# otherwise prints the exact apt-get command. One dpkg-query call: fast when all are present.
set -u
PKGS=(
  build-essential pkg-config
  libevent-dev zlib1g-dev liblzma-dev libzstd-dev libcriterion-dev libunicorn-dev linux-libc-dev liburing-dev
  # test-only: Xen's real headers and clients, the kvm-under-tcg harness
  libxen-dev xenstore-utils xen-utils-4.17
  qemu-system-x86 linux-image-amd64 busybox-static cpio gzip kmod e2fsprogs xz-utils
  # the harness's second L1/L2 kernel: KVM with CONFIG_KVM_XEN (KXEN_L1_KERNEL=6.12)
  linux-image-6.12.100+deb12-amd64
  # HVM guests boot Debian's SeaBIOS (/usr/share/seabios/bios.bin); the harness's HVM Linux
  # boot disk is a FAT image with syslinux, written by mtools (no mount)
  seabios syslinux mtools dosfstools
  clang libclang-rt-14-dev clang-format
)
# KXEN_DEPS_EXTRA (space-separated names) is appended to the list: tests use it to prove the
# missing-package path without uninstalling anything.
want=()
for p in "${PKGS[@]}" ${KXEN_DEPS_EXTRA:-}; do [[ $p == \#* ]] || want+=("$p"); done
installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${want[@]}" 2>/dev/null |
             awk '$1 == "ii" { printf "%s ", $2 }')"
missing=""
for p in "${want[@]}"; do [[ $installed == *" $p "* ]] || missing+="$p "; done
missing=${missing% }
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" != 0 ]; then
  echo "kxen: missing Debian packages. Run as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo "kxen: installing missing packages: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends $missing >&2 || {
    echo "kxen: apt-get install failed for: $missing" >&2; exit 1; }
fi
