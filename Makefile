# The two commands of the README. Each works in the project-local virtual environment .venv,
# which it creates and fills first: a system Python that refuses `pip install` (PEP 668) is only
# used to create it. The install reruns when pyproject.toml or the torch build changes.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
# The CPU wheel of torch: an open range would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
# What the installed environment was made with; a different TORCH reinstalls.
STAMP := $(VENV)/.flatcheck-installed
PIP := $(VPY) -m pip install -q --disable-pip-version-check

.PHONY: verify test showcase
ifneq ($(shell cat $(STAMP) 2>/dev/null),$(TORCH))
.PHONY: $(STAMP)
endif

# venv needs ensurepip, which Debian and Ubuntu ship apart (python3-venv); without it the venv is
# made without pip and pip is brought in by virtualenv or by the system's own pip.
$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
	  echo "flatcheck needs Python >= 3.10; '$(PYTHON)' is $$($(PYTHON) -V 2>/dev/null || echo 'not found')." \
	    "Run make with PYTHON=/path/to/python3.10-or-later"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null \
	|| { rm -rf $(VENV); $(PYTHON) -m virtualenv -q $(VENV) 2>/dev/null; } \
	|| { rm -rf $(VENV); $(PYTHON) -m venv --without-pip $(VENV) \
	     && $(PYTHON) -m pip -q --python $(VPY) install pip 2>/dev/null; } \
	|| { rm -rf $(VENV); echo "cannot create the virtual environment $(VENV) with $(PYTHON): its venv module" \
	     "has no ensurepip and neither virtualenv nor pip is there to bring pip in. On Debian or Ubuntu:" \
	     "sudo apt-get install python3-venv (or python3.X-venv for your version); elsewhere" \
	     "run make with PYTHON=/path/to/a/python3 that has venv"; exit 1; }
	@echo "created $(VENV) with $$($(VPY) -V)"

$(STAMP): pyproject.toml | $(VPY)
	$(PIP) "$(TORCH)"
	$(PIP) -e ".[test]"
	@echo "$(TORCH)" > $(STAMP)

verify: $(STAMP)
	$(VPY) -m flatcheck.cli verify $(ARGS)

# loadgroup: tests go to the workers one at a time as each frees, `slow` ones first (tests/conftest.py),
# and tests of one xdist_group (two that share one run) to the same worker. PYTHONDONTWRITEBYTECODE,
# set on some machines, is cleared for the run: without .pyc files every pytest process (the workers,
# and the flatcheck and pytest runs the tests start) compiles flatcheck anew and pytest rewrites the
# asserts of the test, flatcheck and hypothesis modules anew, 2.6 s a process (in the working tree
# 193 s without them, 184 s writing them, 171-179 s reading them; they go to the ignored __pycache__/).
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(VPY) -m pytest -n auto --dist loadgroup --durations=15 $(ARGS)

# The committed showcase report, regenerated deliberately (verify writes to the ignored reports/run/).
showcase: $(STAMP)
	$(VPY) -m flatcheck.cli verify --out reports/latest $(ARGS)
