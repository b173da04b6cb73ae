# The two commands: `make run` (set up everything, serve on http://127.0.0.1:5000) and
# `make test`. Both install what is missing and are safe to run again.

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTHON  ?=

.PHONY: run test bench setup system-deps test-deps venv browser-deps lint stop clean

run: setup
	$(BIN)/geoportal db up
	$(BIN)/geoportal db migrate
	$(BIN)/geoportal demo load
	$(BIN)/geoportal serve --host 127.0.0.1 --port 5000

test: setup test-deps lint
	$(BIN)/python -m pytest

# Side-by-side benchmarks on the national data (not part of `make test`; about 30 minutes).
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@command -v h2load >/dev/null 2>&1 || [ "$$(id -u)" -ne 0 ] || \
		(apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null)
	$(BIN)/python -m benchmarks.features --layer agri_plots
	$(BIN)/python -m benchmarks.tiles

setup: system-deps venv browser-deps

system-deps:
	@scripts/system-deps.sh

# Headless Chromium for the viewer's end-to-end tests (tests/viewer/test_browser.py).
test-deps:
	@scripts/system-deps.sh chromium chromium-driver nginx

# MapLibre GL JS, Leaflet and the other browser libraries, from npm (never a CDN at run time),
# into browser-libs/node_modules (geoportal/viewer/vendor.py finds them there).
browser-deps: browser-libs/node_modules/.installed

browser-libs/node_modules/.installed: browser-libs/package.json browser-libs/package-lock.json
	cd browser-libs && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

venv: $(STAMP)

$(STAMP): pyproject.toml
	@py=$$(PYTHON="$(PYTHON)" scripts/find-python.sh) || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "creating $(VENV) with $$py"; rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; \
	fi; \
	$(BIN)/python -m pip install --quiet --upgrade pip && \
	$(BIN)/python -m pip install --quiet -e '.[test]' && touch $(STAMP)

# ruff formats and lints the whole tree (pyproject.toml); `make test`, so CI, runs it first.
lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

stop:
	-$(BIN)/geoportal db down

clean: stop
	rm -rf $(VENV) var
