"""Build-time support for the course's Jupyter Book; the chapters never import it.

It lives beside the book, not in lectlib: students install lectlib, not the build
tooling.

A Sphinx extension (``local_extensions: {course_book: chapters/_ext}`` under ``sphinx:``
in ``_config.yml``) that keeps the built site light, offline and readable:

* **Only what a page uses.** MathJax is loaded on pages that contain math themselves
  (Sphinx also loads it on a page whose toctree children have math: the course map).
  sphinx-thebe ("live code" through a CDN) is not used by the course, so its scripts,
  its stylesheet and the per-page configuration that names a CDN URL are dropped; the
  Colab and Binder launch buttons stay. The theme's Font Awesome script (1.5 MB, every
  icon there is) is replaced by the few icons the site shows, written into the pages as
  inline SVG when the build finishes, and the icon webfonts its stylesheet still uses
  (275 kB) by subsets holding the glyphs it draws.
* **The first figure first.** Scripts that can wait are deferred, so the text and the
  first figure are drawn before 1 MB of script arrives; the ipywidgets state (the
  sliders' precomputed frames) moves from ``<head>`` to the end of the page, and
  RequireJS is configured before it loads. Images after the first are loaded lazily.
  Sphinx 7 also re-adds inline scripts registered after the builder started (so
  sphinx-thebe's ``const`` declarations appeared twice and threw); each page's scripts
  are de-duplicated.
* **Alt text.** Every figure's image gets its caption (``mystnb.figure.caption``) as alt
  text; an image without a caption is described by the section it is in, never by its
  hashed file name. ``static/course-widgets.js`` does the same for the slider frames
  that the ipywidgets embed manager draws in the browser.
* **Layout.** ``static/course.css``: display equations scroll inside the column instead
  of being clipped, with the equation number beside the math; wide tables, code and
  outputs scroll; images never overflow the column; checkpoint outputs have a quiet
  mark.

The ipywidgets embed manager loads its icon fonts relative to the RequireJS module it
defines, which by default resolves against the page's own folder (404s), so RequireJS is
told where the manager is served from. The repository URL and the chapters' install
cells are handled by ``repository.py`` beside this file.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from docutils import nodes

#: Where the Makefile puts the ipywidgets embed manager and its fonts, in ``_static``.
WIDGETS_DIR = "ipywidgets"

#: Stylesheet and scripts of this extension, copied into ``_static``.
STATIC_DIR = Path(__file__).resolve().parent / "static"
CSS_FILE = "course.css"
WIDGETS_JS = "course-widgets.js"

WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"

#: Scripts that must run while the page is parsed: later inline scripts use them.
_KEEP_BLOCKING = ("documentation_options.js",)


# ------------------------------------------------------------------------- page scripts


def _filename(script):
    return str(getattr(script, "filename", script) or "")


def _attributes(script):
    return dict(getattr(script, "attributes", {}) or {})


def _script_key(script):
    attributes = _attributes(script)
    return (
        _filename(script),
        tuple(sorted((k, str(v)) for k, v in attributes.items())),
    )


def _page_has_math(app, pagename):
    """Whether the page itself has math (Sphinx's test also counts toctree children)."""
    try:
        domain = app.env.get_domain("math")
    except Exception:  # pragma: no cover - the math domain is always there in Sphinx 7
        return True
    return bool(domain.data.get("has_equations", {}).get(pagename, False))


def _is_thebe(script):
    name = _filename(script)
    body = _attributes(script).get("body", "") or ""
    return name.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def _is_mathjax(app, script):
    name = _filename(script)
    body = _attributes(script).get("body", "") or ""
    mathjax_path = str(getattr(app.config, "mathjax_path", "") or "")
    return bool(
        (mathjax_path and name.endswith(mathjax_path))
        or body.startswith("window.MathJax =")
        or body.startswith("MathJax.Hub.Config(")
    )


def _deferred(script):
    """The same external script, loaded with ``defer`` (deferred scripts keep order)."""
    from sphinx.builders.html._assets import _JavaScript

    attributes = _attributes(script)
    if (
        not _filename(script)
        or _filename(script).endswith(_KEEP_BLOCKING)
        or "async" in attributes
        or "defer" in attributes
        or attributes.get("type", "text/javascript")
        not in ("text/javascript", "module")
    ):
        return script
    attributes["defer"] = "defer"
    return _JavaScript(
        _filename(script), priority=getattr(script, "priority", 500), **attributes
    )


def _require_config_script(priority):
    """RequireJS reads a global ``require`` object as its configuration when it loads.

    The embed manager finds its fonts relative to the module it defines, which RequireJS
    would resolve against the page's folder unless mapped to where the bundle is served.
    """
    from sphinx.builders.html._assets import _JavaScript

    body = (
        "var require = {paths: {'@jupyter-widgets/html-manager/dist': new URL("
        "(document.documentElement.dataset.content_root || '') + "
        f"'_static/{WIDGETS_DIR}', window.location.href).href"
        "}};"
    )
    return _JavaScript("", body=body, priority=priority)


def _tidy_page_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        from sphinx.builders.html._assets import _JavaScript

        has_math = _page_has_math(app, pagename)
        seen = set()
        kept = []
        widget_state = None
        for script in scripts:
            key = _script_key(script)
            if key in seen or _is_thebe(script):
                continue
            seen.add(key)
            if not has_math and _is_mathjax(app, script):
                continue
            if _attributes(script).get("type") == WIDGET_STATE_TYPE:
                widget_state = _attributes(script).get("body", "")
                continue
            kept.append(script)
        tidy = []
        for script in kept:
            name = _filename(script)
            if name.endswith(f"{WIDGETS_DIR}/require.js"):
                tidy.append(_require_config_script(getattr(script, "priority", 500)))
            tidy.append(_deferred(script))
            if name.endswith(f"{WIDGETS_DIR}/embed-amd.js"):
                tidy.append(
                    _JavaScript(
                        f"_static/{WIDGETS_JS}",
                        priority=getattr(script, "priority", 500),
                        defer="defer",
                    )
                )
        context["script_files"] = tidy
        if widget_state:
            # Read by the embed manager when the page has loaded, wherever it is: at the
            # end of the page it no longer holds back the text and the first figure.
            context["body"] = (
                context.get("body", "")
                + f'\n<script type="{WIDGET_STATE_TYPE}">{widget_state}</script>\n'
            )
    css = context.get("css_files")
    if css:
        context["css_files"] = [
            sheet for sheet in css if not _filename(sheet).endswith("sphinx-thebe.css")
        ]


# ------------------------------------------------------------------------ the doctree

_FILE_LIKE = re.compile(r"(^|/)[^/\s]+\.(png|jpe?g|gif|svg|webp)$|[0-9a-f]{24,}", re.I)


def _caption_of(node):
    """The caption text of the figure that holds ``node``, or ``None``."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.figure):
            caption = next(iter(parent.findall(nodes.caption)), None)
            if caption is not None:
                return _plain(caption.astext())
            return None
        parent = parent.parent
    return None


def _section_of(node):
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section) and parent.children:
            title = parent[0]
            if isinstance(title, nodes.title):
                return _plain(title.astext())
        parent = parent.parent
    return None


def _in_output(node):
    """Whether ``node`` is part of a notebook cell's output."""
    parent = node.parent
    while parent is not None:
        if "cell_output" in parent.get("classes", []) or parent.get("nb_element") in (
            "cell_code_output",
            "mime_bundle",
        ):
            return True
        parent = parent.parent
    return False


def _plain(text):
    """Caption text as a screen reader should read it: no ``$``, no TeX backslashes."""
    text = re.sub(r"\$+", "", text)
    text = re.sub(r"\\(?:mathrm|mathbf|text|operatorname)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")
    return " ".join(text.split())


def _describe_images(app, doctree, docname):
    """Alt text for every image, lazy loading after the first; drop thebe's config."""
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if "text/x-thebe-config" in text or text.strip().startswith(
            "<script>kernelName"
        ):
            raw.parent.remove(raw)

    first = True
    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if not alt or _FILE_LIKE.search(alt):
            caption = _caption_of(image)
            if caption:
                alt = caption
            else:
                what = (
                    "Figure output of the code above" if _in_output(image) else "Figure"
                )
                section = _section_of(image)
                alt = f"{what}, in section '{section}'" if section else what
            image["alt"] = alt
        uri = str(image.get("uri", ""))
        if "://" in uri or uri.startswith("data:"):
            continue
        if first:
            first = False  # the first figure is wanted at once
        else:
            image.setdefault("loading", "lazy")


# -------------------------------------------------------------- after the build: icons

_ICON = re.compile(
    r'(?:"(?P<q>[a-z0-9-]+)"|(?P<b>[a-z][a-z0-9]*)):\[(?P<w>\d+),(?P<h>\d+),'
    r'\[(?P<aliases>[^\]]*)\],"(?P<code>[0-9a-f]+)",(?P<path>"(?:[^"\\]|\\.)*")\]'
)
_PACK_CALL = re.compile(r'\b\w+\("(fa[a-z-]*)",\w+\)')
_PACKS = {
    "fas": "fas",
    "fa-solid": "fas",
    "far": "far",
    "fa-regular": "far",
    "fab": "fab",
    "fa-brands": "fab",
}
_I_TAG = re.compile(r"<(?P<tag>i|span)\s+(?P<attrs>[^>]*)>\s*</(?P=tag)>")
#: Links the theme marks with a forge's logo, drawn from the brands webfont (118 kB).
_FORGE_LINK = re.compile(r'<a class="(?P<forge>github|gitlab)(?P<rest>[\s"][^>]*)>')
_ATTR = re.compile(r'([\w:-]+)="([^"]*)"')
_FA_SCRIPT = re.compile(
    r'\s*<script[^>]*src="[^"]*scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>'
)
_FA_PRELOAD = re.compile(
    r'\s*<link[^>]*href="[^"]*scripts/fontawesome\.js[^"]*"[^>]*/?>'
)
_TEMPLATE_SCRIPTS = re.compile(
    r'<script src="(?P<src>[^"]*(?:searchtools\.js|language_data\.js|searchindex\.js)'
    r'[^"]*)"></script>'
)


_TABLE = re.compile(r"<table\b.*?</table>", re.S)
_PRE_SPAN = re.compile(r'(<span class="pre">)([^<]*)(</span>)')


def _breakable_identifiers(html_text):
    """Let long identifiers in table cells break after ``_`` and ``.`` (``<wbr>``).

    A benchmarks table names cases such as ``random_poisson_128x128x1024``; unbroken,
    they make a ten-column table wider than the column.
    """

    def cell_code(match):
        text = re.sub(r"([_.])(?=[^_.<])", r"\1<wbr>", match.group(2))
        return match.group(1) + text + match.group(3)

    return _TABLE.sub(lambda m: _PRE_SPAN.sub(cell_code, m.group(0)), html_text)


def _font_awesome_icons():
    """``{(pack, name): (width, height, path, code)}`` from the theme's Font Awesome."""
    import pydata_sphinx_theme

    bundle = (
        Path(pydata_sphinx_theme.__file__).parent
        / "theme"
        / "pydata_sphinx_theme"
        / "static"
        / "scripts"
        / "fontawesome.js"
    )
    if not bundle.is_file():
        return {}
    text = bundle.read_text(encoding="utf-8")
    calls = [(m.start(), m.group(1)) for m in _PACK_CALL.finditer(text)]
    icons = {}
    for match in _ICON.finditer(text):
        pack = next(
            (_PACKS[p] for at, p in calls if at > match.end() and p in _PACKS), None
        )
        if pack is None:
            continue
        width, height = int(match["w"]), int(match["h"])
        path = json.loads(match["path"])
        names = [match["q"] or match["b"]]
        names += re.findall(r'"([a-z0-9-]+)"', match["aliases"])
        for name in names:
            icons.setdefault(
                (pack, name), (width, height, path, int(match["code"], 16))
            )
    return icons


def _icon_codes(attrs_text, icons):
    """The code points of the Font Awesome icons an element's classes name."""
    classes = dict(_ATTR.findall(attrs_text)).get("class", "").split()
    names = {c[3:] for c in classes if c.startswith("fa-")}
    return {value[3] for (_, name), value in icons.items() if name in names}


def _svg_icon(attrs_text, icons):
    attrs = dict(_ATTR.findall(attrs_text))
    classes = attrs.get("class", "").split()
    pack = next((_PACKS[c] for c in classes if c in _PACKS), None)
    names = [c[3:] for c in classes if c.startswith("fa-") and c not in _PACKS]
    found = None
    for name in names:
        for candidate in ([pack] if pack else []) + ["fas", "fab", "far"]:
            if (candidate, name) in icons:
                found = (candidate, name, icons[candidate, name])
                break
        if found:
            break
    if found is None:
        return None  # the theme's webfont (its CSS is loaded) still draws it
    _, name, (width, height, path, _code) = found
    kept = [c for c in classes if c not in _PACKS]
    attrs["class"] = " ".join(["svg-inline--fa", *kept])
    attrs.setdefault("aria-hidden", "true")
    attrs["focusable"] = "false"
    attrs["role"] = "img"
    attrs["viewBox"] = f"0 0 {width} {height}"
    attrs["xmlns"] = "http://www.w3.org/2000/svg"
    rendered = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
    return f'<svg {rendered}><path fill="currentColor" d="{path}"></path></svg>'


_CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_GLYPH = re.compile(r"\\([ef][0-9a-fA-F]{3})\b|([\ue000-\uf8ff])")
_FONT_FACE = re.compile(r"@font-face\{([^}]*)\}")


def _css_glyphs(static):
    """Icon code points that the site's stylesheets draw with a font (``::before``...).

    The ``.fa-NAME::before`` rules of Font Awesome's own CSS are skipped: the pages'
    icon elements are inline SVG now.
    """
    codes = set()
    for sheet in static.rglob("*.css"):
        if {"vendor", "mathjax", WIDGETS_DIR} & set(sheet.relative_to(static).parts):
            continue
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for selector, body in _CSS_RULE.findall(text):
            parts = [s.strip() for s in selector.split(",") if s.strip()]
            if parts and all(re.fullmatch(r"\.fa-[\w-]+::?before", s) for s in parts):
                continue
            for escape, literal in _GLYPH.findall(body):
                codes.add(int(escape, 16) if escape else ord(literal))
    return codes


def _subset_icon_fonts(outdir, extra_codes=()):
    """Replace the theme's icon webfonts (275 kB) by subsets of the glyphs CSS draws.

    Later ``@font-face`` rules with the same family, weight and style win, so faces
    appended to ``course.css`` point the browser at the subsets and the full fonts are
    never fetched.
    """
    try:
        from fontTools import subset
    except ImportError:  # pragma: no cover - fontTools comes with matplotlib
        return
    static = outdir / "_static"
    sheet = static / CSS_FILE
    theme_css = static / "styles" / "pydata-sphinx-theme.css"
    if not (sheet.is_file() and theme_css.is_file()):
        return
    codes = _css_glyphs(static) | set(extra_codes)
    faces = []
    for body in _FONT_FACE.findall(theme_css.read_text(encoding="utf-8")):
        family = re.search(r"font-family:([^;]+)", body)
        weight = re.search(r"font-weight:(\d+)", body)
        ttf = re.search(r"url\(([^)]*?([\w-]+)\.ttf)\)", body)
        if not (family and weight and ttf and "Font Awesome" in family.group(1)):
            continue
        source = (theme_css.parent / ttf.group(1)).resolve()
        if not source.is_file():
            continue
        target = source.with_name(f"course-{ttf.group(2)}.woff")
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(codes))
        subsetter.subset(font)
        subset.save_font(font, str(target), options)
        name = family.group(1).replace("\\", "").strip().strip('"')
        url = target.relative_to(static).as_posix()
        faces.append(
            f'@font-face {{ font-family: "{name}"; font-style: normal; '
            f"font-weight: {weight.group(1)}; font-display: block; "
            f'src: url({url}) format("woff"); }}'
        )
    text = sheet.read_text(encoding="utf-8")
    marker = "/* Icon fonts subset by the build: */"
    text = (
        text.split(marker)[0].rstrip()
        + "\n\n"
        + marker
        + "\n"
        + "\n".join(faces)
        + "\n"
    )
    sheet.write_text(text, encoding="utf-8")


