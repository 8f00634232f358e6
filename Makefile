SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

GO ?= go

.PHONY: build services run test bench fmt assets assets-check

build:
	$(GO) build -o bin/fleettasks ./cmd/fleettasks

services:
	bash scripts/services.sh

# The server with its embedded MQTT broker and a simulated demo fleet
# (scripts/run.sh says how to use an external broker instead).
run: build
	bash scripts/run.sh

test: services
	bash scripts/services.sh chromium
	$(MAKE) assets-check
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) test -count=1 -timeout 15m ./...

# make bench BENCH_FLAGS="-only c,h -runs 3 -h-minutes 1"
BENCH_FLAGS ?=

bench: services
	bash scripts/services.sh mosquitto
	$(GO) run ./cmd/fleettasks bench $(BENCH_FLAGS)

# Formats every Go file except generated ones (templ output and the like).
fmt:
	@find . -name '*.go' -not -path './.git/*' -not -path './node_modules/*' -print0 \
	| xargs -0 -r grep -L -Z -E '^// Code generated .* DO NOT EDIT\.$$' \
	| xargs -0 -r gofmt -l -w

TEMPL := $(GO) run github.com/a-h/templ/cmd/templ@v0.3.1100
# staticcheck, pinned, from the Go module proxy like any module
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Regenerates the templ Go code and the console's static files (Tailwind
# CSS, htmx); the output is committed so that go build needs no node.
assets:
	$(TEMPL) generate -path views
	npx tailwindcss -i assets/css/input.css -o assets/static/app.css --minify
	cp node_modules/htmx.org/dist/htmx.min.js assets/static/htmx.min.js
	cp node_modules/htmx-ext-sse/dist/sse.min.js assets/static/sse.min.js

# Fails when the committed generated files differ from a fresh build.
assets-check:
	bash scripts/services.sh node
	npm ci --no-audit --no-fund
	$(MAKE) assets
	@git diff --exit-code -- views assets/static || { echo "assets-check: run make assets and commit the result" >&2; exit 1; }
	@untracked=$$(git status --porcelain --untracked-files=all -- views assets/static | grep '^??' || true); \
	if [[ -n "$$untracked" ]]; then echo "assets-check: generated files not committed:" >&2; echo "$$untracked" >&2; exit 1; fi
