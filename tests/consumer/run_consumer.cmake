# SPDX-License-Identifier: Apache-2.0
# cmake -P script behind Consumer.BuildsAgainstInstalledTree.
#
# 1. cmake --install TROUPE_BUILD_DIR into CONSUMER_WORK_DIR/prefix (fresh);
# 2. configure CONSUMER_SOURCE_DIR with CMAKE_PREFIX_PATH=<prefix> and the
#    generator and compiler of the troupe build;
# 3. build it (its own .proto generated with the installed
#    `troupe_add_protos`), run it, and require its result lines.
#
# Inputs (-D): TROUPE_BUILD_DIR, CONSUMER_SOURCE_DIR, CONSUMER_WORK_DIR,
# CONSUMER_GENERATOR, optional TROUPE_CONFIG, CONSUMER_GENERATOR_PLATFORM,
# CONSUMER_GENERATOR_TOOLSET, CONSUMER_MAKE_PROGRAM, CONSUMER_CXX_COMPILER,
# CONSUMER_CAF_INCLUDE_DIR, CONSUMER_CAF_CORE_LIBRARY, CONSUMER_CAF_IO_LIBRARY.
cmake_minimum_required(VERSION 3.21)

foreach(_var TROUPE_BUILD_DIR CONSUMER_SOURCE_DIR CONSUMER_WORK_DIR
             CONSUMER_GENERATOR)
  if(NOT ${_var})
    message(FATAL_ERROR "run_consumer.cmake: -D${_var}=... is required")
  endif()
endforeach()

set(_prefix ${CONSUMER_WORK_DIR}/prefix)
set(_build ${CONSUMER_WORK_DIR}/build)

# Runs a command, echoes its output, fails the test on a non-zero exit.
function(_consumer_step what)
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE _rc
    OUTPUT_VARIABLE _out
    ERROR_VARIABLE _out
    TIMEOUT 300)
  message("---- ${what}\n${_out}")
  if(NOT _rc STREQUAL "0")
    message(FATAL_ERROR "run_consumer.cmake: ${what} failed (${_rc})")
  endif()
  set(_step_output "${_out}" PARENT_SCOPE)
endfunction()

# Fresh prefix and build folder, so that neither a stale installed file nor
# a cached troupe_DIR can hide a missing install rule.
file(REMOVE_RECURSE ${_prefix} ${_build})
file(MAKE_DIRECTORY ${_prefix} ${_build})

# 1. Install.
set(_install_args --install ${TROUPE_BUILD_DIR} --prefix ${_prefix})
if(TROUPE_CONFIG)
  list(APPEND _install_args --config ${TROUPE_CONFIG})
endif()
_consumer_step("install troupe into ${_prefix}" ${CMAKE_COMMAND} ${_install_args})

# 2. Configure, only from the prefix: no package registries, no system troupe.
set(_configure_args
  -S ${CONSUMER_SOURCE_DIR} -B ${_build}
  -G ${CONSUMER_GENERATOR}
  -DCMAKE_PREFIX_PATH=${_prefix}
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(CONSUMER_GENERATOR_PLATFORM)
  list(APPEND _configure_args -A ${CONSUMER_GENERATOR_PLATFORM})
endif()
if(CONSUMER_GENERATOR_TOOLSET)
  list(APPEND _configure_args -T ${CONSUMER_GENERATOR_TOOLSET})
endif()
if(CONSUMER_MAKE_PROGRAM)
  list(APPEND _configure_args -DCMAKE_MAKE_PROGRAM=${CONSUMER_MAKE_PROGRAM})
endif()
if(CONSUMER_CXX_COMPILER)
  list(APPEND _configure_args -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER})
endif()
# The CAF troupe was built with (tools/dev tsan builds its own, with TSan).
if(CONSUMER_CAF_INCLUDE_DIR)
  list(APPEND _configure_args -DCAF_INCLUDE_DIR=${CONSUMER_CAF_INCLUDE_DIR}
       -DCAF_core_LIBRARY=${CONSUMER_CAF_CORE_LIBRARY}
       -DCAF_io_LIBRARY=${CONSUMER_CAF_IO_LIBRARY})
endif()
if(TROUPE_CONFIG)
  list(APPEND _configure_args -DCMAKE_BUILD_TYPE=${TROUPE_CONFIG})
endif()
_consumer_step("configure consumer" ${CMAKE_COMMAND} ${_configure_args})

# The package must come from the scratch prefix, not from the source or
# build tree.
file(STRINGS ${_build}/CMakeCache.txt _troupe_dir REGEX "^troupe_DIR:")
string(REGEX REPLACE "^troupe_DIR:[A-Z]+=" "" _troupe_dir "${_troupe_dir}")
file(REAL_PATH "${_troupe_dir}" _troupe_dir_real)
file(REAL_PATH "${_prefix}" _prefix_real)
string(FIND "${_troupe_dir_real}/" "${_prefix_real}/" _at)
if(NOT _at EQUAL 0)
  message(FATAL_ERROR
    "run_consumer.cmake: troupe_DIR is '${_troupe_dir}', not under ${_prefix}")
endif()

# 3. Build and run.
set(_build_args --build ${_build})
if(TROUPE_CONFIG)
  list(APPEND _build_args --config ${TROUPE_CONFIG})
endif()
_consumer_step("build consumer" ${CMAKE_COMMAND} ${_build_args})

find_program(_consumer_exe consumer
  PATHS ${_build} ${_build}/${TROUPE_CONFIG}
  NO_DEFAULT_PATH NO_CACHE REQUIRED)
_consumer_step("run ${_consumer_exe}" ${_consumer_exe})
if(NOT _step_output MATCHES "consumer proto ok: 42")
  message(FATAL_ERROR "the consumer's own Protobuf message did not work:\n${_step_output}")
endif()
if(NOT _step_output MATCHES "consumer testkit ok: 42 from n2, n2 killed and seen down, 42")
  message(FATAL_ERROR "the installed test kit did not work:\n${_step_output}")
endif()
if(NOT _step_output MATCHES "consumer introspection ok: ")
  message(FATAL_ERROR "the consumer's introspection did not work:\n${_step_output}")
endif()
if(NOT _step_output MATCHES "consumer ok: 42")
  message(FATAL_ERROR "run_consumer.cmake: the consumer printed no result line")
endif()
message("run_consumer.cmake: consumer ok")
