"""Every page of the built site as a reader's browser sees it, at 1400 px and at 400 px.

One session-scoped visit per page and width (``page_visits``) opens the site from the
local static host (``site`` in ``conftest.py``: gzip for text, as a static host serves
it) in headless Chromium with the cache disabled. At 1400 px the network is throttled to
20 Mbit/s down with 40 ms latency (Chrome DevTools Protocol), which gives the page's
cold weight (bytes transferred: HTML and every resource, after scrolling to the end so
that lazy images load too) and the time until its first figure is drawn. The visits save
full-page screenshots under ``_build/screenshots/`` and a report,
``_build/page-report.json`` and ``.md`` (CI artifacts; ``LECTLIB_REPORT_DIR`` puts them
elsewhere).

The tests then fail on: code, a table or a display equation wider than its column at
1400 px (collapsed cells and dropdowns are opened first), an equation number over its
equation, a page that scrolls sideways at 400 px, a page over its weight budget, an
image without alt text (or with a file name as alt text), a console error, a request
that leaves the machine, and a CDN URL in any HTML file of the site.

To measure another build (e.g. an older commit's), point ``LECTLIB_BUILT_BOOK`` at its
``_build/html``: the report is written even when the tests fail.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from helpers import REPO, watch_page

DESKTOP, PHONE = 1400, 400
#: A chapter page transfers at most this much, cold, as a static host serves it.
WEIGHT_BUDGET = 5_000_000
#: A chapter's first figure is drawn this soon (s) on that connection.
FIRST_FIGURE_BUDGET = 3.0
#: The connection of the first-figure measurement: 20 Mbit/s down, 40 ms latency.
THROTTLE = {
    "offline": False,
    "latency": 40,
    "downloadThroughput": 20e6 / 8,
    "uploadThroughput": 10e6 / 8,
}
CDN_HOSTS = re.compile(
    r"unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|googleapis\.com|gstatic\.com"
    r"|bootstrapcdn\.com|code\.jquery\.com|cdn\.plot\.ly|cloudflare\.com/ajax"
    r"|fontawesome\.com/releases|kit\.fontawesome\.com|polyfill\.io|unpkg\b|\bcdn\.",
    re.I,
)
FILE_LIKE_ALT = re.compile(
    r"\.(png|jpe?g|gif|svg|webp)\b|^\.\.?/|_images/|[0-9a-f]{16,}", re.I
)


def _content_pages():
    text = (REPO / "_toc.yml").read_text()
    root = re.search(r"^root:\s*(\S+)", text, re.M).group(1)
    return [root] + re.findall(r"^\s*-?\s*file:\s*(\S+)", text, re.M)


#: The pages a reader reaches: the course map, chapters, appendix, search and index.
PAGES = [*_content_pages(), "search", "genindex"]


def _report_dir():
    return Path(os.environ.get("LECTLIB_REPORT_DIR", REPO / "_build"))


# ------------------------------------------------------------------- in the browser

#: Stamps every image with the time (ms since navigation) of the first frame that
#: draws it.
STAMP_IMAGES = """
(() => {
  const stamp = () => {
    const now = performance.now();
    for (const img of document.getElementsByTagName("img")) {
      if (!img.dataset.shownAt && img.complete && img.naturalWidth > 0
          && img.isConnected && img.checkVisibility({ visibilityProperty: true })) {
        img.dataset.shownAt = now.toFixed(0);
      }
    }
    if (now < 180000) requestAnimationFrame(stamp);
  };
  requestAnimationFrame(stamp);
})();
"""

#: The article's first figure in reading order: a static figure or a slider's frame.
FIRST_FIGURE = """
() => {
  const img = [...document.querySelectorAll("article.bd-article img")]
    .find((i) => i.checkVisibility({ visibilityProperty: true }));
  if (!img) return null;
  return {
    ms: img.dataset.shownAt ? Number(img.dataset.shownAt) : null,
    widget: Boolean(img.closest(".jupyter-widgets")),
    alt: img.getAttribute("alt"),
  };
}
"""

WIDGETS_RENDERED = """
() => [...document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]')]
      .every((s) => s.previousElementSibling
                    && s.previousElementSibling.classList.contains("widget-subarea")
                    && s.previousElementSibling.children.length > 0)
