"""Docstring standards of the public API, and the code of the documentation.

1. ``numpydoc.validate`` on every public class and function exported by
   ``skweak_e2e`` and its subpackages (their ``__all__``), and on the public
   methods those classes define or inherit from skweak_e2e's own bases.
2. Every ``>>>`` block of the reStructuredText pages under ``doc/`` runs
   and prints what the page says (the gallery examples are executed by the
   documentation build, ``doc/build.sh``).
"""

import doctest
import importlib
import inspect
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

ROOT = Path(__file__).resolve().parent.parent

PUBLIC_MODULES = [
    "skweak_e2e",
    "skweak_e2e.label_model",
    "skweak_e2e.end_to_end",
    "skweak_e2e.inspection",
    "skweak_e2e.labeling",
    "skweak_e2e.datasets",
    "skweak_e2e.metrics",
    "skweak_e2e.plotting",
    "skweak_e2e.two_stage",
    "skweak_e2e.utils",
]

# Rule codes that are not enforced, with the reason.
IGNORED_EVERYWHERE = {
    # An extended summary is welcome, not required: many one-line summaries
    # say everything (``fit``, ``transform``...).
    "ES01",
    # "See Also" is optional; cross references are added where they help.
    "SA01",
    # The Returns sections name the value (``self : object``,
    # ``proba : ndarray of shape ...``) as scikit-learn does; numpydoc's
    # RT02 wants the type alone.
    "RT02",
    # Summaries start on the line of the opening quotes (PEP 257), which
    # numpydoc 1.9 reports as GL01 and 1.11 accepts.
    "GL01",
}
IGNORED_FOR_METHODS = {
    # Methods are exercised by the Examples section of their class.
    "EX01",
}
IGNORED_FOR_EXCEPTIONS = {
    # An exception class is shown where it is raised, not on its own.
    "EX01",
}

# Tolerated violations: object path -> rule codes, each with a written
# justification. Empty: keep it so. Entries must be removed once fixed
# (``test_known_issues_are_current`` fails on a stale entry).
KNOWN_ISSUES: dict[str, set[str]] = {}


def _defined_in_package(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "skweak_e2e" or module.startswith("skweak_e2e.")


def _public_objects():
    """(import path, object) of every public class, function and method."""
    seen = set()
    found = []

    def add(path, obj):
        key = id(obj)
        if key in seen:
            return
        seen.add(key)
        found.append((path, obj))

    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # e.g. gold_accuracy_scorer, an instance
            if not _defined_in_package(obj):
                continue
            path = f"{module_name}.{name}"
            add(path, obj)
            if inspect.isclass(obj):
                for attr in sorted(dir(obj)):
                    if attr.startswith("_"):
                        continue
                    member = inspect.getattr_static(obj, attr)
                    func = getattr(member, "__func__", member)
                    if isinstance(member, property):
                        continue  # documented as attributes of the class
                    if inspect.isfunction(func) and _defined_in_package(func):
                        # Named after the class that defines it, so that a
                        # method inherited by several classes is checked once.
                        add(f"{func.__module__}.{func.__qualname__}", func)
    return found


PUBLIC_OBJECTS = _public_objects()


def _violations(path, obj):
    is_method = inspect.isfunction(obj) and "." in obj.__qualname__
    ignored = set(IGNORED_EVERYWHERE)
    if is_method:
        ignored |= IGNORED_FOR_METHODS
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        ignored |= IGNORED_FOR_EXCEPTIONS
    result = numpydoc_validate.validate(path)
    return {code: message for code, message in result["errors"] if code not in ignored}


def test_public_api_is_found():
    # Guard against an empty parametrisation hiding every check below.
    names = {path.rsplit(".", 1)[-1] for path, _ in PUBLIC_OBJECTS}
    for expected in [
        "MajorityVote",
        "DawidSkene",
        "Snorkel",
        "LinearizedApprox",
        "LabelModelClassifier",
        "WeaSELClassifier",
        "SourceAwareInfluence",
        "LFApplier",
        "make_weak_supervision",
        "source_summary",
        "predict_proba",
    ]:
        assert expected in names
    assert len(PUBLIC_OBJECTS) > 50


@pytest.mark.parametrize(
    "path, obj", PUBLIC_OBJECTS, ids=[path for path, _ in PUBLIC_OBJECTS]
)
def test_docstring(path, obj):
    errors = _violations(path, obj)
    for code in KNOWN_ISSUES.get(path, ()):
        errors.pop(code, None)
    if errors:
        listing = "\n".join(f"  {code}: {msg}" for code, msg in sorted(errors.items()))
        pytest.fail(f"numpydoc violations in {path}:\n{listing}")


def test_known_issues_are_current():
    objects = dict(PUBLIC_OBJECTS)
    stale = []
    for path, codes in KNOWN_ISSUES.items():
        if path not in objects:
            stale.append(f"{path} (no longer public)")
            continue
        fixed = set(codes) - set(_violations(path, objects[path]))
        if fixed:
            stale.append(f"{path}: {sorted(fixed)} fixed")
    assert not stale, "remove from KNOWN_ISSUES: " + "; ".join(stale)


# --------------------------------------------------------------------------- #
# The code of the documentation pages
# --------------------------------------------------------------------------- #
DOC_PAGES = sorted(
    p
    for p in (ROOT / "doc").rglob("*.rst")
    if not p.relative_to(ROOT / "doc")
    .parts[0]
    .startswith(("_", "auto_examples", "gen_modules"))
)


def test_doc_pages_are_found():
    names = {p.name for p in DOC_PAGES}
    assert {"quick_start.rst", "label_matrix.rst", "influence.rst"} <= names


@pytest.mark.parametrize(
    "page",
    DOC_PAGES,
    ids=[str(p.relative_to(ROOT / "doc")) for p in DOC_PAGES],
)
def test_doc_page_code_runs(page):
    if ">>>" not in page.read_text():
        pytest.skip("no code")
    pytest.importorskip("pandas")
    pytest.importorskip("torch")
    if page.name == "scaling_out.rst":
        pytest.importorskip("dask.array")  # the optional [dask] extra
    parser = doctest.DocTestParser()
    test = parser.get_doctest(page.read_text(), {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
