#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs one Erlang/OTP baseline of tools/bench: compiles the modules of this
# folder with erlc into a temporary folder (removed on exit) and runs
#   erl -noshell -pa TMP -run bench_BENCH main -extra ARGS...
# with the emulator's defaults (one scheduler per online core, default
# busy-wait); bench_spawn starts a fresh erl per repetition with +P large
# enough for its count. Prints the baseline's ERL|<key>|<value> lines.
#
# usage: tools/bench/erlang/run.sh BENCH [ARGS...]
#   BENCH  ping_pong | fan_in | spawn | supervisor
#   ARGS   as the C++ benchmark takes them: [COUNT] --quick --reps N;
#          fan_in --senders N; supervisor restart|tree --sups N --workers N
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '3,13p' "$0"
  exit 2
fi
bench=$1
shift
case "$bench" in
  ping_pong|fan_in|spawn|supervisor) ;;
  *) echo "run.sh: unknown baseline '$bench'" >&2; exit 2 ;;
esac
command -v erl >/dev/null || {
  echo "run.sh: erl not found (Debian: apt-get install erlang-nox)" >&2
  exit 1
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/troupe-erl-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
erlc -o "$tmp" "$here"/*.erl
cd "$tmp" # where a crash dump would go
erl -noshell -pa "$tmp" -run "bench_$bench" main -extra "$@" </dev/null
