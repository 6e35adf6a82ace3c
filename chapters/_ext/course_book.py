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

The repository URL and the chapters' install cells are handled by ``repository.py`` beside
this file.
"""

from __future__ import annotations

#: Where the Makefile puts the ipywidgets embed manager and its fonts, inside ``_static``.
WIDGETS_DIR = "ipywidgets"


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
            unique.insert(
                i, _JavaScript("", body=body, priority=getattr(script, "priority", 500))
            )
            break
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _tidy_page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
