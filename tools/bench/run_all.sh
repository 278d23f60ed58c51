#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every troupe benchmark and prints one table:
#   benchmark | troupe | raw | ratio (troupe / raw)
# where raw is raw CAF doing the same work, or for bench_persistence raw
# SQLite doing the same inserts and reads (its --pg rows need a server and
# are not run here; run it by hand with --pg CONNINFO),
# and, for the figures that also have a floor without any actor runtime
# (remote ping-pong over plain blocking TCP), a second one:
#   benchmark | plain | troupe | troupe / plain | raw CAF | raw CAF / plain
# and, when erl is on PATH, the local rows that have an Erlang/OTP version
# (tools/bench/erlang, run right after its C++ benchmark with the same
# flags) once more:
#   benchmark | troupe | raw CAF | Erlang | troupe vs Erlang
# where "troupe vs Erlang" is above 1 when troupe is better: troupe / Erlang
# for rates, Erlang / troupe for rows marked 'lower is better'.
#
# usage: tools/bench/run_all.sh [BUILD_DIR] [--quick] [--reps N]
#                               [--erlang | --no-erlang]
#   BUILD_DIR  a build configured with -DTROUPE_ENABLE_BENCH=ON and already
#              built (this script builds nothing); default: build
#   --quick    counts scaled down 100x, for smoke runs (also
#              TROUPE_BENCH_QUICK=1)
#   --reps N   repetitions per variant (default: 3, ping-pong 7);
#              the median is reported
#   --erlang   the Erlang rows are required (fail without erl);
#              --no-erlang: skip them (default: run them if erl is found)
# Set TROUPE_BENCH_VERBOSE=1 to see every repetition on stderr. BENCHES
# narrows the run, e.g. BENCHES="bench_ping_pong bench_fan_in".
set -euo pipefail

build=build
flags=()
erlang=auto
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) flags+=(--quick) ;;
    --reps) flags+=(--reps "$2"); shift ;;
    --erlang) erlang=yes ;;
    --no-erlang) erlang=no ;;
    -h|--help) sed -n '3,29p' "$0"; exit 0 ;;
    -*) echo "run_all.sh: unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
  esac
  shift
done

bin="$build/tools/bench"
benches=(bench_ping_pong bench_fan_in bench_spawn bench_remote
         bench_remote_oneway bench_supervisor)
benches+=(bench_failure_detection)
benches+=(bench_pool)
benches+=(bench_persistence)
benches+=(bench_dashboard)
[[ -n ${BENCHES:-} ]] && read -r -a benches <<<"$BENCHES"
for b in "${benches[@]}"; do
  if [[ ! -x "$bin/$b" ]]; then
    echo "run_all.sh: $bin/$b not found; configure with" \
         "-DTROUPE_ENABLE_BENCH=ON and build first" >&2
    exit 1
  fi
done

erl_run="$(dirname "${BASH_SOURCE[0]}")/erlang/run.sh"
if [[ $erlang != no ]] && ! command -v erl >/dev/null; then
  if [[ $erlang == yes ]]; then
    echo "run_all.sh: --erlang: erl not found (apt-get install erlang-nox)" >&2
    exit 1
  fi
  erlang=no
  echo "run_all.sh: erl not found, no Erlang rows" \
       "(tools/dev bench installs erlang-nox)" >&2
fi

# The Erlang/OTP version of a benchmark, if it has one.
erl_bench() {
  case "$1" in
    bench_ping_pong) echo ping_pong ;;
    bench_fan_in) echo fan_in ;;
    bench_spawn) echo spawn ;;
    bench_supervisor) echo supervisor ;;
  esac
}

