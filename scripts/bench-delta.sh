#!/usr/bin/env bash
# What a delta deliverable costs against a full export (issue 15):
#
#   scripts/bench-delta.sh [CHATS] [CHANGE]   # default 1000000 chats, 0.01 changed
#
# Loads CHATS chats, then the same chats with a fraction CHANGE written as
# newer versions, then times `export --since` the first load against a full
# `export`, twice each, alternating (the faster run of each counts). The
# delta's cost should follow the change (the index on the load that last
# changed each chat), not the database. Needs a server at $BENCH_ADMIN_URL
# (default postgres://postgres@127.0.0.1:5432/postgres); its database is
# chatstage_bench_delta, dropped and created again.
set -euo pipefail
cd "$(dirname "$0")/.."

chats=${1:-1000000}
change=${2:-0.01}
admin=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
dir=${BENCH_DIR:-bench}
mkdir -p "$dir"
go build -o "$dir/chatstage" ./cmd/chatstage
go build -o "$dir/chatgen" ./cmd/chatgen
full="$dir/delta-full-$chats.csv"
night="$dir/delta-night-$chats-$change.csv"
[ -s "$full" ] || "$dir/chatgen" -chats "$chats" -seed 1 -out "$full"
[ -s "$night" ] || "$dir/chatgen" -chats "$chats" -seed 1 -change "$change" -out "$night"

psql "$admin" -q -c "DROP DATABASE IF EXISTS chatstage_bench_delta WITH (FORCE)" -c "CREATE DATABASE chatstage_bench_delta"
url="${admin%/*}/chatstage_bench_delta"
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>"$dir/delta.err" || { cat "$dir/delta.err" >&2; exit 1; }
  t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'; }

echo "== $chats chats, $change changed; $(nproc) cores; $(psql "$admin" -Atc 'SHOW server_version')"
echo "first ingest:   $(seconds "$dir/chatstage" ingest --quiet --database-url "$url" "$full") s"
echo "nightly ingest: $(seconds "$dir/chatstage" ingest --quiet --database-url "$url" "$night") s"
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
run() { rm -rf "$dir/delta-out"; seconds "$dir/chatstage" export --quiet --database-url "$url" --out "$dir/delta-out" "$@"; }
f1=$(run); d1=$(run --since 1); f2=$(run); d2=$(run --since 1)
f=$(least "$f1" "$f2"); d=$(least "$d1" "$d2")
rows=$(($(wc -l <"$dir/delta-out/chats.csv") - 1))
echo "full export:    $f s"
echo "export --since: $d s ($rows chats in the delta)"
awk -v d="$d" -v f="$f" 'BEGIN { printf "ratio:          %.3f x the full export\n", d / f }'
