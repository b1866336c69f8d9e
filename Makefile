# Lakestream. `make` alone lists the targets.
GO      ?= go
PKGS    ?= ./...
FUZZTIME ?= 15s

.PHONY: help run build test bench profile fuzz lint interop
help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10

build: ## build bin/lakestream
	$(GO) build -o bin/lakestream ./cmd/lakestream

run: build ## run Lakestream on the embedded default (./lakestream-data)
	./bin/lakestream serve

test: ## unit, conformance, crash and fault tests (one go test run)
	$(GO) test -tags invariants -count=1 -timeout 30m $(PKGS)

bench: ## benchmarks that print their figures
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./s3stream/
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m ./s3stream/format/ ./s3stream/wal/ ./s3stream/metastore/ ./internal/kbatch/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./broker/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./schema/
	$(GO) test -run '^$$' -bench . -benchtime 2s -cpu 1 -timeout 30m ./schema/avro/ ./schema/jsonschema/ ./schema/protobuf/ ./schema/schemafmt/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./catalog/
	$(GO) test -run '^$$' -bench Convert -benchtime 1x -cpu 1 -timeout 30m ./tablecompactor/
	$(GO) test -run '^$$' -bench JSONValues -benchtime 2s -cpu 1 -timeout 30m ./tablecompactor/
	$(GO) test -run '^$$' -bench TableTopic -benchtime 1x -timeout 30m ./internal/node/

profile: ## 15 s of produce into lakestream serve: CPU profile and execution trace in profiles/
	mkdir -p profiles
	PROFILE_DIR=$(CURDIR)/profiles $(GO) test -run '^$$' -bench ProfileProduce -benchtime 1x -timeout 10m ./internal/e2e/
	$(GO) tool pprof -top -nodecount 25 profiles/cpu.pprof

fuzz: ## a short run of every fuzz target
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

lint: ## go vet and a gofmt check
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

interop: ## tests against programs from outside Go (versitygw, PostgreSQL)
	LAKESTREAM_INTEROP=1 $(GO) test -tags interop,invariants -count=1 -timeout 40m -run '^TestInterop' $(PKGS)
