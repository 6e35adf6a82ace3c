"""All the course's code is in ruff's format, and no line is longer than 88 columns.

``ruff format`` writes the style and ``ruff check`` applies the rules that
pyproject.toml selects (E501: at most 88 columns, so that code fits the site's code
blocks without scrolling) to lectlib, the tests, the benchmarks, the book's Sphinx
extension and the code cells of the chapter notebooks. The ruff that runs is the
environment's, pinned in requirements.txt: another version may format differently.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

#: What is checked, relative to the repository root. ``chapters`` holds the notebooks
#: and ``chapters/_ext``; pyproject.toml's ``extend-exclude`` leaves out the virtual
#: environments and the built book.
PATHS = ["lectlib", "tests", "benchmarks", "chapters"]


def _ruff_command():
    """The environment's ruff: the executable beside Python's, or ``python -m ruff``."""
    sibling = Path(sys.executable).with_name("ruff")
    if sibling.is_file():
        return [str(sibling)]
    return [sys.executable, "-m", "ruff"]


def _run(*args):
    return subprocess.run(
        [*_ruff_command(), *args, "--no-cache", *PATHS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_is_the_pinned_version():
    pin = re.search(
        r"^ruff==([\w.]+)", (REPO / "requirements.txt").read_text(), re.MULTILINE
    )
    assert pin, "requirements.txt does not pin ruff"
    version = subprocess.run(
        [*_ruff_command(), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    assert version == pin.group(1), (
        f"ruff {version} runs, requirements.txt pins {pin.group(1)}"
    )


def test_code_is_formatted():
    result = _run("format", "--diff")
    if result.returncode != 0:
        pytest.fail(
            "`ruff format` would change these files (run `.venv/bin/ruff format "
            f"{' '.join(PATHS)}`):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )


def test_no_line_is_too_long():
    result = _run("check", "--output-format", "full")
    if result.returncode != 0:
        pytest.fail(
            "`ruff check` finds these lines (wrap comments, docstrings and strings "
            f"by hand):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
