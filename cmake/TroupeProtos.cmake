# SPDX-License-Identifier: Apache-2.0
# troupe_add_protos: C++ from .proto files, for troupe's own tree and for an
# application that did find_package(troupe) (installed next to
# troupeConfig.cmake, which includes it).
#
#   troupe_add_protos(target PROTOS a.proto b/c.proto ... [IMPORT_DIR dir])
#
# Generates <build>/gen/<target>/<path below IMPORT_DIR>.pb.{h,cc} with
# protobuf::protoc (found by find_package(Protobuf), which troupe's config
# runs), adds the sources to `target`, the generated folder to its public
# include path, and links protobuf::libprotobuf. IMPORT_DIR (default: the
# current source folder) is the root of the .proto paths:
# `IMPORT_DIR/a/b.proto` becomes `#include "a/b.pb.h"`.
#
# troupe's own .proto files (troupe/wire/*.proto) are on the import path
# too, so an application's .proto may `import "troupe/wire/node.proto";`
# (link troupe::runtime, which holds their generated code). The folder is
# the global property TROUPE_PROTO_IMPORT_DIRS: set by troupeConfig.cmake to
# <prefix>/include, by troupe's top-level CMakeLists.txt to runtime/proto.

function(troupe_add_protos target)
  cmake_parse_arguments(ARG "" "IMPORT_DIR" "PROTOS" ${ARGN})
  if(NOT ARG_PROTOS)
    message(FATAL_ERROR "troupe_add_protos(${target}): no PROTOS given")
  endif()
  if(NOT TARGET protobuf::protoc)
    message(FATAL_ERROR "troupe_add_protos(${target}): no protobuf::protoc "
            "target; find_package(Protobuf) found no protoc")
  endif()
  if(NOT ARG_IMPORT_DIR)
    set(ARG_IMPORT_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  get_filename_component(ARG_IMPORT_DIR ${ARG_IMPORT_DIR} ABSOLUTE)
  # The target's own folder first: protoc names each input by the first
  # import path that holds it.
  set(_includes -I ${ARG_IMPORT_DIR})
  get_property(_troupe_dirs GLOBAL PROPERTY TROUPE_PROTO_IMPORT_DIRS)
  foreach(_dir IN LISTS _troupe_dirs)
    if(NOT _dir STREQUAL ARG_IMPORT_DIR)
      list(APPEND _includes -I ${_dir})
    endif()
  endforeach()
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/gen/${target})
  file(MAKE_DIRECTORY ${_out})
  foreach(_proto IN LISTS ARG_PROTOS)
    get_filename_component(_abs ${_proto} ABSOLUTE)
    file(RELATIVE_PATH _rel ${ARG_IMPORT_DIR} ${_abs})
    if(_rel MATCHES "^\\.\\./")
      message(FATAL_ERROR "troupe_add_protos(${target}): ${_abs} is not "
              "below IMPORT_DIR ${ARG_IMPORT_DIR}")
    endif()
    string(REGEX REPLACE "\\.proto$" "" _stem ${_rel})
    set(_cc ${_out}/${_stem}.pb.cc)
    set(_h ${_out}/${_stem}.pb.h)
    add_custom_command(
      OUTPUT ${_cc} ${_h}
      COMMAND protobuf::protoc --cpp_out=${_out} ${_includes} ${_abs}
      DEPENDS ${_abs} protobuf::protoc
      COMMENT "protoc ${_rel}"
      VERBATIM)
    target_sources(${target} PRIVATE ${_cc} ${_h})
  endforeach()
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${_out}>)
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
endfunction()
