"""Tests of the course map (chapters/_ext/course_map.py): reading and run times per
chapter, computed when the book is built, and "not measured" when there is no number.

The directive is exercised in a small Sphinx project built in a temporary folder (a
notebook chapter, a Markdown chapter, a planned one), with and without a temporary
run-time file; the real intro page is checked to list every chapter of the book.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest
import yaml

import course_map as cm


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = list(cells)
    return nb


# ------------------------------------------------------------------ counting and times


@pytest.mark.parametrize(
    ("markdown", "words"),
    [
        ("one two three", 3),
        ("# A title\n\nSome *emphasis* and **bold**.", 6),
        ("Math $a + b = c$ is not read as words.", 6),
        ("$$\nx = \\sum_i y_i\n$$ (label)\n\nafter", 2),
        ("A note{footcite}`kalinin_lecture,bosman2006`.", 2),
        ("Glued {glue:text}`rmse:.2f` counts", 3),
        ("```{exercise}\n:label: ex-1\n\nFit it.\n```", 2),
        ("[the link](https://example.org/a-b-c) text", 3),
        ("<!-- hidden -->shown", 1),
        ("well-known don't", 2),
    ],
)
def test_count_words(markdown, words):
    assert cm.count_words(markdown) == words


def test_notebook_counts_read_what_the_page_shows():
    nb = _notebook(
        nbformat.v4.new_markdown_cell("# Title\n\n" + "word " * 30),
        nbformat.v4.new_code_cell("import os\n\nx = 1\n"),
        nbformat.v4.new_code_cell("hidden = 1\n", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("check = 1\n", metadata={"tags": ["remove-input"]}),
        nbformat.v4.new_code_cell("folded = 1\n", metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_code_cell("y = 2", metadata={"tags": ["nbval-ignore-output"]}),
        nbformat.v4.new_raw_cell("raw text is not counted"),
    )
    assert cm.notebook_counts(nb) == (31, 3)


def test_markdown_counts_code_cells_as_code():
    text = (
        "# Page\n\nFour words of prose.\n\n"
        "```{code-cell} ipython3\nx = 1\ny = 2\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\nhidden = 1\n```\n\n"
        "```python\nshown = 'a plain code block is prose here'\n```\n"
    )
    words, code = cm.markdown_counts(text)
    assert code == 2
    assert words == cm.count_words(
        "# Page\n\nFour words of prose.\n\nshown = 'a plain code block is prose here'"
    )


def test_source_counts_of_both_kinds(tmp_path):
    nbformat.write(
        _notebook(nbformat.v4.new_markdown_cell("a b c")), tmp_path / "x.ipynb"
    )
    (tmp_path / "y.md").write_text("d e\n")
    assert cm.source_counts(tmp_path / "x.ipynb") == (3, 0)
    assert cm.source_counts(tmp_path / "y.md") == (2, 0)


@pytest.mark.parametrize(
    ("words", "code", "minutes"),
    [(0, 0, 1), (200, 0, 1), (201, 0, 2), (1000, 100, 10), (3500, 250, 30)],
)
def test_reading_minutes(words, code, minutes):
    assert cm.reading_minutes(words, code) == minutes


def test_load_runtimes(tmp_path):
    path = tmp_path / "runtimes.json"
    assert cm.load_runtimes(path) is None
    data = {"chapters": {"01_a": {"quiet_s": 9.1, "busy_s": 14.2}}, "python": "3.11"}
    path.write_text(json.dumps(data))
    assert cm.load_runtimes(path) == data
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        cm.load_runtimes(path)
    path.write_text('{"chapters": [1, 2]}')
    with pytest.raises(ValueError, match='has no "chapters" mapping'):
        cm.load_runtimes(path)


@pytest.mark.parametrize(
    ("row", "text"),
    [
        ({"quiet_s": 9.1, "busy_s": 14.2}, "9 s (14 s busy)"),
        ({"quiet_s": 0.2, "busy_s": 0.7}, "< 1 s (1 s busy)"),
        ({"quiet_s": 12.0}, "12 s"),
        ({"busy_s": 15.5}, "16 s busy"),
        ({"quiet_s": float("nan"), "busy_s": "fast"}, "not measured"),
        ({"quiet_s": -1, "busy_s": True}, "not measured"),
        ({}, "not measured"),
        ("9 s", "not measured"),
    ],
)
def test_run_time_text(row, text):
    assert cm.run_time_text({"chapters": {"01_a": row}}, "01_a") == text


def test_run_time_not_measured_without_the_chapter_or_the_file():
    assert cm.run_time_text({"chapters": {"02_b": {"quiet_s": 3}}}, "01_a") == (
        "not measured"
    )
    assert cm.run_time_text(None, "01_a") == "not measured"
    assert cm.run_time_text({}, "01_a") == "not measured"


def test_machine_text():
    machine = {"cpu": "AMD EPYC", "logical_cpus": 2, "python": "3.11.7"}
    assert cm.machine_text({"machine": machine}) == (
        "AMD EPYC, 2 logical CPUs, Python 3.11.7"
    )
    assert cm.machine_text({"machine": "a laptop", "python": "3.11"}) == (
        "a laptop, Python 3.11"
    )
    assert cm.machine_text({"chapters": {}}) == ""
    assert cm.machine_text(None) == ""


def test_parse_entries():
    lines = [
        "chapters/01_a | Mixing | and more",
        "",
        "planned: Later chapter | Not yet",
    ]
    assert cm.parse_entries(lines) == [
        ("chapters/01_a", False, "Mixing | and more"),
        ("Later chapter", True, "Not yet"),
    ]
    for bad in ["chapters/01_a", "| no target", "chapters/01_a |"]:
        with pytest.raises(ValueError, match="expected '<document> | <description>'"):
            cm.parse_entries([bad])


# ------------------------------------------------------------------- the directive


CONF = """
import sys
sys.path.insert(0, {ext!r})
extensions = ["myst_nb", "course_map"]
nb_execution_mode = "off"
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath"]
"""

INDEX = """# Home

