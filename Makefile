# Dongting. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
GO ?= go
JIEBA_MOD := github.com/yanyiwu/gojieba
# gojieba's dictionaries live in the module cache; the binary is told where.
# Expanded when used (=, not :=): on a fresh machine the module is only
# downloaded by the first recipe, after make has read this file.
JIEBA_DICT = $(shell $(GO) list -m -f '{{.Dir}}' $(JIEBA_MOD) 2>/dev/null)/deps/cppjieba/dict
export DONGTING_JIEBA_DICT ?= $(JIEBA_DICT)
DATASETS ?= ../shared/datasets/sentiment
ADDR ?= 127.0.0.1:8080
# The service keeps its records and index here; on first start it loads DEMO
# generated records.
DIR ?= var
DEMO ?= 20000

.PHONY: build web run test go-test web-test e2e bench bench-web eval train lexicon lint fuzz

# The web app (api/web: Vue + Vite) is built into api/web/dist/app, which
# the binary embeds; npm ci runs when the lock file changes, the Vite build
# when a source does.
WEB := api/web
WEB_SRC := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json

build: web
	$(GO) mod download
	$(GO) build -ldflags "-X main.jiebaDictDir=$$($(GO) list -m -f '{{.Dir}}' $(JIEBA_MOD))/deps/cppjieba/dict" -o bin/dongting ./cmd/dongting

web: $(WEB)/dist/app/index.html

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(WEB)/dist/app/index.html: $(WEB)/node_modules/.package-lock.json $(WEB_SRC)
	cd $(WEB) && npm run build

run: build
	./bin/dongting serve -addr $(ADDR) -dir $(DIR) -demo $(DEMO)

# Go tests, the web app's unit tests, then the end-to-end tests: the built
# binary on a free port with demo data, driven by Debian's chromium.
test: lint go-test web-test e2e

go-test:
	$(GO) test -count=1 -timeout 15m ./...

web-test: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npx vitest run

e2e: build
	cd $(WEB) && DONGTING_BIN=$(CURDIR)/bin/dongting node --test --test-reporter=spec e2e/run.mjs

lint:
	@out=$$(gofmt -l $$(find . -name node_modules -prune -o -name '*.go' -print)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Benchmarks: analysis throughput vs raw gojieba Cut on real review text,
# the matcher, then end-to-end ingest of BENCH_N generated records (analysis
# + bbolt + Bleve) against a plain jieba + Bleve indexer, with CPU per
# record, search latency, trend latency, alert cost, index lag under live
# traffic and a rebuild of the index from the store. The 1M run takes ~15
# minutes; `make bench BENCH_N=100000` is quick.
BENCH_N ?= 1000000
bench: build bench-web
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3s ./analyzer/ ./taxonomy/
	./bin/dongting bench -n $(BENCH_N)

# The web app at BENCH_N demo records: navigation to each view being
# interactive (median of several loads), and the first view's JS gzipped.
bench-web: build
	cd $(WEB) && DONGTING_BIN=$(CURDIR)/bin/dongting BENCH_N=$(BENCH_N) node e2e/bench.mjs

# Short fuzzing of every parser (seed corpora run in `make test` anyway).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseRule -fuzztime 30s ./taxonomy/
	$(GO) test -run '^$$' -fuzz FuzzSplitTurns -fuzztime 30s ./analyzer/
	$(GO) test -run '^$$' -fuzz FuzzMaskPII -fuzztime 30s ./analyzer/
	$(GO) test -run '^$$' -fuzz FuzzNormalize -fuzztime 30s ./analyzer/
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime 30s ./cmd/dongting/
	$(GO) test -run '^$$' -fuzz FuzzRecordReader -fuzztime 30s ./analyzer/
	$(GO) test -run '^$$' -fuzz FuzzSearchQuery -fuzztime 30s ./index/
	$(GO) test -run '^$$' -fuzz FuzzSearchCursor -fuzztime 30s ./index/
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime 30s ./index/alerts/
	$(GO) test -run '^$$' -fuzz FuzzParse$$ -fuzztime 30s ./taxonomy/
	$(GO) test -run '^$$' -fuzz FuzzParseGolden -fuzztime 30s ./index/tagging/

# Every quality figure of the README's evaluation section: the labelled
# resident messages (dev split, then train), both review sets' held-out
# rows, the golden tagging set.
RESIDENT ?= ../shared/datasets/resident/messages.jsonl
eval: build
	./bin/dongting eval resident --labels data/eval/resident_labels.jsonl --messages $(RESIDENT)
	./bin/dongting eval sentiment --data $(DATASETS)/waimai_10k.csv --data $(DATASETS)/online_shopping_9_cats.csv
	./bin/dongting eval tags --data data/eval/property_tags.jsonl
	# short hotline-style texts written per the label definitions (docs/evaluation.md)
	./bin/dongting eval resident --labels data/eval/short_labels.jsonl --messages data/eval/short_texts.jsonl

# Rebuild data/model/dongting.model from the labels (train split), the golden
# set and the review sets' training rows; deterministic. Rebuild the binary
# afterwards (make build) to embed it.
train: build
	./bin/dongting train --labels data/eval/resident_labels.jsonl --messages $(RESIDENT) --reviews $(DATASETS)/waimai_10k.csv --reviews $(DATASETS)/online_shopping_9_cats.csv

# Re-derive data/sentiment/learned.txt from the training split.
lexicon: build
	./bin/dongting lexicon learn --data $(DATASETS)/waimai_10k.csv --data $(DATASETS)/online_shopping_9_cats.csv --out data/sentiment/learned.txt
