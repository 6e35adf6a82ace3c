"""The course map: a ``{course-map}`` directive listing the chapters with their reading
and run times, computed when the book is built (never typed).

Build tooling beside the book (registered in ``_config.yml`` under
``sphinx.local_extensions``); the chapters never import it. Each line of the directive's
body is ``<document> | <what the chapter does>`` for a chapter of the book, or
``planned: <title> | <what it will do>`` for one in preparation::

    ```{course-map}
    chapters/01_linear_mixing | The linear mixing model, rank, noise
    planned: Local crystallography | Atomic neighborhoods as descriptors
    ```

- **Reading time** comes from the chapter's own source: the words of its Markdown at
  :data:`WORDS_PER_MINUTE`, plus the code lines a reader sees (cells not removed or
  collapsed on the site) at :data:`CODE_LINES_PER_MINUTE`.
- **Run time** comes from ``benchmarks/results/runtimes.json`` (written by
  ``benchmarks/bench_runtimes.py``): ``{"chapters": {"01_linear_mixing": {"quiet_s":
  9.1, "busy_s": 14.2}, ...}, "machine": ..., "python": "3.11"}``, the seconds a fresh
  kernel with no thread variables takes on a quiet machine and with one core kept busy.
  A chapter missing there, or a missing file, reads "not measured".

The page that holds the map is rebuilt when a chapter or the run-time file changes.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Reading speed for prose (a usual figure for technical text read with care).
WORDS_PER_MINUTE = 200
#: Reading speed for the code a page shows.
CODE_LINES_PER_MINUTE = 20
#: Where the run times are read from, relative to the book's root
#: (``course_map_runtimes`` in the Sphinx configuration overrides it).
RUNTIMES = "benchmarks/results/runtimes.json"
#: Code cells with these tags are not shown (removed or collapsed) on the site.
HIDDEN_TAGS = frozenset({"remove-cell", "remove-input", "hide-cell", "hide-input"})

NOT_MEASURED = "not measured"

_FENCE = re.compile(r"^\s*(`{3,}|:{3,})")
_OPTION = re.compile(r"^\s*:[\w-]+:")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_ROLE = re.compile(r"\{([\w:.-]+)\}`([^`]*)`")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_CODE_CELL = re.compile(r"^```+\{code-cell\}")


def _role_words(match):
    # a citation shows as a note number, a glued value as one number, other roles
    # (doc, ref, math...) as their text
    name, content = match[1], match[2]
    if "cite" in name:
        return " "
    if name.startswith("glue"):
        return " 0 "
    return f" {content} "


def count_words(markdown):
    """Words a reader reads in MyST Markdown: prose, headings, list and table text.

    Math, citations, directive fences and options, role names, link targets and HTML
    comments are not words; the text inside other roles and in directives is.

    >>> count_words("# Title\\n\\nThe *mixing* model $S = A W$ {footcite}`x` ok.")
    5
    """
    text = _COMMENT.sub(" ", markdown)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    text = _ROLE.sub(_role_words, text)
    text = _LINK_TARGET.sub("] ", text)
    lines = [
        line
        for line in text.splitlines()
        if not (_FENCE.match(line) or _OPTION.match(line))
    ]
    return len(_WORD.findall("\n".join(lines)))


def _code_lines(source):
    return sum(1 for line in source.splitlines() if line.strip())


def notebook_counts(notebook):
    """``(words, code_lines)`` a reader sees in a notebook (a dict, as in the file)."""
    words = code = 0
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "markdown":
            words += count_words(source)
        elif cell.get("cell_type") == "code":
            tags = set(cell.get("metadata", {}).get("tags", []))
            if not tags & HIDDEN_TAGS:
                code += _code_lines(source)
    return words, code


def markdown_counts(text):
    """``(words, code_lines)`` of a MyST Markdown page; ``{code-cell}`` blocks are code
    (their ``:tags:`` option hides them as in a notebook)."""
    words_part, code = [], 0
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if _CODE_CELL.match(lines[i]):
            fence = re.match(r"^`+", lines[i]).group(0)
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            options = [ln for ln in body if _OPTION.match(ln)]
            if not any(t in ln for ln in options for t in HIDDEN_TAGS):
                code += _code_lines(
                    "\n".join(ln for ln in body if ln not in options and ln != "---")
                )
        else:
            words_part.append(lines[i])
        i += 1
    return count_words("\n".join(words_part)), code


def source_counts(path):
    """``(words, code_lines)`` of a chapter's source file (``.ipynb`` or ``.md``)."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return notebook_counts(json.loads(path.read_text(encoding="utf-8")))
    return markdown_counts(path.read_text(encoding="utf-8"))


def reading_minutes(words, code_lines):
    """Whole minutes (at least 1) to read ``words`` of prose and ``code_lines`` of code.

    >>> reading_minutes(2000, 100)
    15
    """
    minutes = words / WORDS_PER_MINUTE + code_lines / CODE_LINES_PER_MINUTE
    return max(1, math.ceil(minutes))


