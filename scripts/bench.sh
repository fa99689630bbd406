#!/usr/bin/env bash
# End-to-end benchmark of chatstage against a plain psql ELT (issue 4).
#
#   scripts/bench.sh [CHATS]        # default 200000 chats (~285 MB)
#
# It generates the files with chatgen, then measures side by side, each on a
# fresh database: the psql baseline (scripts/baseline.sql), chatstage's first
# ingest (wall time, peak RSS), a re-ingest of the same file, a nightly file
# in which 10% of the chats changed (wall time and WAL bytes against the full
# load's), export against a bare psql \copy of the same views, and peak RSS
# on a file three times larger. Needs psql, /usr/bin/time and a server at
# $BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).
#
# It creates and drops databases named $BENCH_PREFIX* (default
# chatstage_bench_) and no others. It refuses a server that holds other
# chatstage databases (a demo, tests, a real staging database): their
# load would skew the figures, and a benchmark server should be one's own.
# BENCH_FORCE=1 runs anyway.
#
#   scripts/bench.sh --check        # only says whether the server is fit
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=
if [ "${1:-}" = "--check" ]; then check_only=1; shift; fi
chats=${1:-200000}
admin=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
prefix=${BENCH_PREFIX:-chatstage_bench_}
dir=${BENCH_DIR:-bench}
case $prefix in
  *[!a-z0-9_]* | "") echo "scripts/bench.sh: BENCH_PREFIX must be lower-case letters, digits and _" >&2; exit 2 ;;
esac

