"""The book: it builds with warnings as errors, every page is there, it works offline.

One session-scoped build (``built_book`` in ``conftest.py``: ``jupyter-book build -W``
into a temporary folder) executes every chapter; the tests then read its HTML, and a
real Chromium opens it from a loopback server that serves it as a static host does
(``site``). ``test_pages.py`` checks every page's layout, weight and alt text at two
widths.
"""

from __future__ import annotations

import re

import pytest

from helpers import REPO, screenshot_dir, watch_page


def _toc_pages():
    text = (REPO / "_toc.yml").read_text()
    root = re.search(r"^root:\s*(\S+)", text, re.M).group(1)
    return [root] + re.findall(r"^\s*-?\s*file:\s*(\S+)", text, re.M)


def _page(html, page):
    return (html / f"{page}.html").read_text()


def test_every_toc_entry_has_its_page(built_book):
    for page in _toc_pages():
        assert (built_book / f"{page}.html").is_file(), page
    assert (built_book / "index.html").is_file()


def test_no_page_shows_an_error_or_a_traceback(built_book):
    for page in _toc_pages():
        text = _page(built_book, page)
        assert 'class="output stderr"' not in text, f"{page}: stderr output"
        assert 'class="output traceback"' not in text, f"{page}: error output"
        assert "Traceback (most recent call last)" not in text, page
        assert "system-message" not in text, (
            f"{page}: docutils error rendered in the page"
        )


def test_pages_load_nothing_from_the_network(built_book):
    """No script, style, font or image comes from outside the site."""
    external = re.compile(
        r"""<(script|link|img|iframe)\b[^>]*\b(src|href)=["'](https?:)?//""", re.I
    )
    for page in _toc_pages():
        text = _page(built_book, page)
        hits = [
            m.group(0)
            for m in external.finditer(text)
            if not m.group(0).lower().startswith('<link rel="canonical"')
        ]
        assert not hits, f"{page} loads from the network: {hits[:3]}"
    chapter = _page(built_book, "chapters/01_linear_mixing")
    assert (
        "_static/ipywidgets/embed-amd.js" in chapter
        and "_static/mathjax/tex-chtml.js" in chapter
    )


def test_launch_buttons_and_install_cells_use_the_one_repository_url(built_book):
    from repository import install_cell_urls, repository_url

    url = repository_url(REPO)
    org_repo = url.split("github.com/")[1]
    chapter = _page(built_book, "chapters/01_linear_mixing")
    assert (
        f"https://colab.research.google.com/github/{org_repo}/blob/main/chapters/01_linear_mixing.ipynb"
        in chapter
    )
    assert (
        f"https://mybinder.org/v2/gh/{org_repo}/main?urlpath=lab/tree/chapters/01_linear_mixing.ipynb"
        in chapter
    )
    assert set(install_cell_urls(REPO).values()) == {url}


def _scroll_through(page):
    """Scroll to the bottom and back, so that lazily loaded images load."""
    height = page.evaluate("document.scrollingElement.scrollHeight")
    for y in range(0, height + 800, 800):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(30)
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")


@pytest.mark.browser
def test_intro_page_renders_offline(site, browser, tmp_path):
    page = browser.new_page()
    problems = watch_page(page, site)
    page.goto(f"{site}/intro.html", wait_until="networkidle")
    assert "Machine Learning for Spectroscopy and Imaging Data" in page.title()
    assert page.locator("table").first.is_visible()
    assert page.get_by_text("Secondary-ion mass spectrometry").count() >= 1
    assert (
        page.locator(
            ".bibliography dd, .bibliography .citation, div.citation, aside.footnote"
        ).count()
        >= 10
    )
    page.screenshot(
        path=str(screenshot_dir(tmp_path) / "site-intro.png"), full_page=True
    )
    page.close()
    assert not problems, problems


# Each chapter page: how many static figures (matplotlib output saved by the build) and
# sliders it must show at least.
CHAPTER_PAGES = {
    "01_linear_mixing": (6, 6),
    "02_mlr_eels": (8, 4),
    "03_pca_history": (6, 2),
    "04_unmixing_methods": (10, 3),
    "05_sliding_fft": (8, 3),
    "06_local_crystallography": (8, 4),
    "07_markov_dynamics": (4, 3),
    "08_pipelines": (2, 1),
}


def test_every_chapter_page_is_checked_in_the_browser():
    chapters = {
        page.split("/")[-1]
        for page in _toc_pages()
        if page.startswith("chapters/") and (REPO / f"{page}.ipynb").is_file()
    }
    assert chapters == set(CHAPTER_PAGES), "update CHAPTER_PAGES when _toc.yml changes"


@pytest.mark.browser
@pytest.mark.parametrize("chapter", sorted(CHAPTER_PAGES))
def test_chapter_page_shows_figures_and_its_sliders_work_without_a_kernel(
    site, browser, tmp_path, chapter
):
    min_figures, min_sliders = CHAPTER_PAGES[chapter]
    page = browser.new_page()
    problems = watch_page(page, site)
    page.goto(f"{site}/chapters/{chapter}.html", wait_until="networkidle")
    _scroll_through(page)

    # Static figures (files in _images/, not the widgets' frames): every one shown has
    # loaded (those in closed solutions load lazily when opened).
    figures = page.locator(".cell_output img[src*='_images/']")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.cell_output img')]
             .filter(img => img.checkVisibility({visibilityProperty: true,
                                                 opacityProperty: true}))
             .every(img => img.complete && img.naturalWidth > 0)""",
        timeout=30000,
    )
    assert figures.count() >= min_figures, f"only {figures.count()} figures"
    # Math is typeset by the locally served MathJax.
    page.wait_for_selector("mjx-container", timeout=30000)

    # The embedded widgets render: sliders, and one visible frame under each slider
    # group.
    page.wait_for_selector(
        ".jupyter-widgets .widget-image, .jupyter-widgets img", timeout=30000
    )
    sliders = page.locator(".widget-slider, .jupyter-widget-slider").filter(
        has=page.locator(".noUi-handle")
    )
    assert sliders.count() >= min_sliders, f"only {sliders.count()} sliders rendered"

    # Move the first slider of the chapter's first FrameSlider and watch its figure
    # change.
    slider = sliders.first
    slider.scroll_into_view_if_needed()
    group = slider.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
    image = group.locator("img").locator("visible=true").first
    readout = slider.locator(".widget-readout")
    before_png, before_text = image.screenshot(), readout.inner_text()
    handle = slider.locator(".noUi-handle").first.bounding_box()
    track = slider.locator(".noUi-target").first.bounding_box()
    page.mouse.move(
        handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    )
    page.mouse.down()
    page.mouse.move(
        track["x"] + track["width"] - 1, handle["y"] + handle["height"] / 2, steps=12
    )
    page.mouse.up()
    page.wait_for_function(
        "([el, text]) => el.innerText !== text",
        arg=[readout.element_handle(), before_text],
        timeout=10000,
    )
    image = group.locator("img").locator("visible=true").first
    after_png, after_text = image.screenshot(), readout.inner_text()
    page.screenshot(
        path=str(screenshot_dir(tmp_path) / f"site-{chapter}.png"), full_page=True
    )
    page.close()

    assert after_text != before_text
    assert after_png != before_png, "moving the slider did not change the figure"
    assert not problems, problems
