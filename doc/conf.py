"""Sphinx configuration of the skweak_e2e documentation.

Build with ``bash doc/build.sh`` (or ``python -m sphinx -W --keep-going -b
html doc doc/_build/html``). The example gallery (``examples/plot_*.py``) is
executed during the build; set ``SKWEAK_E2E_DOCS_NO_GALLERY=1`` to skip it
while editing prose.
"""

import os
import re
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document the checkout, not an installed copy
sys.path.insert(0, str(HERE))  # _gallery_order

import skweak_e2e

# -- Project -----------------------------------------------------------------
project = "skweak_e2e"
author = "the skweak_e2e developers"
copyright = "the skweak_e2e developers, BSD-3-Clause"
release = skweak_e2e.__version__
version = re.sub(r"(\d+\.\d+).*", r"\1", release)

# -- Extensions ----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
try:  # optional nicety; the build does not depend on it
    import sphinx_copybutton  # noqa: F401

    extensions.append("sphinx_copybutton")
    copybutton_prompt_text = r">>> |\.\.\. |\$ "
    copybutton_prompt_is_regexp = True
except ImportError:  # pragma: no cover
    pass

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
]
root_doc = "index"
default_role = "literal"  # `x` renders as code, never as a broken reference

# -- autodoc / autosummary / numpydoc ------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the types are in the numpydoc sections
autodoc_member_order = "groupwise"
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only what skweak_e2e defines (not torch's or sklearn's API).

    Classes inherit dozens of methods from ``torch.nn.Module`` or from
    scikit-learn's mixins (``get_params``, ``set_*_request``...); those are
    documented upstream. Methods inherited from skweak_e2e's own bases (such
    as ``BaseLabelModel.predict_proba``) are kept.
    """
    if skip or what != "class":
        return skip
    module = getattr(obj, "__module__", None)
    if module is None:
        func = getattr(obj, "__func__", None) or getattr(obj, "fget", None)
        module = getattr(func, "__module__", None)
    if module is None or not module.startswith("skweak_e2e"):
        return True
    return None


# -- sphinx-gallery --------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "doc_module": ("skweak_e2e",),
    "backreferences_dir": "gen_modules/backreferences",
    "min_reported_time": 1,
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "show_memory": False,
    "download_all_examples": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "default_thumb_file": None,
    "matplotlib_animations": False,
    # no doc/sg_execution_times.rst in the source tree (timings are shown on
    # each example page)
    "write_computation_times": False,
    # a cell ending in a plotting call shows the figure, not "<Axes: ...>"
    "ignore_repr_types": r"matplotlib[.]",
}
if os.environ.get("SKWEAK_E2E_DOCS_NO_GALLERY"):
    sphinx_gallery_conf["plot_gallery"] = "False"

# Examples print their own warnings; silence the ones torch prints on import.
warnings.filterwarnings("ignore", message=".*NumPy.*", category=UserWarning)

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skweak_e2e {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    # The example pages keep the article wide: no page table of contents.
    "secondary_sidebar_items": {"auto_examples/*": []},
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {
    "index": [],
    "install": [],
    "quick_start": [],
    "coming_from_snorkel": [],
    "whats_new": [],
    "benchmarks": [],
}

# -- The benchmark report is written by the benchmarks/ tooling -------------------
BENCHMARK_README = ROOT / "benchmarks" / "README.rst"


def _benchmarks_fallback(app, docname, source):
    """Keep the build green in a checkout without ``benchmarks/README.rst``."""
    if docname != "benchmarks" or BENCHMARK_README.exists():
        return
    source[0] = source[0].replace(
        ".. include:: ../benchmarks/README.rst",
        "Benchmarks\n==========\n\n"
        "The benchmark report (``benchmarks/README.rst``) is not part of this "
        "checkout.",
    )


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("source-read", _benchmarks_fallback)
