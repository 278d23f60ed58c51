#!/usr/bin/env bash
# Runs every troupe benchmark and prints one table:
#   benchmark | troupe | raw | ratio (troupe / raw)
# where raw is raw CAF doing the same work, or for bench_persistence raw
# SQLite doing the same inserts and reads (its --pg rows need a server and
# are not run here; run it by hand with --pg CONNINFO),
# and, for the figures that also have a floor without any actor runtime
# (remote ping-pong over plain blocking TCP), a second one:
#   benchmark | plain | troupe | troupe / plain | raw CAF | raw CAF / plain
#
# usage: tools/bench/run_all.sh [BUILD_DIR] [--quick] [--reps N]
#   BUILD_DIR  a build configured with -DTROUPE_ENABLE_BENCH=ON and already
#              built (this script builds nothing); default: build
#   --quick    counts scaled down 100x, for smoke runs (also
#              TROUPE_BENCH_QUICK=1)
#   --reps N   repetitions per variant (default: 3, ping-pong 7);
#              the median is reported
# Set TROUPE_BENCH_VERBOSE=1 to see every repetition on stderr.
set -euo pipefail

build=build
flags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) flags+=(--quick) ;;
    --reps) flags+=(--reps "$2"); shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
for b in "${benches[@]}"; do
  if [[ ! -x "$bin/$b" ]]; then
    echo "run_all.sh: $bin/$b not found; configure with" \
         "-DTROUPE_ENABLE_BENCH=ON and build first" >&2
    exit 1
  fi
done

rows=() bases=()
for b in "${benches[@]}"; do
  echo "running $b ${flags[*]}" >&2
  start=$SECONDS
  out=$("$bin/$b" "${flags[@]}" </dev/null)
  echo "  done in $((SECONDS - start)) s" >&2
  while IFS= read -r line; do
    [[ "$line" == ROW\|* ]] && rows+=("${line#ROW|}")
    [[ "$line" == BASE\|* ]] && bases+=("${line#BASE|}")
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
