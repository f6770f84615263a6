# dsrip: two entry points for a newcomer.
#   make report   set up, make the synthetic data if missing, run every report
#   make test     set up, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-lab
SPARK_STAMP := $(VENV)/.installed-spark
SYNTH  := data/synthetic/small
RUN    ?= params/runs/default.yaml

.PHONY: report test setup system-deps bench lock clean

setup: $(STAMP)

# WeasyPrint needs the Pango library (fonts come from matplotlib's package, never the system).
# Installed only when missing, with apt-get as root (Debian); without root, say what to run.
PANGO_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig
system-deps:
	@if ! ldconfig -p | grep -q libpango-1.0; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "PDF output needs Pango. Ask an administrator to run: apt-get install $(PANGO_PACKAGES)"; \
	    echo "(or, with conda: conda install -c conda-forge pango). README.md: Set-up without root."; exit 1; \
	  fi; \
	  echo "installing Pango for PDF output"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PANGO_PACKAGES) >/dev/null; \
	fi

$(STAMP): requirements.lock pyproject.toml | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name dsrip --display-name "dsrip (.venv)" >/dev/null
	touch $(STAMP)

# JupyterLab for ad hoc analysis (docs/adhoc.md): the optional `lab` extra, from its own hash-pinned lock
# that keeps every package it shares with requirements.lock at that lock's version. `make test` installs
# it (a test starts the server); `make report` does not.
$(LAB_STAMP): requirements-lab.lock $(STAMP)
	$(BIN)/python -m pip install -q --require-hashes -r requirements-lab.lock
	touch $(LAB_STAMP)

# PySpark for the Spark equivalence tests (docs/scale.md): the optional `spark` extra, from its own hash-pinned
# lock kept at requirements.lock's versions. `make test` installs it (the tests also need Java 17; without Java
# they skip and say why); `make report` does not.
# Java 17 comes from apt-get when missing and root; otherwise the Spark tests are skipped with the reason shown.
$(SPARK_STAMP): requirements-spark.lock $(STAMP)
	@if ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Java 17 for the Spark tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	      || echo "could not install Java: the Spark tests will be skipped"; \
	  else echo "no Java: the Spark tests will be skipped (install Java 17 to run them; docs/scale.md)"; fi; \
	fi
	$(BIN)/python -m pip install -q --require-hashes -r requirements-spark.lock
	touch $(SPARK_STAMP)

# JupyterLab on the notebooks, with the project's kernel `dsrip` (this venv's python); LAB_ARGS adds options.
.PHONY: lab
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ARGS)

$(SYNTH)/truth.json: | $(STAMP)
	$(BIN)/dsrip synth --profile small --seed 2017 --out $(SYNTH)

report: $(STAMP) $(SYNTH)/truth.json
	$(BIN)/dsrip report --params $(RUN)

test: $(STAMP) $(LAB_STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest -q

# Benchmarks at state scale, not part of `make test` (docs/benchmarks.md): generates the state
# profile once if missing (a few minutes), runs every benchmarks/bench_*.py, fails if any failed.
bench: $(STAMP)
	test -f data/synthetic/state/truth.json || $(BIN)/dsrip synth --profile state --seed 2017 --out data/synthetic/state
	status=0; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || status=1; done; exit $$status

# Re-resolve the hash-pinned locks after changing dependency ranges in pyproject.toml (the lab lock keeps
# every package it shares with requirements.lock at that lock's version).
lock:
	uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --extra lab --generate-hashes --python-version 3.11 -c requirements.lock -o requirements-lab.lock
	uv pip compile pyproject.toml --extra spark --generate-hashes --python-version 3.11 -c requirements.lock -o requirements-spark.lock

clean:
	rm -rf $(VENV) reports data/synthetic
