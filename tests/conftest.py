"""Pytest fixtures and the test environment;
plain helpers and constants are in ``helpers.py``.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``)
through the playwright Python package; playwright's own browser download is never used.
A missing browser is a test failure with instructions, never a skip.

The book's tests share one build of the site, and a local host that serves it.

``built_book`` builds the book once per session (``jupyter-book build -W`` into a
temporary folder, which executes every chapter). Set
``LECTLIB_BUILT_BOOK=path/to/_build/html`` to test a site built beforehand instead (e.g.
by ``make book``, or of another commit).

``site`` serves that folder on the loopback interface the way a static host (GitHub
Pages, Netlify, nginx) serves a site: text types gzip-compressed, images and fonts as
they are, so what the browser transfers is what a reader's browser would.
"""

from __future__ import annotations

import os

# Deterministic, headless numerics before anything imports numpy or matplotlib.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

# Property tests draw the same examples on every run (derandomized, no example store):
# a red CI run then means the change, not the dice. HYPOTHESIS_PROFILE=explore draws new
# examples each run, to search for bugs on purpose.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("course", derandomize=True, database=None)
_hypothesis_settings.register_profile("explore", derandomize=False)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))

import functools  # noqa: E402
import gzip  # noqa: E402
import http.server  # noqa: E402
import io  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from helpers import CHROMIUM_ARGS, REPO, free_port  # noqa: E402


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


# ---------------------------------------------------------------- the built site

ASSETS = REPO / "_build" / "web-assets" / "static"

#: Content types a static host compresses (the others, images and fonts, are compressed
#: already).
TEXT_TYPES = (
    "text/",
    "application/javascript",
    "application/json",
    "application/xml",
    "image/svg+xml",
)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    prebuilt = os.environ.get("LECTLIB_BUILT_BOOK")
    if prebuilt:
        html = Path(prebuilt).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(
                f"LECTLIB_BUILT_BOOK={prebuilt} holds no built site (no index.html)"
            )
        return html
    if not (ASSETS / "ipywidgets" / "embed-amd.js").is_file():
        pytest.fail(
            "the site's offline scripts are missing; run `make assets` (make test does)"
        )
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    run = subprocess.run(
        [
            str(jupyter_book),
            "build",
            "--warningiserror",
            "--keep-going",
            "--path-output",
            str(out),
            ".",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    elapsed = time.perf_counter() - start
    log = run.stdout + run.stderr
    assert run.returncode == 0, (
        f"jupyter-book build -W failed after {elapsed:.0f} s:\n{log[-6000:]}"
    )
    html = out / "_build" / "html"
    print(f"\nbook built in {elapsed:.1f} s")
    return html


class StaticHost(http.server.SimpleHTTPRequestHandler):
    """Files as a static host serves them: gzip for text types when the browser asks."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real host
    _compressed: dict = {}
    _lock = threading.Lock()

    def log_message(self, *args):
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        ctype = self.guess_type(path)
        if (
            not os.path.isfile(path)
            or not ctype.startswith(TEXT_TYPES)
            or "gzip" not in self.headers.get("Accept-Encoding", "")
        ):
            return super().send_head()
        key = (path, os.stat(path).st_mtime_ns)
        with self._lock:
            body = self._compressed.get(key)
            if body is None:
                body = gzip.compress(Path(path).read_bytes(), compresslevel=6, mtime=0)
                self._compressed[key] = body
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(body)


@pytest.fixture(scope="session")
def site(built_book):
    port = free_port()
    handler = functools.partial(StaticHost, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
