#!/usr/bin/env bash
# Runs every Fuzz function of every module for FUZZTIME each (go test allows
# one fuzz target per run):
#
#   FUZZTIME=10s scripts/fuzz.sh
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# at the -fuzztime boundary when a worker is starved (golang/go#75804, fixed
# in Go 1.27): a race in the toolchain, with no input found and nothing
# written to testdata/fuzz. A run that fails that way, and only that way, is
# run once more; any other failure, or a failing input written, fails at
# once.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
# Each new interesting input is minimized before fuzzing goes on, for up to
# a minute by default: with a 10s FUZZTIME a target could spend the whole
# run minimizing (FuzzStringSkipsOnlyWhatCannotMatch sat at 0 execs/s from
# its third second) and reach the boundary mid-minimization, which is where
# the coordinator's "context deadline exceeded" comes from.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-2s}

run_one() { # module dir, package, function
	local mod=$1 pkg=$2 fn=$3 log
	log=$(mktemp)
	for try in 1 2; do
		if (cd "$mod" && "$GO" test -run='^$' -fuzz="^$fn\$" -fuzztime="$FUZZTIME" -fuzzminimizetime="$FUZZMINIMIZETIME" "$pkg") 2>&1 | tee "$log"; then
			rm -f "$log"
			return 0
		fi
		if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" &&
			! grep -qE 'Failing input written|panic:' "$log" &&
			[ "$(grep -c '_test.go:[0-9]*:' "$log")" = 0 ]; then
			echo "fuzz: $fn stopped on the fuzztime boundary race of Go 1.26 (golang/go#75804), no input found; running it once more"
			continue
		fi
		rm -f "$log"
		return 1
	done
	rm -f "$log"
	return 1
}

grep -rlE '^func Fuzz[A-Za-z0-9_]*\(' --include='*_test.go' . | sort | while read -r f; do
	dir=$(dirname "$f")
	mod=$dir
	while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
	pkg=.
	[ "$dir" = "$mod" ] || pkg="./${dir#"$mod"/}"
	for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
		echo "==> $dir: $fn for $FUZZTIME"
		run_one "$mod" "$pkg" "$fn"
	done
done
