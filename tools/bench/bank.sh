#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The bank's transfers per second (examples/bank: accounts are persistent
# actors, each transfer a withdrawal then a deposit, each acknowledged
# after its event is stored), by client threads, in one process and on 3
# nodes, medians of --reps runs:
#   bench | clients | journal | transfers/s (median) | runs
#
# usage: tools/bench/bank.sh [BUILD_DIR] [--reps N] [--transfers N]
#                            [--clients 1,2,4,8,16] [--journal LOC]
#                            [--nodes-journal LOC] [--no-nodes] [--no-local]
#   BUILD_DIR        a build with the examples (build/examples/bank/bank and
#                    build/examples/launch); default: build
#   --reps N         runs per row (default 3)
#   --transfers N    transfers per run (default 100000)
#   --clients LIST   client threads of the local rows (default 1,2,4,8,16);
#                    the 3-node row uses 8
#   --journal LOC    the local rows' journal (default memory:, the bank's)
#   --nodes-journal LOC  the 3-node row's journal (default: the launcher's,
#                    one SQLite file with synchronous=FULL in its logs
#                    folder; e.g. memory: or sqlite:/tmp/j.db?synchronous=normal)
# Each run is nice -n 10 when NICE=1 (shared machines).
set -euo pipefail

build=build reps=3 transfers=100000 clients=1,2,4,8,16 journal=memory:
nodes_journal="" nodes=1 local=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift ;;
    --transfers) transfers="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    --journal) journal="$2"; shift ;;
    --nodes-journal) nodes_journal="$2"; shift ;;
    --no-nodes) nodes=0 ;;
    --no-local) local=0 ;;
    -h|--help) sed -n '3,22p' "$0"; exit 0 ;;
    -*) echo "bank.sh: unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
  esac
  shift
done
bank="$build/examples/bank/bank"
launch="$build/examples/launch"
[[ -x $bank ]] || { echo "bank.sh: $bank not found: build the examples" >&2; exit 1; }
pre=()
[[ ${NICE:-0} == 1 ]] && pre=(nice -n 10)

# Transfers per second of one run's "actors:" line.
rate() {
  sed -nE 's/.*\(([0-9]+) transfers done in ([0-9.]+) s.*/\1 \2/p' |
    awk '{ printf "%.0f\n", $1 / $2 }'
}

median() {
  sort -n | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2];
          else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

row() { # bench clients journal command...
  local name="$1" c="$2" j="$3" runs=() r
  shift 3
  for ((i = 0; i < reps; ++i)); do
    r=$("${pre[@]}" "$@" 2>/dev/null | rate || true)
    runs+=("${r:-fail}")
    [[ -n ${BANK_VERBOSE:-} ]] && echo "  $name c=$c run $i: ${r:-fail}" >&2
  done
  local med
  med=$(printf '%s\n' "${runs[@]}" | grep -E '^[0-9]+$' | median || true)
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$c" "$j" "${med:-fail}" \
    "${runs[*]}"
}

echo "| bench | clients | journal | transfers/s (median) | runs |"
echo "| --- | --: | --- | --: | --- |"
if [[ $local == 1 ]]; then
  IFS=, read -r -a cs <<<"$clients"
  for c in "${cs[@]}"; do
    row "bank local" "$c" "$journal" "$bank" --journal "$journal" local \
      --transfers "$transfers" --clients "$c"
  done
fi
if [[ $nodes == 1 && -x $launch ]]; then
  jflag=()
  [[ -n $nodes_journal ]] && jflag=(--journal "$nodes_journal")
  # A fresh SQLite file each run: the launcher's default is in its new
  # logs folder; a named sqlite: file is removed first.
  path=""
  [[ $nodes_journal == sqlite:* ]] && path="${nodes_journal#sqlite:}" && path="${path%%\?*}"
  if [[ -n $path ]]; then
    row "bank 3 nodes" 8 "$nodes_journal" \
      bash -c 'rm -f "$0" "$0-wal" "$0-shm"; exec "$@"' "$path" \
      "$launch" --nodes 3 "${jflag[@]}" bank --transfers "$transfers" --clients 8
  else
    row "bank 3 nodes" 8 "${nodes_journal:-sqlite FULL (launch default)}" \
      "$launch" --nodes 3 "${jflag[@]}" bank --transfers "$transfers" --clients 8
  fi
fi
