"""What every benchmark script shares: where the data are, and one table format.

* :data:`ROOT` is the repository root (put on ``sys.path`` so that the
  scripts import the checkout's ``skweak_e2e`` without an install);
* :func:`default_wrench_dir`: ``$SKWEAK_E2E_WRENCH``, else
  ``../shared/data/wrench`` beside the repository; the WRENCH sets are read
  in place, never copied;
* :func:`default_text_dir`: ``$SKWEAK_E2E_TEXT``, else ``../shared/data/text``
  (the raw sentiment sets of the text suite, also read in place);
* :func:`rst_table`: the reStructuredText grid table that every script
  prints and that ``benchmarks/README.rst`` holds.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def default_wrench_dir():
    """The WRENCH root: ``$SKWEAK_E2E_WRENCH`` or ``../shared/data/wrench``."""
    return os.environ.get(
        "SKWEAK_E2E_WRENCH", os.path.join(os.path.dirname(ROOT), "shared", "data", "wrench")
    )


def default_text_dir():
    """The raw text-set root: ``$SKWEAK_E2E_TEXT`` or ``../shared/data/text``."""
    return os.environ.get(
        "SKWEAK_E2E_TEXT", os.path.join(os.path.dirname(ROOT), "shared", "data", "text")
    )


def _rst_escape(text):
    """Escape the characters that reStructuredText would read as markup."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")


def rst_table(header, rows, title=None):
    """A reStructuredText grid table, with an optional bold title line.

    >>> print(rst_table(["a", "b"], [[1, "x|y"]], title="T"))
    **T**
    <BLANKLINE>
    +---+------+
    | a | b    |
    +===+======+
    | 1 | x\\|y |
    +---+------+
    <BLANKLINE>
    """
    cells = [[_rst_escape(c) for c in header]] + [
        [_rst_escape(c) for c in r] for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    hsep = sep.replace("-", "=")

    def line(r):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    out = []
    if title:
        out += [f"**{_rst_escape(title)}**", ""]
    out += [sep, line(cells[0]), hsep]
    for r in cells[1:]:
        out += [line(r), sep]
    return "\n".join(out) + "\n"
