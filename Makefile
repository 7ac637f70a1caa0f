# The two commands the README leads with: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit test-deps render-tools install bench fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The example outage: every rule family fires once, and a correct counterpart passes.
# premortem exits 1 when it finds high findings; that is the point of the demo, not a failure.
demo: install
	@$(BIN)/premortem scan examples/ --color; status=$$?; [ $$status -le 1 ] || exit $$status

test-deps:
	./scripts/install-test-deps.sh

# Helm 3.19.0 (and kubectl for `kubectl kustomize` when none is installed) for the render tests, into
# $(BIN), checked by sha256 (scripts/install-render-tools.sh says where they come from).
render-tools: install
	./scripts/install-render-tools.sh $(VENV)

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: install test-deps render-tools lint typecheck unit

# The speed benchmark (bench/run.py): premortem vs the parse floor and Checkov, scaling, cold start.
# Writes BENCHMARKS.md and the README's Speed section. Slow (minutes); never part of `make test`.
CORPUS ?=
# The sources are compiled first, as `pip install` does for an installed package: the editable
# install of .venv would otherwise compile every module at each start where PYTHONDONTWRITEBYTECODE is set.
bench: install
	@test -n "$(CORPUS)" || { echo "usage: make bench CORPUS=/path/to/corpus/real"; exit 2; }
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run.py --corpus "$(CORPUS)" $(BENCH_ARGS)

# The fuzz harness (tests/fuzz/): mutations of a corpus through scan, fix, capacity and diagnose,
# in-process. `make test` runs it for a short fixed budget; this runs it as long as asked.
#   make fuzz CORPUS=../shared/corpus/real SECONDS=600 JOBS=2   (crashes and hangs go to fuzz-out/)
SECONDS ?= 60
JOBS ?= 1
INPUTS ?= 0
fuzz: install
	$(BIN)/python -m tests.fuzz.mutate $(if $(CORPUS),--corpus "$(CORPUS)") --seconds $(SECONDS) \
		--inputs $(INPUTS) --jobs $(JOBS) --out fuzz-out --progress 10000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