def _finish_pages(app, exception):
    """Inline the pages' icons, defer the theme's search scripts, drop unused files."""
    if exception is not None or app.builder is None or app.builder.format != "html":
        return
    outdir = Path(app.builder.outdir)
    icons = _font_awesome_icons()
    unresolved = set()
    for page in outdir.rglob("*.html"):
        if "_static" in page.relative_to(outdir).parts:
            continue
        text = page.read_text(encoding="utf-8")
        new = text
        if icons:

            def inline(match):
                svg = _svg_icon(match["attrs"], icons)
                if svg is None:  # drawn by the webfont: keep its glyph in the subset
                    unresolved.update(_icon_codes(match["attrs"], icons))
                    return match.group(0)
                return svg

            new = _I_TAG.sub(
                lambda m: inline(m) if "fa-" in m["attrs"] else m.group(0), new
            )

            def forge(match):
                svg = _svg_icon(f'class="fab fa-{match["forge"]}"', icons)
                if svg is None:
                    return match.group(0)
                return f'<a class="{match["forge"]} course-icon{match["rest"]}>{svg}'

            new = _FORGE_LINK.sub(forge, new)
            new = _FA_SCRIPT.sub("", new)
            new = _FA_PRELOAD.sub("", new)
        new = _TEMPLATE_SCRIPTS.sub(r'<script defer src="\g<src>"></script>', new)
        if "<table" in new:
            new = _breakable_identifiers(new)
        if new != text:
            page.write_text(new, encoding="utf-8")
    static = outdir / "_static"
    unused = [
        "sphinx-thebe.js",
        "sphinx-thebe.css",
        *(
            ["scripts/fontawesome.js", "scripts/fontawesome.js.LICENSE.txt"]
            if icons
            else []
        ),
    ]
    for name in unused:
        (static / name).unlink(missing_ok=True)
    if icons:
        _subset_icon_fonts(outdir, unresolved)
    # Source maps are only read by a browser's developer tools.
    for source_map in (static / "scripts").glob("*.js.map"):
        source_map.unlink()


# ------------------------------------------------------------------------------ setup


def _add_static_path(app):
    if str(STATIC_DIR) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC_DIR))


def setup(app):
    app.connect("builder-inited", _add_static_path)
    app.add_css_file(CSS_FILE)
    app.connect("doctree-resolved", _describe_images, priority=900)
    app.connect("html-page-context", _tidy_page_scripts, priority=900)
    app.connect("build-finished", _finish_pages, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