def load_runtimes(path):
    """The run-time file as a dict, or ``None`` if there is none.

    A file that exists but is not the expected JSON raises ``ValueError``: a wrong file
    should stop the build, not read as "not measured".
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("chapters", {}), dict):
        raise ValueError(f'{path} has no "chapters" mapping')
    return data


def _seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return f"{value:.0f} s" if value >= 0.5 else "< 1 s"


def run_time_text(runtimes, chapter):
    """What the map says about ``chapter``'s run time (a notebook's stem).

    >>> run_time_text({"chapters": {"01": {"quiet_s": 9.1, "busy_s": 14.2}}}, "01")
    '9 s (14 s busy)'
    >>> run_time_text({"chapters": {}}, "01"), run_time_text(None, "01")
    ('not measured', 'not measured')
    """
    if not runtimes:
        return NOT_MEASURED
    row = runtimes.get("chapters", {}).get(chapter)
    if not isinstance(row, dict):
        return NOT_MEASURED
    quiet, busy = _seconds(row.get("quiet_s")), _seconds(row.get("busy_s"))
    if quiet and busy:
        return f"{quiet} ({busy} busy)"
    if quiet:
        return quiet
    if busy:
        return f"{busy} busy"
    return NOT_MEASURED


def machine_text(runtimes):
    """Where the run times were measured, in words (empty if not said)."""
    if not runtimes:
        return ""
    machine = runtimes.get("machine")
    python = runtimes.get("python")
    parts = []
    if isinstance(machine, dict):
        python = python or machine.get("python")
        cpu, cores = machine.get("cpu"), machine.get("logical_cpus")
        if cpu:
            parts.append(str(cpu))
        if cores:
            parts.append(f"{cores} logical CPUs")
    elif machine:
        parts.append(str(machine))
    if python:
        parts.append(f"Python {python}")
    return ", ".join(parts)


def parse_entries(lines):
    """``[(target, planned, description)]`` from the directive's body lines."""
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        target, bar, description = line.partition("|")
        target, description = target.strip(), description.strip()
        if not bar or not target or not description:
            raise ValueError(
                f"course-map line {number}: expected '<document> | <description>' or "
                f"'planned: <title> | <description>', got {line.strip()!r}"
            )
        planned = target.startswith("planned:")
        if planned:
            target = target[len("planned:") :].strip()
        entries.append((target, planned, description))
    return entries


def _paragraph(*children):
    return nodes.paragraph("", "", *children)


def _row(cells):
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += (
            cell
            if isinstance(cell, nodes.Element)
            else _paragraph(nodes.Text(str(cell)))
        )
        row += entry
    return row


class CourseMap(Directive):
    """The ``course-map`` directive (see the module's docstring)."""

    has_content = True

    def run(self):
        env = self.state.document.settings.env
        try:
            entries = parse_entries(self.content)
        except ValueError as error:
            raise self.error(str(error)) from None
        runtimes_path = Path(env.srcdir, env.config.course_map_runtimes)
        env.note_dependency(str(runtimes_path))
        try:
            runtimes = load_runtimes(runtimes_path)
        except ValueError as error:
            raise self.error(str(error)) from None

        headers = ["", "Chapter", "What it does", "Reading", "Run time"]
        table = nodes.table(classes=["course-map"])
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (4, 22, 50, 12, 12):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += _row(headers)
        group += head
        body = nodes.tbody()
        group += body
        for number, (target, planned, description) in enumerate(entries, 1):
            text_nodes, messages = self.state.inline_text(description, self.lineno)
            what = _paragraph(*text_nodes)
            if planned:
                body += _row([number, target, what, "in preparation", "—"])
                continue
            docname = target.strip("/")
            if docname not in env.found_docs:
                raise self.error(
                    f"course-map: no document {docname!r} in the book "
                    "(write 'planned: <title>' for a chapter in preparation)"
                )
            source = Path(env.doc2path(docname))
            env.note_dependency(str(source))
            words, code = source_counts(source)
            link = addnodes.pending_xref(
                "",
                nodes.inline(docname, docname),
                refdomain="std",
                reftype="doc",
                reftarget="/" + docname,
                refexplicit=False,
                refwarn=True,
                refdoc=env.docname,
            )
            reading = f"{reading_minutes(words, code)} min"
            run = run_time_text(runtimes, Path(docname).name)
            body += _row([number, _paragraph(link), what, reading, run])

        note = (
            f"Reading: the words of a chapter at {WORDS_PER_MINUTE} a minute plus "
            f"the code it shows at {CODE_LINES_PER_MINUTE} lines a minute. "
        )
        if runtimes and runtimes.get("chapters"):
            where = machine_text(runtimes)
            note += (
                "Run time: the whole notebook in a fresh kernel with no thread "
                "settings, on a quiet machine and (busy) with one core kept busy by "
                "another process" + (f"; measured on {where}." if where else ".")
            )
        else:
            note += "Run times have not been measured yet."
        caption = nodes.paragraph("", note, classes=["course-map-note"])
        return [table, caption]


def setup(app):
    app.add_config_value("course_map_runtimes", RUNTIMES, "env")
    app.add_directive("course-map", CourseMap)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
