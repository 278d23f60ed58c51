# SPDX-License-Identifier: Apache-2.0
# Small helpers shared by every folder of the tree.

set(TROUPE_WARNINGS -Wall -Wextra -Wno-unused-parameter)

# The allocator linked into troupe's programs (benchmarks, examples, the
# tool): the C library's, or Debian's jemalloc (libjemalloc-dev) or tcmalloc
# (libgoogle-perftools-dev, its minimal library). Measured with LD_PRELOAD on
# the local benchmarks (docs/benchmarks.md, "Allocators"): neither won
# across them on two cores, so the default stays the C library's.
set(TROUPE_MALLOC "system" CACHE STRING
    "Allocator of troupe's programs: system, jemalloc or tcmalloc")
set_property(CACHE TROUPE_MALLOC PROPERTY STRINGS system jemalloc tcmalloc)
if(TROUPE_MALLOC STREQUAL "jemalloc")
  find_library(TROUPE_MALLOC_LIBRARY NAMES jemalloc REQUIRED)
elseif(TROUPE_MALLOC STREQUAL "tcmalloc")
  find_library(TROUPE_MALLOC_LIBRARY NAMES tcmalloc_minimal REQUIRED)
elseif(NOT TROUPE_MALLOC STREQUAL "system")
  message(FATAL_ERROR "TROUPE_MALLOC: system, jemalloc or tcmalloc, not "
          "'${TROUPE_MALLOC}'")
endif()

# troupe_link_malloc(target): links TROUPE_MALLOC's allocator into a program.
function(troupe_link_malloc target)
  if(TROUPE_MALLOC_LIBRARY AND NOT TROUPE_MALLOC STREQUAL "system")
    target_link_libraries(${target} PRIVATE ${TROUPE_MALLOC_LIBRARY})
  endif()
endfunction()

# troupe_add_component(name SOURCES ... [PUBLIC_DEPENDS ...] [PRIVATE_DEPENDS ...])
# Adds library troupe_<name>, aliased troupe::<name>, exported for install.
function(troupe_add_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(troupe_${name} ${ARG_SOURCES})
  add_library(troupe::${name} ALIAS troupe_${name})
  set_target_properties(troupe_${name} PROPERTIES EXPORT_NAME ${name}
                        POSITION_INDEPENDENT_CODE ON)
  target_compile_options(troupe_${name} PRIVATE ${TROUPE_WARNINGS})
  target_include_directories(troupe_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(troupe_${name} PUBLIC ${ARG_PUBLIC_DEPENDS}
                        PRIVATE ${ARG_PRIVATE_DEPENDS})
  if(TROUPE_SANITIZE)
    # An instrumented static library needs the sanitizer runtime wherever it
    # is linked, also in an application using the installed package.
    target_link_options(troupe_${name} INTERFACE -fsanitize=${TROUPE_SANITIZE})
  endif()
  set_property(GLOBAL APPEND PROPERTY TROUPE_EXPORTED_TARGETS troupe_${name})
endfunction()

# troupe_add_gtest(target SOURCES ... [LIBS ...] [LABELS ...] [TIMEOUT s])
# One test executable; each GoogleTest case becomes a ctest with a TIMEOUT,
# multiplied by TROUPE_TEST_TIMEOUT_SCALE (cmake/TroupeSanitizers.cmake).
function(troupe_add_gtest target)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  math(EXPR ARG_TIMEOUT "${ARG_TIMEOUT} * ${TROUPE_TEST_TIMEOUT_SCALE}")
  add_executable(${target} ${ARG_SOURCES})
  target_compile_options(${target} PRIVATE ${TROUPE_WARNINGS})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock
                        GTest::gtest_main)
  set(_props TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    list(APPEND _props LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST
                       PROPERTIES ${_props})
endfunction()

# troupe_add_protos(target PROTOS ... [IMPORT_DIR dir]): in its own file,
# since the installed package exports it too.
include(${CMAKE_CURRENT_LIST_DIR}/TroupeProtos.cmake)
