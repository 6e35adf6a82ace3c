"""The course's repository URL, defined once, and the chapters' install cells that name it.

Build tooling beside the book (not in lectlib). ``_config.yml``'s ``repository.url`` is the one
definition; :func:`set_repository_url` writes a URL into it and into every chapter's install
cell (``make repo-url``), and :func:`install_cell_urls` lets a test check that they agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: The line of a chapter's install cell that names the repository lectlib is installed from.
_URL_LINE = re.compile(r'^(LECTLIB_REPOSITORY = ")([^"]*)(")', re.MULTILINE)


def _chapters(root):
    return sorted(Path(root, "chapters").glob("*.ipynb"))


# ``url:`` inside the top-level ``repository:`` block; group 2 is the value without quotes.
_CONFIG_URL = re.compile(
    r"^repository:[ \t]*(?:#.*)?\n(?:(?:[ \t]+.*|[ \t]*)\n)*?[ \t]+url:[ \t]*(['\"]?)([^'\"\s#]+)\1",
    re.MULTILINE,
)


def _config_url_match(root):
    text = Path(root, "_config.yml").read_text()
    match = _CONFIG_URL.search(text)
    if not match:
        raise ValueError("_config.yml has no repository.url")
    return text, match


def repository_url(root="."):
    """The ``repository.url`` of ``_config.yml`` (read without a YAML library)."""
    return _config_url_match(root)[1].group(2)


def install_cell(cells):
    """The install cell of a chapter: its first code cell (right after the title)."""
    return next((c for c in cells if c["cell_type"] == "code"), None)


def install_cell_urls(root="."):
    """Map each chapter notebook to the repository URL its install cell names (None if absent)."""
    found = {}
    for path in _chapters(root):
        nb = json.loads(path.read_text())
        cell = install_cell(nb["cells"])
        source = "".join(cell["source"]) if cell else ""
        match = _URL_LINE.search(source)
        found[path.name] = match.group(2) if match else None
    return found


def set_repository_url(url, root="."):
    """Write ``url`` into ``_config.yml`` and every chapter's install cell; return changed files."""
    if not re.fullmatch(
        r"https://[A-Za-z0-9.\-]+/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+", url
    ):
        raise ValueError(
            f"expected a repository URL like https://github.com/ORG/REPO, got {url!r}"
        )
    changed = []
    config = Path(root, "_config.yml")
    text, match = _config_url_match(root)
    if match.group(2) != url:
        start, end = match.span(2)
        config.write_text(text[:start] + url + text[end:])
        changed.append(str(config))
    for path in _chapters(root):
        nb = json.loads(path.read_text())
        cell = install_cell(nb["cells"])
        if cell is None:
            continue
        source = "".join(cell["source"])
        new = _URL_LINE.sub(lambda m: m.group(1) + url + m.group(3), source, count=1)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            changed.append(str(path))
    return changed


if (
    __name__ == "__main__"
):  # python chapters/_ext/repository.py https://github.com/ORG/REPO
    import sys

    if len(sys.argv) != 2:
        sys.exit(
            "usage: python chapters/_ext/repository.py https://github.com/ORG/REPO"
        )
    for name in set_repository_url(sys.argv[1]) or ["nothing to change"]:
        print(name)
