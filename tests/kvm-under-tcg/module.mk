# tests/kvm-under-tcg/: the kvm accelerator's own test program (drives accel_kvm_ops with a tiny
# guest, no kxend) and the harness that runs kvm tests in qemu TCG (run-vm.sh).
# accel_guest.S is that program's guest code, linked into it (see README), not a guest image.
TEST_PROGRAMS += kvm_accel_test kvm_guest_run
kvm_accel_test_SRCS += tests/kvm-under-tcg/kvm_accel_test.c tests/kvm-under-tcg/accel_guest.S \
                       $(wildcard hypervisor/accel/kvm*.c)
kvm_accel_test_LIBS += libkxencommon

# Runs one guest image on kxend through libxenctrl and prints its console (used inside the VM).
kvm_guest_run_SRCS += tests/kvm-under-tcg/kvm_guest_run.c
kvm_guest_run_LIBS += libxenctrl libkxencommon
