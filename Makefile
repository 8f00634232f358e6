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
	echo "fleettasks console: http://$$addr/"
	exec bin/fleettasks serve

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
