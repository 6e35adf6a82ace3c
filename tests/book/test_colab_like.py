"""What a student on Google Colab gets: each chapter alone,
in an environment without lectlib.

Colab opens one notebook, not the repository. Its Python already has ipykernel and
ipywidgets (7.7, which has no ``Stack``), but not lectlib; the notebook's first cell
installs lectlib, and the data must come from lectlib rather than from a ``data/``
folder next to the notebook.

The test builds that situation once per module: a fresh virtual environment (no system
site packages) holding only Colab's ``ipykernel==6.17.1`` and ``ipywidgets==7.7.1``, a
kernelspec for the fresh Python registered in a temporary ``JUPYTER_PATH``, and
``LECTLIB_SOURCE`` pointing the install cell at a copy of this checkout (instead of the
public repository). A copy, because pip builds a local directory in place and
setuptools would leave a ``build/`` folder in the working tree; ``pip install git+URL``
likewise builds in a fresh clone. Versions of everything else are held to
``requirements.txt`` through ``PIP_CONSTRAINT``, which the in-notebook ``pip install``
obeys too.

Then every chapter (one test each, in course order) is copied alone into an empty folder
and run top to bottom with nbclient, in a new kernel of that environment. The first
chapter's install cell installs lectlib; the later chapters find it installed, as on
Colab after the first install in a runtime, and their install cell must leave the
environment untouched. From then on the next chapter runs in the background while the
current one is checked (``CHAPTERS_AT_ONCE`` in ``tests/helpers.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from helpers import CHAPTERS, CHAPTERS_AT_ONCE, REPO, upcoming_params

pytestmark = pytest.mark.slow

#: Every chapter, in course order (a new chapter is tested as soon as it is added).
NOTEBOOKS = [p.name for p in sorted(CHAPTERS.glob("*.ipynb"))]
# Colab's versions (2024-2025 runtime). ipykernel 6.17.1
# installs and runs on Python 3.11.
COLAB_PACKAGES = ["ipykernel==6.17.1", "ipywidgets==7.7.1"]
# Pins of requirements.txt that must not constrain the Colab-like environment.
NOT_CONSTRAINED = {
    "ipywidgets",
    "widgetsnbextension",
    "jupyterlab-widgets",
    "ipykernel",
}
INSTALL_CELL_TIMEOUT = (
    600  # s: the first cell pip-installs lectlib and its dependencies
)
CELL_TIMEOUT = 300  # s for every other cell
KERNEL_NAME = "lectlib-colab-like"

# Appended (in memory only) after the notebook's own cells, in the same kernel: what the
# notebook left behind, and whether its first slider works through the ipywidgets 7
# fallback.
PROBE = textwrap.dedent(
    """
    import json as _json, sys as _sys
    import ipywidgets as _widgets
    import lectlib as _lectlib
    import lectlib.datasets.registry as _datasets
    import lectlib.widgets as _lw
    from sklearn.utils import Bunch as _Bunch

    _registry = getattr(_widgets.Widget, "widgets", None)
    _registry = _registry or getattr(_widgets.Widget, "_active_widgets", {})
    _frame_sliders = [
        w for w in list(_registry.values()) if isinstance(w, _lw.FrameSlider)
    ]
    _probe = {
        "executable": _sys.executable,
        "ipywidgets": _widgets.__version__,
        "has_stack": _lw.HAS_STACK,
        "lectlib_file": _lectlib.__file__,
        "data_dir": (
            None if _datasets._data_dir() is None else str(_datasets._data_dir())
        ),
        "dataset_sources": sorted({str(v.source) for v in list(globals().values())
                                   if isinstance(v, _Bunch) and "source" in v}),
        "module_files": sorted(
            {getattr(m, "__file__", None) or "" for m in list(_sys.modules.values())}
        ),
        "n_frame_sliders": len(_frame_sliders),
    }
    if _frame_sliders and not _lw.HAS_STACK:
        _fs = _frame_sliders[0]
        _slider = next(iter(_fs.sliders.values()))
        _image = _fs.children[-1]
        _before = bytes(_image.value)
        _label_before = _slider.label
        _last = len(_slider.options) - 1  # move it to the other end
        _slider.index = _last if _slider.index < _last else 0
        _probe["slider"] = {
            "display": type(_image).__name__,
            "label_before": _label_before,
            "label_after": _slider.label,
            "image_changed": bytes(_image.value) != _before,
            "image_is_current_frame": bytes(_image.value) == _fs.current_frame(),
        }
    print("LECTLIB-PROBE " + _json.dumps(_probe))
    """
)

FRESH_CHECK = textwrap.dedent(
    """
    import importlib.metadata, json, sysconfig
    import ipywidgets, lectlib, lectlib.datasets.registry
    d = lectlib.datasets.registry._data_dir()
    print(json.dumps({
        "installed": {
            dist.metadata["Name"]: dist.version
            for dist in importlib.metadata.distributions()
        },
        "lectlib_file": lectlib.__file__,
        "purelib": sysconfig.get_paths()["purelib"],
        "data_dir": None if d is None else str(d),
        "ipywidgets": ipywidgets.__version__,
    }))
    """
)


def _constraints(path: Path) -> Path:
    """requirements.txt as a pip constraints file,
    less ``-e .`` and the Colab-owned packages."""
    lines = []
    for raw in (REPO / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            pytest.fail(
                f"requirements.txt line {raw!r} is not a valid requirement: {exc}"
            )
        if canonicalize_name(req.name) in NOT_CONSTRAINED:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue  # pins for other Pythons; keep the file marker-free
        req.marker = None
        req.extras = set()  # pip refuses extras in a constraint ("dask[array]")
        lines.append(str(req))
    path.write_text("\n".join(lines) + "\n")
    return path


def _copy_checkout(dest: Path) -> Path:
    """The working tree as it is (uncommitted changes included), without VCS,
    venvs and builds."""
    shutil.copytree(
        REPO,
        dest,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            ".venv-*",
            "venv",
            "_build",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".hypothesis",
            ".jupyter_cache",
            ".ipynb_checkpoints",
        ),
    )
    return dest


def _run(cmd, env, what, timeout, cwd=None):
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{what} took more than {timeout} s: "
            f"{cmd}\n{exc.stdout or ''}\n{exc.stderr or ''}"
        )
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {proc.returncode}): {cmd}\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    return proc.stdout


def _clean_env(venv: Path, **extra):
    """The environment of a process of the fresh venv:
    nothing pointing at the course's .venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "PYTHONPATH",
            "PYTHONHOME",
            "PYTHONSTARTUP",
            "VIRTUAL_ENV",
            "MPLBACKEND",
            "LECTLIB_SOURCE",
            "PIP_CONSTRAINT",
            "PIP_REQUIRE_VIRTUALENV",
            "CONDA_PREFIX",
        }
    }
    main_bin = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != main_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin")] + path)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _site_packages(venv: Path) -> Path:
    (purelib,) = venv.glob("lib/python3*/site-packages")
    return purelib


