# One command per job. CI (.ci/run) calls `make test`, the same command you run.
# What the full test run needs beyond Python and make: tools/install-test-parts.sh (Debian/Ubuntu).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HUB_STAMP := $(VENV)/.hub-installed
CHP_VERSION := 5.3.0  # configurable-http-proxy, the hub's proxy (from npm; needs node and npm)
# Test workers (pytest-xdist) for `make test` and `make unit`: the tests mostly wait (servers starting, sockets,
# kernels), so more workers than cores pays; measured on 2 cores (README, Testing). JOBS=0 runs them in this process.
# A file whose tests share state (a notebook, a module fixture) runs on one worker: conftest.py, runs_on_one_worker.
JOBS ?= 4

.PHONY: lab test unit lint lock nbval outputs bench record doctor hub clean conformance-clients

# Create the virtual environment and install the course (re-runs only when a requirements file changes).
# Every package, direct or not, at its version in requirements.lock.
$(STAMP): requirements.txt requirements-dev.txt requirements.lock pyproject.toml jupyter/streaming-course.json tools/install_settings.py
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	@# The views' widget state is saved with the notebook, so a saved notebook reopens showing its views (see the tool).
	$(BIN)/python tools/install_settings.py
	@touch $(STAMP)

# JupyterHub and nbgitpuller in the same venv (it is the learners' single-user environment too).
$(HUB_STAMP): $(STAMP) requirements-hub.txt
	$(BIN)/python -m pip install --quiet -r requirements-hub.txt -c requirements.lock
	@touch $(HUB_STAMP)

# The hub's proxy from npm into .venv/node (helpers/hub.py finds it there). `make hub` needs it; `make test` installs
# it when npm is there, and otherwise runs on: the hub tests then skip and name what is missing (under CI=true, an error).
CHP_PACKAGE := $(VENV)/node/node_modules/configurable-http-proxy/package.json
IN_CI := $(filter 1 true yes TRUE True YES Yes,$(strip $(CI)))
define install_proxy
	@grep -qs '"version": "$(strip $(CHP_VERSION))"' $(CHP_PACKAGE) || { \
	  if command -v npm >/dev/null; then \
	    npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@$(strip $(CHP_VERSION)); \
	  elif [ -n "$(1)" ]; then \
	    echo "npm is needed for the hub's proxy: tools/install-test-parts.sh (Debian/Ubuntu), brew install node (macOS)"; exit 1; \
	  fi; }
endef

# The clients tests/test_conformance.py runs against the local API, code nobody here wrote: the TypeScript SDK (npm ci,
# from tests/conformance/package-lock.json; needs node >= 20 and npm, else its test skips, under CI=true an error) and
# the newest Python SDK in a venv of its own, .venv-conformance (tests/conformance/requirements.txt). Both git-ignored.
CONFORMANCE := tests/conformance
CONFORMANCE_VENV := .venv-conformance
$(CONFORMANCE_VENV)/.installed: $(CONFORMANCE)/requirements.txt
	@test -x $(CONFORMANCE_VENV)/bin/python || $(PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/python -m pip install --quiet -r $(CONFORMANCE)/requirements.txt
	@touch $@
define install_conformance_ts
	@test $(CONFORMANCE)/node_modules/.installed -nt $(CONFORMANCE)/package-lock.json || { \
	  if command -v npm >/dev/null; then \
	    npm ci --silent --no-audit --no-fund --prefix $(CONFORMANCE) && touch $(CONFORMANCE)/node_modules/.installed; \
	  elif [ -n "$(1)" ]; then \
	    echo "npm is needed for the TypeScript SDK's conformance test: tools/install-test-parts.sh (Debian/Ubuntu)"; exit 1; \
	  fi; }
endef

## conformance-clients: install the TypeScript SDK and the newest Python SDK that tests/test_conformance.py runs
conformance-clients: $(CONFORMANCE_VENV)/.installed
	$(call install_conformance_ts,$(IN_CI))

## lab: start JupyterLab on the course (offline unless a key is configured in .env or the environment)
# (as root, e.g. in a container, Jupyter refuses to start without --allow-root)
# (JupyterLab's terminals open with .venv active, as lesson 10 needs: tools/install_settings.py, run at install)
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_setup.ipynb

## hub: a JupyterHub with the course on http://127.0.0.1:8000 (offline; any user name, the password it prints)
hub: $(HUB_STAMP)
	$(call install_proxy,required)
	$(BIN)/python -m helpers.hub

## test: lint, unit tests, strict nbval over every notebook, browser tests, a real hub with 3 learners; a test whose
## part is missing (chromium, nginx, git, node/npm) skips, and the run ends with one line per part and its install
## command (CI=true: fails instead). PYTEST_ARGS narrows the run: make test PYTEST_ARGS=tests/test_web.py
test: $(HUB_STAMP) lint conformance-clients
	$(call install_proxy,$(IN_CI))
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

## unit: the fast inner loop: every test but the browser, hub, nbval and slow ones (markers in pyproject.toml)
unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not browser and not hub and not nbval and not slow" $(PYTEST_ARGS)

## lint: ruff over the code and the notebooks; mypy over helpers/; requirements.lock is current (tools/check_lock.py, offline)
lint: $(HUB_STAMP)
	$(BIN)/python tools/check_lock.py
	$(BIN)/ruff check helpers tests bench tools notebooks
	$(BIN)/ruff format --check helpers tests bench tools notebooks
	$(BIN)/mypy  # the types of helpers/ (settings in pyproject.toml)

## nbval: only the notebooks, strictly, offline at instant pace
nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval notebooks/

## outputs: re-run every notebook offline and save its outputs (what nbval then compares)
outputs: $(STAMP)
	$(BIN)/python tools/run_notebooks.py

## bench: print every benchmark figure next to its baseline
bench: $(HUB_STAMP)
	$(call install_proxy,required)
	$(BIN)/python bench/run_all.py

## doctor: the environment doctor, one line per requirement with its fix (also the first cell of 00_setup)
doctor: $(STAMP)
	$(BIN)/python -m helpers.doctor

## record: run the course live and save every stream as a cassette in cassettes/
record: $(STAMP)
	$(BIN)/python tools/record_course.py

## lock: rewrite requirements.lock after a pin changes in requirements*.txt (uv: every platform, Python >= 3.11;
## versions already locked are kept where they still fit), then `make` installs it
lock: $(STAMP)
	$(BIN)/uv pip compile --universal --python-version 3.11 --quiet --no-emit-package streaming-claude-course \
	  --custom-compile-command "make lock" requirements-dev.txt requirements-hub.txt -o requirements.lock

clean:
	rm -rf $(VENV) $(CONFORMANCE_VENV) $(CONFORMANCE)/node_modules .pytest_cache artifacts
