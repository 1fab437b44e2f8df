# ZMTP 3.x wire parsing: greeting, frames, commands, metadata (src/net).
list(APPEND PSYNE_NATIVE_TESTS test_zmtp)
