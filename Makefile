# The two commands a newcomer runs: `make demo` and `make test`. Both set everything up first:
# a virtual environment with scanguard and every shipped plugin, and nmap (apt-get, as root).
# `make test` also builds (once, cached in GVM_BUILD_DIR) and starts a real gvmd for the GVM
# plugin's tests, and stops it afterwards (.ci/with-gvmd; SCANGUARD_NO_GVMD=1 runs without).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN_DIRS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
export GVM_BUILD_DIR ?= /tmp/gvmbuild-scanguard

.PHONY: all setup tools demo test test-all bench clean

all: test

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' $(foreach p,$(PLUGIN_DIRS),-e $(p))
	@touch $@

setup: $(STAMP) tools

# nmap is a system tool: installed with apt-get when we are root, else a clear message.
tools:
	@if ! command -v nmap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing nmap with apt-get..." >&2; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null; \
	  else \
	    echo "nmap is not installed and this is not root: install it (for example 'sudo apt-get install nmap') and run make again" >&2; \
	    exit 1; \
	  fi; \
	fi

demo: setup
	$(VENV)/bin/scanguard --version
	bash examples/demo.sh

# --dist loadgroup: tests that share something of the machine (its listeners) name one xdist group
test: setup
	bash .ci/with-gvmd $(PY) -m pytest -n 2 --dist loadgroup -m "not slow" $(PYTEST_ARGS)

# everything, the slow parts of the fault matrix included (about half an hour more)
test-all: setup
	bash .ci/with-gvmd $(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# benchmarks compare against the libraries users would otherwise reach for (pyTenable): installed here only
bench: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) out .pytest_cache
