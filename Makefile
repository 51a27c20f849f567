# Set-up for the two commands in README.md:
#   make run    set up, then start the app on the built-in sample district
#   make test   set up (including Debian's Chromium), then run the whole test suite
#
# Everything comes from package registries: Python packages from PyPI (uv),
# the map's JavaScript/CSS (Leaflet and friends) from npm, Chromium from Debian.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
export UV_COMPILE_BYTECODE := 1

.PHONY: setup run test lint pytest browser clean sample catalogues messages

setup: $(VENV)/.installed assets catalogues

# The interface's Chinese: geo/locale/zh/LC_MESSAGES/wangge.po compiled to .mo with Babel.
catalogues: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -D wangge -d geo/locale --statistics

# After changing interface text: gather the marked strings, merge them into the .po files
# (then translate the new entries and run `make catalogues`).
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F geo/locale/babel.cfg -k _ -k N_ -k t --no-location \
	  --sort-output --project wangge -o geo/locale/wangge.pot app.py ui.py views geo
	$(VENV)/bin/pybabel update -D wangge -i geo/locale/wangge.pot -d geo/locale \
	  --no-fuzzy-matching

$(VENV)/.installed: pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	uv venv --allow-existing --python $(PYTHON) $(VENV)
	uv pip install --python $(PY) --compile-bytecode -e '.[test]'
	@touch $@

include Makefile.assets

run: setup
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

# Debian's Chromium for the browser tests (never a browser downloaded by a test tool).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi
	@if ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	fi  # the printed map (geo/maps/mapprint.py) and the browser draw Chinese with it
	@chromium --version

lint: setup
	$(VENV)/bin/ruff check geo tests app.py ui.py views $(wildcard bench)
	$(VENV)/bin/mypy geo

# Two workers (the 2-core machine); each test file stays on one worker, so its module fixtures
# are built once, and the files with browser tests start first (tests/conftest.py).
pytest: setup browser
	$(PY) -m pytest -q --durations=10 -n 2 --dist loadfile

test: lint pytest

sample: setup
	$(VENV)/bin/wangge sample data/sample

clean:
	rm -rf $(VENV) static/vendor test-output .pytest_cache .mypy_cache .ruff_cache
