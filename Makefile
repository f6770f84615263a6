# dsrip: two entry points for a newcomer.
#   make report   set up, make the synthetic data if missing, run every report
#   make test     set up, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYNTH  := data/synthetic/small
RUN    ?= params/runs/default.yaml

.PHONY: report test setup system-deps bench lock clean

setup: $(STAMP)

# WeasyPrint needs Pango and a font; install them only when missing (Debian).
system-deps:
	@if ! ldconfig -p | grep -q libpango-1.0 || ! fc-list 2>/dev/null | grep -qi dejavu; then \
	  echo "installing Pango and fonts for PDF output"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig fonts-dejavu-core >/dev/null; \
	fi

$(STAMP): requirements.lock pyproject.toml | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name dsrip --display-name "dsrip (.venv)" >/dev/null
	touch $(STAMP)

$(SYNTH)/truth.json: | $(STAMP)
	$(BIN)/dsrip synth --profile small --seed 2017 --out $(SYNTH)

report: $(STAMP) $(SYNTH)/truth.json
	$(BIN)/dsrip report --params $(RUN)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Re-resolve the hash-pinned lock after changing dependency ranges in pyproject.toml.
lock:
	uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) reports data/synthetic