others=$(psql "$admin" -XAtc "SELECT string_agg(datname, ', ' ORDER BY datname) FROM pg_database
  WHERE datname LIKE 'chatstage%' AND left(datname, length('$prefix')) <> '$prefix'")
if [ -n "$others" ] && [ "${BENCH_FORCE:-}" != 1 ]; then
  echo "scripts/bench.sh: the server of BENCH_ADMIN_URL holds other chatstage databases ($others):" >&2
  echo "  run the benchmark on a server of its own (BENCH_ADMIN_URL), or set BENCH_FORCE=1;" >&2
  echo "  it only ever creates and drops databases named ${prefix}*." >&2
  exit 1
fi
if [ -n "$check_only" ]; then
  echo "scripts/bench.sh: the server is fit; the benchmark would use databases named ${prefix}*"
  exit 0
fi
mkdir -p "$dir"
go build -o "$dir/chatstage" ./cmd/chatstage
go build -o "$dir/chatgen" ./cmd/chatgen

gen() { # gen FILE CHATS [CHANGE]
  [ -s "$1" ] || "$dir/chatgen" -chats "$2" -seed 1 -change "${3:-0}" -out "$1"
}
gen "$dir/full.csv" "$chats"
gen "$dir/night.csv" "$chats" 0.1
gen "$dir/triple.csv" $((chats * 3))

db_url() { echo "${admin%/*}/$1"; }
fresh_db() {
  psql "$admin" -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" 2>/dev/null
  db_url "$1"
}
# timed LABEL CMD...: runs CMD under /usr/bin/time, records wall seconds and peak RSS (KB).
declare -A wall rss
timed() {
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$dir/time.$label" "$@" >"$dir/out.$label" 2>"$dir/err.$label" || {
    cat "$dir/err.$label" >&2; exit 1; }
  read -r wall[$label] rss[$label] <"$dir/time.$label"
}
wal_lsn() { psql "$1" -Atc "SELECT pg_current_wal_lsn()"; }
wal_bytes() { psql "$admin" -Atc "SELECT pg_wal_lsn_diff('$2', '$1')::bigint"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== $chats chats, $(du -m "$dir/full.csv" | cut -f1) MB; $(nproc) cores; $(psql "$admin" -Atc 'SHOW server_version')"

base=$(fresh_db "${prefix}baseline")
timed baseline psql "$base" -q -f scripts/baseline.sql <"$dir/full.csv"

url=$(fresh_db "${prefix}main")
"$dir/chatstage" migrate --database-url "$url" >/dev/null
lsn0=$(wal_lsn "$url")
timed first "$dir/chatstage" ingest --database-url "$url" "$dir/full.csv"
lsn1=$(wal_lsn "$url")
timed again "$dir/chatstage" ingest --database-url "$url" "$dir/full.csv"
lsn2=$(wal_lsn "$url")
timed night "$dir/chatstage" ingest --database-url "$url" "$dir/night.csv"
lsn3=$(wal_lsn "$url")

# Export and the bare psql \copy alternate, twice each, and the faster run
# of each counts: a single run mostly measures what the page cache held.
export_once() {
  rm -rf "$dir/export"
  timed "$1" "$dir/chatstage" export --database-url "$url" --out "$dir/export"
}
psql_once() {
  timed "$1" sh -c "psql '$url' -q -c \"\\copy (SELECT * FROM export.chats) TO '$dir/psql-chats.csv' WITH (FORMAT csv, HEADER)\" && \
    psql '$url' -q -c \"\\copy (SELECT * FROM export.messages) TO '$dir/psql-messages.csv' WITH (FORMAT csv, HEADER)\""
}
export_once export1; psql_once psql1; export_once export2; psql_once psql2
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
wall[export]=$(least "${wall[export1]}" "${wall[export2]}"); rss[export]=${rss[export2]}
wall[psqlexport]=$(least "${wall[psql1]}" "${wall[psql2]}")
cmp -s "$dir/export/chats.csv" "$dir/psql-chats.csv" && cmp -s "$dir/export/messages.csv" "$dir/psql-messages.csv" ||
  { echo "export differs from psql's \\copy of the views" >&2; exit 1; }

url3=$(fresh_db "${prefix}triple")
timed triple "$dir/chatstage" ingest --database-url "$url3" "$dir/triple.csv"

# Hostile inputs: peak RSS must stay under 2 x --max-field-bytes + 100 MB
# (the default cap, 32 MiB: 164 MB).
for m in field messages big bigs; do
  [ -s "$dir/monster-$m.csv" ] || "$dir/chatgen" -monster "$m" -out "$dir/monster-$m.csv"
  urlm=$(fresh_db "${prefix}monster")
  timed "monster_$m" "$dir/chatstage" ingest --quiet --database-url "$urlm" "$dir/monster-$m.csv"
done

full_wal=$(wal_bytes "$lsn0" "$lsn1")
again_wal=$(wal_bytes "$lsn1" "$lsn2")
night_wal=$(wal_bytes "$lsn2" "$lsn3")

printf '%-34s %10s %10s %8s %s\n' measure seconds peakRSS ratio target
row() { printf '%-34s %10s %10s %8s %s\n' "$@"; }
row "psql baseline ELT" "${wall[baseline]}" - - -
row "chatstage first ingest" "${wall[first]}" "$((rss[first] / 1024))MB" "$(ratio "${wall[first]}" "${wall[baseline]}")" "<= 0.70 x baseline, RSS <= 100MB"
row "chatstage re-ingest same file" "${wall[again]}" "$((rss[again] / 1024))MB" "$(ratio "${wall[again]}" "${wall[first]}")" "<= 0.25 x first"
row "chatstage nightly, 10% changed" "${wall[night]}" "$((rss[night] / 1024))MB" "$(ratio "${wall[night]}" "${wall[first]}")" "~0.1 x first (time)"
row "  WAL bytes: full / re / nightly" "$((full_wal / 1048576))MB" "$((again_wal / 1048576))MB" "$(ratio "$night_wal" "$full_wal")" "nightly ~0.1 x full (writes)"
row "chatstage export" "${wall[export]}" "$((rss[export] / 1024))MB" "$(ratio "${wall[export]}" "${wall[psqlexport]}")" "<= 1.3 x psql \\copy"
row "psql \\copy of the export views" "${wall[psqlexport]}" - - -
row "chatstage first ingest, 3x file" "${wall[triple]}" "$((rss[triple] / 1024))MB" "$(ratio "${rss[triple]}" "${rss[first]}")" "RSS flat (ratio ~1)"
for m in field messages big bigs; do
  row "monster input: $m" "${wall[monster_$m]}" "$((rss[monster_$m] / 1024))MB" "$(ratio "${rss[monster_$m]}" 167936)" "<= 164 MB (2 x 32 MiB + 100 MB)"
done
