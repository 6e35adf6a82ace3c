"""Every public function and class of lectlib is documented the same way (numpydoc).

Parameters and Returns (Attributes for an estimator), See Also naming its siblings and
how they differ, Notes on the method, and Examples that import what they use, so that a
student can paste them into an empty notebook. (pytest's --doctest-modules runs the
examples.)
"""

from __future__ import annotations

import ast
import builtins
import doctest
import importlib
import inspect
import pkgutil
import re
import textwrap

import pytest

import lectlib

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(lectlib.__path__, "lectlib.")
    if not any(part.startswith("_") for part in name.split("."))
)


def _public_objects():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                inspect.isfunction(obj) or inspect.isclass(obj)
            ) and obj.__module__ == module_name:
                yield f"{module_name}.{name}", obj


PUBLIC = dict(_public_objects())


def _sections(doc):
    return set(re.findall(r"^\s*([A-Z][A-Za-z ]+)\n\s*-{3,}\s*$", doc, re.MULTILINE))


def test_every_module_is_listed_in_the_package_docstring_and_the_readme(repo_root):
    readme = (repo_root / "README.md").read_text()
    for module_name in MODULES:
        short = module_name.removeprefix("lectlib.")
        top = short.split(".")[0]
        assert (
            f"lectlib.{top}" in lectlib.__doc__ or f"~lectlib.{top}" in lectlib.__doc__
        ), top
        assert re.search(rf"\b{re.escape(short)}\b", readme), (
            f"README does not list {short}"
        )


def test_every_module_has_a_docstring_and_an_all():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        assert module.__doc__ and len(module.__doc__.split()) > 10, module_name
        assert hasattr(module, "__all__"), module_name


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_numpydoc_sections(name):
    obj = PUBLIC[name]
    doc = inspect.getdoc(obj) or ""
    found = _sections(doc)
    required = {"See Also", "Notes", "Examples"}
    signature = inspect.signature(obj)
    takes_arguments = any(
        p.name not in ("self", "cls") for p in signature.parameters.values()
    )
    if takes_arguments:
        required.add("Parameters")
    if inspect.isclass(obj):
        if hasattr(obj, "fit"):
            required.add("Attributes")
    else:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
        if any(
            isinstance(node, ast.Return) and node.value is not None
            for node in ast.walk(tree)
        ):
            required.add("Returns")
    missing = required - found
    assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_see_also_says_how_each_sibling_differs(name):
    doc = inspect.getdoc(PUBLIC[name]) or ""
    block = re.search(
        r"See Also\n-+\n(.*?)(?:\n\n[A-Z][A-Za-z ]+\n-{3,}|\Z)", doc, re.S
    )
    assert block, name
    entries = [
        line for line in block.group(1).splitlines() if line and not line[0].isspace()
    ]
    assert entries, name
    for entry in entries:
        assert " : " in entry, (
            f"{name}: See Also entry {entry!r} does not say how it differs"
        )


def _names_used_and_bound(source):
    tree = ast.parse(source)
    used, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.comprehension):
            bound.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return used, bound


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_examples_import_what_they_use(name):
    """Examples run in the module's namespace under pytest;
    a student's notebook is empty."""
    obj = PUBLIC[name]
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    source = "\n".join(example.source for test in tests for example in test.examples)
    assert source.strip(), f"{name} has no examples"
    used, bound = _names_used_and_bound(source)
    missing = used - bound - set(dir(builtins))
    assert not missing, (
        f"{name}'s examples use {sorted(missing)} without importing them"
    )
