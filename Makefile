# Machine Learning for Spectroscopy and Imaging Data: build the book, run the tests.
#
#   make book       build the HTML site into _build/html
#   make test       run every test (unit, doctest, notebooks, book build, browser)
#   make test-fast  only lectlib's unit and property tests (tests/unit) and the doctests of
#                   lectlib/: no notebooks, book build or browser (about 35 s, ~960 tests)
#   make lab        open the chapters in JupyterLab
#   make bench      run benchmarks/ (peer venvs benchmarks/.venv-*) and refresh the
#                   appendix page
#
# Each target creates .venv and installs requirements.txt (which installs lectlib in editable
# mode) when the environment is missing or older than requirements.txt / pyproject.toml.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The site must work offline, so the scripts it needs are served from the book itself:
# the ipywidgets embed manager (to show sliders without a kernel), RequireJS (which it needs)
# and MathJax. They come from the npm registry at these exact versions.
HTML_MANAGER_VERSION := 1.0.15
REQUIREJS_VERSION := 2.3.8
MATHJAX_VERSION := 3.2.2
ASSETS := _build/web-assets
# Bump ASSETS_LAYOUT when the set of files copied below changes, so `make` refreshes them.
ASSETS_LAYOUT := 2
ASSETS_STAMP := $(ASSETS)/.versions-$(HTML_MANAGER_VERSION)-$(REQUIREJS_VERSION)-$(MATHJAX_VERSION)-$(ASSETS_LAYOUT)

CHROMIUM ?= /usr/bin/chromium

# Reproducible numbers and no GUI windows in tests and builds.
export MPLBACKEND := Agg
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test test-fast lab clean venv assets chromium repo-url bench

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

assets: $(ASSETS_STAMP)

# Only what the site loads is copied: the embed manager with its woff2 icon fonts (every
# browser the site supports takes those; the eot, ttf, woff and svg copies are for browsers
# of the last decade), and MathJax's tex-chtml.js, which bundles the TeX input, CHTML
# output, menu and assistive MathML, with what it loads on demand (fonts, TeX extensions,
# the SVG renderer and the accessibility explorer the menu offers, which needs the MathML
# input).
$(ASSETS_STAMP):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "error: npm is needed once to fetch the site's offline scripts (ipywidgets embed, MathJax)."; \
	  echo "       Install Node.js and npm, e.g. 'sudo apt-get install npm' on Debian/Ubuntu."; exit 1; }
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/npm
	cd $(ASSETS)/npm && npm pack --silent --loglevel=error \
	  @jupyter-widgets/html-manager@$(HTML_MANAGER_VERSION) \
	  requirejs@$(REQUIREJS_VERSION) mathjax@$(MATHJAX_VERSION) >/dev/null
	mkdir -p $(ASSETS)/static/mathjax $(ASSETS)/npm/hm $(ASSETS)/npm/rq $(ASSETS)/npm/mj
	tar -xzf $(ASSETS)/npm/jupyter-widgets-html-manager-$(HTML_MANAGER_VERSION).tgz -C $(ASSETS)/npm/hm
	tar -xzf $(ASSETS)/npm/requirejs-$(REQUIREJS_VERSION).tgz -C $(ASSETS)/npm/rq
	tar -xzf $(ASSETS)/npm/mathjax-$(MATHJAX_VERSION).tgz -C $(ASSETS)/npm/mj
	mkdir -p $(ASSETS)/static/ipywidgets
	cd $(ASSETS)/npm/hm/package/dist && cp embed-amd.js *.woff2 \
	  $(CURDIR)/$(ASSETS)/static/ipywidgets/
	cp $(ASSETS)/npm/rq/package/require.js $(ASSETS)/static/ipywidgets/
	cd $(ASSETS)/npm/mj/package/es5 && cp -r tex-chtml.js output input a11y ../LICENSE \
	  $(CURDIR)/$(ASSETS)/static/mathjax/
	cd $(ASSETS)/static/mathjax && rm -f input/asciimath.js input/tex.js input/tex-base.js \
	  input/tex-full.js output/chtml.js
	rm -rf $(ASSETS)/npm
	@touch $@

book: $(STAMP) $(ASSETS_STAMP)
	$(BIN)/jupyter-book build --warningiserror --keep-going .
	@echo "The site is in _build/html/index.html"

# Browser tests need Debian's Chromium; install it when missing and possible, else say what to do.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  fi; \
	fi
	@test -x "$(CHROMIUM)" || { \
	  echo "error: the browser tests need Chromium at $(CHROMIUM)."; \
	  echo "       Install Debian's package: sudo apt-get install chromium"; \
	  echo "       (or point CHROMIUM=/path/to/chromium at another build)"; exit 1; }

test: $(STAMP) $(ASSETS_STAMP) chromium
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

# The fast loop while working on lectlib: tests/unit and the doctests of lectlib/ only.
test-fast: $(STAMP)
	$(BIN)/python -m pytest lectlib tests/unit

lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,) chapters

# Benchmarks against peers (scipy, HyperSpy in its own venv); writes benchmarks/results/*.json.
bench: $(STAMP)
	PYTHON=$(PYTHON) MAIN_PYTHON=$(BIN)/python bash benchmarks/run.sh

# Publishing: set the repository URL in _config.yml, every chapter's install cell,
# CITATION.cff and pyproject.toml at once; REF is the commit or tag the install cells pin
# (default main), BRANCH the branch the launch buttons open (default: unchanged). The
# publishing workflow runs it with the forge's URL, the commit it builds and
# BRANCH=published (README.md, "Publishing the course").
repo-url: $(STAMP)
	@test -n "$(URL)" || { \
	  echo "usage: make repo-url URL=https://github.com/ORG/REPO [REF=main] [BRANCH=main]"; \
	  exit 1; }
	$(BIN)/python chapters/_ext/repository.py "$(URL)" --ref "$(or $(REF),main)" \
	  $(if $(BRANCH),--branch "$(BRANCH)")

clean:
	rm -rf _build