"""

MATH_TYPESET = """
async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  return Boolean(window.MathJax && window.MathJax.startup)
    || !document.querySelector("div.math, span.math");
}
"""

#: Opens collapsed cells, dropdowns and toggles, so that their code is measured too.
OPEN_EVERYTHING = """
() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => {
    e.classList.remove("toggle-hidden");
  });
  document.querySelectorAll(".dropdown.toggle-hidden, .admonition.dropdown")
    .forEach((e) => e.classList.remove("toggle-hidden"));
}
"""

#: Everything that is wider than its column (at this width), and every image's alt text.
LAYOUT = """
() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const shown = (e) =>
    e.checkVisibility({ visibilityProperty: true, opacityProperty: true });
  const snippet = (e) => e.textContent.replace(/\\s+/g, " ").trim().slice(0, 70);
  const out = { code: [], tables: [], equations: [], eqno: [], images: [] };
  const right = (e) => e.getBoundingClientRect().right;
  for (const block of article.querySelectorAll("div.highlight, pre")) {
    if (!shown(block)) continue;
    const column = block.parentElement;
    if (block.scrollWidth > block.clientWidth + 1
        || right(block) > right(column) + 1) {
      out.code.push(`${block.scrollWidth}px in ${block.clientWidth}px: `
                    + snippet(block));
    }
  }
  for (const table of article.querySelectorAll("table")) {
    if (!shown(table)) continue;
    const box = table.closest(".pst-scrollable-table-container, .output")
                || table.parentElement;
    if (table.getBoundingClientRect().width > box.clientWidth + 1
        || box.scrollWidth > box.clientWidth + 1) {
      out.tables.push(`${Math.round(table.getBoundingClientRect().width)}px in `
                      + `${box.clientWidth}px: ` + snippet(table));
    }
  }
  for (const eq of article.querySelectorAll('mjx-container[display="true"]')) {
    if (!shown(eq)) continue;
    const math = eq.querySelector("mjx-math") || eq;
    const box = eq.closest("div.math") || eq.parentElement;
    const width = math.getBoundingClientRect().width;
    if (width > eq.clientWidth + 1 || right(eq) > right(box) + 1
        || width > box.clientWidth + 1) {
      const label = box.id || snippet(box);
      out.equations.push(`${Math.round(width)}px in ${box.clientWidth}px: ${label}`);
    }
    const number = box.querySelector("span.eqno");
    if (number && shown(number)) {
      const a = number.getBoundingClientRect();
      const b = math.getBoundingClientRect();
      const bEnd = Math.min(b.right, eq.getBoundingClientRect().right);
      if (a.left < bEnd - 1 && b.left < a.right - 1
          && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
        out.eqno.push(number.textContent.trim());
      }
    }
  }
  for (const img of document.querySelectorAll("img")) {
    out.images.push({
      alt: img.getAttribute("alt"),
      src: (img.getAttribute("src") || "").slice(0, 80),
      shown: shown(img),
    });
  }
  out.scrollWidth = document.scrollingElement.scrollWidth;
  out.innerWidth = window.innerWidth;
  return out;
}
"""


def _kind(mime, url):
    path = url.split("?")[0]
    if "html" in mime:
        return "html"
    if "javascript" in mime or path.endswith(".js"):
        return "script"
    if "css" in mime:
        return "style"
    if "font" in mime or path.endswith((".woff", ".woff2", ".ttf", ".otf", ".eot")):
        return "font"
    if mime.startswith("image/"):
        return "image"
    return "other"


def _scroll_through(page):
    height = page.evaluate("document.scrollingElement.scrollHeight")
    for y in range(0, height + 900, 700):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(40)
    # Lazy images inside collapsed cells never load, and need not.
    page.wait_for_function(
        "() => [...document.images].every((i) => i.complete || !i.checkVisibility("
        "{visibilityProperty: true, opacityProperty: true}))",
        timeout=60000,
    )
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(100)


def _visit(context, origin, name, width, throttle, shots):
    """Load one page cold, measure it, screenshot it, and check its layout."""
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttle:
        cdp.send("Network.emulateNetworkConditions", THROTTLE)
    requests = {}

    def on_response(event):
        response = event["response"]
        requests.setdefault(event["requestId"], {}).update(
            url=response["url"], mime=response.get("mimeType", "")
        )

    def on_finished(event):
        requests.setdefault(event["requestId"], {})["bytes"] = event[
            "encodedDataLength"
        ]

    def on_data(event):
        entry = requests.setdefault(event["requestId"], {})
        entry["decoded"] = entry.get("decoded", 0) + event["dataLength"]

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.dataReceived", on_data)
    cdp.on("Network.loadingFinished", on_finished)
    problems = watch_page(page, origin)
    page.add_init_script(STAMP_IMAGES)
    start = time.perf_counter()
    page.goto(f"{origin}/{name}.html", wait_until="load", timeout=180000)
    load_s = time.perf_counter() - start
    page.wait_for_function(WIDGETS_RENDERED, timeout=120000)
    page.evaluate(MATH_TYPESET)
    page.wait_for_load_state("networkidle")
    first_figure = page.evaluate(FIRST_FIGURE)
    initial = sum(r.get("bytes", 0) for r in requests.values())
    _scroll_through(page)
    page.evaluate(MATH_TYPESET)
    slug = name.replace("/", "-")
    shot = shots / f"{slug}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    page.evaluate(OPEN_EVERYTHING)
    page.wait_for_timeout(500)  # the toggles fade in over 0.3 s
    layout = page.evaluate(LAYOUT)
    cdp.detach()
    page.close()

    by_kind = {}
    for r in requests.values():
        kind = _kind(r.get("mime", ""), r.get("url", ""))
        by_kind[kind] = by_kind.get(kind, 0) + r.get("bytes", 0)
    return {
        "page": name,
        "width": width,
        "throttled": throttle,
        "weight_bytes": sum(r.get("bytes", 0) for r in requests.values()),
        "weight_before_scrolling_bytes": initial,
        "uncompressed_bytes": sum(r.get("decoded", 0) for r in requests.values()),
        "requests": len(requests),
        "bytes_by_kind": dict(sorted(by_kind.items())),
        "load_event_s": round(load_s, 2),
        "first_figure": first_figure,
        "layout": layout,
        "problems": problems,
        "screenshot": str(shot),
        "resources": sorted(
            (
                {
                    "url": r.get("url", "").replace(origin, ""),
                    "kind": _kind(r.get("mime", ""), r.get("url", "")),
                    "bytes": r.get("bytes", 0),
                }
                for r in requests.values()
            ),
            key=lambda r: -r["bytes"],
        ),
    }


def _site_bytes(html):
    return sum(p.stat().st_size for p in Path(html).rglob("*") if p.is_file())


def _write_report(visits, html):
    out = _report_dir()
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "site": str(html),
        "site_bytes": _site_bytes(html),
        "throttle": "20 Mbit/s down, 40 ms latency, cache disabled, gzip for text",
        "weight_budget_bytes": WEIGHT_BUDGET,
        "visits": visits,
    }
    (out / "page-report.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        "# Page weight and first figure",
        "",
        f"Site: {report['site_bytes'] / 1e6:.1f} MB on disk. Weight: bytes transferred "
        "cold (gzip for text, as a static host serves it) including every lazy image; "
        "first figure: ms until the article's first image is drawn, "
        f"at {report['throttle']}.",
        "",
        "| page | weight (MB) | before scrolling (MB) | uncompressed (MB) | requests "
        "| first figure (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for v in visits:
        if v["width"] != DESKTOP:
            continue
        if "error" in v:
            lines.append(f"| {v['page']} | not measured: {v['error'][:60]} | | | | |")
            continue
        figure = v["first_figure"]
        when = (
            f"{figure['ms'] / 1000:.2f}" + (" (slider)" if figure["widget"] else "")
            if figure and figure["ms"] is not None
            else "–"
        )
        lines.append(
            f"| {v['page']} | {v['weight_bytes'] / 1e6:.2f} "
            f"| {v['weight_before_scrolling_bytes'] / 1e6:.2f} "
            f"| {v['uncompressed_bytes'] / 1e6:.2f} | {v['requests']} | {when} |"
        )
    (out / "page-report.md").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def page_visits(site, browser, built_book):
    """``{(page, width): visit}`` for every page at 1400 px (throttled) and 400 px."""
    shots = _report_dir() / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    visits = {}
    for name in PAGES:
        if not (built_book / f"{name}.html").is_file():
            continue
        for width in (DESKTOP, PHONE):
            try:
                visits[name, width] = _visit(
                    browser, site, name, width, width == DESKTOP, shots
                )
            except Exception as exc:  # one broken page must not hide the others
                visits[name, width] = {"page": name, "width": width, "error": repr(exc)}
    _write_report(list(visits.values()), built_book)
    return visits


# ---------------------------------------------------------------------------- tests


def _visit_of(page_visits, name, width):
    visit = page_visits.get((name, width))
    if visit is None:
        pytest.skip(f"{name} is not part of this build")
    if "error" in visit:
        pytest.fail(f"{name} at {width} px could not be measured: {visit['error']}")
    return visit


def test_no_html_file_names_a_cdn(built_book):
    """No page, nor any HTML file the site ships, points at a CDN (sphinx-thebe did)."""
    hits = {}
    for path in sorted(built_book.rglob("*.html")):
        found = sorted(set(CDN_HOSTS.findall(path.read_text(errors="replace"))))
        if found:
            hits[str(path.relative_to(built_book))] = found
    assert not hits, f"CDN URLs in the site's HTML: {hits}"


def test_pages_load_only_the_scripts_they_use(built_book):
    """MathJax where there is math, widget scripts where there are widgets, no thebe."""
    for name in PAGES:
        path = built_book / f"{name}.html"
        if not path.is_file():
            continue
        text = path.read_text()
        has_math = 'class="math' in text
        has_widgets = "application/vnd.jupyter.widget-view+json" in text
        assert ("mathjax/tex-chtml.js" in text) == has_math, name
        assert ("ipywidgets/embed-amd.js" in text) == has_widgets, name
        assert ("ipywidgets/require.js" in text) == has_widgets, name
        assert "thebe" not in text.lower(), name
        assert "scripts/fontawesome.js" not in text, name
        head = text.split("</head>")[0]
        assert "application/vnd.jupyter.widget-state+json" not in head, (
            f"{name}: the widget state holds back the page from <head>"
        )
        blocking = [
            src
            for tag, src in re.findall(r'(<script\b([^>]*\bsrc="[^"]+"[^>]*)>)', head)
            if " defer" not in tag
            and " async" not in tag
            and "documentation_options.js" not in src
        ]
        assert not blocking, f"{name}: scripts that block the page: {blocking}"


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_fits_its_column_at_desktop_width(page_visits, name):
    visit = _visit_of(page_visits, name, DESKTOP)
    layout = visit["layout"]
    assert not layout["code"], f"code wider than its column: {layout['code'][:5]}"
    assert not layout["tables"], f"tables wider than their column: {layout['tables']}"
    assert not layout["equations"], f"equations clipped: {layout['equations']}"
    assert not layout["eqno"], f"equation numbers over equations: {layout['eqno']}"


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_does_not_scroll_sideways_on_a_phone(page_visits, name):
    visit = _visit_of(page_visits, name, PHONE)
    layout = visit["layout"]
    assert layout["scrollWidth"] <= layout["innerWidth"], (
        f"the page is {layout['scrollWidth']} px wide in a {layout['innerWidth']} px "
        "viewport"
    )
    assert not layout["eqno"], f"equation numbers over equations: {layout['eqno']}"


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_is_within_its_weight_budget(page_visits, name):
    visit = _visit_of(page_visits, name, DESKTOP)
    assert visit["weight_bytes"] <= WEIGHT_BUDGET, (
        f"{name} transfers {visit['weight_bytes'] / 1e6:.2f} MB cold "
        f"(budget {WEIGHT_BUDGET / 1e6:.0f} MB): {visit['bytes_by_kind']}"
    )


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_first_figure_is_drawn_soon(page_visits, name):
    """At 20 Mbit/s and 40 ms latency the first figure shows within 3 s."""
    visit = _visit_of(page_visits, name, DESKTOP)
    figure = visit["first_figure"]
    if figure is None:
        return  # a page without figures
    assert figure["ms"] is not None, f"{name}: the first figure was never drawn"
    assert figure["ms"] <= FIRST_FIGURE_BUDGET * 1000, (
        f"{name}: first figure after {figure['ms'] / 1000:.2f} s "
        f"(budget {FIRST_FIGURE_BUDGET:.0f} s)"
    )


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_every_image_has_alt_text(page_visits, name):
    for width in (DESKTOP, PHONE):
        visit = _visit_of(page_visits, name, width)
        bad = [
            image
            for image in visit["layout"]["images"]
            if not (image["alt"] or "").strip() or FILE_LIKE_ALT.search(image["alt"])
        ]
        assert not bad, f"images without meaningful alt text at {width} px: {bad[:5]}"


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_console_error_and_stays_on_the_machine(page_visits, name):
    for width in (DESKTOP, PHONE):
        visit = _visit_of(page_visits, name, width)
        assert not visit["problems"], f"at {width} px: {visit['problems']}"


# ------------------------------------------------ the build step, without a build


def test_theme_icons_become_inline_svg():
    from course_book import _font_awesome_icons, _svg_icon

    icons = _font_awesome_icons()
    svg = _svg_icon(
        'class="theme-switch fa-solid fa-moon fa-lg" data-mode="dark"', icons
    )
    assert svg.startswith('<svg class="svg-inline--fa theme-switch fa-moon fa-lg"')
    assert 'data-mode="dark"' in svg and 'aria-hidden="true"' in svg
    assert _svg_icon('class="fab fa-github"', icons) is not None
    assert _svg_icon('class="fa-solid fa-no-such-icon"', icons) is None


def test_alt_text_reads_without_tex():
    from course_book import _plain

    assert (
        _plain(r"Reduced \chi^2_\nu maps of $\mathrm{SNR}$ and $w_{i}$")
        == "Reduced chi^2_nu maps of SNR and w_i"
    )


def test_table_identifiers_may_break_after_underscores_once():
    from course_book import _breakable_identifiers

    cell = '<table><td><code><span class="pre">eels_interface_64x64</span></code></td>'
    once = _breakable_identifiers(cell + "</table>")
    assert "eels_<wbr>interface_<wbr>64x64" in once
    assert _breakable_identifiers(once) == once
    outside = '<p><span class="pre">a_b</span></p>'
    assert _breakable_identifiers(outside) == outside
