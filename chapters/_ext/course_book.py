"""Build-time support for the course's Jupyter Book; the chapters never import it.

It lives beside the book, not in lectlib: students install lectlib, not the build tooling.

* A Sphinx extension (``local_extensions: {course_book: chapters/_ext}`` under ``sphinx:`` in
  ``_config.yml``) that keeps the built site clean offline:

  - Sphinx 7 re-adds inline scripts registered after the builder started (it compares ``None``
    with ``''``), so sphinx-thebe's ``const`` declarations appear twice and the second copy
    throws in the browser. Each page's scripts are de-duplicated.
  - The ipywidgets embed manager loads its icon fonts relative to the RequireJS module it
    defines, which by default resolves against the page's own folder (404s). On pages that
    embed widgets, RequireJS is told where the manager is served from.

* :func:`set_repository_url`: the repository URL lives in ``_config.yml`` only; this writes it
  into every chapter's install cell (``make repo-url``), and :func:`install_cell_urls` lets a
  test check that they agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: Where the Makefile puts the ipywidgets embed manager and its fonts, inside ``_static``.
WIDGETS_DIR = "ipywidgets"

#: The line of a chapter's first cell that names the repository lectlib is installed from.
_URL_LINE = re.compile(r'^(LECTLIB_REPOSITORY = ")([^"]*)(")', re.MULTILINE)


def _script_key(script):
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _tidy_page_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    for i, script in enumerate(unique):
        filename = getattr(script, "filename", script) or ""
        if filename.endswith(f"{WIDGETS_DIR}/embed-amd.js"):
            from sphinx.builders.html._assets import _JavaScript

            # The embed manager locates its fonts relative to the RequireJS module it defines,
            # which resolves against the page unless mapped to where the bundle is served.
            body = (
                "require.config({paths: {'@jupyter-widgets/html-manager/dist': new URL("
                f"(document.documentElement.dataset.content_root || '') + '_static/{WIDGETS_DIR}', "
                "window.location.href).href}});"
            )
            unique.insert(i, _JavaScript("", body=body, priority=getattr(script, "priority", 500)))
            break
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _tidy_page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


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


def install_cell_urls(root="."):
    """Map each chapter notebook to the repository URL its install cell names (None if absent)."""
    found = {}
    for path in _chapters(root):
        nb = json.loads(path.read_text())
        source = "".join(nb["cells"][0]["source"]) if nb["cells"] else ""
        match = _URL_LINE.search(source)
        found[path.name] = match.group(2) if match else None
    return found


def set_repository_url(url, root="."):
    """Write ``url`` into ``_config.yml`` and every chapter's install cell; return changed files."""
    if not re.fullmatch(r"https://[A-Za-z0-9.\-]+/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+", url):
        raise ValueError(f"expected a repository URL like https://github.com/ORG/REPO, got {url!r}")
    changed = []
    config = Path(root, "_config.yml")
    text, match = _config_url_match(root)
    if match.group(2) != url:
        start, end = match.span(2)
        config.write_text(text[:start] + url + text[end:])
        changed.append(str(config))
    for path in _chapters(root):
        nb = json.loads(path.read_text())
        cell = nb["cells"][0]
        source = "".join(cell["source"])
        new = _URL_LINE.sub(lambda m: m.group(1) + url + m.group(3), source, count=1)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            changed.append(str(path))
    return changed


if __name__ == "__main__":  # python chapters/_ext/course_book.py https://github.com/ORG/REPO
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python chapters/_ext/course_book.py https://github.com/ORG/REPO")
    for name in set_repository_url(sys.argv[1]) or ["nothing to change"]:
        print(name)
