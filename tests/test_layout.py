"""Size and seam rules of the package's modules, read with ``ast``.

Next to ``test_layers.py`` (which imports point where), these check that
the modules stay a size one can read and keep to their own business:

* no module over :data:`MAX_MODULE_LINES` lines of code and no function
  over :data:`MAX_FUNCTION_LINES`; a line of code is a line that is not
  blank, not a comment and not part of a docstring;
* no hard-coded ``stacklevel=<number>``: warnings name the user's frame
  through ``utils._warnings.user_stacklevel()``, whatever the call depth;
* no test file over :data:`MAX_TEST_FILE_LINES` lines (all lines: a test
  file is read whole); split a longer one by topic;
* one name for the dask layer: a module of dask code is ``_dask.py`` in
  its subpackage (no ``_distributed``, ``_dask_apply``...);
* no private access across modules: ``obj._name`` (a call, a read or a
  write) where ``obj`` is not ``self``, ``cls`` or ``super()`` and
  ``_name`` is not defined in the same module (as a function, a class, a
  module-level name, or an attribute the module sets on ``self``/``cls``).
  What two modules share gets a plain name. Imports of underscore names
  are checked by ``test_layers.py``.

What ``ast`` cannot see: the class of ``obj`` (so a ``_name`` defined in
this module for one class passes for every object), and access through
``getattr(obj, "_name")`` with a string. Nothing is imported.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skweak_e2e"

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_TEST_FILE_LINES = 600
TESTS = pathlib.Path(__file__).resolve().parent

#: Underscore names that are the documented API of another library.
EXTERNAL_UNDERSCORE_API = {
    "_getframe",  # sys._getframe: the frame walk of user_stacklevel
    "_make",  # namedtuple's constructor from an iterable
    "_asdict",  # namedtuple
    "_replace",  # namedtuple
    "_fields",  # namedtuple
    "_meta",  # dask collections: the empty object describing the blocks
}

#: Offences in modules other branches are rewriting at the time of writing:
#: expected failures (xfail, not strict, so a mended module shows as XPASS).
#: Each entry goes once its branch is merged; none is open at present.
OWNED_ELSEWHERE = set()


def _relative(path):
    return path.relative_to(PACKAGE).as_posix()


def _modules():
    return sorted(_relative(p) for p in PACKAGE.rglob("*.py"))


def _params(check):
    params = []
    for module in _modules():
        marks = []
        if (check, module) in OWNED_ELSEWHERE:
            marks.append(
                pytest.mark.xfail(
                    reason="rewritten on another branch; remove from "
                    "OWNED_ELSEWHERE after merging",
                    strict=False,
                )
            )
        params.append(pytest.param(module, marks=marks, id=module))
    return params


def _docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if isinstance(
            node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source):
    """Line numbers (1-based) of the lines of code of ``source``."""
    tree = ast.parse(source)
    docs = _docstring_lines(tree)
    return {
        number
        for number, line in enumerate(source.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and number not in docs
    }


def long_functions(source, limit=MAX_FUNCTION_LINES):
    """``(name, code lines)`` of the functions longer than ``limit``."""
    tree = ast.parse(source)
    code = code_lines(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            span = range(node.lineno, node.end_lineno + 1)
            n = sum(1 for number in span if number in code)
            if n > limit:
                found.append((node.name, n))
    return found


def numeric_stacklevels(source):
    """Line numbers of ``stacklevel=<constant>`` keywords."""
    return [
        keyword.value.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "stacklevel" and isinstance(keyword.value, ast.Constant)
    ]


def _is_own(node):
    """``self``, ``cls`` or ``super()``: the object's own class hierarchy."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
    )


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def private_cross_module_access(source):
    """``"line: expression"`` of each access to another module's private name."""
    tree = ast.parse(source)
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and _is_own(node.value)
        ):
            defined.add(node.attr)
    return [
        f"{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and _private(node.attr)
        and not _is_own(node.value)
        and node.attr not in defined
        and node.attr not in EXTERNAL_UNDERSCORE_API
    ]


def _source(module):
    return (PACKAGE / module).read_text()


@pytest.mark.parametrize("module", _params("size"))
def test_module_is_at_most_500_lines_of_code(module):
    n = len(code_lines(_source(module)))
    assert n <= MAX_MODULE_LINES, f"{module}: {n} lines of code"


@pytest.mark.parametrize("module", _params("functions"))
def test_functions_are_at_most_80_lines_of_code(module):
    assert long_functions(_source(module)) == []


@pytest.mark.parametrize("module", _params("stacklevel"))
def test_no_hard_coded_stacklevel(module):
    assert numeric_stacklevels(_source(module)) == []


@pytest.mark.parametrize("module", _params("private"))
def test_no_private_access_across_modules(module):
    assert private_cross_module_access(_source(module)) == []


def _test_params():
    params = []
    for path in sorted(TESTS.rglob("*.py")):
        name = path.relative_to(TESTS).as_posix()
        marks = []
        if ("test-size", name) in OWNED_ELSEWHERE:
            marks.append(
                pytest.mark.xfail(reason="split on another branch", strict=False)
            )
        params.append(pytest.param(path, marks=marks, id=name))
    return params


@pytest.mark.parametrize("path", _test_params())
def test_test_files_are_at_most_600_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_TEST_FILE_LINES, f"{path.name}: {n} lines"


#: Words that make a module name part of the dask layer.
_DASK_WORDS = ("dask", "distributed", "lazy", "blocks")


@pytest.mark.parametrize("module", _params("dask-naming"))
def test_dask_modules_have_the_one_name(module):
    name = pathlib.PurePosixPath(module).name
    if any(word in name for word in _DASK_WORDS):
        # One module, or several named _dask_<part>.py when one would pass
        # the size limit (inspection's blocks and influence).
        assert name == "_dask.py" or name.startswith("_dask_"), (
            f"{module}: dask code lives in _dask.py (or _dask_<part>.py)"
        )


# The checks above must be able to fail.
SAMPLE = '''\
"""Docstring lines do not count."""
import warnings

# Nor comments, nor blank lines.


def shared():
    """One more docstring."""
    warnings.warn("x", stacklevel=2)
    other._helper(1)
    other.__len__()
    self._mine = 1
    return self._mine + obj._mine + obj._fields
'''


def test_code_lines_leave_out_docstrings_comments_and_blank_lines():
    assert sorted(code_lines(SAMPLE)) == [2, 7, 9, 10, 11, 12, 13]


def test_long_functions_are_found():
    assert long_functions(SAMPLE, limit=4) == [("shared", 6)]
    assert long_functions(SAMPLE, limit=6) == []


def test_numeric_stacklevels_are_found():
    assert numeric_stacklevels(SAMPLE) == [9]
    assert numeric_stacklevels("warn('x', stacklevel=user_stacklevel())") == []


def test_private_access_is_found():
    # other._helper is foreign; obj._mine is set on self here, __len__ is a
    # dunder, _fields is namedtuple's API.
    assert private_cross_module_access(SAMPLE) == ["10: other._helper"]
    assert private_cross_module_access("est._theta = 1") == ["1: est._theta"]
