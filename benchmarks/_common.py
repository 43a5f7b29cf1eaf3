"""What every benchmark script shares: paths, tables, memory, subprocesses.

* :data:`ROOT` is the repository root; the scripts run as
  ``python -m benchmarks.<name>`` from it, so that ``skweak_e2e`` is the
  checkout's;
* :func:`default_wrench_dir`: ``$SKWEAK_E2E_WRENCH``, else
  ``../shared/data/wrench`` beside the repository; the WRENCH sets are read
  in place, never copied;
* :func:`default_text_dir`: ``$SKWEAK_E2E_TEXT``, else ``../shared/data/text``
  (the raw sentiment sets of the text suite, also read in place);
* :func:`rst_table`: the reStructuredText grid table that every script
  prints and that ``benchmarks/README.rst`` holds;
* :func:`module_command`: the command that runs a benchmark module in a
  fresh interpreter (for measurements made in a subprocess of their own);
* :func:`status_kb` and :func:`reset_peak`: resident and peak memory of a
  process, from ``/proc``;
* :func:`predict_lowest`: hard labels with ties to the lowest class;
* :func:`parse_overrides`: ``KEY=VALUE`` command-line items as estimator
  parameters.
"""

import ast
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


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


def module_command(module, *args):
    """``python -m module args`` with this interpreter; run it with ``cwd=ROOT``.

    The scripts that measure each run in a fresh process (peak memory, a
    wall-clock limit) start themselves again this way, so the child imports
    the same checkout and the same ``benchmarks`` package as the parent.

    >>> module_command("benchmarks.crowd", "--quick")[1:]
    ['-m', 'benchmarks.crowd', '--quick']
    """
    return [sys.executable, "-m", module, *map(str, args)]


def status_kb(field, pid="self"):
    """A ``/proc/<pid>/status`` field in kB (``VmRSS``, ``VmHWM``...); None if absent."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak():
    """Reset this process's ``VmHWM`` to its current RSS (Linux >= 4.0); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def predict_lowest(proba, tol=1e-5):
    """Hard labels: the lowest class within ``tol`` of the row maximum.

    >>> predict_lowest([[0.5, 0.5], [0.2, 0.8]]).tolist()
    [0, 1]
    """
    proba = np.asarray(proba, dtype=np.float64)
    tied = proba >= proba.max(axis=1, keepdims=True) - tol
    return np.argmax(tied, axis=1)


def parse_overrides(items):
    """``["KEY=VALUE", ...]`` as a dict; values read as Python literals when they parse.

    >>> parse_overrides(["lr=1e-3", "hidden_layer_sizes=(16,)", "loss=ce"])
    {'lr': 0.001, 'hidden_layer_sizes': (16,), 'loss': 'ce'}
    """
    params = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params
