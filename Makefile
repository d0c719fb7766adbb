GO ?= go
# The tracker reaches runtime internals through linkname, under the tag
# gofil_linkname and with the linker flag, as `gofil run` builds programs;
# a plain `go test ./...` builds the tracker without them.
LDFLAGS := -tags=gofil_linkname -ldflags=-checklinkname=0
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages whose tests are worth the race detector's time.
RACE_PKGS := ./peak/... ./report/... ./flamegraph/... ./oomguard/... ./internal/raw/... ./cmd/gofil/internal/build/...

.PHONY: build test test-unit lint bench fuzz example clean

build:
	$(GO) build -o bin/gofil ./cmd/gofil

test:
	$(GO) test $(LDFLAGS) -count=1 -timeout 25m ./...
	$(GO) test $(LDFLAGS) -race -count=1 $(RACE_PKGS)

# The unit tests: every package but cmd/gofil, whose tests build and run
# real programs under gofil end to end, and with -short, which skips the
# build package's tests that build programs (make test runs them all).
test-unit:
	$(GO) test $(LDFLAGS) -short -count=1 $$($(GO) list ./... | grep -v '/cmd/gofil$$')

# Every parser of outside input, and the injection of the tracker into
# main's file, fuzzed for FUZZTIME each (their seeds run in make test).
FUZZTIME ?= 60s
FUZZ_TARGETS := ./internal/pacer:FuzzParse ./report/heap:FuzzParseProfile ./report/rundir:FuzzParseTimeline ./report/rundir:FuzzParseRSS ./report:FuzzLoad \
	./flamegraph:FuzzParseFolded ./cmd/gofil/internal/cli:FuzzMetaFromSummary \
	./cmd/gofil/internal/build:FuzzAddMainDone ./cmd/gofil/internal/cli:FuzzWatchSeries ./leak:FuzzGrowthProfile \
	./cmd/gofil/internal/cli:FuzzReportAt

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test $(LDFLAGS) -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

bench: build
	$(GO) test $(LDFLAGS) -run '^$$' -bench . -benchmem ./flamegraph/ ./leak/ ./oomguard/ ./report/ ./report/page/ ./tracker/
	$(GO) run ./internal/overhead -runs 5 -gofil bin/gofil
	$(GO) run ./internal/overhead -oom -runs 3 -gofil bin/gofil

example:
	$(GO) run ./cmd/gofil run ./testdata/example

clean:
	rm -rf bin gofil-result
