# Two commands do everything from a fresh clone: `make book` and `make test`.
# Both create (or refresh, when pyproject.toml/constraints.txt change) the virtual environment in .venv.

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= paper
PYTEST_ARGS ?=
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.mesoscale-installed

.PHONY: help env system-deps book notebooks html test test-fast lab bench clean

help:
	@echo "make book [PROFILE=paper|quick|smoke|full]  render the stored runs (results/; quick where none) into _build/html"
	@echo "make test                             run the whole test suite"
	@echo "make test-fast                        unit tests only (no notebooks, book or browser)"
	@echo "make lab                              JupyterLab with a 'mesoscale' kernel"
	@echo "make bench                            print the speed benchmarks"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@# graspologic ships the fly and mouse connectomes; it pins numpy<2, which conflicts with neurogym,
	@# and mesoscale only reads its data files, so it is installed without its dependencies.
	$(BIN)/python -m pip install --quiet --no-deps graspologic==3.4.4
	@touch $(STAMP)

env: $(STAMP)

# System programs the whole suite needs, from Debian's packages: Chromium for the browser test (Playwright never
# downloads a browser here) and a real single-node SLURM cluster (slurm-wlm, munge) for the cluster tests.
# Installed with apt when missing and we are root (or have password-less sudo); otherwise one line says what to run.
SYSTEM_PKGS := chromium fonts-dejavu-core slurm-wlm munge
SYSTEM_CMDS := chromium sbatch slurmctld slurmd munged
system-deps:
	@missing=""; for c in $(SYSTEM_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	  echo "installing$$missing for the browser and cluster tests (apt-get install $(SYSTEM_PKGS))"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PKGS) >/dev/null; \
	else \
	  echo "make test needs$$missing: run 'sudo apt-get install $(SYSTEM_PKGS)' (Debian/Ubuntu), or 'make test-fast' without the book, browser and cluster tests" >&2; \
	  exit 1; \
	fi

notebooks: env
	$(BIN)/mesoscale notebooks run --profile $(PROFILE)

html: env
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "open _build/html/index.html"

book: notebooks html

test: env system-deps
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
