"""Tests of the publishing side of the book: the repository URL defined once
(chapters/_ext/repository.py), the install cells that pin a ref, the publishing
workflow, the Binder environment, credits, licences, citation metadata and the citation
style.

``_config.yml``'s ``repository.url`` is the single definition; every chapter's first
code cell names the same URL (``LECTLIB_REPOSITORY = "..."``) and a ref
(``LECTLIB_REF``), and installs ``git+<url>@<ref>``; ``CITATION.cff`` and
``pyproject.toml`` name the URL too. ``make repo-url`` writes them all. The rewriting
tests work on temporary copies, never on the checkout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version

import nbformat
import pytest
import yaml

from repository import (
    PINNED_SPEC,
    install_cell,
    install_cell_refs,
    install_cell_urls,
    main,
    repository_branch,
    repository_url,
    set_repository_url,
)

NEW_URL = "https://github.com/example-org/spectro-course_2.0"
SHA = "0123456789abcdef0123456789abcdef01234567"
AUTHORS = "The ML for Spectroscopy and Imaging Data course contributors"

#: The install cell as chapters had it before refs were pinned (make repo-url
#: upgrades it).
UNPINNED_CELL = """\
# Set-up. On Colab, or wherever the course's package `lectlib` is missing, install it
# from the course repository (or from LECTLIB_SOURCE, e.g. a local checkout, if set).
LECTLIB_REPOSITORY = "https://github.com/old/repo"

import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("lectlib") is None:
    source = os.environ.get("LECTLIB_SOURCE") or f"git+{LECTLIB_REPOSITORY}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
    importlib.invalidate_caches()
"""

#: Runs an install cell with lectlib "missing" and pip replaced by a recorder; prints
#: the pip commands it would have run.
PROBE = """
import importlib.util, json, os, subprocess, sys
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a, **k: (
    None if name == "lectlib" else _find(name, *a, **k))
