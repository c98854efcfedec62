# cc-router — see README.md. `make help` lists the targets.
GO      ?= go
BIN     ?= bin/cc-router
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help build run test lint bench soak fuzz dist clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/cc-router
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build ## build and run the tray app (headless proxy when there is no tray)
	./$(BIN)

test: ## run the whole test suite with the race detector
	$(GO) test -race -count=1 ./...

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: ## gofmt, go vet, and staticcheck when it can be fetched as a Go module
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run $(STATICCHECK) -version >/dev/null 2>&1; then \
	  echo "staticcheck ./..."; $(GO) run $(STATICCHECK) ./...; \
	else echo "staticcheck could not be fetched; skipped"; fi

BENCH_FLAGS ?= -out docs/benchmarks.md
bench: ## compare direct vs through cc-router serve (table to docs/benchmarks.md)
	$(GO) run ./internal/bench/ccbench $(BENCH_FLAGS)

soak: ## the long fault suite: hundreds of kills, a minute of load
	$(GO) test -race -count=1 -timeout 30m ./internal/e2e/ -soak -v

FUZZTIME ?= 1m
fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

dist: ## static Linux binaries (amd64, arm64) in dist/; the macOS menu bar needs cgo: build it on a Mac with `make build`
	@mkdir -p dist
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/cc-router-linux-$$arch . || exit 1; \
	done
	@ls -l dist

clean: ## remove build output
	rm -rf bin dist
