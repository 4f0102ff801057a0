# Two entry points, each of which sets up everything it needs in .venv:
#   make demo   - the main job (man pages -> fine-tuned MiniLM -> before/after report)
#   make test   - the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.densefit-installed
DEMO_OUT ?= demo-out

.PHONY: demo test install bench-demo clean chromium lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# the versions the suite last passed with (constraints.txt; `make lock` refreshes it)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/densefit demo --out $(DEMO_OUT)

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

# Debian's Chromium for the page tests (driven by Playwright; never `playwright install`).
# Idempotent and quiet; needs root (as in CI). Without it the browser tests skip and say so.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: /usr/bin/chromium is missing and could not be installed (needs root and apt-get); browser tests will skip"; }

# Refresh constraints.txt: the newest versions pyproject.toml allows, kept only if the whole suite passes.
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(LOCK_VENV)/bin/python -m pip install --quiet -e ".[all,test]"
	$(LOCK_VENV)/bin/python -m pytest -q
	{ sed -n '1,2p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^torch=='; } \
	  > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
