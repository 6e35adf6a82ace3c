"""The chapter notebooks as files: stored clean, listed in the book,
built to the course's pattern.

Running them is nbval's job (``--nbval-lax`` over ``chapters/`` in pytest's addopts) and
the book build's (tests/book/test_book.py).
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from helpers import CHAPTERS, REPO

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


def _toc_files():
    text = (REPO / "_toc.yml").read_text()
    return re.findall(r"^\s*-?\s*file:\s*(\S+)", text, re.MULTILINE)


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; clear them"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_valid_notebook_with_python_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    toc = _toc_files()
    notebooks_in_toc = {
        f for f in toc if f.startswith("chapters/") and (REPO / f"{f}.ipynb").is_file()
    }
    on_disk = {f"chapters/{p.stem}" for p in NOTEBOOKS}
    assert notebooks_in_toc == on_disk
    pages_on_disk = {f"chapters/{p.stem}" for p in CHAPTERS.glob("*.md")}
    assert pages_on_disk <= set(toc), (
        f"pages in chapters/ missing from _toc.yml: {pages_on_disk - set(toc)}"
    )
    for entry in toc:
        candidates = [REPO / f"{entry}{suffix}" for suffix in (".md", ".ipynb", "")]
        assert any(c.is_file() for c in candidates), (
            f"_toc.yml entry {entry} has no file"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_then_a_hidden_install_cell(path):
    """The page opens with its title; the next cell installs lectlib when it is missing
    (on Colab) and is run but not shown on the site."""
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and re.fullmatch(
        r"# [^\n]+", cells[0].source.strip()
    )
    first = cells[1]
    assert first.cell_type == "code"
    source = first.source
    assert 'importlib.util.find_spec("lectlib") is None' in source
    assert "LECTLIB_SOURCE" in source and re.search(
        r'^LECTLIB_REPOSITORY = "https://', source, re.M
    )
    assert "remove-cell" in first.metadata.get("tags", [])
    # It installs lectlib, so it must not need it.
    assert not re.search(r"^\s*(import|from)\s+lectlib", source, re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_pattern(path):
    """Slider, checkpoints that assert, exercises with solutions, references,
    no data paths."""
    cells = nbformat.read(path, as_version=4).cells
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert re.search(r"\b(interact|cube_browser)\(", code), "no slider"
    checkpoints = [c for c in cells if "checkpoint" in c.metadata.get("tags", [])]
    assert checkpoints and all("assert " in c.source for c in checkpoints)
    assert markdown.count("{exercise}") >= 2
    assert markdown.count("{solution-start}") == markdown.count("{solution-end}") >= 2
    assert "{footbibliography}" in markdown or "{bibliography}" in markdown
    # Data come from lectlib, never from a relative path
    # (Colab opens the notebook alone).
    assert not re.search(r"""["'](\.\./)?data/""", code)
    assert not re.search(r"allow_pickle\s*=\s*True", code)
