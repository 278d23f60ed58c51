#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Tries scheduler settings on local ping-pong and fan-in (troupe and raw CAF
# actors on identically configured systems) and on remote ping-pong (raw CAF
# client and server, both with the setting). The settings are interleaved:
# each round runs every setting once, so drift in the machine's load hits all
# of them alike; the table shows medians over the rounds.
#
# usage: tools/bench/explore_sched.sh [BUILD_DIR] [--quick] [--rounds N]
#                                     [--grid FILE]
# A grid file holds one setting set per line: space-separated KEY=VALUE
# pairs as accepted by the benchmarks' --set (`#` starts a comment; `-`
# stands for CAF's defaults). Without --grid the built-in grid below is used.
set -euo pipefail

build=build
quick=()
rounds=5
grid=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --rounds) rounds="$2"; shift ;;
    --grid) grid="$2"; shift ;;
    -h|--help) sed -n '3,13p' "$0"; exit 0 ;;
    *) build="$1" ;;
  esac
  shift
done
if [[ -n "${TROUPE_BENCH_QUICK:-}" && "${TROUPE_BENCH_QUICK}" != 0 ]]; then
  quick=(--quick)
fi

bin="$build/tools/bench"
for b in bench_ping_pong bench_fan_in bench_remote; do
  [[ -x "$bin/$b" ]] || { echo "missing $bin/$b (build with -DTROUPE_ENABLE_BENCH=ON)" >&2; exit 1; }
done
remote_count=5000
[[ ${#quick[@]} -gt 0 ]] && remote_count=""

default_grid() {
  local ws=work-stealing
  cat <<GRID
-
scheduler.max-threads=1
scheduler.max-threads=2
scheduler.max-threads=4
scheduler.max-threads=2 $ws.aggressive-steal-interval=1
scheduler.max-threads=2 scheduler.max-throughput=100
scheduler.max-threads=2 $ws.moderate-sleep-duration=0us
scheduler.max-threads=2 $ws.moderate-sleep-duration=0us $ws.aggressive-steal-interval=100
scheduler.max-threads=2 $ws.moderate-sleep-duration=0us $ws.moderate-poll-attempts=100
scheduler.max-threads=2 $ws.moderate-sleep-duration=0us scheduler.max-throughput=100
scheduler.max-threads=2 $ws.moderate-sleep-duration=0us scheduler.max-throughput=1000
scheduler.max-threads=1 $ws.moderate-sleep-duration=0us
scheduler.max-threads=4 $ws.moderate-sleep-duration=0us
GRID
}

mapfile -t lines < <(if [[ -n "$grid" ]]; then cat "$grid"; else default_grid; fi \
                     | sed 's/#.*//' | grep -v '^[[:space:]]*$')
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# Prints the fields of ROW lines: "troupe caf" per row.
fields() { grep '^ROW|' | awk -F'|' '{printf "%s %s ", $3, $4} END {print ""}'; }

for ((r = 1; r <= rounds; ++r)); do
  for i in "${!lines[@]}"; do
    line="${lines[$i]}"
    echo "round $r/$rounds: $line" >&2
    args=()
    if [[ "$line" == "-" ]]; then
      args=(caf-defaults)
    else
      for kv in $line; do args+=(--set "$kv"); done
    fi
    read -r ppt ppc _ < <("$bin/bench_ping_pong" same "${quick[@]}" --reps 1 "${args[@]}" </dev/null | fields)
    read -r fit fic _ < <("$bin/bench_fan_in" same "${quick[@]}" --reps 1 "${args[@]}" </dev/null | fields)
    read -r _ rr _ p50 _ p99 < <("$bin/bench_remote" caf-only "${quick[@]}" --reps 1 "${args[@]}" $remote_count </dev/null | fields)
    echo "$i $ppt $ppc $fit $fic $rr $p50 $p99" >>"$results"
  done
done

median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

fmt='%-58s | %9s %9s | %9s %9s | %8s %7s %7s\n'
echo
echo "medians of $rounds rounds; pp = local ping-pong round trips/s, fan = fan-in msgs/s,"
echo "rem = remote ping-pong (raw CAF both sides): round trips/s, RTT p50/p99 us"
printf "$fmt" "settings" "pp troupe" "pp CAF" "fan troupe" "fan CAF" \
  "rem rt/s" "rem p50" "rem p99"
for i in "${!lines[@]}"; do
  label="${lines[$i]}"
  [[ "$label" == "-" ]] && label="(CAF defaults)"
  label="${label//work-stealing./}"
  label="${label//scheduler./}"
  cols=()
  for c in 2 3 4 5 6 7 8; do
    cols+=("$(awk -v i="$i" -v c="$c" '$1 == i {print $c}' "$results" | median)")
  done
  printf "$fmt" "$label" "${cols[@]}"
done
