"""JupyterLab in a real browser: Run All on chapter 01 through the menus,
then move a slider.

This is what a student does on their own machine or on Binder: open the notebook in
JupyterLab, choose Run > Run All Cells, and drag the first slider. The test checks that
every cell ran without an error and that dragging the slider changes the figure under it
in the browser (the frames are switched by the widget JavaScript, no kernel round trip
involved).

The chapters are copied to a temporary folder first (JupyterLab autosaves, and the
repository's notebooks are kept without outputs), and the server keeps its runtime
files, settings and workspaces in temporary folders too. A screenshot of the notebook
after the slider moved is left in ``$LECTLIB_SCREENSHOTS`` (a directory) when it is set,
otherwise in the test's tmp folder.
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

from helpers import CHAPTERS, free_port, screenshot_dir

NOTEBOOK = "01_linear_mixing.ipynb"
SERVER_START_TIMEOUT = 90  # s until /api/status answers
KERNEL_READY_TIMEOUT = 90  # s until the notebook's kernel is idle
RUN_ALL_TIMEOUT = 180  # s for Run All Cells to finish
STOP_TIMEOUT = 20  # s between terminate and kill

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

    def kernel_processes(self):
        """Pids of live processes started with a connection file in
        this server's runtime dir."""
        runtime = str(self.base / "runtime")
        pids = []
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
                pids.append(int(entry.name))
        return pids

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


# JavaScript run in the page. `window.jupyterapp` is
# exposed by --LabApp.expose_app_in_browser.
_JS_NOTEBOOK_PANEL = """
() => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path && w.context.path.endsWith(%s)
        && w.content && w.content.model)
      return w;
  }
  return null;
}
""" % json.dumps(NOTEBOOK)

_JS_KERNEL_IDLE = (
    """
() => {
  const panel = (%s)();
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
() => {
  const panel = (%s)();
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
() => {
  const s = (%s)();
  if (!s || s.cells.length === 0 || s.kernel !== 'idle') return false;
  if (s.prompts.some(p => p.includes('*'))) return false;
  return s.cells.some(c => c.outputs.some(o => o.output_type === 'error'))
    || s.cells.every(c => typeof c.count === 'number' && c.count > 0);
}
"""
    % _JS_CELL_STATE
)

# Marks the first slider in an output area,
# its FrameSlider box and the image it shows now.
_JS_MARK_FIRST_SLIDER = """
() => {
  for (const el of document.querySelectorAll('[data-lectlib-test]'))
    el.removeAttribute('data-lectlib-test');
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const slider = document.querySelector(
    '.jp-OutputArea-output .widget-slider, .jp-OutputArea-output .widget-hslider'
  );
  if (!slider) return {error: 'no slider widget in any output area'};
  let box = slider.parentElement;
  while (box && !(box.classList.contains('widget-box') && box.querySelector('img')))
    box = box.parentElement;
  if (!box) return {error: 'the first slider has no image widget around it'};
  const images = Array.from(box.querySelectorAll('img')).filter(visible);
  const n = images.length;
  if (n !== 1)
    return {error: `expected one visible image under the slider, found ${n}`};
  slider.setAttribute('data-lectlib-test', 'slider');
  box.setAttribute('data-lectlib-test', 'box');
  images[0].setAttribute('data-lectlib-test', 'image');
  const readout = slider.querySelector('.widget-readout');
  return {
    src: images[0].getAttribute('src'),
    readout: readout ? readout.textContent.trim() : null,
    n_images: box.querySelectorAll('img').length,
  };
}
"""

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


def _describe_cells(state):
    lines = []
    for c in (state or {}).get("cells", []):
        kinds = [o.get("output_type") for o in c["outputs"]]
        lines.append(
            f"  cell {c['index']}: execution count {c['count']}, outputs {kinds}"
        )
    return "\n".join(lines) or "  (no code cells found)"