def _distributions(venv: Path):
    """The fresh venv's installed distributions (their ``.dist-info`` folders, which
    name the version), and the ``RECORD`` file of lectlib's, or None."""
    infos = sorted(p.name for p in _site_packages(venv).glob("*.dist-info"))
    records = list(_site_packages(venv).glob("lectlib-*.dist-info/RECORD"))
    return infos, (records[0] if records else None)


def _identity(path):
    """What changes when pip rewrites a file: its inode and modification time."""
    if path is None:
        return None
    st = path.stat()
    return (str(path), st.st_ino, st.st_mtime_ns)


def _cell_seconds(cell):
    """How long nbclient saw the cell run (its recorded timing), or None."""
    from datetime import datetime

    timing = cell.metadata.get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].rstrip("Z"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].rstrip("Z"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


class ChapterRun:
    """A chapter run top to bottom by a new kernel of the fresh environment: the
    executed notebook, and the environment's packages before and after."""

    def __init__(self, colab, notebook):
        self.notebook = notebook
        self.folder = colab.base / f"content-{Path(notebook).stem}"  # Colab: /content
        self.failure = None  # the CellExecutionError or CellTimeoutError, if any
        self.install_seconds = None

        self.folder.mkdir()
        self.infos_before, record = _distributions(colab.venv)
        self.installed_before = record is not None
        self.record_before = _identity(record)

        shutil.copy2(CHAPTERS / notebook, self.folder / notebook)
        nb = self.nb = nbformat.read(self.folder / notebook, as_version=4)
        self.n_cells = len(nb.cells)
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        self.install_cell = nb.cells[first_code]
        self.has_install_cell = "LECTLIB_SOURCE" in self.install_cell.source
        if not self.has_install_cell:
            return
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        client = NotebookClient(
            nb,
            kernel_name=KERNEL_NAME,
            timeout_func=lambda cell: (
                INSTALL_CELL_TIMEOUT if cell is self.install_cell else CELL_TIMEOUT
            ),
            allow_errors=False,
            resources={"metadata": {"path": str(self.folder)}},
        )
        start = time.monotonic()
        try:
            client.execute(env=colab.kernel_env(notebook))
        except (CellExecutionError, CellTimeoutError) as exc:
            self.failure = exc
        self.seconds = time.monotonic() - start
        self.install_seconds = _cell_seconds(self.install_cell)
        self.infos_after, record = _distributions(colab.venv)
        self.record_after = _identity(record)


class ColabLike:
    """The fresh Colab-like environment the chapters share.

    Once lectlib is installed (by the first chapter's install cell), the next chapter's
    run starts in a background thread while the current one is checked: up to
    ``CHAPTERS_AT_ONCE`` kernels at a time.
    """

    def __init__(self, base: Path):
        self.base = base
        self.venv = base / "colab-venv"
        self.python = self.venv / "bin" / "python"
        self.constraints = _constraints(base / "constraints.txt")
        self.jupyter = base / "jupyter"
        self.source = None
        self.verified = None  # the venv's state last checked from outside (step 6)
        self.ahead = {}  # notebook -> Future of its ChapterRun
        self.pool = ThreadPoolExecutor(max_workers=max(1, CHAPTERS_AT_ONCE - 1))

    def create(self, monkeypatch):
        # 1. A Python with what Colab has that matters here, and no lectlib.
        _run(
            [sys.executable, "-m", "venv", str(self.venv)],
            None,
            "creating the fresh venv",
            120,
        )
        env = _clean_env(self.venv, PIP_CONSTRAINT=self.constraints)
        _run(
            [str(self.python), "-m", "pip", "install", "--quiet", *COLAB_PACKAGES],
            env,
            "installing Colab's ipykernel and ipywidgets into the fresh venv",
            600,
        )
        probe_lectlib = (
            "import importlib.util, sys; "
            "sys.exit(importlib.util.find_spec('lectlib') is not None)"
        )
        _run(
            [str(self.python), "-c", probe_lectlib],
            env,
            "checking that the fresh venv has no lectlib yet",
            60,
            cwd=self.base,
        )

        # 2. Its kernelspec, in a temporary JUPYTER_PATH only.
        _run(
            [
                str(self.python),
                "-m",
                "ipykernel",
                "install",
                "--prefix",
                str(self.jupyter),
                "--name",
                KERNEL_NAME,
                "--display-name",
                "Python 3 (Colab-like)",
            ],
            env,
            "registering the fresh venv's kernel",
            60,
        )
        kernelspec = (
            self.jupyter / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
        )
        assert json.loads(kernelspec.read_text())["argv"][0] == str(self.python), (
            kernelspec.read_text()
        )
        monkeypatch.setenv("JUPYTER_PATH", str(self.jupyter / "share" / "jupyter"))
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(self.base / "runtime"))
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(self.base / "jupyter-data"))
        monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(self.base / "jupyter-config"))
        self.source = _copy_checkout(self.base / "checkout")

    def kernel_env(self, notebook):
        return _clean_env(
            self.venv,
            PIP_CONSTRAINT=self.constraints,
            LECTLIB_SOURCE=self.source,
            # Its own IPython folder: kernels running at once share no history file.
            IPYTHONDIR=self.base / f"ipython-{Path(notebook).stem}",
        )

    def start_ahead(self, upcoming):
        """Start the next chapters' runs, once lectlib is installed."""
        if _distributions(self.venv)[1] is None:
            return
        for notebook in upcoming[: CHAPTERS_AT_ONCE - 1]:
            if notebook not in self.ahead:
                self.ahead[notebook] = self.pool.submit(ChapterRun, self, notebook)

    def run(self, notebook):
        """The chapter's run: started ahead, or now."""
        future = self.ahead.pop(notebook, None)
        return future.result() if future is not None else ChapterRun(self, notebook)

    def remove(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
        for heavy in (self.venv, self.base / "checkout"):
            shutil.rmtree(heavy, ignore_errors=True)


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """One fresh Colab-like environment for all the chapters' tests (created once:
    a venv with Colab's packages takes half a minute)."""
    env = ColabLike(tmp_path_factory.mktemp("colab-like"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        try:
            env.create(monkeypatch)
            yield env
        finally:
            env.remove()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda name: Path(name).stem)
def test_chapter_installs_lectlib_and_runs_like_on_colab(
    colab, notebook, request, record_property
):
    # 3. The notebook alone in an empty folder, run top to bottom by a new kernel of
    #    the fresh environment. The first chapter to run installs lectlib; the next
    #    chapter starts as soon as this one has run.
    upcoming = upcoming_params(request, "notebook")
    colab.start_ahead(upcoming)
    run = colab.run(notebook)
    colab.start_ahead(upcoming)
    venv, source, folder, nb = colab.venv, colab.source, run.folder, run.nb
    assert run.has_install_cell, (
        f"the first code cell of {notebook} is no longer the install cell "
        "honouring LECTLIB_SOURCE"
    )
    if run.failure is not None:
        probe_failed = any(o.output_type == "error" for o in nb.cells[-1].outputs)
        where = (
            "the test's probe cell (run after the notebook)"
            if probe_failed
            else notebook
        )
        pytest.fail(f"{where} failed in the Colab-like environment:\n{run.failure}")

    errors = [
        (i, o.get("ename"), o.get("evalue"))
        for i, c in enumerate(nb.cells[: run.n_cells])
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"cells with error outputs (index, exception, message): {errors}"
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code"), (
        "some cells did not run"
    )

    printed = "".join(
        o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream"
    )
    probe_lines = [ln for ln in printed.splitlines() if ln.startswith("LECTLIB-PROBE ")]
    assert probe_lines, f"the probe cell printed nothing usable: {nb.cells[-1].outputs}"
    probe = json.loads(probe_lines[-1][len("LECTLIB-PROBE ") :])
    print(
        f"\nColab-like kernel, {notebook}:",
        json.dumps({k: v for k, v in probe.items() if k != "module_files"}, indent=1),
    )

    # 4. What the student's kernel saw.
    assert Path(probe["executable"]).parent == venv / "bin", probe["executable"]
    assert probe["ipywidgets"] == "7.7.1", (
        f"the kernel ran ipywidgets {probe['ipywidgets']}"
    )
    assert probe["has_stack"] is False, "lectlib thinks ipywidgets 7.7.1 has Stack"
    assert probe["data_dir"] is None, (
        f"lectlib found a data folder: {probe['data_dir']}"
    )
    assert all(src == "generated" for src in probe["dataset_sources"]), (
        f"datasets in the notebook came from files: {probe['dataset_sources']}"
    )
    from_repo = [
        f
        for f in probe["module_files"]
        if f and any(Path(f).resolve().is_relative_to(p) for p in (REPO, source))
    ]
    assert not from_repo, (
        f"the kernel imported modules from the course checkout: {from_repo}"
    )
    assert probe["n_frame_sliders"] >= 1, (
        f"{notebook} shows no slider (FrameSlider) any more"
    )
    slider = probe.get("slider")
    assert slider, f"no kernel-side slider check ran: {probe}"
    assert slider["display"] == "Image", (
        f"without Stack the frames should sit in one Image: {slider}"
    )
    assert slider["label_after"] != slider["label_before"], (
        f"the slider did not move: {slider}"
    )
    assert slider["image_changed"] and slider["image_is_current_frame"], (
        "with ipywidgets 7 moving the first slider did not swap its frame (kernel "
        f"callback): {slider}"
    )
    assert sorted(p.name for p in folder.iterdir()) == [notebook], (
        "the notebook's folder should hold only the notebook, it holds "
        f"{sorted(os.listdir(folder))}"
    )

    # 5. With lectlib installed already (as on Colab after the first install), the
    #    install cell must be a no-op: nothing installed, upgraded or reinstalled.
    if run.installed_before:
        assert run.record_after == run.record_before, (
            f"the install cell of {notebook} reinstalled lectlib, which was installed"
        )
        assert run.infos_after == run.infos_before, (
            f"running {notebook} changed the fresh venv's packages: added "
            f"{sorted(set(run.infos_after) - set(run.infos_before))}, removed "
            f"{sorted(set(run.infos_before) - set(run.infos_after))}"
        )
    else:
        assert run.record_after is not None, (
            f"the install cell of {notebook} did not install lectlib"
        )

    # 6. The fresh venv itself, asked from outside the notebook (again only when its
    #    packages changed since it was last asked).
    if colab.verified != (run.infos_after, run.record_after):
        fresh = json.loads(
            _run(
                [str(colab.python), "-I", "-c", FRESH_CHECK],
                _clean_env(venv),
                "importing lectlib in the fresh venv",
                120,
                cwd=folder,
            )
        )
        lectlib_file = Path(fresh["lectlib_file"]).resolve()
        assert lectlib_file.is_relative_to(Path(fresh["purelib"]).resolve()), (
            f"lectlib is imported from {lectlib_file}, not from the fresh venv's "
            f"site-packages {fresh['purelib']}"
        )
        assert not any(lectlib_file.is_relative_to(p) for p in (REPO, source)), (
            f"lectlib is imported from the checkout: {lectlib_file}"
        )
        assert fresh["ipywidgets"] == "7.7.1", (
            "installing lectlib changed Colab's ipywidgets 7.7.1 to "
            f"{fresh['ipywidgets']}"
        )
        assert fresh["data_dir"] is None, (
            f"installed lectlib still finds a data folder: {fresh['data_dir']}"
        )
        installed = {
            canonicalize_name(name): version
            for name, version in fresh["installed"].items()
        }
        pins = {
            canonicalize_name(r.name): r.specifier
            for r in map(Requirement, colab.constraints.read_text().splitlines())
        }
        off_pin = {
            name: (installed[name], str(spec))
            for name, spec in pins.items()
            if name in installed and installed[name] not in spec
        }
        assert not off_pin, (
            "packages installed against requirements.txt's pins (installed, pin): "
            f"{off_pin}"
        )
        assert {"numpy", "scipy", "matplotlib", "scikit-learn"} <= installed.keys(), (
            sorted(installed)
        )
        colab.verified = (run.infos_after, run.record_after)

    record_property("run_seconds", round(run.seconds, 1))
    if run.install_seconds is not None:
        record_property("install_cell_seconds", round(run.install_seconds, 1))
    install = (
        "(no timing)" if run.install_seconds is None else f"{run.install_seconds:.1f} s"
    )
    print(
        f"Colab-like, {notebook}: run in {run.seconds:.1f} s, install cell {install}"
        + (" (lectlib was installed already)" if run.installed_before else "")
    )
