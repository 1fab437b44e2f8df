# ZMTP 3.x wire parsing (greeting, frames, commands, metadata) for the C#
# socket layer, which encodes what it sends itself. Bounds-checked, no
# allocation; fuzzed by native/fuzz/fuzz_zmtp.c.
target_sources(psyne PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/zmtp_greeting.c
  ${CMAKE_CURRENT_LIST_DIR}/zmtp_frame.c
  ${CMAKE_CURRENT_LIST_DIR}/zmtp_command.c
  ${CMAKE_CURRENT_LIST_DIR}/zmtp_metadata.c
  ${CMAKE_CURRENT_LIST_DIR}/zmtp_socket_type.c
  ${CMAKE_CURRENT_LIST_DIR}/net_send.c
)
