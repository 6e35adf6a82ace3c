"""The appendix page of benchmark results holds exactly what the
committed JSON renders to.

``benchmarks/report.py`` writes the tables of ``chapters/appendix_benchmarks.md`` from
``benchmarks/results/*.json`` (``make bench`` runs it after the benchmarks). These tests
re-render them from the committed JSON and compare, so the page cannot drift from the
results. No benchmark is run.
"""

from __future__ import annotations

import importlib.util

import pytest

from helpers import REPO

PAGE = REPO / "chapters" / "appendix_benchmarks.md"
RESULTS = REPO / "benchmarks" / "results"


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_report", REPO / "benchmarks" / "report.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_results_file_has_a_block_on_the_page(report):
    results = report.load_results(RESULTS)
    blocks = report.page_blocks(PAGE.read_text())
    assert set(results) == set(report.BLOCKS[1:])
    assert set(blocks) == set(report.BLOCKS)


@pytest.mark.parametrize(
    "name",
    [
        "machine",
        "regression",
        "poisson_scaling",
        "unmixing",
        "minvol",
        "sliding",
        "crystallography",
        "markov",
        "outofcore",
        "runtimes",
    ],
)
def test_page_table_equals_the_rendered_results(report, name):
    expected = report.render_blocks(report.load_results(RESULTS))[name]
    on_page = report.page_blocks(PAGE.read_text())[name]
    assert on_page == expected, (
        f"the {name!r} block of {PAGE.name} differs from "
        f"benchmarks/results/{name}.json; run `.venv/bin/python benchmarks/report.py` "
        "(make bench does) and commit both"
    )


def test_rendering_the_page_again_changes_nothing(report):
    text = PAGE.read_text()
    assert report.fill(text, report.render_blocks(report.load_results(RESULTS))) == text


def test_page_explains_how_to_rerun(report):
    text = PAGE.read_text()
    assert text.startswith("# Appendix: benchmarks\n")
    assert "make bench" in text


def test_fill_replaces_only_between_markers(report):
    page = (
        "intro\n<!-- results:regression:start -->\nold\n"
        "<!-- results:regression:end -->\noutro\n"
    )
    assert report.fill(page, {"regression": "new | table"}) == (
        "intro\n<!-- results:regression:start -->\nnew | table\n"
        "<!-- results:regression:end -->\noutro\n"
    )
    with pytest.raises(ValueError, match="no markers"):
        report.fill("no markers here\n", {"regression": "x"})


def test_sliding_block_says_when_a_peer_did_not_run(report):
    """A peer that did not install (or was skipped) is named on the page,
    with the reason."""
    results = report.load_results(RESULTS)
    sliding = results["sliding"]
    sliding["peers"]["atomai"] = dict(
        status="not installed", reason="pip install -r requirements-atomai.txt failed"
    )
    sliding["peers"]["pycroscopy"] = dict(
        status="skipped", reason="left out of SLIDING_PEERS"
    )
    block = report.render_sliding(sliding)
    assert (
        "**atomai: not installed.** pip install -r requirements-atomai.txt failed"
        in block
    )
    assert "**pycroscopy: skipped.**" in block
    assert "peer / lectlib" not in block  # no peer table without a peer that ran
    machine = report.render_machine(results)
    assert "atomai: not installed" in machine
