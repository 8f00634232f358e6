SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

GO ?= go

.PHONY: build services run test bench fmt

build:
	$(GO) build -o bin/fleettasks ./cmd/fleettasks

services:
	bash scripts/services.sh

run: services build
	bin/fleettasks migrate
	@addr="$${FLEETTASKS_HTTP_ADDR:-127.0.0.1:8080}"; \
	case "$$addr" in :*) addr="127.0.0.1$$addr" ;; 0.0.0.0:*) addr="127.0.0.1:$${addr##*:}" ;; esac; \
	echo "fleettasks console: http://$$addr/"; \
	echo "demo fleet: product 'demo', devices d1..d50 (mixed: most succeed, some fail, reject or hang)"
	@bin/fleettasks simulate --product demo --devices 50 --register --behaviour mixed --work 3s & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	bin/fleettasks serve

test: services
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

bench: services
	$(GO) run ./cmd/fleettasks bench

# Formats every Go file except generated ones (templ output and the like).
fmt:
	@find . -name '*.go' -not -path './.git/*' -not -path './node_modules/*' -print0 \
	| xargs -0 -r grep -L -Z -E '^// Code generated .* DO NOT EDIT\.$$' \
	| xargs -0 -r gofmt -l -w