def test_run_all_and_move_slider_in_jupyterlab(browser, tmp_path, record_property):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    root = tmp_path / "notebooks"
    shutil.copytree(
        CHAPTERS,
        root,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build", "__pycache__"),
    )
    assert (root / NOTEBOOK).is_file(), f"{NOTEBOOK} is missing from {CHAPTERS}"

    server = LabServer(tmp_path / "lab", root)
    page = None
    try:
        server.start()
        page = browser.new_page()
        console = []
        page.on(
            "console",
            lambda m: (
                console.append(f"{m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

        def context():
            return (
                "\nBrowser console errors:\n"
                + ("\n".join(console[-20:]) or "  (none)")
                + f"\nServer log (tail):\n{server.log(3000)}"
            )

        page.goto(
            f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}",
            wait_until="domcontentloaded",
        )
        try:
            page.wait_for_function(
                _JS_KERNEL_IDLE, timeout=KERNEL_READY_TIMEOUT * 1000, polling=250
            )
            page.wait_for_selector(
                ".jp-NotebookPanel .jp-Notebook .jp-CodeCell", timeout=10_000
            )
        except PlaywrightTimeout:
            page.screenshot(path=str(screenshot_dir(tmp_path) / "lab-open-failed.png"))
            pytest.fail(
                f"JupyterLab did not open {NOTEBOOK} with an idle kernel within "
                f"{KERNEL_READY_TIMEOUT} s." + context()
            )

        # Run > Run All Cells, through JupyterLab's own menu bar.
        page.locator(
            "#jp-menu-panel .lm-MenuBar-item",
            has=page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")),
        ).click()
        page.locator(
            ".lm-Menu .lm-Menu-item:not(.lm-mod-disabled)",
            has=page.locator(
                ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")
            ),
        ).click()
        start = time.monotonic()
        try:
            page.wait_for_function(
                _JS_RUN_FINISHED, timeout=RUN_ALL_TIMEOUT * 1000, polling=500
            )
        except PlaywrightTimeout:
            state = page.evaluate(_JS_CELL_STATE)
            page.screenshot(
                path=str(screenshot_dir(tmp_path) / "lab-run-all-timeout.png")
            )
            pytest.fail(
                f"Run All Cells did not finish within {RUN_ALL_TIMEOUT} s; prompts "
                f"{(state or {}).get('prompts')}, kernel "
                f"{(state or {}).get('kernel')}:\n" + _describe_cells(state) + context()
            )
        run_seconds = time.monotonic() - start
        record_property("run_all_seconds", round(run_seconds, 1))

        state = page.evaluate(_JS_CELL_STATE)
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
        shown_errors = (
            page.locator(".jp-OutputArea-output")
            .filter(has_text="Error displaying widget")
            .count()
        )
        assert shown_errors == 0, (
            f"{shown_errors} widget(s) failed to render in JupyterLab." + context()
        )
        tracebacks = (
            page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            )
            .filter(has_text="Traceback (most recent call last)")
            .count()
        )
        assert tracebacks == 0, (
            f"{tracebacks} output area(s) show a traceback." + context()
        )

        # The first slider in any output, its box, and the image it shows.
        try:
            page.wait_for_selector(
                ".jp-OutputArea-output .widget-slider .noUi-handle", timeout=20_000
            )
        except PlaywrightTimeout:
            pytest.fail(
                "no slider widget (a noUiSlider handle inside an output area) "
                "appeared after Run All:\n" + _describe_cells(state) + context()
            )
        before = page.evaluate(_JS_MARK_FIRST_SLIDER)
        assert "error" not in before, before["error"] + context()
        slider = page.locator('[data-lectlib-test="slider"]')
        image_before = page.locator(
            '[data-lectlib-test="image"]'
        ).screenshot()  # scrolls it into view

        # Drag the handle to the right end of its track with the mouse. hover() scrolls
        # the handle into view and checks that nothing covers it.
        handle = slider.locator(".noUi-handle").first
        track = slider.locator(".noUi-target").first
        handle.hover(timeout=10_000)
        hb, tb = handle.bounding_box(), track.bounding_box()
        assert hb and tb and tb["width"] > 20, (
            f"the slider has no usable size: handle {hb}, track {tb}"
        )
        page.mouse.down()
        page.mouse.move(
            tb["x"] + tb["width"] + 40, tb["y"] + tb["height"] / 2, steps=15
        )
        page.mouse.up()

        try:
            page.wait_for_function(
                "([src, readout]) => { const s = (%s)(); "
                "return !s.error && (s.src !== src) && (s.readout !== readout); }"
                % _JS_VISIBLE_IMAGE,
                arg=[before["src"], before["readout"]],
                timeout=10_000,
                polling=100,
            )
        except PlaywrightTimeout:
            pass  # reported by the assertions below
        after = page.evaluate(_JS_VISIBLE_IMAGE)
        assert "error" not in after, after["error"] + context()
        page.locator('[data-lectlib-test="image"]').scroll_into_view_if_needed()
        image_after = page.locator('[data-lectlib-test="image"]').screenshot()

        shots = screenshot_dir(tmp_path)
        (shots / "lab-slider-image-before.png").write_bytes(image_before)
        (shots / "lab-slider-image-after.png").write_bytes(image_after)
        slider.scroll_into_view_if_needed()
        screenshot = shots / "lab-01_linear_mixing-after-slider.png"
        page.screenshot(path=str(screenshot))
        record_property("screenshot", str(screenshot))
        print(f"\nJupyterLab screenshot after moving the slider: {screenshot}")

        assert after["readout"] != before["readout"], (
            f"the slider's read-out stayed {before['readout']!r} after dragging its "
            "handle to the right end"
        )
        assert after["src"] != before["src"], (
            "dragging the slider did not switch the image shown under it (read-out "
            f"{before['readout']!r} -> {after['readout']!r}); screenshot {screenshot}"
        )
        same_pixels = image_after == image_before
        assert not same_pixels, (
            "the image under the slider looks the same after moving the slider "
            f"(read-out {before['readout']!r} -> {after['readout']!r}); "
            f"screenshot {screenshot}"
        )
    finally:
        if page is not None:
            page.close()
        server.stop()
        left = server.kernel_processes()
        for pid in left:  # kernels this test's server started and did not shut down
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
