# Two commands: `make demo` (all six notebooks in smoke mode on synthetic data) and `make test`.
# Both create .venv and install requirements-dev.txt (pinned by constraints-ci.txt) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= outputs/smoke

.PHONY: install demo test clean
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

clean:
	rm -rf $(OUT) work_dirs .pytest_cache
