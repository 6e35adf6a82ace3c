"""Plain helpers and constants shared by the tests in ``tests/unit`` and ``tests/book``.

Importable as ``helpers`` from every test module (``pythonpath = ["tests", ...]`` in
pyproject.toml's ``[tool.pytest.ini_options]``). Fixtures and the environment set-up
stay in ``conftest.py``; nothing here is a fixture.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = REPO / "chapters"

#: Flags that let Chromium run headless as root in a closed
#: network without phoning home.
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

#: Hypothesis settings of the property tests: no deadline (first calls compile and
#: cache), 30 examples. A module that needs another number of examples defines its own.
FAST = settings(deadline=None, max_examples=30)

#: Seeds for ``numpy.random.default_rng`` drawn by hypothesis.
SEEDS = st.integers(0, 2**32 - 1)


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: How many chapters the JupyterLab and Colab-like tests run at once: while one
#: chapter's test checks its results, the next chapter already runs (one kernel per
#: core on a 2-core machine). ``LECTLIB_CHAPTERS_AT_ONCE=1`` runs them one by one.
CHAPTERS_AT_ONCE = max(1, int(os.environ.get("LECTLIB_CHAPTERS_AT_ONCE", "2")))


def upcoming_params(request, name):
    """The values of parameter ``name`` of the tests of the same test function that
    pytest runs after this one in this session (after ``-k`` and other selection), in
    order: what a test may start early for the next ones."""
    node = request.node
    later, seen = [], False
    for item in request.session.items:
        if item is node:
            seen = True
        elif (
            seen
            and getattr(item, "originalname", None) == node.originalname
            and item.module is node.module
        ):
            later.append(item.callspec.params[name])
    return later


def screenshot_dir(tmp_path):
    """Where browser tests save screenshots: ``$LECTLIB_SCREENSHOTS`` if set,
    else ``tmp_path``."""
    target = os.environ.get("LECTLIB_SCREENSHOTS")
    path = Path(target) if target else Path(tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def well_conditioned(rng, k, c, max_cond=50.0):
    """Random endmembers (k, c), linearly independent with a modest condition number."""
    import numpy as np

    for _ in range(200):
        E = rng.normal(size=(k, c))
        if np.linalg.cond(E) < max_cond:
            return E
    raise AssertionError(
        "could not draw well-conditioned endmembers"
    )  # pragma: no cover


def run_estimator_checks(estimator, expected):
    """Run scikit-learn's ``check_estimator``; return the expected failures' messages.

    Asserts that no check outside ``expected`` fails and that every listed check does
    fail (no stale entries).
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
        results = check_estimator(
            estimator, expected_failed_checks=expected, on_fail=None
        )
    failed = {
        r["check_name"]: messages(r["exception"])
        for r in results
        if r["status"] == "failed"
    }
    assert failed == {}
    xfailed = {
        r["check_name"]: messages(r["exception"])
        for r in results
        if r["status"] == "xfail"
    }
    assert set(xfailed) == set(expected)
    assert sum(r["status"] == "passed" for r in results) > 20
    return xfailed


def watch_page(page, origin):
    """Collect what goes wrong on a playwright ``page``: errors, failed or refused
    requests, and any request that leaves ``origin`` (the local server)."""
    problems = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # Chromium asks every site for /favicon.ico by itself; the book has none.
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico")
            and problems.append(f"console error: {m.text} ({m.location.get('url')})")
        ),
    )
    page.on(
        "requestfailed",
        lambda r: problems.append(f"request failed: {r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not r.url.endswith("/favicon.ico")
            and problems.append(f"HTTP {r.status}: {r.url}")
        ),
    )
    page.on(
        "request",
        lambda r: (
            r.url.startswith(("http:", "https:", "ws:", "wss:"))
            and not r.url.startswith(origin)
            and problems.append(f"external request: {r.url}")
        ),
    )
    return problems
