"""JupyterLab in a real browser, on every chapter: Run All through the menus, then
move every slider.

This is what a student does on their own machine or on Binder: open a notebook in
JupyterLab, choose Run > Run All Cells, and drag the sliders. For each chapter (every
notebook in ``chapters/``, one test each) the test checks that every cell ran once, top
to bottom, without an error, that no widget failed to render, and that dragging each
slider of the chapter changes its read-out and the figure under it in the browser (the
frames are switched by the widget JavaScript, no kernel round trip involved). A slider
is dragged to the right end of its track, or to the left end when it starts at the
right end, so that its value always changes.

One JupyterLab server and one browser serve all the chapters. Each chapter opens in a
window of its own (a browser context: a background tab would get no frames drawn), in
its own workspace, with a new kernel that is shut down when its test ends. While a
chapter's test checks its outputs and sliders, the next chapter already runs in the
next window (``CHAPTERS_AT_ONCE`` in ``tests/helpers.py``: 2, one kernel per core of a
2-core machine; ``LECTLIB_CHAPTERS_AT_ONCE=1`` runs them one by one). Cells record their
timing, so each chapter's run time in the kernel is known however they overlap.

The chapters are copied to a temporary folder first (JupyterLab autosaves, and the
repository's notebooks are kept without outputs), and the server keeps its runtime
files, settings and workspaces in temporary folders too. For each chapter, a screenshot
of the notebook after its first slider moved, and that slider's image before and after,
are left in ``$LECTLIB_SCREENSHOTS`` (a directory) when it is set, otherwise in a
temporary folder of the module.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers import (
    CHAPTERS,
    CHAPTERS_AT_ONCE,
    free_port,
    screenshot_dir,
    upcoming_params,
)

#: Every chapter, in course order (a new chapter is tested as soon as it is added).
NOTEBOOKS = [p.name for p in sorted(CHAPTERS.glob("*.ipynb"))]
SERVER_START_TIMEOUT = 90  # s until /api/status answers
KERNEL_READY_TIMEOUT = 90  # s until the notebook's kernel is idle
RUN_ALL_TIMEOUT = 180  # s for Run All Cells to finish
SLIDER_TIMEOUT = 10  # s for a dragged slider to show another frame
STOP_TIMEOUT = 20  # s between terminate and kill
VIEWPORT = {"width": 1280, "height": 1000}

pytestmark = pytest.mark.browser


def _port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class LabServer:
    """``jupyter lab`` on 127.0.0.1, with every file it writes kept under ``base``."""

    def __init__(self, base: Path, root_dir: Path):
        self.base = base
        self.root_dir = root_dir
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyter-lab.log"
        self.proc = None
        self._log = None

    def log(self, tail=6000):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-tail:]

    def start(self):
        dirs = {
            name: self.base / name
            for name in (
                "runtime",
                "config",
                "data",
                "settings",
                "workspaces",
                "ipython",
            )
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # No "receive Jupyter news?" toast over the notebook,
        # and no requests to the internet.
        notification = (
            dirs["settings"]
            / "@jupyterlab"
            / "apputils-extension"
            / "notification.jupyterlab-settings"
        )
        notification.parent.mkdir(parents=True)
        notification.write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        # Cells record when they ran (metadata "execution"), which times each chapter
        # in the kernel even while another chapter runs too.
        tracker = (
            dirs["settings"]
            / "@jupyterlab"
            / "notebook-extension"
            / "tracker.jupyterlab-settings"
        )
        tracker.parent.mkdir(parents=True)
        tracker.write_text(json.dumps({"recordTiming": True}))

        env = dict(os.environ)
        # The kernel should behave as it does for a student: matplotlib's inline
        # backend, not the Agg backend that conftest sets for the test process itself.
        env.pop("MPLBACKEND", None)
        env.update(
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(dirs["ipython"]),
            JUPYTER_PLATFORM_DIRS="1",
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            f"--LabApp.workspaces_dir={dirs['workspaces']}",
            # window.jupyterapp lets the test read cell models;
            # all actions still go through the UI.
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with code {self.proc.returncode} before "
                    f"answering.\nCommand: {cmd}\nServer log:\n{self.log()}"
                )
            try:
                req = urllib.request.Request(
                    f"{self.url}/api/status",
                    headers={"Authorization": f"token {self.token}"},
                )
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        json.load(resp)
                        return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last_error = exc
            time.sleep(0.25)
        pytest.fail(
            f"jupyter lab did not answer {self.url}/api/status within "
            f"{SERVER_START_TIMEOUT} s (last error: {last_error!r}).\nServer "
            f"log:\n{self.log()}"
        )

    def api(self, path, method="GET"):
        """A request to the server's REST API; the decoded JSON answer, or None."""
        req = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def shut_down_kernel(self, path):
        """End the session of the notebook at ``path`` and its kernel, as File > Close
        and Shut Down Notebook would, and wait up to ``STOP_TIMEOUT`` seconds for the
        kernel's process to exit."""
        kernels = []
        try:
            for session in self.api("/api/sessions"):
                if session.get("path") == path:
                    kernels.append(session["kernel"]["id"])
                    self.api(f"/api/sessions/{session['id']}", method="DELETE")
        except (OSError, urllib.error.URLError, ValueError):
            return  # the server itself is gone; the module's teardown reports it
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(
            f"kernel-{k}.json" in cmdline
            for k in kernels
            for cmdline in self.kernel_processes().values()
        ):
            time.sleep(0.25)

    def kernel_processes(self):
        """Live processes started with a connection file in this server's runtime dir:
        pid -> command line."""
        runtime = str(self.base / "runtime")
        found = {}
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (
                    (entry / "cmdline")
                    .read_bytes()
                    .replace(b"\0", b" ")
                    .decode(errors="replace")
                )
            except OSError:
                continue
            if runtime in cmdline and int(entry.name) != os.getpid():
                found[int(entry.name)] = cmdline
        return found

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()


