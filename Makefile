# Two entry points for a fresh machine (see README): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test lint demo docs docs-serve bench

setup: $(VENV)/.installed

# torch==2.13.0 is pinned for the dev/CI install (a local CPU build here); the library itself needs torch>=2.3.
# norse is a test peer installed without its torchvision dependency (which would pull a CUDA torch).
# (the compiled kernels are built by the editable install: rebuilt when their sources change)
$(VENV)/.installed: pyproject.toml setup.py spikeforge/ops/_kernels.c spikeforge/ops/_kernels_impl.h
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m pip install -q --no-deps norse==1.1.0
	touch $@

lint: setup
	$(PY) -m ruff check spikeforge tests bench
	$(PY) -m ruff check examples scripts

test: setup lint docs
	$(PY) -m pytest

# The documentation site (mkdocs.yml): strict, so a broken link, a missing snippet or a docstring
# mkdocstrings cannot render fails the build. `make docs-serve` previews it at http://127.0.0.1:8000.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

docs-serve: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve

demo: setup
	$(VENV)/bin/spikeforge train