rows=() bases=()
declare -A erl=() # key -> value (tools/bench/erlang)
for b in "${benches[@]}"; do
  echo "running $b ${flags[*]}" >&2
  start=$SECONDS
  out=$("$bin/$b" "${flags[@]}" </dev/null)
  echo "  done in $((SECONDS - start)) s" >&2
  while IFS= read -r line; do
    [[ "$line" == ROW\|* ]] && rows+=("${line#ROW|}")
    [[ "$line" == BASE\|* ]] && bases+=("${line#BASE|}")
  done <<<"$out"
  e=$(erl_bench "$b")
  [[ $erlang == no || -z $e ]] && continue
  # Right after the C++ one, with the same flags: figures of the same run.
  echo "running erlang/$e ${flags[*]}" >&2
  start=$SECONDS
  out=$("$erl_run" "$e" "${flags[@]}")
  echo "  done in $((SECONDS - start)) s" >&2
  while IFS='|' read -r tag key value; do
    [[ $tag == ERL ]] && erl[$key]=$value
  done <<<"$out"
done

# Column widths.
w1=9 w2=6 w3=7 w4=5
for r in "${rows[@]}"; do
  IFS='|' read -r name t c ratio <<<"$r"
  (( ${#name} > w1 )) && w1=${#name}
  (( ${#t} > w2 )) && w2=${#t}
  (( ${#c} > w3 )) && w3=${#c}
  (( ${#ratio} > w4 )) && w4=${#ratio}
done

line() {
  printf "| %-${w1}s | %${w2}s | %${w3}s | %${w4}s |\n" "$@"
}
sep() {
  printf "|-%s-|-%s:|-%s:|-%s:|\n" "$(printf '%*s' "$w1" '' | tr ' ' -)" \
    "$(printf '%*s' "$w2" '' | tr ' ' -)" \
    "$(printf '%*s' "$w3" '' | tr ' ' -)" \
    "$(printf '%*s' "$w4" '' | tr ' ' -)"
}

echo
echo "troupe benchmarks on $(nproc) cores$([[ " ${flags[*]} " == *" --quick "* ]] && echo ' (quick)')"
line "benchmark" "troupe" "raw" "ratio"
sep
for r in "${rows[@]}"; do
  IFS='|' read -r name t c ratio <<<"$r"
  line "$name" "$t" "$c" "$ratio"
done
echo
echo "ratio = troupe / raw (raw CAF; raw SQLite for the persistence rows):" \
     "above 1 is better for rates, below 1 for rows marked 'lower is better'."

# The rows that have an Erlang/OTP figure, once more with it. The tree's
# shutdown is set beside raw CAF's ordered one: OTP also stops one child at
# a time, in reverse.
erl_keys() { # C++ row name -> "key|suffix" per Erlang figure
  case "$1" in
    "local ping-pong, troupe node defaults vs CAF defaults "*)
      echo "ping_pong|" ;;
    "fan-in "*", troupe node defaults vs CAF defaults "*)
      echo "fan_in|, Erlang default queue"
      echo "fan_in_off_heap|, Erlang off_heap" ;;
    "spawn "*" [spawns/s]") echo "spawn|" ;;
    "spawn "*" [heap bytes/actor"*) echo "spawn_heap|" ;;
    "spawn "*" [RSS bytes/actor"*) echo "spawn_rss|" ;;
    "supervisor restart "*" [restarts/s]")
      echo "restart|"
      # OTP's supervisor walks its restart history on every restart: its
      # rate over the first 1,000 cycles, before that history is long.
      echo "restart_first|, Erlang: first 1000 cycles" ;;
    "supervisor restart "*" [p50 "*) echo "restart_p50|" ;;
    "supervisor restart "*" [p99 "*) echo "restart_p99|" ;;
    "supervision tree "*", start "*) echo "tree_start|" ;;
    "supervision tree "*"(CAF: one at a time, reverse)"*) echo "tree_stop|" ;;
    "supervisor of "*" workers, "*", start "*) echo "flat_start|" ;;
    "supervisor of "*"(CAF: one at a time, reverse)"*) echo "flat_stop|" ;;
  esac
}