# JavaScript run in the page. `window.jupyterapp` is exposed by
# --LabApp.expose_app_in_browser. Each function takes the notebook's file name.
_JS_NOTEBOOK_PANEL = """
(name) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path && w.context.path.endsWith(name)
        && w.content && w.content.model)
      return w;
  }
  return null;
}
"""

_JS_KERNEL_IDLE = (
    """
(name) => {
  const panel = (%s)(name);
  if (!panel) return false;
  const sc = panel.sessionContext;
  const kernel = sc && sc.session && sc.session.kernel;
  return !!(sc.isReady && kernel && kernel.status === 'idle'
    && kernel.connectionStatus === 'connected');
}
"""
    % _JS_NOTEBOOK_PANEL
)

_JS_CELL_STATE = (
    """
(name) => {
  const panel = (%s)(name);
  if (!panel) return null;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    cells.push({
      index: i,
      count: c.executionCount,
      outputs: c.outputs.toJSON(),
      timing: c.getMetadata('execution') || null,
    });
  }
  const prompts = Array.from(
    panel.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')
  ).map(p => p.textContent.trim());
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {cells, prompts, kernel: kernel ? kernel.status : null};
}
"""
    % _JS_NOTEBOOK_PANEL
)

# Finished: the kernel is idle, no "[*]" prompt is left, and every code cell ran or one
# failed (after an error JupyterLab aborts the rest, which then never get an execution
# count).
_JS_RUN_FINISHED = (
    """
(name) => {
  const s = (%s)(name);
  if (!s || s.cells.length === 0 || s.kernel !== 'idle') return false;
  if (s.prompts.some(p => p.includes('*'))) return false;
  return s.cells.some(c => c.outputs.some(o => o.output_type === 'error'))
    || s.cells.every(c => typeof c.count === 'number' && c.count > 0);
}
"""
    % _JS_CELL_STATE
)

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Every widget output of the notebook's model has been rendered in an output area (as a
# widget view, or as the manager's error message): the number of sliders is then final.
_JS_WIDGETS_RENDERED = """
(name) => {
  const panel = (%s)(name);
  if (!panel) return false;
  let expected = 0;
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    for (const o of c.outputs.toJSON())
      if (o.data && o.data[%s]) expected += 1;
  }
  const rendered = Array.from(panel.node.querySelectorAll('.jp-OutputArea-output'))
    .filter(a => a.querySelector('.jupyter-widgets')
      || a.textContent.includes('Error displaying widget'));
  return rendered.length === expected;
}
""" % (_JS_NOTEBOOK_PANEL, json.dumps(_WIDGET_MIME))

