# tests/kvm-under-tcg/: the kvm accelerator's own test program (drives accel_kvm_ops with a tiny
# guest, no kxend) and the harness that runs kvm tests in qemu TCG (run-vm.sh).
KVMTCG_TEST := $(BUILD)/tests/kvm_accel_test
KVMTCG_OBJS := $(call objs,tests/kvm-under-tcg/kvm_accel_test.c \
	$(wildcard hypervisor/accel/kvm*.c)) $(BUILD)/obj/tests/kvm-under-tcg/accel_guest.o

$(BUILD)/obj/tests/kvm-under-tcg/accel_guest.o: tests/kvm-under-tcg/accel_guest.S
	@mkdir -p $(@D)
	$(CC) -c $< -o $@

$(KVMTCG_TEST): $(KVMTCG_OBJS) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
TEST_PROGS += $(KVMTCG_TEST)

# Runs one guest image on kxend through libxenctrl and prints its console (used inside the VM).
KVMTCG_RUN := $(BUILD)/tests/kvm_guest_run
$(KVMTCG_RUN): $(call objs,tests/kvm-under-tcg/kvm_guest_run.c) $(HV_XC_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
TEST_PROGS += $(KVMTCG_RUN)
