# Channels: the message ring, ipc segments and tensor headers (owned by the channels work).
list(APPEND PSYNE_NATIVE_TESTS test_ring test_ring_stress test_ipc test_tensor)
