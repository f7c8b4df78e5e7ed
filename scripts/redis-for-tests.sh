#!/usr/bin/env bash
# Runs a command with a throw-away Redis for the tests:
#
#   scripts/redis-for-tests.sh go test ./...
#
# Starts redis-server (no persistence) on a free loopback port, waits for
# PING, exports AILIB_TEST_REDIS_URL=redis://127.0.0.1:PORT/0, runs the
# command and stops Redis when the command ends (or the script is killed).
# When redis-server is missing it installs the Debian package redis-server
# with apt-get (as root only). If Redis cannot be started, the command still
# runs without AILIB_TEST_REDIS_URL: the Redis tests then skip, or fail when
# CI=true.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 command [args...]" >&2
	exit 2
fi

log() { echo "redis-for-tests: $*" >&2; }

install_redis() {
	command -v redis-server >/dev/null 2>&1 && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		log "redis-server not found; install it (Debian/Ubuntu: apt-get install redis-server)"
		return 1
	fi
	log "installing redis-server with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q redis-server >/dev/null 2>&1; then
		apt-get update -q >/dev/null 2>&1 || true
		apt-get install -y -q redis-server >/dev/null 2>&1 || { log "apt-get install redis-server failed"; return 1; }
	fi
	# The package may start a system instance on 6379; the tests use their own.
	command -v redis-server >/dev/null 2>&1
}

free_port() {
	# A port the kernel hands out and nobody listens on right now.
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return 0
	local p
	for _ in $(seq 1 50); do
		p=$(( (RANDOM % 20000) + 30000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

ping() { # port
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
	else
		{ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
		printf 'PING\r\n' >&3
		local reply
		read -r -t 1 reply <&3 || true
		exec 3>&-
		[ "${reply%$'\r'}" = "+PONG" ]
	fi
}

redis_pid=""
redis_dir=""
stop_redis() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
		redis_pid=""
	fi
	if [ -n "$redis_dir" ]; then
		rm -rf "$redis_dir"
		redis_dir=""
	fi
}
trap stop_redis EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_redis() {
	install_redis || return 1
	local port
	port=$(free_port) || { log "no free port"; return 1; }
	redis_dir=$(mktemp -d)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$redis_dir" --daemonize no --loglevel warning >"$redis_dir/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 1 100); do
		if ping "$port"; then
			export AILIB_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
			log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $redis_pid)"
			echo "AILIB_TEST_REDIS_URL=$AILIB_TEST_REDIS_URL"
			return 0
		fi
		if ! kill -0 "$redis_pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	log "redis-server did not start:"
	cat "$redis_dir/redis.log" >&2 || true
	stop_redis
	return 1
}

if ! start_redis; then
	unset AILIB_TEST_REDIS_URL
	log "running without Redis: the Redis tests skip (or fail under CI=true)"
fi

# Not exec: the trap must stop Redis after the command.
set +e
"$@"
rc=$?
set -e
exit "$rc"
