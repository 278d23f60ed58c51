#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compares two bench builds (e.g. a worktree of an older commit and this
# one) figure by figure, in one run: each benchmark of run_all.sh runs in
# both builds back to back, alternating which goes first. Raw CAF (or raw
# SQLite) runs inside each binary beside troupe, so what is compared is
# the ratio troupe / raw of each row: old ratio, new ratio, new / old.
#
# usage: tools/bench/compare_builds.sh OLD_BUILD NEW_BUILD [--quick]
#   OLD_BUILD, NEW_BUILD  builds configured with -DTROUPE_ENABLE_BENCH=ON
#   --quick               counts scaled down 100x (smoke runs)
# Env ROUNDS (default 2): runs of each build per benchmark; the median
# ratio over the rounds is reported. BENCHES (default: run_all.sh's list)
# narrows it, e.g. BENCHES="bench_ping_pong bench_fan_in".
# Rows that say "lower is better" are compared the other way round: for
# them new / old below 1 is better; the last column says which way.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '3,16p' "$0" >&2
  exit 2
fi
old=$1 new=$2
shift 2
flags=("$@")
rounds=${ROUNDS:-2}
benches=(${BENCHES:-bench_ping_pong bench_fan_in bench_spawn bench_remote
         bench_remote_oneway bench_supervisor bench_failure_detection
         bench_pool bench_persistence})
for b in "${benches[@]}"; do
  for d in "$old" "$new"; do
    [[ -x $d/tools/bench/$b ]] || {
      echo "compare_builds.sh: $d/tools/bench/$b not found" >&2; exit 2; }
  done
done

declare -A ratios # key: tag|row -> space-separated ratios
order=()
run() { # tag build bench
  local out line name r
  echo "running $3 in $1 ($2)" >&2
  out=$("$2/tools/bench/$3" "${flags[@]}" </dev/null)
  while IFS= read -r line; do
    [[ $line == ROW\|* ]] || continue
    IFS='|' read -r _ name _ _ r <<<"$line"
    [[ -n ${ratios["old|$name"]+x} || -n ${ratios["new|$name"]+x} ]] \
      || order+=("$name")
    ratios["$1|$name"]+="$r "
  done <<<"$out"
}

for b in "${benches[@]}"; do
  for ((i = 1; i <= rounds; ++i)); do
    if ((i % 2 == 1)); then run old "$old" "$b"; run new "$new" "$b"
    else run new "$new" "$b"; run old "$old" "$b"; fi
  done
done

median() { printf '%s\n' $1 | grep -E '^[0-9.eE+-]+x?$' | tr -d x | sort -g |
  awk '{v[NR]=$1} END { if (NR == 0) print "-"; else
    print ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

printf '| %-58s | %9s | %9s | %9s | %-6s |\n' benchmark "old ratio" \
  "new ratio" "new / old" better
printf '|-%s-|-%s:|-%s:|-%s:|-%s-|\n' "$(printf '%58s' | tr ' ' -)" \
  --------- --------- --------- ------
for name in "${order[@]}"; do
  o=$(median "${ratios["old|$name"]:-}")
  n=$(median "${ratios["new|$name"]:-}")
  q=$(awk -v o="$o" -v n="$n" 'BEGIN { if (o == "-" || n == "-" || o == 0)
    print "-"; else printf "%.3f", n / o }')
  way=higher
  [[ $name == *"lower is better"* ]] && way=lower
  printf '| %-58s | %9s | %9s | %9s | %-6s |\n' "$name" "$o" "$n" "$q" "$way"
done
echo
echo "ratio = troupe / raw in the same binary and run; new / old compares" \
     "those ratios between the builds ($rounds rounds each, alternating)."
