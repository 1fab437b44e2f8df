# fuzz_records: libFuzzer target over the channel formats a peer process could
# corrupt (tensor records, ipc segment files, ring regions). See the comment at
# the top of fuzz_records.c for the modes and a command line.
#
# Included by native/fuzz/CMakeLists.txt after it has instrumented libpsyne
# for fuzzing (PSYNE_FUZZ=ON with clang), which also sets PSYNE_FUZZ_SANITIZERS.

add_executable(fuzz_records ${CMAKE_CURRENT_LIST_DIR}/fuzz_records.c)
target_link_libraries(fuzz_records PRIVATE psyne)
# The harness writes hostile regions, so it knows their layout (src/ring/ring.h).
target_include_directories(fuzz_records PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../src)
target_compile_definitions(fuzz_records PRIVATE _GNU_SOURCE)
target_compile_options(fuzz_records PRIVATE ${PSYNE_WARNING_FLAGS} -fsanitize=fuzzer ${PSYNE_FUZZ_SANITIZERS})
target_link_options(fuzz_records PRIVATE -fsanitize=fuzzer ${PSYNE_FUZZ_SANITIZERS})
