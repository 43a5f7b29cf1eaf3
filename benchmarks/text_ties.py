#!/usr/bin/env python
"""How much of the majority vote's score on the text tasks is its tie-breaking?

Target T1 of the text suite compares every default label model with the
majority vote's ``predict_proba(L).argmax(1)``, which gives a tied row to the
lowest class index among the tied classes: its score then depends on how the
classes happen to be numbered. For every task of ``text_suite.py`` this
script reports, on the test split:

* the majority vote's argmax accuracy with the classes as numbered;
* its expected accuracy when ties are broken uniformly at random (the
  accuracy of ``MajorityVote().predict`` in expectation over the draws);
* the mean, standard deviation and range of its argmax accuracy over 500
  random renumberings of the classes, and the share of renumberings that
  score below the given one;
* DawidSkene's accuracy (argmax), which does not depend on the numbering.

Run from the repository root (seconds; the tasks come from the text suite's
cache)::

    python -m benchmarks.text_ties
    python -m benchmarks.text_ties --tasks yoruba
"""

import argparse
import warnings

import numpy as np

from ._text_tasks import TASKS, load_text_task
from ._common import rst_table


def tie_expected_accuracy(P, y):
    """Accuracy of the argmax of ``P`` with ties broken uniformly at random."""
    top = np.isclose(P, P.max(axis=1, keepdims=True), rtol=0, atol=1e-12)
    return float(np.mean(top[np.arange(len(y)), y] / top.sum(axis=1)))


def renumbered_accuracies(P, y, n_orders, seed=0):
    """Argmax accuracy of ``P`` under random renumberings of the classes."""
    rng = np.random.RandomState(seed)
    scores = np.empty(n_orders)
    for k in range(n_orders):
        order = rng.permutation(P.shape[1])  # class c is renamed order[c]
        renamed = np.empty_like(P)
        renamed[:, order] = P
        scores[k] = np.mean(renamed.argmax(axis=1) == order[y])
    return scores


def diagnose(task, n_orders):
    from skweak_e2e import DawidSkene, MajorityVote

    L, L_test, y_test = task["L_train"], task["L_test"], task["y_test"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = MajorityVote().fit(L).predict_proba(L_test)
        ds = DawidSkene().fit(L)
    orders = renumbered_accuracies(P, y_test, n_orders)
    given = float(np.mean(P.argmax(axis=1) == y_test))
    return {
        "mv_argmax": given,
        "mv_random_ties": tie_expected_accuracy(P, y_test),
        "orders": orders,
        "below_given": float(np.mean(orders < given)),
        "ds": float(np.mean(ds.predict_proba(L_test).argmax(axis=1) == y_test)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--orders", type=int, default=500,
                        help="random renumberings of the classes (default 500)")
    args = parser.parse_args(argv)
    rows = []
    for name in args.tasks:
        r = diagnose(load_text_task(name), args.orders)
        o = r["orders"]
        rows.append([
            name, f"{100 * r['mv_argmax']:.1f}", f"{100 * r['mv_random_ties']:.1f}",
            f"{100 * o.mean():.1f} ± {100 * o.std():.1f} ({100 * o.min():.1f}-"
            f"{100 * o.max():.1f})", f"{100 * r['below_given']:.0f} %",
            f"{100 * r['ds']:.1f}",
        ])
    print(rst_table(
        ["task", "MV argmax", "MV random ties (expected)",
         f"MV argmax over {args.orders} class numberings", "numberings below",
         "DS argmax"],
        rows, title="Test accuracy (%)"))


if __name__ == "__main__":
    main()
