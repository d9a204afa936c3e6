# Two commands do everything from a fresh clone: `make book` and `make test`.
# Both create (or refresh, when pyproject.toml/constraints.txt change) the virtual environment in .venv.

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= quick
PYTEST_ARGS ?=
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.mesoscale-installed

.PHONY: help env book notebooks html test test-fast lab bench clean

help:
	@echo "make book [PROFILE=quick|smoke|full]  execute all notebooks and build _build/html/index.html"
	@echo "make test                             run the whole test suite"
	@echo "make test-fast                        unit tests only (no notebooks, book or browser)"
	@echo "make lab                              JupyterLab with a 'mesoscale' kernel"
	@echo "make bench                            print the speed benchmarks"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@# graspologic ships the fly and mouse connectomes; it pins numpy<2, which conflicts with neurogym,
	@# and mesoscale only reads its data files, so it is installed without its dependencies.
	$(BIN)/python -m pip install --quiet --no-deps graspologic==3.4.4
	@touch $(STAMP)

env: $(STAMP)

notebooks: env
	$(BIN)/mesoscale notebooks run --profile $(PROFILE)

html: env
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "open _build/html/index.html"

book: notebooks html

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: env
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lab: env
	$(BIN)/python -m ipykernel install --user --name mesoscale --display-name "Python (mesoscale)"
	$(BIN)/jupyter lab notebooks/

bench: env
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf _build book/*.ipynb book/.tmp-* artifacts
