# SPDX-License-Identifier: Apache-2.0
# TROUPE_SANITIZE: build troupe's own targets (libraries, tests, examples,
# tools) with GCC's sanitizers. `tools/dev asan` and `tools/dev tsan` set it
# and run the suite with the matching *SAN_OPTIONS.
#
#   -DTROUPE_SANITIZE=address,undefined   ASan + UBSan
#   -DTROUPE_SANITIZE=thread              TSan
#
# UBSan checks stay recoverable: UBSAN_OPTIONS=halt_on_error=1 (tools/dev)
# makes every finding fatal except those tools/sanitizers/ubsan.supp names,
# which -fno-sanitize-recover could not spare (its handlers always abort).
#
# Third-party libraries (Debian's CAF, Protobuf, spdlog) stay uninstrumented.
# TROUPE_TEST_TIMEOUT_SCALE multiplies every ctest TIMEOUT (troupe_add_gtest);
# it defaults to 3 with sanitizers, 1 without.

set(TROUPE_SANITIZE "" CACHE STRING
    "Sanitizers for troupe's targets: address,undefined | thread | empty")

set(_troupe_default_scale 1)
if(TROUPE_SANITIZE)
  string(REPLACE "," ";" _troupe_sanitizers "${TROUPE_SANITIZE}")
  foreach(_s IN LISTS _troupe_sanitizers)
    if(NOT _s MATCHES "^(address|undefined|leak|thread)$")
      message(FATAL_ERROR "TROUPE_SANITIZE: unknown sanitizer '${_s}' "
                          "(use address,undefined or thread)")
    endif()
  endforeach()
  if("thread" IN_LIST _troupe_sanitizers AND
     ("address" IN_LIST _troupe_sanitizers OR "leak" IN_LIST _troupe_sanitizers))
    message(FATAL_ERROR "TROUPE_SANITIZE: thread cannot be combined with "
                        "address or leak")
  endif()
  # -Wno-maybe-uninitialized: GCC 12 misfires on std::function inside
  # std::regex once instrumented.
  set(TROUPE_SANITIZE_FLAGS -fsanitize=${TROUPE_SANITIZE}
      -fno-omit-frame-pointer -Wno-maybe-uninitialized)
  add_compile_options(${TROUPE_SANITIZE_FLAGS})
  add_link_options(-fsanitize=${TROUPE_SANITIZE})
  set(_troupe_default_scale 3)
  message(STATUS "troupe: building with -fsanitize=${TROUPE_SANITIZE}")
endif()

if(NOT DEFINED TROUPE_TEST_TIMEOUT_SCALE)
  set(TROUPE_TEST_TIMEOUT_SCALE ${_troupe_default_scale})
endif()
