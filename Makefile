# Two commands: `make demo` (all seven notebooks in smoke mode, each on a fresh stand-in Colab runtime) and `make test`.
# Both create .venv and install requirements-dev.txt (pinned by constraints-ci.txt) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= outputs/smoke
# `make colab-check` (not in CI): today's Colab stack in its own venv, then the same harness
# the first Python 3.13 that runs: on PATH, else pyenv's (its python3.13 shim says 'command not found' unless
# 3.13 is pyenv's selected version)
PYTHON_COLAB ?= $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null); do \
	$$p -V >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV_COLAB ?= .venv-colab

.PHONY: install demo test notebooks colab-check clean
install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints-ci.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints-ci.txt torch
	$(BIN)/python -m pip install -q -c constraints-ci.txt -r requirements-dev.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

demo: install
	$(BIN)/python -m scripts.run_notebooks --smoke --out $(OUT)

test: install
	$(BIN)/python -m pytest -q

# bring back notebooks edited in Colab/Jupyter, copy the shared cells, rebuild every .ipynb from its .py
notebooks: install
	$(BIN)/python -m scripts.notebooks sync

# Python 3.13, the newest torch pip offers (a CUDA build, several GB), numpy 2.1, ipywidgets 7.7.1, as on Colab;
# the requirements installed the way the notebooks' set-up cell installs them; then the seven notebooks, each on a
# fresh stand-in runtime.
colab-check: $(VENV_COLAB)/.installed
	$(VENV_COLAB)/bin/python -m pytest -q -p no:cacheprovider tests/test_pretrained.py tests/test_compat.py tests/test_transforms.py
	$(VENV_COLAB)/bin/python -m scripts.run_notebooks --smoke --out outputs/colab-check
$(VENV_COLAB)/.installed: requirements.txt
	$(PYTHON_COLAB) -m venv $(VENV_COLAB)
	$(VENV_COLAB)/bin/python -m pip install -q --upgrade pip
	$(VENV_COLAB)/bin/python -m pip install -q torch torchvision "numpy==2.1.*" "ipywidgets==7.7.1" \
	    pandas matplotlib opencv-python-headless ipykernel
	$(VENV_COLAB)/bin/python -m pip freeze | grep -iE '^(torch|torchvision|numpy|opencv-[a-z-]+)==' > $(VENV_COLAB)/keep.txt
	$(VENV_COLAB)/bin/python -m pip install -q -r requirements.txt -c $(VENV_COLAB)/keep.txt
	$(VENV_COLAB)/bin/python -m pip install -q -c $(VENV_COLAB)/keep.txt jupytext pytest timm
	$(VENV_COLAB)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

clean:
	rm -rf $(OUT) outputs/colab-check work_dirs .pytest_cache