# The notebook's sliders in document order (a slider's inner parts excluded).
_JS_SLIDERS = (
    """
(name) => {
  const panel = (%s)(name);
  if (!panel) return [];
  const sel = '.widget-slider, .widget-hslider';
  const all = panel.node.querySelectorAll('.jp-OutputArea-output :is(' + sel + ')');
  return Array.from(all).filter(el => !el.parentElement.closest(sel));
}
"""
    % _JS_NOTEBOOK_PANEL
)

_JS_COUNT_SLIDERS = "(name) => (%s)(name).length" % _JS_SLIDERS

# Marks slider k of the notebook, the widget box around it that holds its figure, and
# the image it shows now; says whether the slider sits at the right end of its track.
_JS_MARK_SLIDER = (
    """
([name, k]) => {
  for (const el of document.querySelectorAll('[data-lectlib-test]'))
    el.removeAttribute('data-lectlib-test');
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const slider = (%s)(name)[k];
  if (!slider) return {error: `there is no slider number ${k + 1}`};
  let box = slider.parentElement;
  while (box && !(box.classList.contains('widget-box') && box.querySelector('img')))
    box = box.parentElement;
  if (!box) return {error: 'the slider has no image widget around it'};
  const images = Array.from(box.querySelectorAll('img')).filter(visible);
  const n = images.length;
  if (n !== 1)
    return {error: `expected one visible image under the slider, found ${n}`};
  const handle = slider.querySelector('.noUi-handle');
  const track = slider.querySelector('.noUi-target');
  if (!handle || !track) return {error: 'the slider has no noUiSlider handle'};
  slider.setAttribute('data-lectlib-test', 'slider');
  box.setAttribute('data-lectlib-test', 'box');
  images[0].setAttribute('data-lectlib-test', 'image');
  const readout = slider.querySelector('.widget-readout');
  const now = parseFloat(handle.getAttribute('aria-valuenow'));
  const max = parseFloat(handle.getAttribute('aria-valuemax'));
  const hr = handle.getBoundingClientRect(), tr = track.getBoundingClientRect();
  const atRightEnd = Number.isFinite(now) && Number.isFinite(max)
    ? now >= max : hr.left + hr.width / 2 >= tr.right - 1;
  const cell = slider.closest('.jp-CodeCell');
  const prompt = cell && cell.querySelector('.jp-InputArea-prompt');
  return {
    src: images[0].getAttribute('src'),
    readout: readout ? readout.textContent.trim() : null,
    at_right_end: atRightEnd,
    cell: prompt ? prompt.textContent.trim() : null,
    n_images: box.querySelectorAll('img').length,
  };
}
"""
    % _JS_SLIDERS
)

_JS_VISIBLE_IMAGE = """
() => {
  const box = document.querySelector('[data-lectlib-test="box"]');
  if (!box) return {error: 'the slider box disappeared'};
  for (const el of box.querySelectorAll('[data-lectlib-test="image"]'))
    el.removeAttribute('data-lectlib-test');
  const images = Array.from(box.querySelectorAll('img')).filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  });
  const n = images.length;
  if (n !== 1)
    return {error: `expected one visible image under the slider, found ${n}`};
  images[0].setAttribute('data-lectlib-test', 'image');
  const readout = document.querySelector(
    '[data-lectlib-test="slider"] .widget-readout'
  );
  return {
    src: images[0].getAttribute('src'),
    readout: readout ? readout.textContent.trim() : null,
  };
}
"""


def _kernel_seconds(state):
    """From the first cell's start to the last cell's reply, by the cells' recorded
    timing; None without it."""
    from datetime import datetime

    starts, ends = [], []
    for c in state["cells"]:
        timing = c.get("timing") or {}
        try:
            starts.append(datetime.fromisoformat(timing["iopub.execute_input"]))
            ends.append(datetime.fromisoformat(timing["shell.execute_reply"]))
        except (KeyError, TypeError, ValueError):
            return None
    return (max(ends) - min(starts)).total_seconds() if starts else None


