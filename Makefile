# The two commands of the README. Each installs what it needs first (once per pyproject change).
PYTHON ?= python3
# The CPU wheel of torch: an open range would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: verify test

.installed: pyproject.toml
	$(PYTHON) -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(PYTHON) -m pip install -q --disable-pip-version-check -e ".[test]"
	touch .installed

verify: .installed
	$(PYTHON) -m flatcheck.cli verify $(ARGS)

test: .installed
	$(PYTHON) -m pytest -q $(ARGS)
