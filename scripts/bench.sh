#!/usr/bin/env bash
# End-to-end benchmark of chatstage against a plain psql ELT (issues 4 and 17).
#
#   scripts/bench.sh [CHATS]        # default 200000 chats (~285 MB)
#
# It generates the files with chatgen (seed 1), then measures side by side,
# in one run, and prints each ratio against its target with met / not met:
#   - the psql baseline (scripts/baseline.sql) and chatstage's first ingest
#     (wall time, peak RSS, WAL bytes), then a re-ingest of the same file;
#   - the incremental nightly: a file of only the chats that changed (10%,
#     each one message longer: chatgen -only-changed), on the database the
#     first ingest built, and the same file on a database $BENCH_BIG times
#     larger (default 5: its first CHATS chats are the same, so the same
#     file applies), which must cost about the same: cost follows the file;
#   - the snapshot nightly: every chat, 10% changed, ingest --snapshot, on
#     both databases;
#   - export against a bare psql \copy of the same views;
#   - peak RSS on a file three times larger and on hostile inputs.
# After each first ingest the script runs VACUUM ANALYZE, as autovacuum
# would in the day before the next night (and it treats the two databases
# alike: hint bits, visibility map, statistics). Each nightly runs on a
# copy (CREATE DATABASE ... TEMPLATE) of the database as that left it,
# twice, alternating between the two databases, and the faster run
# counts; every measured step runs after a CHECKPOINT: a step never pays
# for the previous one's dirty pages, and pays its own full-page writes as
# a nightly load a day later would. Needs psql,
# /usr/bin/time and a server at $BENCH_ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres).
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
big=${BENCH_BIG:-5}

gen() { # gen FILE CHATS [CHANGE [-only-changed]]
  [ -s "$1" ] || "$dir/chatgen" -chats "$2" -seed 1 -change "${3:-0}" ${4:+"$4"} -out "$1"
}
gen "$dir/full.csv" "$chats"
gen "$dir/night.csv" "$chats" 0.1
gen "$dir/only.csv" "$chats" 0.1 -only-changed
gen "$dir/triple.csv" $((chats * 3))
gen "$dir/big.csv" $((chats * big))
gen "$dir/bignight.csv" $((chats * big)) 0.1

