# ailib's tasks. Every target works on a fresh machine that has only Go:
# tools come from the Go module proxy through `go run`, pinned here.
#
#   make test    vet and race-test every module in the repository, check the
#                README's commands and that each Example uses only public API
#   make lint    gofmt check, go vet and staticcheck on every module
#   make bench   run every benchmark with -benchmem
#   make fuzz    run each fuzz target for FUZZTIME
#   make bench-scenarios   chaos scenarios S1–S7, ailib next to the alternatives

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO          ?= go
FUZZTIME    ?= 30s
BENCHTIME   ?= 1s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Every directory holding a go.mod is a module: the root one and the nested
# ones (benchmarks/, integrations) that keep heavy dependencies out of the core.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)

.PHONY: test test-modules lint bench fuzz fmt tidy

# The Redis tests (resilience/redisstore) need a redis-server: test runs the
# module loop under scripts/redis-for-tests.sh, which starts one on a free
# loopback port (installing the Debian package when absent, as root),
# exports AILIB_TEST_REDIS_URL and stops it afterwards. Without Redis those
# tests skip, or fail when CI=true.
test:
	@bash scripts/redis-for-tests.sh $(MAKE) --no-print-directory test-modules
	@echo "==> README commands"; bash scripts/check-readme.sh
	@echo "==> examples compile when copied"; $(GO) run ./scripts/check-examples

test-modules:
	@for m in $(MODULES); do \
		echo "==> $$m: go vet"; (cd $$m && $(GO) vet ./...); \
		echo "==> $$m: go test -race"; (cd $$m && $(GO) test -race -count=1 ./...); \
	done

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do \
		echo "==> $$m: go vet + staticcheck"; \
		(cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); \
	done

bench:
	@for m in $(MODULES); do \
		echo "==> $$m: benchmarks"; \
		(cd $$m && $(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...); \
	done

# Each Fuzz function found in a _test.go file runs alone for FUZZTIME; see
# scripts/fuzz.sh (it reruns once a run stopped by Go 1.26's fuzztime race).
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

# The chaos scenarios S1–S7 (benchmarks/cmd/scenarios): real HTTP on
# loopback, one markdown table per scenario, then the success-path
# overhead. Full scale takes about 4 minutes; SCENARIOS_FLAGS=-quick about 2.
# It also writes benchmarks/img/s2-timeline.svg and benchmarks/img/success.svg
# (the pictures in README.md) and prints progress lines on stderr as it goes.
SCENARIOS_FLAGS ?=

.PHONY: bench-scenarios
bench-scenarios:
	cd benchmarks && $(GO) run ./cmd/scenarios -svg img $(SCENARIOS_FLAGS)
