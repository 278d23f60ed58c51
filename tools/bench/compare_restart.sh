#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compares the troupe supervisor restart rate of two bench_supervisor builds
# (e.g. a worktree of an older commit and this one), runs interleaved.
#
# Usage: compare_restart.sh OLD_BIN NEW_BIN [COUNT]
#   COUNT  restart cycles per rep (positional arg of bench_supervisor;
#          default: the binary's own default, 100000). Env ROUNDS (default 3)
#          sets how many runs of each binary; REPS (default 3) is passed as
#          --reps. Runs alternate old/new, swapping who goes first each round
#          (old,new / new,old / old,new ...).
# Each run is `BIN restart [COUNT] --reps REPS`; its ROW lines are printed as
# they come. The summary takes, per binary, the median over the runs of the
# troupe column of the "[restarts/s]" row (each run already reports a median
# over its reps), and prints new/old. The raw-CAF column is the same code in
# both binaries, so its old/new medians show the run-to-run noise.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  sed -n '3,16p' "$0" >&2
  exit 2
fi
OLD=$1 NEW=$2 COUNT=${3:-}
ROUNDS=${ROUNDS:-3} REPS=${REPS:-3}
for b in "$OLD" "$NEW"; do
  [[ -x $b ]] || { echo "not an executable: $b" >&2; exit 2; }
done

declare -a old_t new_t old_c new_c

run() { # tag bin
  local tag=$1 bin=$2 out line
  echo "== $tag: $bin restart ${COUNT:+$COUNT }--reps $REPS"
  out=$("$bin" restart ${COUNT:+"$COUNT"} --reps "$REPS")
  echo "$out"
  line=$(grep -F '[restarts/s]' <<<"$out" | head -n1)
  [[ -n $line ]] || { echo "no [restarts/s] row from $bin" >&2; exit 1; }
  local t c
  t=$(cut -d'|' -f3 <<<"$line")
  c=$(cut -d'|' -f4 <<<"$line")
  if [[ $tag == old* ]]; then old_t+=("$t"); old_c+=("$c")
  else new_t+=("$t"); new_c+=("$c"); fi
}

for ((r = 1; r <= ROUNDS; ++r)); do
  if ((r % 2 == 1)); then run "old#$r" "$OLD"; run "new#$r" "$NEW"
  else run "new#$r" "$NEW"; run "old#$r" "$OLD"; fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
  print ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

mo=$(median "${old_t[@]}") mn=$(median "${new_t[@]}")
co=$(median "${old_c[@]}") cn=$(median "${new_c[@]}")
echo
echo "== summary: troupe restarts/s, median of $ROUNDS runs each (each run: median of $REPS reps)"
echo "old runs: ${old_t[*]}"
echo "new runs: ${new_t[*]}"
awk -v o="$mo" -v n="$mn" 'BEGIN {
  printf "troupe  old %.0f  new %.0f  new/old %.3f\n", o, n, (o > 0 ? n / o : 0) }'
awk -v o="$co" -v n="$cn" 'BEGIN {
  printf "raw CAF old %.0f  new %.0f  new/old %.3f (same code: noise)\n", o, n, (o > 0 ? n / o : 0) }'
