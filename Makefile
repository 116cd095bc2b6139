# Two commands for users: `make demo` and `make test`. Both bootstrap .venv themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONHASHSEED ?= 0

.PHONY: install demo test test-fast lint bench clean sample docs

# torch==2.13.0 first: it is the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,bench,tracking,tune,docs]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/synthdata demo

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory docs

# The docs site (mkdocs.yml): a broken link or a docstring MkDocs cannot render fails the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

# The edit loop: everything but the tests marked slow (model fits, pipeline runs, subprocesses).
test-fast: install
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

sample: install
	$(PY) data/make_sample.py --out data/sample --seed 7

bench: install
	$(PY) benchmarks/ingest_scale.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache runs synthdata.db site
