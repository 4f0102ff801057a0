# Two entry points, each of which sets up everything it needs in .venv:
#   make demo   - the main job (man pages -> fine-tuned MiniLM -> before/after report)
#   make test   - the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.densefit-installed
DEMO_OUT ?= demo-out

.PHONY: demo test install bench-demo clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
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

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
