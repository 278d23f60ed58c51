# SPDX-License-Identifier: Apache-2.0
# cmake -P script behind Docs.EveryCppBlockIsExtracted: counts the C++
# fences of the markdown files afresh, and fails when a block would escape
# the compiler: a fence that names C++ in another spelling (```c++, an
# indented ```cpp, ```cpp with other words), or a ```cpp block without its
# extracted file (a markdown file changed since the last configure: build
# again). Inputs (-D): SOURCE_DIR, EXTRACTED_DIR.
cmake_minimum_required(VERSION 3.25)

foreach(_var SOURCE_DIR EXTRACTED_DIR)
  if(NOT ${_var})
    message(FATAL_ERROR "check_code_blocks.cmake: -D${_var}=... is required")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/code_blocks.cmake)

troupe_docs_markdown_files(${SOURCE_DIR} _markdown)
file(GLOB _extracted RELATIVE ${EXTRACTED_DIR} ${EXTRACTED_DIR}/*.cpp)

set(_problems)
set(_total 0)
set(_total_excerpts 0)
foreach(_md IN LISTS _markdown)
  troupe_docs_count_fences(${SOURCE_DIR} ${_md} _want)
  troupe_docs_stem(${_md} _stem)
  set(_have 0)
  foreach(_f IN LISTS _extracted)
    if(_f MATCHES "^${_stem}_[0-9]+\\.cpp$")
      math(EXPR _have "${_have} + 1")
    endif()
  endforeach()
  foreach(_odd IN LISTS _want_ODD)
    list(APPEND _problems "${_odd}  <- not compiled: fence it ```cpp (or ```cpp excerpt)")
  endforeach()
  if(NOT _have EQUAL _want)
    list(APPEND _problems "${_md}: ${_want} ```cpp block(s), ${_have} extracted into ${EXTRACTED_DIR} (build again to re-extract)")
  endif()
  if(_want GREATER 0 OR _want_EXCERPT GREATER 0)
    message(STATUS "${_md}: ${_want} compiled, ${_want_EXCERPT} excerpt(s)")
  endif()
  math(EXPR _total "${_total} + ${_want}")
  math(EXPR _total_excerpts "${_total_excerpts} + ${_want_EXCERPT}")
endforeach()

list(LENGTH _extracted _total_extracted)
if(NOT _total_extracted EQUAL _total)
  list(APPEND _problems "${_total} ```cpp block(s) in all, ${_total_extracted} file(s) in ${EXTRACTED_DIR}")
endif()
if(_total EQUAL 0)
  list(APPEND _problems "no ```cpp block found in ${SOURCE_DIR}: is the glob right?")
endif()

if(_problems)
  list(JOIN _problems "\n  " _text)
  message(FATAL_ERROR "code blocks that escape the compiler:\n  ${_text}")
endif()
message(STATUS "${_total} ```cpp blocks, all extracted and compiled by the build; ${_total_excerpts} excerpt(s)")
