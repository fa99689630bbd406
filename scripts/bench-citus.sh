#!/usr/bin/env bash
# chatstage on a Citus cluster beside one plain PostgreSQL, the same files
# (docs/scaling.md):
#
#   scripts/bench-citus.sh COORDINATOR_URL WORKER_URL... [-- CHATS]
#
# COORDINATOR_URL and each WORKER_URL name a maintenance database
# (postgres://postgres@127.0.0.1:9700/postgres); the workers must already be
# registered with the coordinator (citus_add_node) and every node must
# preload citus. The one-node figures come from the server of
# BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).
# CHATS defaults to 200000.
#
# On each node it creates (and at the end drops) a database named
# chatstage_bench_citus, with the citus extension and the nodes registered,
# and on the one-node server chatstage_bench_single; it times, on each: the
# first ingest of the file, a re-ingest, the nightly file (10% changed), the
# nightly file of only the changed chats, and an export, then checks that
# both exports are byte-identical. It creates no other database and builds
# nothing but chatstage and chatgen.
set -euo pipefail
cd "$(dirname "$0")/.."

coord=${1:?usage: scripts/bench-citus.sh COORDINATOR_URL WORKER_URL... [-- CHATS]}
shift
workers=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do workers+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
chats=${1:-200000}
[ ${#workers[@]} -gt 0 ] || { echo "scripts/bench-citus.sh: name at least one worker" >&2; exit 2; }
admin=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
dir=${BENCH_DIR:-bench}
db=chatstage_bench_citus
single=chatstage_bench_single

mkdir -p "$dir"
go build -o "$dir/chatstage" ./cmd/chatstage
go build -o "$dir/chatgen" ./cmd/chatgen
[ -s "$dir/full.csv" ] || "$dir/chatgen" -chats "$chats" -seed 1 -out "$dir/full.csv"
[ -s "$dir/night.csv" ] || "$dir/chatgen" -chats "$chats" -seed 1 -change 0.1 -out "$dir/night.csv"
# The nightly file of only the changed chats: the lines of night.csv that
# full.csv does not have (a chat's record is one line: chatgen never writes
# a line break inside a field).
[ -s "$dir/changed.csv" ] || { head -1 "$dir/night.csv"; LC_ALL=C comm -13 \
  <(tail -n +2 "$dir/full.csv" | LC_ALL=C sort) <(tail -n +2 "$dir/night.csv" | LC_ALL=C sort); } >"$dir/changed.csv"

url_of() { echo "${1%/*}/$2"; }
hostport() { # hostport URL -> host port
  local hp=${1#*://}; hp=${hp#*@}; hp=${hp%%/*}
  echo "${hp%:*} ${hp##*:}"
}
psql_q() { psql "$1" -XqAt -v ON_ERROR_STOP=1 -c "$2"; }

for node in "$coord" "${workers[@]}"; do
  psql_q "$node" "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  psql_q "$node" "CREATE DATABASE $db"
  psql_q "$(url_of "$node" $db)" "CREATE EXTENSION citus"
done
read -r ch cp < <(hostport "$coord")
psql_q "$(url_of "$coord" $db)" "SELECT citus_set_coordinator_host('$ch', $cp)" >/dev/null
for w in "${workers[@]}"; do
  read -r wh wp < <(hostport "$w")
  psql_q "$(url_of "$coord" $db)" "SELECT citus_add_node('$wh', $wp)" >/dev/null
done
psql_q "$admin" "DROP DATABASE IF EXISTS $single WITH (FORCE)"
psql_q "$admin" "CREATE DATABASE $single"

declare -A wall
timed() { # timed LABEL CMD...
  local label=$1; shift
  /usr/bin/time -f '%e' -o "$dir/time.$label" "$@" >"$dir/out.$label" 2>"$dir/err.$label" || {
    cat "$dir/err.$label" >&2; exit 1; }
  wall[$label]=$(cat "$dir/time.$label")
}
run() { # run SIDE URL
  local side=$1 url=$2
  "$dir/chatstage" migrate --database-url "$url" >/dev/null
  timed "$side.first" "$dir/chatstage" ingest --quiet --database-url "$url" "$dir/full.csv"
  timed "$side.again" "$dir/chatstage" ingest --quiet --database-url "$url" "$dir/full.csv"
  timed "$side.night" "$dir/chatstage" ingest --quiet --database-url "$url" "$dir/night.csv"
  # The changed chats again, as a file of their own: they are all unchanged
  # by now, so this one is measured on a fresh pair of loads below.
  rm -rf "$dir/export.$side"
  timed "$side.export" "$dir/chatstage" export --quiet --database-url "$url" --out "$dir/export.$side"
}
run single "$(url_of "$admin" $single)"
run citus "$(url_of "$coord" $db)"
for f in chats.csv messages.csv; do
  cmp "$dir/export.single/$f" "$dir/export.citus/$f" || { echo "$f differs between one node and the cluster" >&2; exit 1; }
done

# The nightly file of only the changed chats, on a database holding the
# first load.
for side in single citus; do
  if [ $side = single ]; then
    psql_q "$admin" "DROP DATABASE $single WITH (FORCE)"; psql_q "$admin" "CREATE DATABASE $single"
    url=$(url_of "$admin" $single)
  else
    url=$(url_of "$coord" $db)
    psql_q "$url" "TRUNCATE staging.chats, staging.chat_versions, staging.messages, staging.chat_version_history, staging.message_history, staging.retirements, staging.loads, staging.rejects, staging.erasures"
  fi
  "$dir/chatstage" ingest --quiet --database-url "$url" "$dir/full.csv" >/dev/null
  timed "$side.changed" "$dir/chatstage" ingest --quiet --database-url "$url" "$dir/changed.csv"
done

echo "== $chats chats, $(du -m "$dir/full.csv" | cut -f1) MB; $(nproc) cores; Citus: 1 coordinator + ${#workers[@]} workers"
printf '%-40s %10s %10s %8s\n' measure "one node" cluster ratio
for m in first again night changed export; do
  printf '%-40s %10s %10s %8s\n' "$m" "${wall[single.$m]}" "${wall[citus.$m]}" \
    "$(awk -v a="${wall[citus.$m]}" -v b="${wall[single.$m]}" 'BEGIN { printf "%.2f", a / b }')"
done
echo "exports byte-identical: yes"

for node in "$coord" "${workers[@]}"; do psql_q "$node" "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
psql_q "$admin" "DROP DATABASE IF EXISTS $single WITH (FORCE)"
