# The message ring, the public channel API over it, and tensor message headers.
target_sources(psyne PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ring.c
  ${CMAKE_CURRENT_LIST_DIR}/channel.c
  ${CMAKE_CURRENT_LIST_DIR}/../messaging/tensor.c
)
