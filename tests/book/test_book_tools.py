"""Tests of the build tooling in chapters/_ext/repository.py: the repository URL, defined once.

``_config.yml``'s ``repository.url`` is the single definition; every chapter's first cell names
the same URL in its ``LECTLIB_REPOSITORY = "..."`` line (written there by ``make repo-url``).
The rewriting tests work on temporary copies, never on the checkout.
"""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest
import yaml

from repository import install_cell_urls, repository_url, set_repository_url

NEW_URL = "https://github.com/example-org/spectro-course_2.0"


def _yaml_url(text):
    """repository.url read with a YAML parser (independent of repository.py's regex)."""
    return yaml.safe_load(text)["repository"]["url"]


def _notebook(first_source, more_cells=()):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(first_source), *more_cells]
    return nb


@pytest.fixture
def repo_copy(tmp_path, repo_root):
    """_config.yml and chapters/*.ipynb of the checkout, copied to a temporary root."""
    shutil.copy(repo_root / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "chapters").mkdir()
    for path in sorted((repo_root / "chapters").glob("*.ipynb")):
        shutil.copy(path, tmp_path / "chapters" / path.name)
    return tmp_path


# ----------------------------------------------------------- the real repository agrees


def test_every_chapter_installs_from_the_configured_repository(repo_root):
    """The "defined in one place" guarantee: all install cells name _config.yml's URL."""
    config_url = repository_url(repo_root)
    assert config_url == _yaml_url((repo_root / "_config.yml").read_text())
    urls = install_cell_urls(repo_root)
    chapters = sorted(p.name for p in (repo_root / "chapters").glob("*.ipynb"))
    assert chapters, "no chapter notebooks found"
    assert sorted(urls) == chapters
    missing = [name for name, url in urls.items() if url is None]
    assert not missing, (
        f"chapters without a LECTLIB_REPOSITORY line in their install cell: {missing}"
    )
    wrong = {name: url for name, url in urls.items() if url != config_url}
    assert not wrong, f"install cells disagree with _config.yml ({config_url}): {wrong}"


