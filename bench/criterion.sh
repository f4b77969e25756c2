#!/usr/bin/env bash
# Per-request cost through a full tower stack (benches/layer.rs): a table of the layer's added
# cost as a ratio of one `jsonwebtoken::decode`, every figure from this run.
#
#   bench/criterion.sh                 # the whole suite, about 2 minutes plus minting
#   bench/criterion.sh layer_hit       # a filter: only the cases whose name contains it
#   ROUNDS=15 bench/criterion.sh       # more rounds (default 9)
#
# (The name is historical: the bench was a criterion one. It now alternates every case with
# its references over several rounds, which criterion cannot do, and reports medians; see the
# documentation at the top of benches/layer.rs.)
#
# Like with like: the previous run's table is deleted first, and the table printed is the one
# this run wrote, stamped with this run's id; a stale or foreign table is refused. Old criterion
# results under target/criterion, which earlier versions of this script read, are cleared too.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=target/bench-layer.md
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$$"
rm -f "$OUT"
rm -rf target/criterion

cargo bench --bench layer -- "$@" >"$OUT.tmp"
{ echo "run $RUN_ID"; cat "$OUT.tmp"; } >"$OUT"
rm -f "$OUT.tmp"

if [[ "$(head -1 "$OUT")" != "run $RUN_ID" ]] || ! grep -q '^| case ' "$OUT"; then
  echo "the table in $OUT was not written by this run; refusing to print it" >&2
  exit 1
fi
echo
tail -n +2 "$OUT"
