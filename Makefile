# Servo build, test and lint targets. `make help` lists them.

GO               ?= go
BIN              ?= bin/servo
VERSION          ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS          := -X main.version=$(VERSION)
STATICCHECK      := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# PostgreSQL for the tests: a role that may create roles and databases.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export TEST_DATABASE_URL

.PHONY: all help build run test lint fmt clean bench

all: lint test build

help: ## List the targets.
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## Build bin/servo.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/servo

run: ## Serve with the configuration from the environment (SQLite servo.db by default).
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/servo serve

test: ## Run every test with the race detector against $(TEST_DATABASE_URL).
	CGO_ENABLED=1 $(GO) test -count=1 -race ./...

bench: ## Benchmark against $(TEST_DATABASE_URL) with same-run baselines; writes BENCHMARKS.md (about 4 minutes).
	$(GO) run ./cmd/servo-bench -out BENCHMARKS.md

lint: ## Check formatting, then go vet and staticcheck.
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (run make fmt):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt: ## Format every Go file.
	gofmt -w .

clean: ## Remove build output.
	rm -rf bin
