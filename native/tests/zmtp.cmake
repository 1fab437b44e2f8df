# ZMTP 3.x wire parsing: greeting, frames, commands, metadata (src/net).
list(APPEND PSYNE_NATIVE_TESTS test_zmtp)

# Socket I/O helpers (src/net): gathered writes.
list(APPEND PSYNE_NATIVE_TESTS test_net)
