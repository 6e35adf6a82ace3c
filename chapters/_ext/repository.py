"""The course's repository URL, defined once, and every file that repeats it.

Build tooling beside the book (not in lectlib). ``_config.yml``'s ``repository.url`` is
the one definition. :func:`set_repository_url` (``make repo-url``) writes a URL into it
and into every place that must agree with it:

- every chapter's install cell (its first code cell, hidden on the site), which names
  the repository in ``LECTLIB_REPOSITORY = "..."`` and the commit or tag to install in
  ``LECTLIB_REF = "..."``, and installs ``git+{LECTLIB_REPOSITORY}@{LECTLIB_REF}``;
- ``CITATION.cff`` (``repository-code``) and ``pyproject.toml`` (``Repository`` under
  ``[project.urls]``), when they name it.

Optionally it also sets ``repository.branch``, the branch the Colab and Binder launch
buttons open. The publishing workflow (``.github/workflows/pages.yml``) runs it with the
forge's URL, the commit being built (``REF``) and ``BRANCH=published``, so that the
notebooks the buttons open install lectlib at exactly the commit the site was built
from. :func:`install_cell_urls` and :func:`install_cell_refs` let tests check that
everything agrees.

Only the lines named above change; the rest of an install cell (e.g. what it does about
threads) is left as the chapter has it. An install cell written before refs were pinned
(no ``LECTLIB_REF`` line, ``git+{LECTLIB_REPOSITORY}`` without ``@``) is brought to the
pinned form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: The line of a chapter's install cell that names the repository lectlib comes from.
_URL_LINE = re.compile(r'^(LECTLIB_REPOSITORY = ")([^"]*)(")', re.MULTILINE)
#: The line that names the commit, tag or branch to install.
_REF_LINE = re.compile(r'^(LECTLIB_REF = ")([^"]*)(")', re.MULTILINE)
#: What the install cell installs (in an f-string): the repository at the ref.
PINNED_SPEC = "git+{LECTLIB_REPOSITORY}@{LECTLIB_REF}"

# The unpinned form of the install cells before refs were pinned, and its replacement.
_UNPINNED_LINE = (
    '    source = os.environ.get("LECTLIB_SOURCE") or f"git+{LECTLIB_REPOSITORY}"\n'
)
_PINNED_LINES = (
    f'    pinned = f"{PINNED_SPEC}"\n'
    '    source = os.environ.get("LECTLIB_SOURCE") or pinned\n'
)
_REF_COMMENT = (
    "# The commit or tag to install:"
    " the published site pins the one it was built from\n"
)

_URL = re.compile(r"https://[A-Za-z0-9.\-]+/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+")
# A git commit, tag or branch name (a conservative subset of what git allows).
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*")

# Other files that name the repository: the key's line and the value in quotes.
_CITATION_URL = re.compile(
    r"^repository-code:[ \t]*(['\"]?)(?P<value>[^'\"\s#]+)\1", re.MULTILINE
)
_PYPROJECT_URL = re.compile(
    r"^\[project\.urls\][^\[]*?^Repository[ \t]*=[ \t]*\"(?P<value>[^\"]*)\"",
    re.MULTILINE | re.DOTALL,
)


def _chapters(root):
    return sorted(Path(root, "chapters").glob("*.ipynb"))


def _config_key(key):
    # ``key:`` inside the top-level ``repository:`` block; group 2 is the value.
    return re.compile(
        r"^repository:[ \t]*(?:#.*)?\n(?:(?:[ \t]+.*|[ \t]*)\n)*?[ \t]+"
        + re.escape(key)
        + r":[ \t]*(['\"]?)([^'\"\s#]+)\1",
        re.MULTILINE,
    )


def _config_match(root, key):
    text = Path(root, "_config.yml").read_text()
    match = _config_key(key).search(text)
    if not match:
        raise ValueError(f"_config.yml has no repository.{key}")
    return text, match


def repository_url(root="."):
    """The ``repository.url`` of ``_config.yml`` (read without a YAML library)."""
    return _config_match(root, "url")[1].group(2)


def repository_branch(root="."):
    """The ``repository.branch`` of ``_config.yml``: the branch launch buttons open."""
    return _config_match(root, "branch")[1].group(2)


def install_cell(cells):
    """The install cell of a chapter: its first code cell (right after the title)."""
    return next((c for c in cells if c["cell_type"] == "code"), None)


def _install_sources(root):
    for path in _chapters(root):
        nb = json.loads(path.read_text())
        cell = install_cell(nb["cells"])
        yield path, ("".join(cell["source"]) if cell else "")


def install_cell_urls(root="."):
    """Map each chapter notebook to the repository its install cell names (or None)."""
    found = {}
    for path, source in _install_sources(root):
        match = _URL_LINE.search(source)
        found[path.name] = match.group(2) if match else None
    return found


def install_cell_refs(root="."):
    """Map each chapter notebook to the ref its install cell pins (None if unpinned).

    A ref counts only if the cell also installs
    ``git+{LECTLIB_REPOSITORY}@{LECTLIB_REF}``.
    """
    found = {}
    for path, source in _install_sources(root):
        match = _REF_LINE.search(source)
        pinned = match and f'f"{PINNED_SPEC}"' in source
        found[path.name] = match.group(2) if pinned else None
    return found


def _check(url, ref, branch):
    if not _URL.fullmatch(url):
        raise ValueError(
            f"expected a repository URL like https://github.com/ORG/REPO, got {url!r}"
        )
    for name, value in (("ref", ref), ("branch", branch)):
        if value is None:
            continue
        if (
            not _REF.fullmatch(value)
            or ".." in value
            or value.endswith(("/", ".lock", "."))
        ):
            raise ValueError(
                f"expected a git commit, tag or branch name for {name}, got {value!r}"
            )


def _install_cell_source(source, path, url, ref):
    """``source`` with the repository and ref set, in the pinned form."""
    if not _URL_LINE.search(source):
        raise ValueError(
            f"{path}: its first code cell is not the install cell (no "
            'LECTLIB_REPOSITORY = "..." line); copy the install cell of another chapter'
        )
    new = _URL_LINE.sub(lambda m: m.group(1) + url + m.group(3), source, count=1)
    if _REF_LINE.search(new):
        new = _REF_LINE.sub(lambda m: m.group(1) + ref + m.group(3), new, count=1)
    else:
        lines = new.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if _URL_LINE.match(line)) + 1
        lines[at - 1] = lines[at - 1].rstrip("\n") + "\n"
        lines[at:at] = [_REF_COMMENT, f'LECTLIB_REF = "{ref}"\n']
        new = "".join(lines)
    new = new.replace(_UNPINNED_LINE, _PINNED_LINES)
    if f'f"{PINNED_SPEC}"' not in new:
        raise ValueError(
            f'{path}: the install cell does not install f"{PINNED_SPEC}"; '
            "it would not pin the ref"
        )
    return new


def _substitute(path, pattern, value, changed):
    """Set the ``value`` group of ``pattern`` in ``path`` (if the file names it)."""
    if not path.is_file():
        return
    text = path.read_text()
    match = pattern.search(text)
    if not match or match.group("value") == value:
        return
    start, end = match.span("value")
    path.write_text(text[:start] + value + text[end:])
    changed.append(str(path))


def set_repository_url(url, root=".", ref="main", branch=None):
    """Write ``url`` (and ``ref``, and ``branch`` if given) everywhere it is repeated.

    ``_config.yml`` gets ``repository.url`` (and ``repository.branch``); every chapter's
    install cell gets the URL and the ref to install; ``CITATION.cff`` and
    ``pyproject.toml`` get the URL where they name the repository. Returns the files
    that changed. Nothing is written when an argument is malformed or a chapter has no
    install cell.
    """
    _check(url, ref, branch)
    root = Path(root)
    # Prepare every notebook first, so that a chapter without an install cell fails
    # before anything is written.
    notebooks = []
    for path in _chapters(root):
        text = path.read_text()
        nb = json.loads(text)
        cell = install_cell(nb["cells"])
        if cell is None:
            continue
        source = "".join(cell["source"])
        new = _install_cell_source(source, path, url, ref)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
            notebooks.append((path, nb))

    changed = []
    config = root / "_config.yml"
    for key, value in (("url", url), ("branch", branch)):
        if value is None:
            continue
        text, match = _config_match(root, key)
        if match.group(2) != value:
            start, end = match.span(2)
            config.write_text(text[:start] + value + text[end:])
            if str(config) not in changed:
                changed.append(str(config))
    for path, nb in notebooks:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        changed.append(str(path))
    _substitute(root / "CITATION.cff", _CITATION_URL, url, changed)
    _substitute(root / "pyproject.toml", _PYPROJECT_URL, url, changed)
    return changed


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="python chapters/_ext/repository.py",
        description="Set the course's repository URL (and the ref the chapters' "
        "install cells pin, and the branch the launch buttons open) everywhere.",
    )
    parser.add_argument("url", help="e.g. https://github.com/ORG/REPO")
    parser.add_argument(
        "--ref", default="main", help="commit, tag or branch to install (main)"
    )
    parser.add_argument(
        "--branch", help="repository.branch for the launch buttons (unchanged)"
    )
    parser.add_argument("--root", default=".", help="the book's root folder (.)")
    args = parser.parse_args(argv)
    try:
        changed = set_repository_url(args.url, args.root, args.ref, args.branch)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    for name in changed or ["nothing to change"]:
        print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
