#!/usr/bin/env bash
# The project's test command (README.md's, which .ci/run runs): go vet and
# go test over every package, then the lines that go test does not show
# for a package that passes: the tests that were skipped and why (the
# conformance tests when the contract's shared folder is absent, ...) and
# what the tests leave behind. Tests write those lines through
# internal/testnote into the file named by CHATSTAGE_TEST_NOTES.
#
#   scripts/test.sh [go test flags]      # e.g. scripts/test.sh -run Conformance
set -uo pipefail
cd "$(dirname "$0")/.."

notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
export CHATSTAGE_TEST_NOTES=$notes

go vet ./... && go test -count=1 -timeout 60m "$@" ./...
code=$?

# One line per distinct note; a skip says how many tests it concerns.
sort "$notes" | uniq -c | while read -r n line; do
  case $line in
    SKIPPED*) if [ "$n" -gt 1 ]; then echo "$line [$n tests]"; else echo "$line"; fi ;;
    *) echo "$line" ;;
  esac
done
exit "$code"
