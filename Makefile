# Two entry points (see README): `make lab` and `make test`. Both set everything up first.
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup lab test chromium bench sync docs labext

# constraints.txt pins the CPU build of torch on this machine's disk (the package itself declares a range).
PIP   := $(BIN)/python -m pip install -q -c constraints.txt

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -e ".[dev]"
	# an editable install leaves out the wheel's data files: enable the server extension (gmwidgets.serverext) here
	install -D -m 644 jupyter-config/jupyter_server_config.d/gmwidgets.json $(VENV)/etc/jupyter/jupyter_server_config.d/gmwidgets.json
	# ... and the Runs panel's server side (gmwidgets.runsapi) and its prebuilt JupyterLab extension (a link to the build)
	install -D -m 644 jupyter-config/jupyter_server_config.d/gmwidgets_runs.json $(VENV)/etc/jupyter/jupyter_server_config.d/gmwidgets_runs.json
	mkdir -p $(VENV)/share/jupyter/labextensions && ln -sfn $(CURDIR)/gmwidgets/labextension $(VENV)/share/jupyter/labextensions/gmwidgets
	$(BIN)/python -c "import torch; assert '+cpu' in torch.__version__ or not torch.version.cuda, torch.__version__"
	touch $(STAMP)

setup: $(STAMP)

# Opens JupyterLab on the quickstart notebook (trains a small model with the live dashboard).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) nbs/quickstart.ipynb

# Debian's chromium for the browser tests (installed with apt when absent).
chromium:
	bash tools/install_chromium.sh

# Every test tier: notebooks in sync, nbdev-test, pytest (unit, kernel, browser).
test: setup chromium
	PATH="$(CURDIR)/$(BIN):$$PATH" bash tools/test.sh

# Benchmarks (not part of the tests): they print ratios measured side by side.
bench: setup
	$(PIP) -e ".[dev,bench]"
	PATH="$(CURDIR)/$(BIN):$$PATH" bash -c 'for b in benchmarks/bench_*.py; do python $$b || exit 1; done'

# Documentation site (Sphinx + myst-nb + furo, see docs/conf.py) into _build/html/: the executed notebooks that the
# kernel tier saved in _build/executed/ are reused, a missing one runs once. Warnings are errors.
# View: open _build/html/index.html, or `python -m http.server -d _build/html 8000 -b 127.0.0.1`.
docs: setup
	mkdir -p _build/docs/src
	$(BIN)/sphinx-build -W --keep-going -q -b html -c docs -d _build/docs/doctrees _build/docs/src _build/html

# Re-export the package and clean the notebooks after editing nbs/.
sync: setup
	$(BIN)/nbdev-clean && $(BIN)/nbdev-export && $(BIN)/python tools/readme.py

# The JupyterLab extension (Runs panel, status bar item, commands): TypeScript in labextension/, committed BUILT in
# gmwidgets/labextension/ (the wheel installs it; CI needs no npm). After editing labextension/, rebuild with this
# (node and npm from the npm registry) and commit both; tests/test_labextension.py checks the recorded source hash.
labext: setup
	rm -rf gmwidgets/labextension labextension/lib labextension/tsconfig.tsbuildinfo
	# JupyterLab's own builder (webpack, module federation) against the installed JupyterLab's core packages (staging/);
	# `jupyter labextension build` would download a core-meta package instead.
	cd labextension && npm ci --no-audit --no-fund && npx tsc && node node_modules/@jupyterlab/builder/lib/build-labextension.js \
	  --core-path "$$($(CURDIR)/$(BIN)/python -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')" .
	$(BIN)/python tools/labext_hash.py --write