db_url() { echo "${admin%/*}/$1"; }
fresh_db() {
  psql "$admin" -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" 2>/dev/null
  db_url "$1"
}
# copy_db FROM TO: a copy of database FROM as it is (file copy, no WAL).
copy_db() {
  psql "$admin" -q -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" \
    -c "CREATE DATABASE $2 TEMPLATE $1 STRATEGY FILE_COPY" 2>/dev/null
  db_url "$2"
}
checkpoint() { psql "$admin" -q -c CHECKPOINT; }
# timed LABEL CMD...: runs CMD under /usr/bin/time, records wall seconds and peak RSS (KB).
declare -A wall rss wal
timed() {
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$dir/time.$label" "$@" >"$dir/out.$label" 2>"$dir/err.$label" || {
    cat "$dir/err.$label" >&2; exit 1; }
  read -r wall[$label] rss[$label] <"$dir/time.$label"
}
wal_lsn() { psql "$admin" -Atc "SELECT pg_current_wal_lsn()"; }
wal_bytes() { psql "$admin" -Atc "SELECT pg_wal_lsn_diff('$2', '$1')::bigint"; }
# ingest LABEL URL FILE [FLAGS...]: a timed ingest after a checkpoint, with its WAL bytes.
ingest() {
  local label=$1 url=$2 file=$3 lsn; shift 3
  checkpoint
  lsn=$(wal_lsn)
  timed "$label" "$dir/chatstage" ingest --verbose --database-url "$url" "$@" "$file"
  wal[$label]=$(wal_bytes "$lsn" "$(wal_lsn)")
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== $chats chats, $(du -m "$dir/full.csv" | cut -f1) MB; nightly $(($(wc -l <"$dir/only.csv") - 1)) changed chats," \
  "$(du -m "$dir/only.csv" | cut -f1) MB; large database $((chats * big)) chats; $(nproc) cores; $(psql "$admin" -Atc 'SHOW server_version')"

base=$(fresh_db "${prefix}baseline")
checkpoint
timed baseline psql "$base" -q -f scripts/baseline.sql <"$dir/full.csv"

url=$(fresh_db "${prefix}main")
"$dir/chatstage" migrate --database-url "$url" >/dev/null
ingest first "$url" "$dir/full.csv"
psql "$url" -q -c "VACUUM ANALYZE"
ingest again "$url" "$dir/full.csv"

# The large database: its first CHATS chats are those of the first file.
urlb=$(fresh_db "${prefix}big")
"$dir/chatstage" migrate --database-url "$urlb" >/dev/null
ingest bigfirst "$urlb" "$dir/big.csv"
psql "$urlb" -q -c "VACUUM ANALYZE"

# The nightlies each start from a copy of the database its first ingest
# built; the incremental one twice on each database, alternating.
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
for n in 1 2; do
  ingest "incr$n" "$(copy_db "${prefix}main" "${prefix}main_incr")" "$dir/only.csv"
  ingest "bigincr$n" "$(copy_db "${prefix}big" "${prefix}big_incr")" "$dir/only.csv"
done
for l in incr bigincr; do
  if [ "$(least "${wall[${l}1]}" "${wall[${l}2]}")" = "${wall[${l}1]}" ]; then n=1; else n=2; fi
  wall[$l]=${wall[$l$n]} rss[$l]=${rss[$l$n]} wal[$l]=${wal[$l$n]}
done
psql "$admin" -q -c "DROP DATABASE IF EXISTS ${prefix}big_incr WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${prefix}main_incr WITH (FORCE)"
url=$(copy_db "${prefix}main" "${prefix}main_snap")
ingest snap "$url" "$dir/night.csv" --snapshot

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
wall[export]=$(least "${wall[export1]}" "${wall[export2]}"); rss[export]=${rss[export2]}
wall[psqlexport]=$(least "${wall[psql1]}" "${wall[psql2]}")
cmp -s "$dir/export/chats.csv" "$dir/psql-chats.csv" && cmp -s "$dir/export/messages.csv" "$dir/psql-messages.csv" ||
  { echo "export differs from psql's \\copy of the views" >&2; exit 1; }
# The large database's snapshot nightly, for reference.
ingest bigsnap "$urlb" "$dir/bignight.csv" --snapshot

url3=$(fresh_db "${prefix}triple")
ingest triple "$url3" "$dir/triple.csv"

# Hostile inputs: peak RSS must stay under 2 x --max-field-bytes + 100 MB
# (the default cap, 32 MiB: 164 MB).
for m in field messages big bigs; do
  [ -s "$dir/monster-$m.csv" ] || "$dir/chatgen" -monster "$m" -out "$dir/monster-$m.csv"
  urlm=$(fresh_db "${prefix}monster")
  timed "monster_$m" "$dir/chatstage" ingest --quiet --database-url "$urlm" "$dir/monster-$m.csv"
done

# row MEASURE SECONDS RSS RATIO TARGET [VERDICT]
printf '%-40s %9s %8s %7s  %-44s %s\n' measure seconds peakRSS ratio target met
row() { printf '%-40s %9s %8s %7s  %-44s %s\n' "$@"; }
mb() { echo "$(($1 / 1024))MB"; }
# verdict RATIO MAX: met when RATIO <= MAX.
verdict() { awk -v r="$1" -v m="$2" 'BEGIN { print (r <= m ? "met" : "NOT MET") }'; }
# The first ingest's ratio to the baseline before issue 17 (docs/performance.md).
first_max=${BENCH_FIRST_MAX:-1.00}
r=$(ratio "${wall[first]}" "${wall[baseline]}")
row "psql baseline ELT" "${wall[baseline]}" - - - -
row "chatstage first ingest" "${wall[first]}" "$(mb "${rss[first]}")" "$r" "<= $first_max x baseline (before issue 17)" \
  "$(verdict "$r" "$first_max")$([ "${rss[first]}" -le 102400 ] || echo ", RSS NOT MET")"
r=$(ratio "${wall[again]}" "${wall[first]}")
row "chatstage re-ingest same file" "${wall[again]}" "$(mb "${rss[again]}")" "$r" "<= 0.15 x first" "$(verdict "$r" 0.15)"
r=$(ratio "${wall[incr]}" "${wall[first]}")
row "incremental nightly (changed chats only)" "${wall[incr]}" "$(mb "${rss[incr]}")" "$r" "<= 0.20 x first" "$(verdict "$r" 0.20)"
r=$(ratio "${wall[bigincr]}" "${wall[incr]}")
row "  the same file, ${big}x larger database" "${wall[bigincr]}" "$(mb "${rss[bigincr]}")" "$r" "<= 1.15 x on the first database" "$(verdict "$r" 1.15)"
row "  (each the faster of: ${wall[incr1]} ${wall[incr2]} s; ${wall[bigincr1]} ${wall[bigincr2]} s)" - - - - -
r=$(ratio "${wall[snap]}" "${wall[first]}")
row "snapshot nightly (all chats, 10% changed)" "${wall[snap]}" "$(mb "${rss[snap]}")" "$r" "<= 0.35 x first" "$(verdict "$r" 0.35)"
row "  ${big}x larger database: first ingest" "${wall[bigfirst]}" "$(mb "${rss[bigfirst]}")" "$(ratio "${wall[bigfirst]}" "${wall[first]}")" "(x first; for reference)" -
row "  ${big}x larger database: snapshot nightly" "${wall[bigsnap]}" "$(mb "${rss[bigsnap]}")" "$(ratio "${wall[bigsnap]}" "${wall[bigfirst]}")" "(x its first ingest; for reference)" -
for l in first again incr bigincr snap bigsnap; do
  row "  WAL bytes: $l" "$((wal[$l] / 1048576))MB" - "$(ratio "${wal[$l]}" "${wal[first]}")" "(x first's WAL)" -
done
r=$(ratio "${wall[export]}" "${wall[psqlexport]}")
row "chatstage export" "${wall[export]}" "$(mb "${rss[export]}")" "$r" "<= 0.60 x psql \\copy" "$(verdict "$r" 0.60)"
row "psql \\copy of the export views" "${wall[psqlexport]}" - - - -
r=$(ratio "${rss[triple]}" "${rss[first]}")
row "chatstage first ingest, 3x file" "${wall[triple]}" "$(mb "${rss[triple]}")" "$r" "RSS <= 100 MB, flat (ratio ~1)" \
  "$([ "${rss[triple]}" -le 102400 ] && verdict "$r" 1.10 || echo "NOT MET")"
for m in field messages big bigs; do
  r=$(ratio "${rss[monster_$m]}" 167936)
  row "monster input: $m" "${wall[monster_$m]}" "$(mb "${rss[monster_$m]}")" "$r" "<= 164 MB (2 x 32 MiB + 100 MB)" "$(verdict "$r" 1)"
done
