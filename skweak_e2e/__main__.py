"""Command-line entry point: ``python -m skweak_e2e demo`` (or ``skweak-e2e demo``).

Argument parsing only: the demo is :func:`~skweak_e2e._demo.run_demo`, which
returns its results, and :func:`~skweak_e2e._demo.format_report`, which
turns them into the printed report.
"""

import argparse
import sys

# LABEL_MODELS is re-exported: callers list the label models the demo runs.
from ._demo import DATASETS, LABEL_MODELS, format_report, run_demo  # noqa: F401

__all__ = ["format_report", "main", "run_demo"]


def main(argv=None):
    """Entry point of ``python -m skweak_e2e`` and of the ``skweak-e2e`` script.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    status : int
        Process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="skweak-e2e",
        description="skweak_e2e: programmatic weak supervision for scikit-learn.",
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    demo = sub.add_parser(
        "demo",
        help="run the label models and the two-stage pipeline on a bundled data set",
        description=(
            "Fit every label model on a bundled scikit-learn data set with "
            "built-in weak sources (no download), train an end model on their "
            "labels, compare it with supervised baselines, and show on a "
            "synthetic task how many gold labels weak supervision is worth."
        ),
    )
    demo.add_argument("--dataset", choices=DATASETS, default="breast_cancer")
    demo.add_argument(
        "--quick", action="store_true", help="a reduced run that takes a few seconds"
    )
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    results = run_demo(args.dataset, quick=args.quick, random_state=args.random_state)
    print(format_report(results))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
