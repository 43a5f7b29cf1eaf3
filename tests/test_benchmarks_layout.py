"""The benchmark scripts form a package run with ``python -m benchmarks.<name>``.

They import their shared helpers relatively (or as ``benchmarks.<module>``),
never by editing ``sys.path``, and every script has a ``main()`` run under
``if __name__ == "__main__"``. Read from the source with ``ast``; nothing
is imported or run.
"""

import ast
import pathlib

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
FILES = sorted(BENCHMARKS.glob("*.py"))
#: The modules of the package, by the name a script would import them with.
MODULES = {p.stem for p in FILES} - {"__init__"}
#: The scripts: the public modules, and the private ones that run as well.
SCRIPTS = [p for p in FILES if not p.stem.startswith("_") or p.stem == "_text_tasks"]


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _ids(paths):
    return [p.name for p in paths]


def test_benchmarks_is_a_package():
    assert (BENCHMARKS / "__init__.py").is_file()
    assert SCRIPTS, "no benchmark script found"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_no_sys_path_edit(path):
    """No ``sys.path`` in the code (``from sys import path`` included)."""
    found = []
    for node in ast.walk(_tree(path)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [node.lineno for a in node.names if a.name == "path"]
        if isinstance(node, ast.Attribute) and node.attr == "addsitedir":
            found.append(node.lineno)
    assert not found, f"{path.name} edits the import path at lines {found}"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_siblings_are_imported_as_package_modules(path):
    """``from ._common import x`` or ``benchmarks._common``, never ``_common``."""
    bare = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        bare += [(node.lineno, n) for n in names if n.split(".")[0] in MODULES]
    assert not bare, f"{path.name} imports sibling modules by bare name: {bare}"


def _calls_main(statement):
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id == "main"
    )


def _is_main_guard(node):
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


@pytest.mark.parametrize("path", SCRIPTS, ids=_ids(SCRIPTS))
def test_script_has_guarded_main(path):
    body = _tree(path).body
    assert any(
        isinstance(n, ast.FunctionDef) and n.name == "main" for n in body
    ), f"{path.name} defines no top-level main()"
    guards = [n for n in body if _is_main_guard(n)]
    assert len(guards) == 1, f"{path.name}: expected one `if __name__ == '__main__'`"
    assert any(
        _calls_main(s) for s in guards[0].body
    ), f"{path.name}: the __main__ block does not call main()"
    # Nothing else runs at the top level of a script besides definitions,
    # imports, constants and that guard (so importing it is cheap and safe).
    loose = [
        n.lineno
        for n in body
        if isinstance(n, (ast.Expr, ast.For, ast.While, ast.With, ast.If))
        and not _is_main_guard(n)
        and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    assert not loose, f"{path.name} runs statements at import time (lines {loose})"


@pytest.mark.parametrize("path", SCRIPTS, ids=_ids(SCRIPTS))
def test_command_line_options_are_declared_once(path):
    """An option declared twice (as merges make) fails only when argparse runs."""
    counts = {}
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("-"):
                    counts[arg.value] = counts.get(arg.value, 0) + 1
    assert not {k: v for k, v in counts.items() if v > 1}
