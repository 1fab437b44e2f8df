# Per-file ISA flags. Each ISA variant lives in its own translation unit that is
# compiled for that ISA only; the library as a whole stays baseline x86-64 (or
# the platform default) and picks a variant at run time (see native/src/core/cpu.c).
include(CheckCCompilerFlag)

set(PSYNE_X86_64 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(PSYNE_X86_64 ON)
endif()

if(MSVC)
  set(PSYNE_FLAGS_SSE42 "")
  set(PSYNE_FLAGS_AVX2 /arch:AVX2)
  set(PSYNE_FLAGS_AVX512 /arch:AVX512)
else()
  set(PSYNE_FLAGS_SSE42 -msse4.2 -mpclmul)
  set(PSYNE_FLAGS_AVX2 -mavx2 -mfma -mbmi2 -msse4.2 -mpclmul)
  set(PSYNE_FLAGS_AVX512 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512vbmi
                         -mvpclmulqdq -mpclmul -mavx2 -mfma -mbmi2 -msse4.2)
endif()

# psyne_isa_sources(<target> <SSE42|AVX2|AVX512> files...)
function(psyne_isa_sources target isa)
  set(flags "${PSYNE_FLAGS_${isa}}")
  target_sources(${target} PRIVATE ${ARGN})
  if(flags)
    set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS "${flags}")
  endif()
endfunction()
