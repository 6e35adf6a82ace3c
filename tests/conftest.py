"""Shared fixtures: repository paths, a free loopback port, and headless Chromium.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) through the
playwright Python package; playwright's own browser download is never used. A missing browser
is a test failure with instructions, never a skip.
"""

from __future__ import annotations

import os

# Deterministic, headless numerics before anything imports numpy or matplotlib.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

import shutil  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = REPO / "chapters"

#: Flags that let Chromium run headless as root in a closed network without phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path}. The browser tests need Debian's chromium package: "
            "run `make test` (it installs it when it can) or `sudo apt-get install chromium`, "
            "or set CHROMIUM=/path/to/chromium."
        )
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium with a fresh profile, shared by the browser tests of a session."""
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


def run_estimator_checks(estimator, expected):
    """Run scikit-learn's ``check_estimator``; return the expected failures' messages.

    Asserts that no check outside ``expected`` fails and that every listed check does fail
    (no stale entries).
    """
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    def messages(exc):
        out = []
        while exc is not None:
            out.append(str(exc))
            exc = exc.__cause__
        return " | ".join(out)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
    failed = {r["check_name"]: messages(r["exception"]) for r in results if r["status"] == "failed"}
    assert failed == {}
    xfailed = {r["check_name"]: messages(r["exception"]) for r in results if r["status"] == "xfail"}
    assert set(xfailed) == set(expected)
    assert sum(r["status"] == "passed" for r in results) > 20
    return xfailed
