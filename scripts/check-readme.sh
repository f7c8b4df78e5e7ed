#!/usr/bin/env bash
# Checks every command README.md shows, so that none fails as written:
#
#   bash scripts/check-readme.sh [README.md]
#
# Commands are the lines of ```sh blocks and the inline `code` spans that
# start with go, make, cd, .ci/, scripts/ or VAR=value. Each is checked
# from the repository root:
#   go run ./examples/X      built; the cheap offline ones (env, fallback)
#                            are run too (the others have tests that run them)
#   cd DIR && go run .       DIR exists with a go.mod, and builds
#   go test ... PKGS         PKGS resolve (go list); a -run TestX names a test
#   go get MODULE@latest     MODULE is this repository's module path
#   make TARGET              TARGET is a rule of the Makefile
#   .ci/X, scripts/X         the file exists
# Anything else is an error, so a new kind of command gets a rule here.
set -euo pipefail
cd "$(dirname "$0")/.."
readme=${1:-README.md}
GO=${GO:-go}
module=$(sed -n 's/^module //p' go.mod)
fail=0
checked=0
bad() { echo "check-readme: $readme: \`$1\`: $2" >&2; fail=1; }

commands() {
	# ```sh blocks: every line, comments cut.
	awk '/^```sh$/ {f=1; next} /^```/ {f=0} f' "$readme" | sed 's/[[:space:]]#.*$//; s/[[:space:]]*$//' | grep -v '^$' || true
	# inline code spans
	grep -o '`[^`]*`' "$readme" | tr -d '`' | grep -E '^(go (run|test|get|build|vet|list) |make [a-z]|cd [^ ]+ &&|\.ci/|scripts/|[A-Z_]+=[^ ]+ +(go|make) )' || true
}

check() {
	local cmd=$1
	local c=$cmd
	# VAR=value prefixes: checked as the command they prefix.
	while [[ $c =~ ^[A-Z_]+=[^\ ]*\ +(.*)$ ]]; do c=${BASH_REMATCH[1]}; done
	local dir=.
	if [[ $c =~ ^cd\ ([^ ]+)\ \&\&\ (.*)$ ]]; then
		dir=${BASH_REMATCH[1]}; c=${BASH_REMATCH[2]}
		[ -d "$dir" ] || { bad "$cmd" "no directory $dir"; return; }
	fi
	read -r -a w <<<"$c"
	case "${w[0]}" in
	go)
		case "${w[1]}" in
		run)
			local pkg=${w[2]}
			if ! (cd "$dir" && $GO build -o /dev/null "$pkg") >/dev/null 2>&1; then
				bad "$cmd" "does not build from $dir (a nested module needs cd DIR && go run .)"
				return
			fi
			case "$dir:$pkg" in
			.:./examples/env | .:./examples/fallback)
				(cd "$dir" && env -u AI_LIB_MAX_RETRIES $GO run "$pkg" >/dev/null) || bad "$cmd" "fails when run"
				;;
			esac
			;;
		test | build | vet | list)
			local pkgs=() runpat=""
			for ((i = 2; i < ${#w[@]}; i++)); do
				case "${w[i]}" in
				-run) runpat=${w[i + 1]}; i=$((i + 1)) ;;
				-run=*) runpat=${w[i]#-run=} ;;
				-*) ;;
				*) pkgs+=("${w[i]}") ;;
				esac
			done
			[ ${#pkgs[@]} -gt 0 ] || pkgs=(.)
			(cd "$dir" && $GO list "${pkgs[@]}") >/dev/null 2>&1 || { bad "$cmd" "packages do not resolve from $dir"; return; }
			runpat=${runpat//\'/}
			if [[ $runpat =~ ^Test[A-Za-z0-9_]*$ ]]; then
				local found=0
				for p in "${pkgs[@]}"; do
					grep -qs "^func $runpat(" "$dir/${p%/}"/*_test.go && found=1
				done
				[ $found = 1 ] || bad "$cmd" "no test $runpat in ${pkgs[*]}"
			fi
			;;
		get)
			[ "${w[2]%@*}" = "$module" ] || bad "$cmd" "module is $module"
			;;
		*) bad "$cmd" "no rule for go ${w[1]}" ;;
		esac
		;;
	make)
		# Not make -n: it still runs recipe lines that call $(MAKE).
		grep -Eq "^${w[1]}:" "$dir/Makefile" || bad "$cmd" "no make target ${w[1]}"
		;;
	git)
		[[ $c == "git clone https://github.com/ailib-go/ailib"* ]] || bad "$cmd" "no rule for git"
		;;
	.ci/* | scripts/*)
		[ -e "$dir/${w[0]}" ] || bad "$cmd" "no file ${w[0]}"
		;;
	*) bad "$cmd" "no rule for this command" ;;
	esac
	checked=$((checked + 1))
}

while IFS= read -r cmd; do
	check "$cmd"
done < <(commands | sort -u)

if [ "$fail" != 0 ]; then
	exit 1
fi
echo "check-readme: $checked commands in $readme resolve"
