# Shared-memory segments, futex waits and process liveness for ipc:// channels.
target_sources(psyne PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/segment.c
  ${CMAKE_CURRENT_LIST_DIR}/process.c
  ${CMAKE_CURRENT_LIST_DIR}/wait.c
)
# shm_open lives in librt on older glibc (before 2.34); linking it is harmless elsewhere.
if(UNIX AND NOT APPLE)
  find_library(PSYNE_LIBRT rt)
  if(PSYNE_LIBRT)
    target_link_libraries(psyne PRIVATE ${PSYNE_LIBRT})
  endif()
endif()
