# Two commands do everything on a fresh machine:  `make lab`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
CHAPTER ?=
WORKERS ?= 2
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)

.PHONY: setup lab test test-seeds long-runs test-fast bench times latency release autograde merge-grades site clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements-test.txt
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name cv2-course --display-name "Python (CV II course)"
	@touch $(STAMP)

lab: setup
	@echo "Starting JupyterLab on notebooks/ (the URL with its token is printed below)"
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) --no-browser $(ROOT_FLAG)

# Two pytest-xdist workers; each notebook's cells and each chapter's grading batch stay on one
# worker (tests/conftest.py), heaviest work first. CHAPTER=stem runs one chapter's tests.
# The CPU unit (course_utils/cpu_unit.py) is timed first, on the idle machine, and passed on:
# the summary states every notebook's cost in units of it.
test: setup
	@unit=$$($(BIN)/python -m course_utils.cpu_unit --seconds); echo "cpu unit: $$unit s"; \
	COURSE_CPU_UNIT=$$unit $(BIN)/python -m pytest -n $(WORKERS) $(foreach c,$(CHAPTER),--chapter $(c))

# Every notebook (or CHAPTER=stem ...) under nbval from other base seeds (COURSE_SEED, default
# SEEDS="1 2"): do its asserts hold for other draws? Claims per seed go to
# test-artifacts/claims-seed-N.json. Not part of `make test` (it multiplies the notebooks' cost).
SEEDS ?= 1 2
test-seeds: setup
	@status=0; for seed in $(SEEDS); do echo "=== COURSE_SEED=$$seed"; \
		COURSE_SEED=$$seed $(BIN)/python -m pytest -n $(WORKERS) --notebooks-only \
			$(foreach c,$(CHAPTER),--chapter $(c)) || status=1; done; exit $$status

# Comparisons too costly for a notebook's budget, at full budget over seeds (minutes; see
# course_utils/instructor/long_runs.py); claims to notebooks/long_runs.json (committed), shown by make site.
long-runs: setup
	$(BIN)/python -m course_utils.instructor.long_runs $(foreach c,$(CHAPTER),--chapter $(c))

test-fast: setup
	$(BIN)/python -m pytest tests -m "not browser and not slow"

bench: setup
	$(BIN)/python -m benchmarks

# Run every notebook (or CHAPTER=stem ...) alone, one after another, record the wall and CPU time
# each one prints at its end in notebooks/run_times.json, and write those figures into the
# title cells and the README's chapter table (never typed by hand).
times: setup
	$(BIN)/python -m course_utils.instructor.run_times measure $(foreach c,$(CHAPTER),--chapter $(c))

# Every slider of every chapter (or CHAPTER=stem ...) moved three steps and timed: first in the
# kernel, each chapter executed alone (test-artifacts/widget-latency-kernel.md), then end to end
# in JupyterLab in headless Chromium, one notebook at a time (test-artifacts/widget-latency.md,
# also written by every `make test`, where two notebooks share the machine).
latency: setup
	$(BIN)/python -m course_utils.instructor.widget_latency $(foreach c,$(CHAPTER),--chapter $(c))
	@unit=$$($(BIN)/python -m course_utils.cpu_unit --seconds); echo "cpu unit: $$unit s"; \
	COURSE_CPU_UNIT=$$unit $(BIN)/python -m pytest -n 1 -m browser tests/browser \
		$(foreach c,$(CHAPTER),--chapter $(c))
	@cat test-artifacts/widget-latency-kernel.md test-artifacts/widget-latency.md

clean:
	rm -rf $(VENV) release autograded feedback gradebook*.db grades*.csv test-artifacts site

# Homework (nbgrader): student versions in release/, grades.csv + feedback/ from submitted/.
release: setup
	$(BIN)/python -m course_utils.instructor.cli release $(foreach c,$(CHAPTER),--chapter $(c))

autograde: setup
	$(BIN)/python -m course_utils.instructor.cli autograde $(foreach c,$(CHAPTER),--chapter $(c)) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(SHARD),--shard $(SHARD))

# After `make autograde SHARD=i/n` for i = 1..n (e.g. an array job): one grades.csv.
merge-grades: setup
	$(BIN)/python -m course_utils.instructor.cli merge-grades

# The rendered course site: every chapter executed (two at a time) and rendered to site/.
site: setup
	$(BIN)/python -m course_utils.instructor.site --out site $(foreach c,$(CHAPTER),--chapter $(c)) \
		$(if $(JOBS),--jobs $(JOBS))