def _describe_cells(state):
    lines = []
    for c in (state or {}).get("cells", []):
        kinds = [o.get("output_type") for o in c["outputs"]]
        lines.append(
            f"  cell {c['index']}: execution count {c['count']}, outputs {kinds}"
        )
    return "\n".join(lines) or "  (no code cells found)"


class Chapter:
    """A chapter open in its own tab of the shared browser, with Run All started.

    Opened by its own test, or earlier by the previous chapter's test (see
    ``CHAPTERS_AT_ONCE``); a failure to open it is kept in ``error`` for its own test to
    report.
    """

    def __init__(self, server, browser, notebook, shots):
        self.server = server
        self.browser = browser
        self.notebook = notebook
        self.stem = Path(notebook).stem
        self.shots = shots
        self.context = None
        self.page = None
        self.console = []
        self.error = None
        self.open_seconds = None
        self.run_started = None

    def context(self):
        return (
            "\nBrowser console errors:\n"
            + ("\n".join(self.console[-20:]) or "  (none)")
            + f"\nServer log (tail):\n{self.server.log(3000)}"
        )

    def start(self):
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        started = time.monotonic()
        try:
            # A context of its own is a window of its own: a chapter running in a
            # background tab of the same window gets no frames drawn, and stalls.
            self.context = self.browser.browser.new_context(viewport=VIEWPORT)
            page = self.page = self.context.new_page()
            page.on(
                "console",
                lambda m: (
                    self.console.append(f"{m.type}: {m.text}")
                    if m.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
            # Its own workspace: JupyterLab restores no tab of another chapter.
            page.goto(
                f"{self.server.url}/lab/workspaces/{self.stem}/tree/{self.notebook}"
                f"?token={self.server.token}",
                wait_until="domcontentloaded",
            )
            try:
                page.wait_for_function(
                    _JS_KERNEL_IDLE,
                    arg=self.notebook,
                    timeout=KERNEL_READY_TIMEOUT * 1000,
                    polling=250,
                )
                page.wait_for_selector(
                    ".jp-NotebookPanel .jp-Notebook .jp-CodeCell", timeout=10_000
                )
            except PlaywrightTimeout:
                page.screenshot(
                    path=str(self.shots / f"lab-{self.stem}-open-failed.png")
                )
                self.error = (
                    f"JupyterLab did not open {self.notebook} with an idle kernel "
                    f"within {KERNEL_READY_TIMEOUT} s."
                )
                return
            self.open_seconds = time.monotonic() - started

            # Run > Run All Cells, through JupyterLab's own menu bar.
            page.locator(
                "#jp-menu-panel .lm-MenuBar-item",
                has=page.locator(
                    ".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")
                ),
            ).click()
            page.locator(
                ".lm-Menu .lm-Menu-item:not(.lm-mod-disabled)",
                has=page.locator(
                    ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")
                ),
            ).click()
            self.run_started = time.monotonic()
        except PlaywrightError as exc:
            self.error = f"opening {self.notebook} and choosing Run All failed: {exc}"

    def close(self):
        """Close the tab and shut the chapter's kernel down (any kernel that will not
        stop is killed with the server, in the module's teardown)."""
        if self.context is not None:
            self.context.close()
            self.context = self.page = None
        self.server.shut_down_kernel(self.notebook)


class Chapters:
    """The chapters open in the shared JupyterLab, by notebook name."""

    def __init__(self, server, browser, shots):
        self.server = server
        self.browser = browser
        self.shots = shots
        self.open = {}

    def start(self, notebook):
        if notebook not in self.open:
            chapter = Chapter(self.server, self.browser, notebook, self.shots)
            self.open[notebook] = chapter
            chapter.start()
        return self.open[notebook]

    def close(self, notebook):
        chapter = self.open.pop(notebook, None)
        if chapter is not None:
            chapter.close()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """One JupyterLab server on a copy of ``chapters/`` for all the chapters' tests."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    shutil.copytree(
        CHAPTERS,
        root,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build", "__pycache__"),
    )
    server = LabServer(base / "lab", root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        left = list(server.kernel_processes())
        for pid in left:  # kernels this server started and did not shut down
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    assert server.proc.poll() is not None, (
        "jupyter lab is still running after terminate/kill"
    )
    assert not left, f"kernel processes {left} outlived the jupyter lab server"
    assert not _port_open(server.port), (
        f"port {server.port} still accepts connections after jupyter lab stopped"
    )


@pytest.fixture(scope="module")
def lab_chapters(lab_server, browser, tmp_path_factory):
    """The chapters' windows in one browser; the screenshots of all in one folder."""
    chapters = Chapters(
        lab_server, browser, screenshot_dir(tmp_path_factory.mktemp("lab-screenshots"))
    )
    try:
        yield chapters
    finally:
        for notebook in list(chapters.open):
            chapters.close(notebook)


def _drag_to_end(page, slider, to_right):
    """Drag the slider's handle with the mouse past one end of its track. hover()
    scrolls the handle into view and checks that nothing covers it."""
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-target").first
    handle.hover(timeout=10_000)
    hb, tb = handle.bounding_box(), track.bounding_box()
    assert hb and tb and tb["width"] > 20, (
        f"the slider has no usable size: handle {hb}, track {tb}"
    )
    x = tb["x"] + tb["width"] + 40 if to_right else tb["x"] - 40
    page.mouse.down()
    page.mouse.move(x, tb["y"] + tb["height"] / 2, steps=10)
    page.mouse.up()


def _move_every_slider(page, chapter, record_property):
    """Drag each slider of the chapter to its other end; the problems found."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    notebook, stem, shots = chapter.notebook, chapter.stem, chapter.shots
    n_sliders = page.evaluate(_JS_COUNT_SLIDERS, notebook)
    failures = []
    for k in range(n_sliders):
        before = page.evaluate(_JS_MARK_SLIDER, [notebook, k])
        if "error" in before:
            failures.append(f"slider {k + 1}: {before['error']}")
            continue
        where = f"slider {k + 1} (cell {before['cell']})"
        slider = page.locator('[data-lectlib-test="slider"]')
        image = page.locator('[data-lectlib-test="image"]')
        image_before = image.screenshot()  # scrolls it into view
        _drag_to_end(page, slider, to_right=not before["at_right_end"])
        end = "left" if before["at_right_end"] else "right"
        try:
            page.wait_for_function(
                "([src, readout]) => { const s = (%s)(); "
                "return !s.error && (s.src !== src) && (s.readout !== readout); }"
                % _JS_VISIBLE_IMAGE,
                arg=[before["src"], before["readout"]],
                timeout=SLIDER_TIMEOUT * 1000,
                polling=100,
            )
        except PlaywrightTimeout:
            pass  # reported below
        after = page.evaluate(_JS_VISIBLE_IMAGE)
        if "error" in after:
            failures.append(f"{where}: {after['error']}")
            continue
        image.scroll_into_view_if_needed()
        image_after = image.screenshot()
        if k == 0:
            (shots / f"lab-{stem}-slider-image-before.png").write_bytes(image_before)
            (shots / f"lab-{stem}-slider-image-after.png").write_bytes(image_after)
            slider.scroll_into_view_if_needed()
            screenshot = shots / f"lab-{stem}-after-slider.png"
            page.screenshot(path=str(screenshot))
            record_property("screenshot", str(screenshot))
        moved = f"read-out {before['readout']!r} -> {after['readout']!r}"
        if after["readout"] == before["readout"]:
            failures.append(
                f"{where}: its read-out stayed {before['readout']!r} after dragging "
                f"its handle to the {end} end"
            )
        elif after["src"] == before["src"]:
            failures.append(
                f"{where}: dragging it did not switch the image shown under it "
                f"({moved})"
            )
        elif image_after == image_before:
            failures.append(
                f"{where}: the image under it looks the same after moving it ({moved})"
            )
    return n_sliders, failures


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda name: Path(name).stem)
def test_run_all_and_move_sliders_in_jupyterlab(
    lab_chapters, notebook, request, record_property
):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    chapter = lab_chapters.start(notebook)
    # The next chapters start now, and run while this one is checked.
    for ahead in upcoming_params(request, "notebook")[: CHAPTERS_AT_ONCE - 1]:
        lab_chapters.start(ahead)
    page, shots = chapter.page, chapter.shots
    try:
        if chapter.error:
            pytest.fail(chapter.error + chapter.context())
        waited = time.monotonic()
        left = RUN_ALL_TIMEOUT - (waited - chapter.run_started)
        try:
            page.wait_for_function(
                _JS_RUN_FINISHED,
                arg=notebook,
                timeout=max(left, 5) * 1000,
                polling=500,
            )
        except PlaywrightTimeout:
            state = page.evaluate(_JS_CELL_STATE, notebook)
            page.screenshot(path=str(shots / f"lab-{chapter.stem}-run-all-timeout.png"))
            pytest.fail(
                f"Run All Cells did not finish within {RUN_ALL_TIMEOUT} s; prompts "
                f"{(state or {}).get('prompts')}, kernel "
                f"{(state or {}).get('kernel')}:\n"
                + _describe_cells(state)
                + chapter.context()
            )
        finished = time.monotonic()
        state = page.evaluate(_JS_CELL_STATE, notebook)
        run_seconds = _kernel_seconds(state)
        errors = [
            (c["index"], o.get("ename"), o.get("evalue"))
            for c in state["cells"]
            for o in c["outputs"]
            if o.get("output_type") == "error"
        ]
        assert not errors, (
            f"cells raised errors (cell index, exception, message): {errors}"
        )
        counts = [c["count"] for c in state["cells"]]
        assert all(isinstance(n, int) for n in counts) and counts == sorted(
            set(counts)
        ), (
            "the code cells did not all run once, top to bottom: execution counts "
            f"{counts}\n" + _describe_cells(state)
        )
        try:
            page.wait_for_function(
                _JS_WIDGETS_RENDERED, arg=notebook, timeout=30_000, polling=250
            )
        except PlaywrightTimeout:
            pytest.fail(
                "the widgets in the outputs were not all rendered 30 s after Run "
                "All:\n" + _describe_cells(state) + chapter.context()
            )
        shown_errors = (
            page.locator(".jp-OutputArea-output")
            .filter(has_text="Error displaying widget")
            .count()
        )
        assert shown_errors == 0, (
            f"{shown_errors} widget(s) failed to render in JupyterLab."
            + chapter.context()
        )
        tracebacks = (
            page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            )
            .filter(has_text="Traceback (most recent call last)")
            .count()
        )
        assert tracebacks == 0, (
            f"{tracebacks} output area(s) show a traceback." + chapter.context()
        )

        # Every slider of the chapter, in order: drag it to its other end.
        start = time.monotonic()
        n_sliders, failures = _move_every_slider(page, chapter, record_property)
        sliders_seconds = time.monotonic() - start
        assert n_sliders >= 1, (
            f"{notebook} shows no slider widget after Run All:\n"
            + _describe_cells(state)
            + chapter.context()
        )
        assert not failures, (
            f"in {notebook}, {len(failures)} of {n_sliders} sliders failed in "
            "JupyterLab:\n  "
            + "\n  ".join(failures)
            + f"\nscreenshots in {shots}"
            + chapter.context()
        )
        for key, value in (
            ("open_seconds", chapter.open_seconds),
            ("run_all_seconds", run_seconds),  # in the kernel, first cell to last
            ("waited_seconds", finished - waited),
            ("sliders_seconds", sliders_seconds),
        ):
            if value is not None:
                record_property(key, round(value, 1))
        record_property("sliders", n_sliders)
        run = "(no timing)" if run_seconds is None else f"{run_seconds:.1f} s"
        print(
            f"\nJupyterLab, {notebook}: opened in {chapter.open_seconds:.1f} s, Run "
            f"All {run} (this test waited {finished - waited:.1f} s for it), "
            f"{n_sliders} sliders moved in {sliders_seconds:.1f} s; screenshots in "
            f"{shots}"
        )
    finally:
        lab_chapters.close(notebook)
