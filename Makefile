# Developer entry points. `make run` and `make test` are all a fresh clone needs
# (python3 >= 3.11 and npm on PATH).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Reinstall only when pyproject.toml is newer than this stamp.
STAMP  := $(VENV)/.installed-from-pyproject

.DEFAULT_GOAL := help
.PHONY: help venv model browser run test lint format bench dist space clean distclean

help:
	@echo "make run    - start the model Space and the gateway, then open http://127.0.0.1:8000/"
	@echo "make test   - run the test suite (junit report in test-output/junit.xml)"
	@echo "make lint   - read-only checks (pre-commit): black --check, flake8, hygiene"
	@echo "make format FILES=\"a.py b.py\" - black-format the files you name"
	@echo "make venv   - create/refresh $(VENV) from pyproject.toml"
	@echo "make model  - fetch and convert the detector weights (cached)"
	@echo "make bench  - run bench/ if present"
	@echo "make dist   - build and check the package sdist and wheel into dist/ (as release.yml)"
	@echo "make space  - assemble the Hugging Face Space repository into build/space"
	@echo "make clean  - remove build and test output (keeps $(VENV) and the model cache)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[space,gateway,dev]'
	@touch $@

model: venv
	$(PY) -m model_package --prepare

run: venv model
	$(PY) scripts/run_local.py

# The browser tests drive Debian's Chromium; install it where we may (root with apt-get).
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends chromium; \
		else \
			echo "note: install Debian's chromium (/usr/bin/chromium) to run the browser tests"; \
		fi; }

test: venv model browser
	@mkdir -p test-output
	$(PY) -m pytest -q --junitxml=test-output/junit.xml

# Every hook only checks (see .pre-commit-config.yaml): lint never rewrites files.
lint: venv
	$(VENV)/bin/pre-commit run --all-files

# Rewrites files, so it formats only what you name: the tree is shared with colleagues.
format: venv
	$(VENV)/bin/black $(or $(FILES),$(error name the files: make format FILES="path/a.py path/b.py"))

bench: venv
	@if [ -d bench ]; then \
		$(MAKE) --no-print-directory model && $(PY) -m bench; \
	else \
		echo "bench/ does not exist yet: no benchmark to run"; \
	fi

# The package as release.yml builds and checks it (without publishing).
dist: venv
	rm -rf dist
	$(PY) -m build --outdir dist
	$(PY) -m twine check --strict dist/*
	$(PY) scripts/check_dist.py dist

# The Space repository as deploy.yml uploads it; run it with `cd build/space && python app.py`.
space: venv
	rm -rf build/space
	$(PY) scripts/build_space.py build/space

clean:
	rm -rf test-output build dist .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
