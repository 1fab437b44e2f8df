# Ternary (BitNet b1.58) compute: quantisers, packed format, .psyt files and
# the matmul kernels behind one dispatch table (ternary_dispatch.c). Included
# by native/CMakeLists.txt; paths are relative to native/.
target_sources(psyne PRIVATE
  src/core/threadpool.c
  src/kernels/ternary_quant.c
  src/kernels/ternary_pack.c
  src/kernels/ternary_file.c
  src/kernels/ternary_dispatch.c
  src/kernels/ternary_scalar.c
)
if(PSYNE_X86_64)
  psyne_isa_sources(psyne AVX2 src/kernels/ternary_avx2.c)
  psyne_isa_sources(psyne AVX512 src/kernels/ternary_avx512.c)
endif()
if(UNIX)
  target_link_libraries(psyne PRIVATE m)
endif()
