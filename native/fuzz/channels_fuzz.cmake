# fuzz_records: libFuzzer target over the channel formats a peer process could
# corrupt (tensor records, ipc segment files, ring regions). See the comment at
# the top of fuzz_records.c for the modes and a command line.
#
# Include it where the compiler is clang, after native/ is added, e.g. from
# native/fuzz/CMakeLists.txt once PSYNE_FUZZ is on:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/channels_fuzz.cmake)
# If the psyne target is not yet instrumented for fuzzing (no PSYNE_FUZZ
# setup before this file), it is instrumented here the same way.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "channels_fuzz.cmake needs clang (libFuzzer); the C compiler is ${CMAKE_C_COMPILER_ID}: no fuzz_records")
  return()
endif()
if(NOT DEFINED PSYNE_FUZZ_SANITIZERS)
  set(PSYNE_FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(psyne PRIVATE -fsanitize=fuzzer-no-link ${PSYNE_FUZZ_SANITIZERS})
  get_target_property(psyne_link_options psyne LINK_OPTIONS)
  if(psyne_link_options)
    list(REMOVE_ITEM psyne_link_options -Wl,--no-undefined)
    set_target_properties(psyne PROPERTIES LINK_OPTIONS "${psyne_link_options}")
  endif()
endif()

add_executable(fuzz_records ${CMAKE_CURRENT_LIST_DIR}/fuzz_records.c)
target_link_libraries(fuzz_records PRIVATE psyne)
# The harness writes hostile regions, so it knows their layout (src/ring/ring.h).
target_include_directories(fuzz_records PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../src)
target_compile_definitions(fuzz_records PRIVATE _GNU_SOURCE)
target_compile_options(fuzz_records PRIVATE ${PSYNE_WARNING_FLAGS} -fsanitize=fuzzer ${PSYNE_FUZZ_SANITIZERS})
target_link_options(fuzz_records PRIVATE -fsanitize=fuzzer ${PSYNE_FUZZ_SANITIZERS})