calls = []
subprocess.run = lambda args, **kwargs: calls.append(list(args))
exec(compile(sys.stdin.read(), "install-cell", "exec"), {"__name__": "__main__"})
print("PIP-CALLS " + json.dumps(calls))
"""


def pip_calls(source, lectlib_source=None):
    """The pip commands an install cell runs where lectlib is missing."""
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    if lectlib_source:
        env["LECTLIB_SOURCE"] = lectlib_source
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=source,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("PIP-CALLS "))
    return json.loads(line[len("PIP-CALLS ") :])


def _yaml(path):
    return yaml.safe_load(path.read_text())


def _notebook(first_source, more_cells=()):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell(first_source),
        *more_cells,
    ]
    return nb


def _files(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def repo_copy(tmp_path, repo_root):
    """The files that name the repository, copied from the checkout to a temporary
    root."""
    for name in ("_config.yml", "CITATION.cff", "pyproject.toml"):
        shutil.copy(repo_root / name, tmp_path / name)
    (tmp_path / "chapters").mkdir()
    for path in sorted((repo_root / "chapters").glob("*.ipynb")):
        shutil.copy(path, tmp_path / "chapters" / path.name)
    return tmp_path


# ----------------------------------------------------------- the real repository agrees


def test_every_chapter_installs_from_the_configured_repository(repo_root):
    """The "defined in one place" guarantee: all install cells name _config.yml's
    URL."""
    config_url = repository_url(repo_root)
    assert config_url == _yaml(repo_root / "_config.yml")["repository"]["url"]
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


def test_citation_and_pyproject_name_the_configured_repository(repo_root):
    url = repository_url(repo_root)
    assert _yaml(repo_root / "CITATION.cff")["repository-code"] == url
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"]["Repository"] == url


def test_every_install_cell_pins_one_ref(repo_root):
    refs = install_cell_refs(repo_root)
    unpinned = [name for name, ref in refs.items() if ref is None]
    assert not unpinned, (
        f"install cells that do not install git+<repository>@<ref>: {unpinned}; "
        "run `make repo-url URL=<repository.url of _config.yml>`"
    )
    assert len(set(refs.values())) == 1, f"chapters pin different refs: {refs}"


def test_install_cell_runs_pip_install_of_the_pinned_repository(repo_root):
    # Run the real install cell of every chapter with lectlib missing: it must ask pip
    # for exactly git+<repository.url>@<ref>, or for LECTLIB_SOURCE when that is set.
    url = repository_url(repo_root)
    refs = install_cell_refs(repo_root)
    for path in sorted((repo_root / "chapters").glob("*.ipynb")):
        source = install_cell(nbformat.read(path, as_version=4).cells).source
        calls = pip_calls(source)
        assert len(calls) == 1, (path.name, calls)
        assert calls[0][1:4] == ["-m", "pip", "install"], calls
        assert calls[0][-1] == f"git+{url}@{refs[path.name]}", calls
    calls = pip_calls(source, lectlib_source="/some/checkout")
    assert calls[0][-1] == "/some/checkout"


def test_install_cell_url_is_the_string_in_the_install_cell(repo_root):
    # cross-check install_cell_urls against the notebooks read with nbformat: the
    # install cell is the first code cell, right after the title
    urls = install_cell_urls(repo_root)
    for path in sorted((repo_root / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].cell_type == "markdown"
        assert nb.cells[0].source.startswith("# ")
        first = nb.cells[1]
        assert first.cell_type == "code"
        found = re.findall(
            r'^LECTLIB_REPOSITORY = "([^"]*)"', first.source, re.MULTILINE
        )
        assert found == [urls[path.name]]


# ----------------------------------------------------------------------- repository_url


@pytest.mark.parametrize(
    "config",
    [
        "title: T\nrepository:\n  url: https://github.com/a/b\n  branch: main\n",
        "repository:\n  branch: main\n  path_to_book: ''\n  url: https://github.com/a/b\n",
        'repository:\n  url: "https://github.com/a/b"\n',
        "repository:\n  url: 'https://github.com/a/b'  # the course\n",
        "html:\n  url: https://example.org/wrong\nrepository:\n"
        "  # where lectlib is installed from\n"
        "  url: https://github.com/a/b\nlaunch_buttons:\n  url: https://example.org/w2\n",
    ],
)
def test_repository_url_reads_repository_block(tmp_path, config):
    (tmp_path / "_config.yml").write_text(config)
    assert repository_url(tmp_path) == "https://github.com/a/b"
    assert _yaml(tmp_path / "_config.yml")["repository"]["url"] == repository_url(
        tmp_path
    )


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


def test_repository_branch(tmp_path):
    config = "repository:\n  url: https://github.com/a/b\n  branch: published\n"
    (tmp_path / "_config.yml").write_text(config)
    assert repository_branch(tmp_path) == "published"


# --------------------------------------------------------------------------------- refs


def test_install_cell_urls_and_refs_on_hand_made_notebooks(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    pinned = (
        'LECTLIB_REPOSITORY = "https://github.com/x/y"\nLECTLIB_REF = "v1.0"\n'
        f'spec = f"{PINNED_SPEC}"\n'
    )
    nbformat.write(_notebook(pinned), chapters / "01_a.ipynb")
    nbformat.write(_notebook("import numpy as np\n"), chapters / "02_b.ipynb")
    # the line in a later cell does not count: the install cell must come first
    later = nbformat.v4.new_code_cell('LECTLIB_REPOSITORY = "https://github.com/x/z"')
    nbformat.write(_notebook("x = 1\n", [later]), chapters / "03_c.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), chapters / "04_d.ipynb")
    # a ref line alone is no pin: the cell must also install <repository>@<ref>
    unpinned = pinned.replace("@{LECTLIB_REF}", "")
    nbformat.write(_notebook(unpinned), chapters / "05_e.ipynb")
    (chapters / "notes.md").write_text("not a notebook")
    assert install_cell_urls(tmp_path) == {
        "01_a.ipynb": "https://github.com/x/y",
        "02_b.ipynb": None,
        "03_c.ipynb": None,
        "04_d.ipynb": None,
        "05_e.ipynb": "https://github.com/x/y",
    }
    assert install_cell_refs(tmp_path) == {
        "01_a.ipynb": "v1.0",
        "02_b.ipynb": None,
        "03_c.ipynb": None,
        "04_d.ipynb": None,
        "05_e.ipynb": None,
    }


# ------------------------------------------------------------------- set_repository_url


def test_set_repository_url_rewrites_config_chapters_and_metadata(repo_copy):
    old = repository_url(repo_copy)
    assert old != NEW_URL
    config_before = (repo_copy / "_config.yml").read_text()
    chapters = sorted((repo_copy / "chapters").glob("*.ipynb"))
    texts_before = {p: p.read_text() for p in chapters}
    nbs_before = {p: json.loads(t) for p, t in texts_before.items()}
    others_before = {
        name: (repo_copy / name).read_text()
        for name in ("CITATION.cff", "pyproject.toml")
    }
    ref = set(install_cell_refs(repo_copy).values()).pop()

    changed = set_repository_url(NEW_URL, repo_copy, ref=ref)

    assert sorted(changed) == sorted(
        [str(repo_copy / n) for n in ("_config.yml", "CITATION.cff", "pyproject.toml")]
        + [str(p) for p in chapters]
    )
    # every place agrees on the new URL
    assert repository_url(repo_copy) == NEW_URL
    assert _yaml(repo_copy / "_config.yml")["repository"]["url"] == NEW_URL
    assert set(install_cell_urls(repo_copy).values()) == {NEW_URL}
    assert _yaml(repo_copy / "CITATION.cff")["repository-code"] == NEW_URL
    pyproject = tomllib.loads((repo_copy / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"]["Repository"] == NEW_URL
    # _config.yml: only the url line changed
    after_lines = (repo_copy / "_config.yml").read_text().splitlines()
    before_lines = config_before.splitlines()
    assert len(after_lines) == len(before_lines)
    diff = [(b, a) for b, a in zip(before_lines, after_lines) if a != b]
    assert diff == [(f"  url: {old}", f"  url: {NEW_URL}")]
    # CITATION.cff and pyproject.toml: only the URL changed
    for name, before in others_before.items():
        assert (repo_copy / name).read_text() == before.replace(old, NEW_URL)

    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        after = json.loads(path.read_text())
        before = nbs_before[path]
        # everything but the install cell's source (cell 1, after the title) is
        # untouched
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
        # and the file differs from the original only by the URL (a minimal diff)
        assert path.read_text() == texts_before[path].replace(old, NEW_URL)


def test_set_repository_url_pins_ref_and_sets_branch(repo_copy):
    changed = set_repository_url(NEW_URL, repo_copy, ref=SHA, branch="published")
    assert str(repo_copy / "_config.yml") in changed
    config = _yaml(repo_copy / "_config.yml")["repository"]
    assert (config["url"], config["branch"]) == (NEW_URL, "published")
    assert repository_branch(repo_copy) == "published"
    assert set(install_cell_refs(repo_copy).values()) == {SHA}
    for path in sorted((repo_copy / "chapters").glob("*.ipynb")):
        source = install_cell(nbformat.read(path, as_version=4).cells).source
        assert pip_calls(source)[0][-1] == f"git+{NEW_URL}@{SHA}"


def test_set_repository_url_is_idempotent(repo_copy):
    set_repository_url(NEW_URL, repo_copy, ref=SHA, branch="published")
    snapshot = _files(repo_copy)
    assert set_repository_url(NEW_URL, repo_copy, ref=SHA, branch="published") == []
    assert _files(repo_copy) == snapshot


def test_set_repository_url_round_trip(repo_copy):
    old, branch = repository_url(repo_copy), repository_branch(repo_copy)
    ref = set(install_cell_refs(repo_copy).values()).pop()
    originals = {p.name: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()}
    set_repository_url(NEW_URL, repo_copy, ref=SHA, branch="published")
    set_repository_url(old, repo_copy, ref=ref, branch=branch)
    assert {
        p.name: p.read_bytes() for p in repo_copy.rglob("*") if p.is_file()
    } == originals


def test_set_repository_url_upgrades_an_unpinned_install_cell(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://github.com/old/repo\n  branch: main\n"
    )
    (tmp_path / "chapters").mkdir()
    path = tmp_path / "chapters" / "01.ipynb"
    nbformat.write(_notebook(UNPINNED_CELL), path)
    assert install_cell_refs(tmp_path) == {"01.ipynb": None}

    set_repository_url(NEW_URL, tmp_path, ref="v2.1")

    source = nbformat.read(path, as_version=4).cells[1].source
    lines = source.splitlines()
    at = lines.index(f'LECTLIB_REPOSITORY = "{NEW_URL}"')
    assert lines[at + 2] == 'LECTLIB_REF = "v2.1"'
    assert lines[at + 1].startswith("# ")
    assert max(len(line) for line in lines) <= 88
    assert install_cell_refs(tmp_path) == {"01.ipynb": "v2.1"}
    assert pip_calls(source)[0][-1] == f"git+{NEW_URL}@v2.1"
    # once pinned, a new ref changes only the ref line
    set_repository_url(NEW_URL, tmp_path, ref="v2.2")
    again = nbformat.read(path, as_version=4).cells[1].source
    assert again == source.replace('"v2.1"', '"v2.2"')


def test_set_repository_url_keeps_the_rest_of_the_install_cell(tmp_path):
    # Lines the tool does not own (e.g. thread settings) stay exactly as they are.
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://github.com/o/r\n"
    )
    (tmp_path / "chapters").mkdir()
    extra = 'os.environ.setdefault("OMP_NUM_THREADS", "1")\n'
    cell = UNPINNED_CELL.replace("import sys\n", "import sys\n\n" + extra)
    nbformat.write(_notebook(cell), tmp_path / "chapters" / "01.ipynb")
    set_repository_url(NEW_URL, tmp_path, ref=SHA)
    source = nbformat.read(tmp_path / "chapters" / "01.ipynb", as_version=4).cells[1]
    assert extra in source.source
    assert install_cell_refs(tmp_path) == {"01.ipynb": SHA}


def test_set_repository_url_refuses_a_chapter_without_install_cell(repo_copy):
    # A chapter whose first code cell is not the install cell: nothing is written.
    nbformat.write(
        _notebook("import numpy as np\n"), repo_copy / "chapters" / "99_new.ipynb"
    )
    snapshot = _files(repo_copy)
    with pytest.raises(ValueError, match=r"99_new.ipynb: its first code cell is not"):
        set_repository_url(NEW_URL, repo_copy)
    assert _files(repo_copy) == snapshot


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
    snapshot = _files(repo_copy)
    with pytest.raises(
        ValueError, match=r"expected a repository URL like https://github.com/ORG/REPO"
    ):
        set_repository_url(url, repo_copy)
    assert _files(repo_copy) == snapshot


@pytest.mark.parametrize(
    "ref", ["", "-x", "a b", "main/", "x.lock", "a..b", 'v1"; import os; "', "a\nb"]
)
def test_set_repository_url_rejects_malformed_refs(repo_copy, ref):
    snapshot = _files(repo_copy)
    with pytest.raises(ValueError, match=r"expected a git commit, tag or branch name"):
        set_repository_url(NEW_URL, repo_copy, ref=ref)
    with pytest.raises(ValueError, match=r"expected a git commit, tag or branch name"):
        set_repository_url(NEW_URL, repo_copy, branch=ref)
    assert _files(repo_copy) == snapshot


def test_set_repository_url_with_quoted_url_in_config(tmp_path):
    # YAML allows the URL quoted; repository_url() strips the quotes, so the rewrite
    # must work too
    config = 'repository:\n  url: "https://github.com/old/repo"\n  branch: main\n'
    (tmp_path / "_config.yml").write_text(config)
    (tmp_path / "chapters").mkdir()
    nbformat.write(_notebook(UNPINNED_CELL), tmp_path / "chapters" / "01.ipynb")
    changed = set_repository_url(NEW_URL, tmp_path)
    assert repository_url(tmp_path) == NEW_URL
    assert install_cell_urls(tmp_path) == {"01.ipynb": NEW_URL}
    assert install_cell_refs(tmp_path) == {"01.ipynb": "main"}
    assert len(changed) == 2


def test_set_repository_url_touches_only_the_repository_key(tmp_path):
    # Another key whose text ends in "url: <old URL>" (here html.baseurl, or a comment)
    # must keep its value: only repository.url is the definition.
    old = "https://github.com/old/repo"
    config = (
        "# previously:\n# url: https://github.com/old/repo\n"
        f"html:\n  baseurl: {old}\n"
        f"repository:\n  url: {old}\n  branch: main\n"
    )
    (tmp_path / "_config.yml").write_text(config)
    (tmp_path / "chapters").mkdir()
    set_repository_url(NEW_URL, tmp_path, branch="published")
    text = (tmp_path / "_config.yml").read_text()
    assert repository_url(tmp_path) == NEW_URL
    assert text == config.replace(
        f"repository:\n  url: {old}\n  branch: main",
        f"repository:\n  url: {NEW_URL}\n  branch: published",
    )


def test_command_line(repo_copy, capsys):
    args = [NEW_URL, "--ref", SHA, "--branch", "published", "--root", str(repo_copy)]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert str(repo_copy / "_config.yml") in printed
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == "nothing to change"
    with pytest.raises(SystemExit) as exit_info:
        main(["https://github.com/org", "--root", str(repo_copy)])
    assert exit_info.value.code == 2
    assert "expected a repository URL" in capsys.readouterr().err


def test_make_repo_url_passes_ref_and_branch(repo_root):
    # `make -n` prints the command without running it (or anything it depends on).
    def command(*variables):
        out = subprocess.run(
            ["make", "-s", "-n", "repo-url", *variables],
            cwd=repo_root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines = out.replace("\\\n", " ").splitlines()
        return " ".join(next(ln for ln in lines if "repository.py" in ln).split())

    url = "URL=https://github.com/a/b"
    assert command(url, "REF=abc123", "BRANCH=published").endswith(
        'repository.py "https://github.com/a/b" --ref "abc123" --branch "published"'
    )
    assert command(url).endswith('repository.py "https://github.com/a/b" --ref "main"')


# ------------------------------------------------------------------ publishing workflow


@pytest.fixture(scope="module")
def workflow(repo_root):
    path = repo_root / ".github" / "workflows" / "pages.yml"
    assert path.is_file(), "no publishing workflow"
    return yaml.safe_load(path.read_text())


def _steps(job):
    return [dict(step, run=step.get("run", "")) for step in job["steps"]]


def test_workflow_runs_on_push_to_main_and_by_hand(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers


def test_workflow_builds_with_make_book_after_pointing_at_the_commit(workflow):
    build = workflow["jobs"]["build"]
    runs = [step["run"] for step in _steps(build)]
    repo_url = next(i for i, r in enumerate(runs) if "make repo-url" in r)
    book = next(i for i, r in enumerate(runs) if re.search(r"\bmake book\b", r))
    assert repo_url < book
    command = runs[repo_url]
    assert 'URL="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY"' in command
    assert 'REF="$GITHUB_SHA"' in command
    branch = build["env"]["PUBLISHED_BRANCH"]
    assert branch == "published" and 'BRANCH="$PUBLISHED_BRANCH"' in command
    # npm fetches the site's offline scripts; Python is the course's 3.11
    assert any("apt-get install" in r and "npm" in r for r in runs[:repo_url])
    setup = next(s for s in build["steps"] if "setup-python" in s.get("uses", ""))
    assert str(setup["with"]["python-version"]) == "3.11"


def test_workflow_pushes_the_published_branch_and_uploads_the_site(workflow):
    build = workflow["jobs"]["build"]
    steps = _steps(build)
    runs = [step["run"] for step in steps]
    book = next(i for i, r in enumerate(runs) if re.search(r"\bmake book\b", r))
    push = next(i for i, r in enumerate(runs) if "git push" in r)
    assert book < push
    assert '--message "Publish $GITHUB_SHA"' in runs[push]
    assert 'git push --force origin "$PUBLISHED_BRANCH"' in runs[push]
    assert build["permissions"] == {"contents": "write"}
    upload = next(
        s
        for s in steps
        if s.get("uses", "").startswith("actions/upload-pages-artifact")
    )
    assert upload["with"]["path"] == "_build/html"
    assert steps.index(upload) > book


def test_workflow_deploys_to_pages(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert any(
        s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"]
    )


def test_workflow_actions_are_pinned_by_major_tag(workflow):
    uses = [
        step["uses"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    ]
    assert uses
    assert all(re.fullmatch(r"actions/[\w-]+@v\d+", u) for u in uses), uses


# ------------------------------------------------------------------------------- binder


def _pins(text):
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_binder_is_runtime_only_and_pinned_like_the_course(repo_root):
    assert (repo_root / "binder" / "runtime.txt").read_text() == "python-3.11\n"
    text = (repo_root / "binder" / "requirements.txt").read_text()
    lines = [
        ln.split("#", 1)[0].strip()
        for ln in text.splitlines()
        if ln.split("#", 1)[0].strip()
    ]
    # lectlib itself, from the checkout Binder built (pip runs from the root)
    assert "." in lines
    pins = _pins(text)
    # exactly lectlib's own dependencies (pyproject), each pinned as the course pins it
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    runtime = {
        re.split(r"[<>=!~ ;\[]", dep, maxsplit=1)[0]
        for dep in pyproject["project"]["dependencies"]
    }
    assert set(pins) == runtime and len(lines) == len(runtime) + 1, lines
    course = _pins((repo_root / "requirements.txt").read_text())
    for name, pinned in pins.items():
        if name in course:
            assert pinned == course[name], (name, pinned, course[name])
        else:  # not pinned directly: the version the course environment installed
            try:
                assert pinned == version(name), name
            except PackageNotFoundError:
                pytest.fail(f"{name} is neither in requirements.txt nor installed")


# ------------------------------------------------------------ credits, licences, citing


def test_authors_are_one_entity_everywhere(repo_root):
    assert _yaml(repo_root / "_config.yml")["author"] == AUTHORS
    assert _yaml(repo_root / "CITATION.cff")["authors"] == [{"name": AUTHORS}]
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert pyproject["project"]["authors"] == [{"name": AUTHORS}]
    for name in ("LICENSE", "LICENSE-CONTENT"):
        text = (repo_root / name).read_text()
        assert re.search(rf"^Copyright \(c\) \d{{4}}, {AUTHORS}$", text, re.M), name
    assert AUTHORS.lower() in (repo_root / "README.md").read_text().lower()


#: The top-level keys of the Citation File Format 1.2.0 schema.
CFF_KEYS = {
    "abstract",
    "authors",
    "cff-version",
    "commit",
    "contact",
    "date-released",
    "doi",
    "identifiers",
    "keywords",
    "license",
    "license-url",
    "message",
    "preferred-citation",
    "references",
    "repository",
    "repository-artifact",
    "repository-code",
    "title",
    "type",
    "url",
    "version",
}


def test_citation_cff_parses_and_names_the_licences(repo_root):
    cff = _yaml(repo_root / "CITATION.cff")
    assert cff["cff-version"] == "1.2.0"
    assert {"cff-version", "message", "title", "authors"} <= set(cff) <= CFF_KEYS
    assert cff["type"] in {"software", "dataset"}
    assert cff["title"] == _yaml(repo_root / "_config.yml")["title"]
    assert cff["license"] == ["BSD-3-Clause", "CC-BY-4.0"]
    assert cff["repository-code"].startswith("https://")


def test_citation_cff_credits_the_lecture_as_the_bibliography_does(repo_root):
    bib = (repo_root / "references.bib").read_text()
    entry = re.search(r"@misc\{kalinin_lecture,(.*?)\n\}", bib, re.S)[1]
    year = re.search(r"year = \{(\d{4})\}", entry)[1]
    url = re.search(r"url = \{([^}]*)\}", entry)[1]
    lecture = next(
        r
        for r in _yaml(repo_root / "CITATION.cff")["references"]
        if "Spectroscopy and Imaging Data" in r["title"]
    )
    assert lecture["authors"][0]["family-names"] == "Kalinin"
    assert (str(lecture["year"]), lecture["url"]) == (year, url)


def test_licences_say_what_they_cover(repo_root):
    code = (repo_root / "LICENSE").read_text()
    assert code.startswith("BSD 3-Clause License\n")
    assert "Neither the name of the copyright holder" in code
    content = (repo_root / "LICENSE-CONTENT").read_text()
    assert "Creative Commons Attribution 4.0 International" in content
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in content
    for covered in ("intro.md", "Markdown cells", "figures", "How to attribute"):
        assert covered in content, covered
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    assert (pyproject["license"], pyproject["license-files"]) == (
        "BSD-3-Clause",
        ["LICENSE"],
    )


def test_readme_says_who_may_reuse_what_and_how_to_publish(repo_root):
    readme = (repo_root / "README.md").read_text()
    reuse = readme.split("## Reuse", 1)[1]
    for needle in ("BSD 3-Clause", "CC BY 4.0", "LICENSE-CONTENT", "CITATION.cff"):
        assert needle in reuse, needle
    publishing = readme.split("## Publishing the course", 1)[1].split("\n## ", 1)[0]
    for needle in ("make repo-url", "GITHUB_SHA", "published", "make book"):
        assert needle in publishing, needle


def test_site_footer_shows_the_licences(repo_root):
    footer = _yaml(repo_root / "_config.yml")["html"]["extra_footer"]
    assert "creativecommons.org/licenses/by/4.0" in footer
    assert "BSD 3-Clause" in footer


# -------------------------------------------------------------------- citation style


def _pages(repo_root):
    """(name, MyST text) of every page: intro.md, chapters/*.md, notebooks' Markdown."""
    yield "intro.md", (repo_root / "intro.md").read_text()
    for path in sorted((repo_root / "chapters").glob("*.md")):
        yield path.name, path.read_text()
    for path in sorted((repo_root / "chapters").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        yield path.name, "\n".join(c.source for c in cells if c.cell_type == "markdown")


def test_one_citation_style_numbered_notes_on_every_page(repo_root):
    bib = (repo_root / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    for name, text in _pages(repo_root):
        other = re.findall(r"\{(cite(?::\w+)?|bibliography)\}", text)
        assert not other, (
            f"{name} uses {other}: use {{footcite}} and {{footbibliography}}"
        )
        cited = re.findall(r"\{footcite(?::\w+)?\}`([^`]*)`", text)
        if cited:
            assert "{footbibliography}" in text, f"{name} cites but lists no references"
        unknown = {k.strip() for ks in cited for k in ks.split(",")} - keys
        assert not unknown, f"{name} cites keys not in references.bib: {unknown}"
    config = _yaml(repo_root / "_config.yml")["sphinx"]["config"]
    assert config.get("bibtex_reference_style", "label") != "author_year"
    assert config.get("bibtex_default_style", "alpha") != "alpha"


def test_the_lecture_is_cited_with_its_year_and_a_link(repo_root):
    bib = (repo_root / "references.bib").read_text()
    entry = re.search(r"@misc\{kalinin_lecture,(.*?)\n\}", bib, re.S)[1]
    assert re.search(r"year = \{\d{4}\}", entry)
    assert re.search(r"url = \{https://[^}]+\}", entry)
    assert "{footcite}`kalinin_lecture`" in (repo_root / "intro.md").read_text()


def test_intro_lists_every_paper_the_lecture_cites(repo_root):
    bib = (repo_root / "references.bib").read_text()
    entries = re.findall(r"^@\w+\{([^,]+),(.*?)\n\}", bib, re.M | re.S)
    lecture = {key for key, body in entries if re.search(r"keywords = \{lecture", body)}
    assert lecture, "references.bib marks no paper with keywords = {lecture}"
    intro = (repo_root / "intro.md").read_text()
    cited = re.findall(r"\{footcite\}`([^`]*)`", intro)
    cited = {k.strip() for keys in cited for k in keys.split(",")}
    assert lecture <= cited, f"not on the front page: {sorted(lecture - cited)}"
