# Ternary compute tests (quantisers, .psyt, kernels); run under every ISA like the rest.
list(APPEND PSYNE_NATIVE_TESTS test_ternary test_ternary_kernels)
