"""Pytest fixtures and the test environment;
plain helpers and constants are in ``helpers.py``.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``)
through the playwright Python package; playwright's own browser download is never used.
A missing browser is a test failure with instructions, never a skip.
"""

from __future__ import annotations

import os

# Deterministic, headless numerics before anything imports numpy or matplotlib.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

import shutil  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

from helpers import CHROMIUM_ARGS, REPO  # noqa: E402


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture
def close_figures():
    """Close every matplotlib figure before and after the test
    (``usefixtures`` in a module)."""
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path}. The browser tests need Debian's chromium "
            "package: run `make test` (it installs it when it can) or "
            "`sudo apt-get install chromium`, or set CHROMIUM=/path/to/chromium."
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium with a fresh profile,
    shared by the browser tests of a session."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
