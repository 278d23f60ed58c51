# SPDX-License-Identifier: Apache-2.0
# Install rules and the CMake package for `find_package(troupe)`.
#
# Included once, at the end of the top-level CMakeLists.txt, after every
# component exists. Installs:
#
#   <prefix>/include/troupe/...                  public headers of each component
#   <prefix>/<libdir>/libtroupe_<name>.{a,so}    every troupe_add_component target
#   <prefix>/<libdir>/cmake/troupe/
#       troupeTargets*.cmake                     imported troupe::<name> targets
#       troupeConfig.cmake, troupeConfigVersion.cmake
#       FindCAF.cmake                            Debian's CAF ships no CMake config
#       TroupeProtos.cmake                       troupe_add_protos, for .proto files
#
# Consumers: find_package(troupe REQUIRED) then link troupe::runtime; their
# own .proto files go through troupe_add_protos (cmake/TroupeProtos.cmake).

include(CMakePackageConfigHelpers)

set(TROUPE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/troupe"
    CACHE STRING "Where troupe's CMake package files are installed (relative to the prefix)")
mark_as_advanced(TROUPE_INSTALL_CMAKEDIR)

get_property(_troupe_targets GLOBAL PROPERTY TROUPE_EXPORTED_TARGETS)
if(NOT _troupe_targets)
  message(FATAL_ERROR "TroupeInstall: no targets in TROUPE_EXPORTED_TARGETS")
endif()

install(TARGETS ${_troupe_targets}
  EXPORT troupeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime
          NAMELINK_COMPONENT Development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)
# (Include dirs come from each target's $<INSTALL_INTERFACE:include>, set by
# troupe_add_component; an INCLUDES DESTINATION here would list them twice.)

# Public headers: the include/ folder of each component (runtime/include/
# today), plus the Protobuf headers generated for it (gen/<target>/, e.g.
# troupe/wire/introspect.pb.h, which node.hpp's introspection returns) and
# the .proto files they come from (proto/, so that an application's own
# .proto can import them).
# Whether the package must also find the components' private link
# dependencies: a static library's PRIVATE deps are exported as
# $<LINK_ONLY:...>, so the consumer needs those targets to link.
set(TROUPE_CONFIG_PRIVATE_DEPS OFF)
foreach(_tgt IN LISTS _troupe_targets)
  get_target_property(_src ${_tgt} SOURCE_DIR)
  if(IS_DIRECTORY "${_src}/include")
    install(DIRECTORY "${_src}/include/"
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
      COMPONENT Development
      FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
  endif()
  get_target_property(_bin ${_tgt} BINARY_DIR)
  if(IS_DIRECTORY "${_bin}/gen/${_tgt}")
    install(DIRECTORY "${_bin}/gen/${_tgt}/"
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
      COMPONENT Development
      FILES_MATCHING PATTERN "*.pb.h")
  endif()
  if(IS_DIRECTORY "${_src}/proto")
    install(DIRECTORY "${_src}/proto/"
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
      COMPONENT Development
      FILES_MATCHING PATTERN "*.proto")
  endif()
  get_target_property(_type ${_tgt} TYPE)
  if(_type STREQUAL "STATIC_LIBRARY")
    set(TROUPE_CONFIG_PRIVATE_DEPS ON)
  endif()
endforeach()

install(EXPORT troupeTargets
  NAMESPACE troupe::
  DESTINATION ${TROUPE_INSTALL_CMAKEDIR}
  COMPONENT Development)

# Versions the config asks for, the same minimums as the top level.
set(TROUPE_CONFIG_CAF_VERSION 0.17)
set(TROUPE_CONFIG_PROTOBUF_VERSION 3.21)

# Where troupe/wire/*.proto are installed (the import path that the
# installed troupe_add_protos adds), relative to the prefix.
set(TROUPE_CONFIG_PROTO_DIR ${CMAKE_INSTALL_INCLUDEDIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/troupeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/troupeConfig.cmake
  INSTALL_DESTINATION ${TROUPE_INSTALL_CMAKEDIR}
  PATH_VARS TROUPE_CONFIG_PROTO_DIR)

# 0.x: minor versions may break the API, so only the same minor matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/troupeConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(FILES
    ${PROJECT_BINARY_DIR}/troupeConfig.cmake
    ${PROJECT_BINARY_DIR}/troupeConfigVersion.cmake
    ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake
    ${PROJECT_SOURCE_DIR}/cmake/TroupeProtos.cmake
  DESTINATION ${TROUPE_INSTALL_CMAKEDIR}
  COMPONENT Development)

unset(_troupe_targets)
unset(_tgt)
unset(_src)
unset(_type)
