#!/usr/bin/env bash
# Tries scheduler settings on local ping-pong and fan-in, with troupe and raw
# CAF actors on identically configured systems, and on remote ping-pong with
# raw CAF only (client and server both use the setting); prints one table row
# per setting (medians over the repetitions).
#
# usage: tools/bench/explore_sched.sh [BUILD_DIR] [--quick] [--reps N]
#                                     [--grid FILE]
# A grid file holds one setting set per line: space-separated KEY=VALUE
# pairs as accepted by the benchmarks' --set (`#` starts a comment, an empty
# set is written `-`). Without --grid the built-in grid below is used.
set -euo pipefail

build=build
quick=()
reps=5
grid=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --reps) reps="$2"; shift ;;
    --grid) grid="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) build="$1" ;;
  esac
  shift
done
[[ -n "${TROUPE_BENCH_QUICK:-}" && "${TROUPE_BENCH_QUICK}" != 0 ]] && quick=(--quick)

bin="$build/tools/bench"
for b in bench_ping_pong bench_fan_in bench_remote; do
  [[ -x "$bin/$b" ]] || { echo "missing $bin/$b (build with -DTROUPE_ENABLE_BENCH=ON)" >&2; exit 1; }
done

remote_count=5000
[[ ${#quick[@]} -gt 0 ]] && remote_count=""

default_grid() {
  local ws=work-stealing
  cat <<EOF
-
scheduler.max-threads=1
scheduler.max-threads=2
scheduler.max-threads=3
scheduler.max-threads=4
scheduler.max-threads=2 $ws.aggressive-steal-interval=1
scheduler.max-threads=2 $ws.aggressive-poll-attempts=1000 $ws.aggressive-steal-interval=1
scheduler.max-threads=2 $ws.aggressive-poll-attempts=10000 $ws.aggressive-steal-interval=1
scheduler.max-threads=2 $ws.aggressive-steal-interval=1000
scheduler.max-threads=2 $ws.moderate-sleep-duration=0us
scheduler.max-threads=2 $ws.moderate-sleep-duration=10us $ws.moderate-steal-interval=1
scheduler.max-threads=2 $ws.aggressive-poll-attempts=1000 $ws.aggressive-steal-interval=1 $ws.moderate-sleep-duration=10us $ws.moderate-steal-interval=1
scheduler.max-threads=2 $ws.moderate-poll-attempts=10
scheduler.max-threads=2 $ws.aggressive-poll-attempts=1000 $ws.aggressive-steal-interval=1 $ws.moderate-sleep-duration=0us
scheduler.max-threads=1 $ws.moderate-sleep-duration=0us
scheduler.max-threads=4 $ws.moderate-sleep-duration=0us
scheduler.max-threads=2 $ws.relaxed-sleep-duration=1ms
scheduler.max-threads=2 scheduler.max-throughput=100
scheduler.max-threads=2 scheduler.max-throughput=1000
scheduler.max-threads=4 scheduler.max-throughput=1000
EOF
}

# Prints "troupe caf" of the first ROW line of a benchmark run.
values() {
  grep '^ROW|' | head -1 | awk -F'|' '{print $3, $4}'
}

# Prints "rate p50 p99" of raw CAF from a bench_remote run.
remote_values() {
  grep '^ROW|' | awk -F'|' '{printf "%s ", $4} END {print ""}'
}

fmt='%-60s | %9s %9s | %9s %9s | %7s %7s %7s\n'
printf "$fmt" "settings" "pp troupe" "pp CAF" "fan troupe" "fan CAF" \
  "rem rt/s" "rem p50" "rem p99"
while read -r line; do
  line="${line%%#*}"
  [[ -z "${line// }" ]] && continue
  sets=()
  extra=()
  if [[ "$line" == "-" ]]; then
    extra=(caf-defaults)
  else
    for kv in $line; do sets+=(--set "$kv"); done
  fi
  pp=$("$bin/bench_ping_pong" same "${quick[@]}" --reps "$reps" "${sets[@]}" </dev/null | values)
  fi_=$("$bin/bench_fan_in" same "${quick[@]}" --reps "$(( (reps + 1) / 2 ))" "${sets[@]}" </dev/null | values)
  rem=$("$bin/bench_remote" caf-only "${quick[@]}" --reps 3 "${extra[@]}" "${sets[@]}" $remote_count </dev/null | remote_values)
  label="$line"
  [[ "$line" == "-" ]] && label="(CAF defaults)"
  label="${label//work-stealing./}"
  label="${label//scheduler./}"
  read -r ppt ppc <<<"$pp"
  read -r fit fic <<<"$fi_"
  read -r rr rp50 rp99 <<<"$rem"
  printf "$fmt" "$label" "$ppt" "$ppc" "$fit" "$fic" "$rr" "$rp50" "$rp99"
done < <(if [[ -n "$grid" ]]; then cat "$grid"; else default_grid; fi)
