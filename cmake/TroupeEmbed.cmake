# SPDX-License-Identifier: Apache-2.0
# troupe_embed_files(target NAMESPACE ns BASE_DIR dir FILES f...)
# Builds the files into `target` as byte arrays (a .cpp generated at build
# time, regenerated when a file changes), so that a program serves them
# without reading the filesystem. The generated source defines
#   const ns::embedded_file* ns::embedded_files(size_t& count);
# (see runtime/dashboard/assets.hpp) with each file's path relative to
# BASE_DIR, e.g. "index.html".
function(troupe_embed_files target)
  cmake_parse_arguments(ARG "" "NAMESPACE;BASE_DIR" "FILES" ${ARGN})
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/gen/${target}_embedded.cpp)
  set(_rel)
  foreach(_f IN LISTS ARG_FILES)
    file(RELATIVE_PATH _r ${ARG_BASE_DIR} ${_f})
    list(APPEND _rel ${_r})
  endforeach()
  string(REPLACE ";" "," _rel_arg "${_rel}")
  add_custom_command(OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${_out} -DBASE_DIR=${ARG_BASE_DIR}
            -DFILES=${_rel_arg} -DNAMESPACE=${ARG_NAMESPACE}
            -P ${_TROUPE_EMBED_SCRIPT}
    DEPENDS ${ARG_FILES} ${_TROUPE_EMBED_SCRIPT}
    COMMENT "Embedding ${_rel} into ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE ${_out})
endfunction()
set(_TROUPE_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)