```{{toctree}}
chapters/01_a
chapters/02_b
```

```{{course-map}}
{entries}
```
"""

ENTRIES = """chapters/01_a | Mixing with *emphasis* and $x^2$
chapters/02_b | Second chapter
planned: Later | Not yet"""


def _html_rows(html):
    body = html.split('class="course-map', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in rows]
    text = [
        [re.sub(r"\s+", " ", re.sub("<[^>]+>", "", c)).strip() for c in row]
        for row in cells
    ]
    return cells, text


@pytest.fixture
def project(tmp_path, repo_root):
    src = tmp_path / "src"
    (src / "chapters").mkdir(parents=True)
    (src / "conf.py").write_text(CONF.format(ext=str(repo_root / "chapters" / "_ext")))
    (src / "index.md").write_text(INDEX.format(entries=ENTRIES))
    nbformat.write(
        _notebook(
            nbformat.v4.new_markdown_cell("# Chapter A\n\n" + "word " * 398),
            nbformat.v4.new_code_cell("x = 1\n", metadata={"tags": ["remove-cell"]}),
            nbformat.v4.new_code_cell("\n".join(f"a{i} = {i}" for i in range(40))),
        ),
        src / "chapters" / "01_a.ipynb",
    )
    (src / "chapters" / "02_b.md").write_text("# Chapter B\n\nSome text.\n")
    return src


def _build(src, expect_ok=True):
    """Build ``src`` with Sphinx in a new process; (index.html, warnings)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-b",
            "html",
            "-d",
            str(src / "_build" / "doctrees"),
            str(src),
            str(src / "_build" / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    warnings = out.stderr
    if expect_ok:
        assert out.returncode == 0 and not warnings, warnings
    index = src / "_build" / "html" / "index.html"
    return (index.read_text() if index.is_file() else ""), warnings


def test_course_map_with_and_without_run_times(project):
    results = project / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "runtimes.json").write_text(
        json.dumps(
            {
                "chapters": {"01_a": {"quiet_s": 9.1, "busy_s": 14.2}},
                "machine": {"cpu": "TestCPU", "logical_cpus": 2},
                "python": "3.11",
            }
        )
    )
    html, _ = _build(project)
    cells, text = _html_rows(html)
    assert text[0] == ["", "Chapter", "What it does", "Reading", "Run time"]
    # 400 words at 200 a minute + 40 code lines at 20 a minute (the hidden cell does
    # not count) = 4 minutes
    assert text[1] == [
        "1",
        "Chapter A",
        "Mixing with emphasis and \\(x^2\\)",
        "4 min",
        "9 s (14 s busy)",
    ]
    assert 'href="chapters/01_a.html"' in cells[1][1]
    assert "<em>emphasis</em>" in cells[1][2]
    assert text[2] == ["2", "Chapter B", "Second chapter", "1 min", "not measured"]
    assert text[3] == ["3", "Later", "Not yet", "in preparation", "—"]
    assert "measured on TestCPU, 2 logical CPUs, Python 3.11." in html

    # The run-time file goes away: the page is rebuilt and says so, inventing nothing.
    (results / "runtimes.json").unlink()
    html, _ = _build(project)
    _, text = _html_rows(html)
    assert [row[4] for row in text[1:3]] == ["not measured", "not measured"]
    assert "Run times have not been measured yet." in html

    # A chapter grows: the map follows without being told.
    chapter = project / "chapters" / "02_b.md"
    chapter.write_text(chapter.read_text() + "more " * 400)
    html, _ = _build(project)
    assert _html_rows(html)[1][2][3] == "3 min"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("chapters/09_missing | Nope", "no document 'chapters/09_missing'"),
        ("chapters/01_a without a bar", "expected '<document> | <description>'"),
    ],
)
def test_course_map_errors_fail_the_build(project, entries, message):
    (project / "index.md").write_text(INDEX.format(entries=entries))
    _, warnings = _build(project, expect_ok=False)
    assert message in warnings


def test_a_broken_run_time_file_fails_the_build(project):
    results = project / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "runtimes.json").write_text("{")
    _, warnings = _build(project, expect_ok=False)
    assert "is not valid JSON" in warnings


# ------------------------------------------------------------------ the real intro page


def test_intro_course_map_lists_every_chapter_of_the_book(repo_root):
    intro = (repo_root / "intro.md").read_text()
    block = re.search(r"```\{course-map\}\n(.*?)\n```", intro, re.S)
    assert block, "intro.md has no {course-map}"
    entries = cm.parse_entries(block[1].splitlines())
    listed = [target for target, planned, _ in entries if not planned]
    toc = yaml.safe_load((repo_root / "_toc.yml").read_text())
    chapters = [
        entry["file"]
        for entry in toc["chapters"]
        if re.match(r"chapters/\d", entry["file"])
    ]
    assert listed == chapters
    # the map is the only place chapter times appear: none typed in the intro
    assert not re.search(r"\d+\s*(min|s)\b", intro.replace(block[0], ""))
