# fuzz_zmtp: libFuzzer target over everything a ZMTP peer sends (greeting,
# frames, commands, metadata, PLAIN HELLO, PING). See the comment at the top of
# fuzz_zmtp.c for the input layout and a command line.
#
# Included by native/fuzz/CMakeLists.txt after it has instrumented libpsyne
# for fuzzing (PSYNE_FUZZ=ON with clang), which also sets PSYNE_FUZZ_SANITIZERS.

add_executable(fuzz_zmtp ${CMAKE_CURRENT_LIST_DIR}/fuzz_zmtp.c)
target_link_libraries(fuzz_zmtp PRIVATE psyne)
target_compile_options(fuzz_zmtp PRIVATE ${PSYNE_WARNING_FLAGS} -fsanitize=fuzzer ${PSYNE_FUZZ_SANITIZERS})
target_link_options(fuzz_zmtp PRIVATE -fsanitize=fuzzer ${PSYNE_FUZZ_SANITIZERS})

# Writes a few handshakes and sessions, as peers send them, to seed the corpus.
add_executable(make_zmtp_seeds ${CMAKE_CURRENT_LIST_DIR}/make_zmtp_seeds.c)
target_link_libraries(make_zmtp_seeds PRIVATE psyne)
target_compile_options(make_zmtp_seeds PRIVATE ${PSYNE_WARNING_FLAGS} ${PSYNE_FUZZ_SANITIZERS})
target_link_options(make_zmtp_seeds PRIVATE ${PSYNE_FUZZ_SANITIZERS})
