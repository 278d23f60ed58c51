# SPDX-License-Identifier: Apache-2.0
# C++ code blocks of the markdown files, for tests/docs/CMakeLists.txt (at
# configure time) and check_code_blocks.cmake (the ctest, in script mode).
#
# The convention (docs/README.md):
#   ```cpp           a complete translation unit: compiled, and linked when
#                    it defines `main`
#   ```cpp excerpt   an excerpt: not compiled (keep these rare)
# A fence counts only at the start of a line. Any other fence that names C++
# (```c++, ```cxx, an indented ```cpp, ...) fails the ctest, so that no
# block escapes the compiler by its spelling.

# The markdown files whose blocks are compiled, relative to `root`, sorted:
# the top README.md, docs/*.md and every .md below the source folders.
function(troupe_docs_markdown_files root out_var)
  file(GLOB _top RELATIVE ${root} ${root}/README.md ${root}/docs/*.md)
  set(_all ${_top})
  foreach(_dir runtime actors examples tests tools)
    file(GLOB_RECURSE _below RELATIVE ${root} ${root}/${_dir}/*.md)
    list(APPEND _all ${_below})
  endforeach()
  list(SORT _all)
  set(${out_var} ${_all} PARENT_SCOPE)
endfunction()

# The name stem of the files extracted from `rel` (docs/cluster.md ->
# docs_cluster): <stem>_<n>.cpp, n counting from 1 in the file's order.
function(troupe_docs_stem rel out_var)
  string(REGEX REPLACE "\\.md$" "" _stem "${rel}")
  string(REGEX REPLACE "[^A-Za-z0-9]" "_" _stem "${_stem}")
  set(${out_var} ${_stem} PARENT_SCOPE)
endfunction()

# Number of newlines in `text`.
function(_troupe_docs_count_lines text out_var)
  string(LENGTH "${text}" _all)
  string(REPLACE "\n" "" _rest "${text}")
  string(LENGTH "${_rest}" _no_nl)
  math(EXPR _n "${_all} - ${_no_nl}")
  set(${out_var} ${_n} PARENT_SCOPE)
endfunction()

# Writes each ```cpp block of `root`/`rel` to `out_dir`/<stem>_<n>.cpp, with
# a #line directive so that the compiler's errors name the markdown file
# and line. A file is rewritten only when its text changed (no rebuild
# otherwise). Sets `out_var` to the files written and `out_var`_MAIN to
# those among them that define `main`.
function(troupe_docs_extract root rel out_dir out_var)
  troupe_docs_stem("${rel}" _stem)
  file(READ "${root}/${rel}" _text)
  # A leading newline, so that a fence on the first line is found too.
  set(_rest "\n${_text}")
  set(_line 0) # the line _rest starts on (0: the newline put in front)
  set(_n 0)
  set(_files)
  set(_mains)
  set(_open "\n```cpp\n")
  string(LENGTH "${_open}" _open_len)
  string(FIND "${_rest}" "${_open}" _at)
  while(NOT _at EQUAL -1)
    math(EXPR _start "${_at} + ${_open_len}")
    string(SUBSTRING "${_rest}" 0 ${_start} _before)
    string(SUBSTRING "${_rest}" ${_start} -1 _after)
    string(FIND "${_after}" "\n```" _end)
    _troupe_docs_count_lines("${_before}" _nl)
    math(EXPR _first "${_line} + ${_nl}") # the block's first line, 1-based
    if(_end EQUAL -1)
      message(FATAL_ERROR "${rel}:${_first}: a ```cpp block is never closed")
    endif()
    string(SUBSTRING "${_after}" 0 ${_end} _code)
    math(EXPR _n "${_n} + 1")
    set(_file ${out_dir}/${_stem}_${_n}.cpp)
    file(WRITE ${_file}.tmp
      "// Extracted from ${rel} by tests/docs/code_blocks.cmake: edit the\n"
      "// markdown, not this file.\n"
      "#line ${_first} \"${root}/${rel}\"\n"
      "${_code}\n")
    file(COPY_FILE ${_file}.tmp ${_file} ONLY_IF_DIFFERENT)
    file(REMOVE ${_file}.tmp)
    list(APPEND _files ${_file})
    if(_code MATCHES "(^|\n)[ \t]*int[ \t]+main[ \t]*\\(")
      list(APPEND _mains ${_file})
    endif()
    # Past the closing fence (on line _first + lines of the code + 1): its
    # own newline starts the next search.
    _troupe_docs_count_lines("${_code}" _nl)
    math(EXPR _line "${_first} + ${_nl} + 1")
    math(EXPR _past "${_end} + 4")
    string(SUBSTRING "${_after}" ${_past} -1 _rest)
    string(FIND "${_rest}" "${_open}" _at)
  endwhile()
  set(${out_var} ${_files} PARENT_SCOPE)
  set(${out_var}_MAIN ${_mains} PARENT_SCOPE)
endfunction()

# Counts, independently of troupe_docs_extract, the fences in `root`/`rel`
# that open a C++ block: `out_var` gets those that must be compiled,
# `out_var`_EXCERPT the ```cpp excerpt ones, `out_var`_ODD a list of
# "line: fence" for fences that name C++ but follow neither form.
function(troupe_docs_count_fences root rel out_var)
  file(READ "${root}/${rel}" _text)
  # One list element per line: characters that CMake's lists treat
  # specially are taken out first (only fences are looked at).
  string(REPLACE ";" "<semicolon>" _text "${_text}")
  string(REPLACE "[" "<bracket>" _text "${_text}")
  string(REPLACE "]" "<bracket>" _text "${_text}")
  string(REPLACE "\\" "<backslash>" _text "${_text}")
  string(REPLACE "\n" ";" _lines "${_text}")
  set(_compiled 0)
  set(_excerpt 0)
  set(_odd)
  set(_in_block FALSE)
  set(_no 0)
  foreach(_l IN LISTS _lines)
    math(EXPR _no "${_no} + 1")
    if(_l MATCHES "^[ \t]*(```+|~~~+)[ \t]*([^ \t]*)(.*)$")
      set(_info "${CMAKE_MATCH_2}")
      set(_tail "${CMAKE_MATCH_3}")
      if(_in_block)
        if(_info STREQUAL "")
          set(_in_block FALSE) # a closing fence
        endif()
        continue()
      endif()
      set(_in_block TRUE)
      string(TOLOWER "${_info}" _lang)
      if(NOT _lang MATCHES "^(cpp|c\\+\\+|cxx|cc|hpp|hxx|h\\+\\+|c)$")
        continue()
      endif()
      string(STRIP "${_tail}" _tail)
      if(_l STREQUAL "```cpp")
        math(EXPR _compiled "${_compiled} + 1")
      elseif(_l MATCHES "^```cpp excerpt[ \t]*$")
        math(EXPR _excerpt "${_excerpt} + 1")
      else()
        list(APPEND _odd "${rel}:${_no}: ${_l}")
      endif()
    endif()
  endforeach()
  set(${out_var} ${_compiled} PARENT_SCOPE)
  set(${out_var}_EXCERPT ${_excerpt} PARENT_SCOPE)
  set(${out_var}_ODD "${_odd}" PARENT_SCOPE)
endfunction()
