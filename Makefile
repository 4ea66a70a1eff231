# Two entry points, both self-contained on a fresh machine:
#   make demo   edgedistill run builtin:mr: teach -> distill -> export (3 device profiles) -> check -> report
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNS := runs/demo
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup toolenv toolenv-peers arm64env sshd browser demo test test-quick

setup: $(VENV)/.installed

# constraints.txt pins the whole resolved stack (pip freeze of a working env): installs are
# reproducible and skip minutes of resolver backtracking. Refresh it when pyproject.toml pins change.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $@

# onnx2tf pins numpy 1.26 and tensorflow 2.19, so it lives in its own tool environment.
toolenv: setup
	$(BIN)/python -m edgedistill.toolenvs --create onnx2tf

# The peer tools benchmarks/headline.py compares against; each pins a transformers ours cannot sit beside.
# Benchmark-only: neither `make test` nor `make demo` needs them.
toolenv-peers: setup
	$(BIN)/python -m edgedistill.toolenvs --create optimum-onnx
	$(BIN)/python -m edgedistill.toolenvs --create optimum-executorch

# The emulated arm64 Python for checking Arm kernels' accuracy (check --arch arm64, export for arm64
# profiles): qemu user-mode and debootstrap from apt when missing (CI is a root Debian machine), then the
# rootfs and aarch64 wheels at constraints.txt's versions.
arm64env: setup
	@command -v qemu-aarch64-static >/dev/null && command -v debootstrap >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static debootstrap; }
	$(BIN)/python -m edgedistill.toolenvs --create arm64

# `bench --ssh` is tested against a real OpenSSH server that the tests start on a free loopback port
# (tests/sshd.py): openssh-server from apt when missing. Installing it also starts it as a service on port 22;
# that service is switched off again, so `make test` opens no port that was not open before.
sshd:
	@test -x /usr/sbin/sshd || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server \
		  && { systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true; }; }

# The report tests render `edgedistill report`'s page in headless Chromium: Debian's chromium from apt when
# missing (CI is a root Debian machine).
browser:
	@command -v chromium >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# One recipe, every stage: a rerun skips the stages whose inputs did not change and resumes an interrupted one.
demo: setup
	$(BIN)/edgedistill run builtin:mr --out $(RUNS)

test: setup toolenv arm64env sshd browser
	$(BIN)/python -m pytest

# The edit loop: everything but the tests that convert with a real runtime (marked slow).
test-quick: setup
	$(BIN)/python -m pytest -m "not slow"