erl_rows=()
for r in "${rows[@]}"; do
  IFS='|' read -r name t c ratio <<<"$r"
  while IFS='|' read -r key suffix; do
    [[ -n $key && -n ${erl[$key]:-} ]] || continue
    e=${erl[$key]}
    # Above 1: troupe is better (a 'lower is better' row is turned round).
    vs=$(awk -v t="$t" -v e="$e" -v low="$([[ $name == *"lower is better"* ]] && echo 1)" \
      'BEGIN { r = low ? (t > 0 ? e / t : 0) : (e > 0 ? t / e : 0);
               printf "%.2fx", r }')
    label="$name$suffix" # the suffix goes before the unit: "... [msgs/s]"
    [[ -n $suffix && $name == *" ["* ]] &&
      label="${name% \[*}$suffix [${name##* \[}"
    erl_rows+=("$label|$t|$c|$e|$vs")
  done < <(erl_keys "$name")
done

if [[ ${#erl_rows[@]} -gt 0 ]]; then
  w1=9 w2=6 w3=7 w4=6 w5=16
  for r in "${erl_rows[@]}"; do
    IFS='|' read -r name t c e vs <<<"$r"
    (( ${#name} > w1 )) && w1=${#name}
    (( ${#t} > w2 )) && w2=${#t}
    (( ${#c} > w3 )) && w3=${#c}
    (( ${#e} > w4 )) && w4=${#e}
  done
  erl_line() {
    printf "| %-${w1}s | %${w2}s | %${w3}s | %${w4}s | %${w5}s |\n" "$@"
  }
  dash() { printf '%*s' "$1" '' | tr ' ' -; }
  echo
  echo "against Erlang/OTP $(erl -noshell -eval 'io:format("~s (erts ~s), ~b schedulers",
    [erlang:system_info(otp_release), erlang:system_info(version),
     erlang:system_info(schedulers_online)]), halt().') (tools/bench/erlang)"
  erl_line "benchmark" "troupe" "raw CAF" "Erlang" "troupe vs Erlang"
  printf "|-%s-|-%s:|-%s:|-%s:|-%s:|\n" "$(dash "$w1")" "$(dash "$w2")" \
    "$(dash "$w3")" "$(dash "$w4")" "$(dash "$w5")"
  for r in "${erl_rows[@]}"; do
    IFS='|' read -r name t c e vs <<<"$r"
    erl_line "$name" "$t" "$c" "$e" "$vs"
  done
  echo
  echo "troupe vs Erlang: above 1 is better for troupe in every row" \
       "(troupe / Erlang for rates, Erlang / troupe for rows marked" \
       "'lower is better'). Erlang: the emulator's defaults, one scheduler" \
       "per core; crash reports off in the supervisor rows."
fi

[[ ${#bases[@]} -eq 0 ]] && exit 0

# The same against the plain baseline: BASE|name|plain|troupe|ratio|CAF|ratio
w1=9 w2=5 w3=6 w4=14 w5=7 w6=15
for r in "${bases[@]}"; do
  IFS='|' read -r name p t rt c rc <<<"$r"
  (( ${#name} > w1 )) && w1=${#name}
  (( ${#p} > w2 )) && w2=${#p}
  (( ${#t} > w3 )) && w3=${#t}
  (( ${#c} > w5 )) && w5=${#c}
done
base_line() {
  printf "| %-${w1}s | %${w2}s | %${w3}s | %${w4}s | %${w5}s | %${w6}s |\n" "$@"
}
dashes() { printf '%*s' "$1" '' | tr ' ' -; }
echo
base_line "benchmark" "plain" "troupe" "troupe / plain" "raw CAF" "raw CAF / plain"
printf "|-%s-|-%s:|-%s:|-%s:|-%s:|-%s:|\n" "$(dashes "$w1")" "$(dashes "$w2")" \
  "$(dashes "$w3")" "$(dashes "$w4")" "$(dashes "$w5")" "$(dashes "$w6")"
for r in "${bases[@]}"; do
  IFS='|' read -r name p t rt c rc <<<"$r"
  base_line "$name" "$p" "$t" "$rt" "$c" "$rc"
done
echo
echo "plain = the same work without an actor runtime (blocking sockets);" \
     "the troupe target is p50 at or below plain TCP's."
