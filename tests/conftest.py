"""Test-session setup: offline guard, headless plotting, hypothesis profile, GPU skips."""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

GUARD_DIR = Path(__file__).parent / "netguard"

# Every process started from here (notebook kernels, graders, servers) inherits the guard.
os.environ["COURSE_NETGUARD"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(GUARD_DIR), os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("MPLBACKEND", "Agg")
_log_fd, _log_path = tempfile.mkstemp(prefix="netguard-", suffix=".log")
os.close(_log_fd)
os.environ["COURSE_NETGUARD_LOG"] = _log_path
_spec = importlib.util.spec_from_file_location("course_netguard", GUARD_DIR / "sitecustomize.py")
_guard = importlib.util.module_from_spec(_spec)
sys.modules["course_netguard"] = _guard
_spec.loader.exec_module(_guard)  # installs itself: COURSE_NETGUARD is set above

try:
    from hypothesis import settings

    settings.register_profile("course", deadline=None, max_examples=60, derandomize=True)
    settings.load_profile("course")
except ImportError:  # pragma: no cover
    pass


# The pattern every chapter's torch tests reuse: parametrize over ``device`` (the CPU, plus
# CUDA when present; the gpu mark skips it elsewhere) and, where precision is part of the
# claim, over ``dtype``.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = ["float32", "float64"]


@pytest.fixture(params=DEVICES)
def device(request):
    """torch.device to run a test on: "cpu", and "cuda" where a GPU is present."""
    import torch

    return torch.device(request.param)


@pytest.fixture(params=DTYPES)
def dtype(request):
    """Floating dtype to run a test in: torch.float32 and torch.float64."""
    import torch

    return getattr(torch, request.param)


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (tiny networks gain nothing from more); restore after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


def pytest_sessionfinish(session, exitstatus):
    attempts = Path(_log_path).read_text() if Path(_log_path).exists() else ""
    Path(_log_path).unlink(missing_ok=True)
    if attempts:
        print("\nNetwork access was attempted during the tests:\n" + attempts, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