def test_install_cell_url_is_the_string_in_the_install_cell(repo_root):
    # cross-check install_cell_urls against the notebooks read with nbformat: the install
    # cell is the first code cell, right after the title
    urls = install_cell_urls(repo_root)
    for path in sorted((repo_root / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(
            "# "
        )
        first = nb.cells[1]
        assert first.cell_type == "code"
        found = re.findall(
            r'^LECTLIB_REPOSITORY = "([^"]*)"', first.source, re.MULTILINE
        )
        assert found == [urls[path.name]]


# ------------------------------------------------------------------------ repository_url


@pytest.mark.parametrize(
    "config",
    [
        "title: T\nrepository:\n  url: https://github.com/a/b\n  branch: main\n",
        "repository:\n  branch: main\n  path_to_book: ''\n  url: https://github.com/a/b\n",
        'repository:\n  url: "https://github.com/a/b"\n',
        "repository:\n  url: 'https://github.com/a/b'  # the course\n",
        "html:\n  url: https://example.org/wrong\nrepository:\n  # where lectlib is installed from\n"
        "  url: https://github.com/a/b\nlaunch_buttons:\n  url: https://example.org/wrong2\n",
    ],
)
def test_repository_url_reads_repository_block(tmp_path, config):
    (tmp_path / "_config.yml").write_text(config)
    assert repository_url(tmp_path) == "https://github.com/a/b" == _yaml_url(config)


@pytest.mark.parametrize(
    "config",
    [
        "title: T\n",
        "repository:\n  branch: main\nhtml:\n  url: https://example.org/x\n",
        "url: https://github.com/a/b\n",
    ],
)
def test_repository_url_missing(tmp_path, config):
    (tmp_path / "_config.yml").write_text(config)
    with pytest.raises(ValueError, match=r"_config.yml has no repository.url"):
        repository_url(tmp_path)


# --------------------------------------------------------------------- install_cell_urls


def test_install_cell_urls_on_hand_made_notebooks(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    nbformat.write(
        _notebook(
            '# set-up\nLECTLIB_REPOSITORY = "https://github.com/x/y"\nimport os\n'
        ),
        chapters / "01_a.ipynb",
    )
    nbformat.write(_notebook("import numpy as np\n"), chapters / "02_b.ipynb")
    # the line in a later cell does not count: the install cell must come first
    later = nbformat.v4.new_code_cell('LECTLIB_REPOSITORY = "https://github.com/x/z"')
    nbformat.write(_notebook("x = 1\n", [later]), chapters / "03_c.ipynb")
    empty = nbformat.v4.new_notebook()
    nbformat.write(empty, chapters / "04_d.ipynb")
    (chapters / "notes.md").write_text("not a notebook")
    assert install_cell_urls(tmp_path) == {
        "01_a.ipynb": "https://github.com/x/y",
        "02_b.ipynb": None,
        "03_c.ipynb": None,
        "04_d.ipynb": None,
    }


# -------------------------------------------------------------------- set_repository_url


def test_set_repository_url_rewrites_config_and_chapters(repo_copy):
    old = repository_url(repo_copy)
    assert old != NEW_URL
    config_before = (repo_copy / "_config.yml").read_text()
    chapters = sorted((repo_copy / "chapters").glob("*.ipynb"))
    texts_before = {p: p.read_text() for p in chapters}
    nbs_before = {p: json.loads(t) for p, t in texts_before.items()}

    changed = set_repository_url(NEW_URL, repo_copy)

    assert sorted(changed) == sorted(
        [str(repo_copy / "_config.yml")] + [str(p) for p in chapters]
    )
    # both places agree on the new URL
    assert repository_url(repo_copy) == NEW_URL
    assert _yaml_url((repo_copy / "_config.yml").read_text()) == NEW_URL
    assert set(install_cell_urls(repo_copy).values()) == {NEW_URL}
    # _config.yml: only the url line changed
    after_lines = (repo_copy / "_config.yml").read_text().splitlines()
    before_lines = config_before.splitlines()
    assert len(after_lines) == len(before_lines)
    diff = [(b, a) for b, a in zip(before_lines, after_lines) if a != b]
    assert diff == [(f"  url: {old}", f"  url: {NEW_URL}")]

    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        after = json.loads(path.read_text())
        before = nbs_before[path]
        # everything but the install cell's source (cell 1, after the title) is untouched
        assert after["metadata"] == before["metadata"]
        assert (after["nbformat"], after["nbformat_minor"]) == (
            before["nbformat"],
            before["nbformat_minor"],
        )
        assert (
            after["cells"][:1] + after["cells"][2:]
            == before["cells"][:1] + before["cells"][2:]
        )
        first_before = {k: v for k, v in before["cells"][1].items() if k != "source"}
        first_after = {k: v for k, v in after["cells"][1].items() if k != "source"}
        assert first_after == first_before
        src_before = "".join(before["cells"][1]["source"])
        src_after = "".join(after["cells"][1]["source"])
        line_before, line_after = (
            f'LECTLIB_REPOSITORY = "{old}"',
            f'LECTLIB_REPOSITORY = "{NEW_URL}"',
        )
        assert src_after == src_before.replace(line_before, line_after)
        # and the file differs from the original only by the URL (a minimal diff for git)
        assert path.read_text() == texts_before[path].replace(old, NEW_URL)


def test_set_repository_url_is_idempotent(repo_copy):
    set_repository_url(NEW_URL, repo_copy)
    snapshot = {p: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()}
    assert set_repository_url(NEW_URL, repo_copy) == []
    assert {p: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()} == snapshot


def test_set_repository_url_round_trip(repo_copy):
    old = repository_url(repo_copy)
    originals = {p.name: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()}
    set_repository_url(NEW_URL, repo_copy)
    set_repository_url(old, repo_copy)
    assert {
        p.name: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()
    } == originals


@pytest.mark.parametrize(
    "url",
    [
        "github.com/org/repo",
        "http://github.com/org/repo",
        "https://github.com/org",
        "https://github.com/org/repo/",
        "https://github.com/org/repo/tree/main",
        'https://github.com/org/repo"; import os; "',
        "https://github.com/org/re po",
        "",
    ],
)
def test_set_repository_url_rejects_malformed_urls(repo_copy, url):
    snapshot = {p: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()}
    with pytest.raises(
        ValueError, match=r"expected a repository URL like https://github.com/ORG/REPO"
    ):
        set_repository_url(url, repo_copy)
    assert {p: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()} == snapshot


def test_set_repository_url_with_quoted_url_in_config(tmp_path):
    # YAML allows the URL quoted; repository_url() strips the quotes, so the rewrite must work too
    config = 'repository:\n  url: "https://github.com/old/repo"\n  branch: main\n'
    (tmp_path / "_config.yml").write_text(config)
    (tmp_path / "chapters").mkdir()
    nbformat.write(
        _notebook('LECTLIB_REPOSITORY = "https://github.com/old/repo"\n'),
        tmp_path / "chapters" / "01.ipynb",
    )
    changed = set_repository_url(NEW_URL, tmp_path)
    assert repository_url(tmp_path) == NEW_URL
    assert install_cell_urls(tmp_path) == {"01.ipynb": NEW_URL}
    assert len(changed) == 2


def test_set_repository_url_touches_only_the_repository_key(tmp_path):
    # Another key whose text ends in "url: <old URL>" (here html.baseurl, or a comment) must
    # keep its value: only repository.url is the definition.
    old = "https://github.com/old/repo"
    config = (
        "# previously:\n# url: https://github.com/old/repo\n"
        f"html:\n  baseurl: {old}\n"
        f"repository:\n  url: {old}\n  branch: main\n"
    )
    (tmp_path / "_config.yml").write_text(config)
    (tmp_path / "chapters").mkdir()
    set_repository_url(NEW_URL, tmp_path)
    text = (tmp_path / "_config.yml").read_text()
    assert repository_url(tmp_path) == NEW_URL
    assert text == config.replace(
        f"repository:\n  url: {old}", f"repository:\n  url: {NEW_URL}"
    )
