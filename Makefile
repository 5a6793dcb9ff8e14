# nextric: the two commands of the README (make demo, make test) and the helpers they stand on.
# Everything installs itself: a virtual environment from pyproject.toml, redis-server from Debian's packages.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test lint typecheck unit venv redis-server proto bench bench-e2 plots clean

demo: $(STAMP)
	$(BIN)/nextric demo

test: $(STAMP) redis-server lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) redis-server
	$(BIN)/pytest

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nextric needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	rm -f $(VENV)/.installed-*
	touch $@

redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server not found: installing it from Debian's packages"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "redis-server is still missing"; exit 1; }

# Regenerate the Python code from proto/ (the pinned generators make identical bytes; a test checks it).
proto: $(STAMP)
	$(BIN)/python tools/gen_proto.py

bench-e2: $(STAMP)
	$(BIN)/nextric bench e2

bench: $(STAMP)
	$(BIN)/nextric bench all

plots: $(STAMP)
	$(BIN)/nextric plots

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
