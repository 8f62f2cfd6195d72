# lrfind_ext. `make demo` and `make test` each do the whole set-up on a fresh machine: a virtual environment in
# $(VENV), torch pinned (override TORCH_PINS, e.g. TORCH_PINS="torch torchvision --index-url
# https://download.pytorch.org/whl/cpu"), and the package in editable mode with its dev extras.
PYTHON ?= python3
VENV ?= .venv
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv demo test test-all export nbs docs browser bench bench-quality clean

help:
	@echo "make demo      lr_find on scikit-learn's digits: prints the suggestions, writes the plot to a PNG"
	@echo "make test      every check (notebooks in sync, notebook tests, pytest, docs in a browser): N passed, N failed"
	@echo "make test-all  the same, with the slow notebook cells and tests"
	@echo "make export    regenerate lrfind_ext/ and README.md from nbs/"
	@echo "make nbs       re-execute the notebooks in place, keeping their outputs (the docs show them)"
	@echo "make docs      build the docs site into _docs/, offline"
	@echo "make bench     speed benchmark; make bench-quality: suggestion-quality benchmark"

# One line per step; the installers' output goes to $(VENV)/setup.log, which a failing step shows (scripts/setup.sh).
$(STAMP): settings.ini setup.py pyproject.toml scripts/setup.sh
	@PYTHON="$(PYTHON)" VENV="$(VENV)" TORCH_PINS="$(TORCH_PINS)" bash scripts/setup.sh
	@touch $@

venv: $(STAMP)

demo: venv
	@$(BIN)/python scripts/demo.py

test: venv browser
	@$(BIN)/python scripts/run_tests.py

test-all: venv browser
	@$(BIN)/python scripts/run_tests.py --slow

export: venv
	$(BIN)/nbdev-export
	$(BIN)/python scripts/readme.py

nbs: venv
	$(BIN)/python scripts/run_nbs.py

# The site, from the notebooks and nbs/_quarto.yml (how, and why not Quarto here: scripts/docs.py). GitHub's
# workflow renders the same with Quarto: make docs DOCS_ENGINE=quarto.
DOCS_ENGINE ?= smalldocs
docs: venv
	$(BIN)/python scripts/docs.py $(if $(filter quarto,$(DOCS_ENGINE)),--quarto)

# The docs test opens every page in Debian's Chromium; install it if it is missing (needs root, as on CI).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || \
	  { printf 'setup: Chromium for the docs test (apt) ... '; mkdir -p $(VENV); \
	    (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) >>$(VENV)/setup.log 2>&1 \
	    && echo done || { echo FAILED; tail -n 40 $(VENV)/setup.log; exit 1; }; }

bench: venv
	$(BIN)/python bench/speed.py

bench-quality: venv
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/fresh.py
	$(BIN)/python bench/study_candidates.py
	$(BIN)/python bench/ceiling.py

clean:
	rm -rf _docs _proc demo_out test_out build dist *.egg-info .pytest_cache .hypothesis
