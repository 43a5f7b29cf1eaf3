#!/usr/bin/env python
"""Label models on simulated multi-class rule sets, against the majority vote.

The text suite's narrow-rule tasks are binary. Many real rule sets are
not: a six-class question-type task with about 50 narrow rules (mostly one
class each, at most one firing on most rows) and a few broad low-precision
fallbacks, or a four-class topic task with 22 broad keyword lists. This
script simulates both kinds of
label matrix, several seeds each, and checks target T1 of the text suite
(every default label model >= the majority vote's argmax - 1 point) on the
test rows of each:

* ``rules6``: 6 classes with priors 0.02/0.21/0.23/0.22/0.16/0.16 (one rare
  class), 50 one-class rules (4-10 per class). 85 % of the rows fire one
  rule, 12 % of those a second one; the rule fired is one of the row's own
  class with probability 0.7-0.95 (per class), else one of another class.
  3 fallbacks, each voting one class with coverage 0.08-0.2 and precision
  0.35-0.55.
* ``keywords4``: 4 balanced classes, 22 one-class keyword lists of coverage
  0.05-0.25 and precision 0.5-0.9, independent given the class.

Methods: MV argmax (ties to the lowest class index, as the targets use), its
expected accuracy under random ties, every default label model, Snorkel with
snorkel 0.10's start (``init="precision"``) and with the majority-vote start
for every source, and snorkel 0.10's ``LabelModel`` when it is installed
(the peers' venv). Run from the repository root (about a minute)::

    python -m benchmarks.narrow_rules
    python -m benchmarks.narrow_rules --seeds 10 --sets rules6
"""

import argparse
import warnings

import numpy as np

from ._common import rst_table
from ._peers import Unavailable, make_adapter
from .text_ties import tie_expected_accuracy

N_TRAIN, N_TEST = 5000, 1000


def rules6(seed, n=N_TRAIN + N_TEST):
    """Six classes, 50 narrow one-class rules and 3 broad fallbacks."""
    rng = np.random.RandomState(seed)
    prior = np.array([0.02, 0.21, 0.23, 0.22, 0.16, 0.16])
    per_class = [4, 10, 10, 10, 8, 8]
    y = rng.choice(6, n, p=prior)
    owner = np.repeat(np.arange(6), per_class)
    share = np.concatenate([rng.dirichlet(np.full(k, 0.7)) for k in per_class])
    own = rng.uniform(0.7, 0.95, 6)
    L = np.full((n, owner.size + 3), -1)

    def fire(rows):
        cls = np.where(rng.rand(rows.size) < own[y[rows]], y[rows],
                       (y[rows] + rng.randint(1, 6, rows.size)) % 6)
        for c in range(6):
            idx = np.flatnonzero(owner == c)
            sel = rows[cls == c]
            L[sel, rng.choice(idx, sel.size, p=share[idx] / share[idx].sum())] = c

    first = np.flatnonzero(rng.rand(n) < 0.85)
    fire(first)
    fire(first[rng.rand(first.size) < 0.12])
    for j in range(owner.size, owner.size + 3):
        c, cov, p = rng.randint(1, 6), rng.uniform(0.08, 0.2), rng.uniform(0.35, 0.55)
        odds = np.where(y == c, p / prior[c], (1 - p) / (1 - prior[c]))
        L[rng.rand(n) < cov * odds, j] = c
    return L, y


def keywords4(seed, n=N_TRAIN + N_TEST):
    """Four classes, 22 independent one-class keyword lists."""
    rng = np.random.RandomState(seed)
    y = rng.randint(4, size=n)
    L = np.full((n, 22), -1)
    for j in range(22):
        c, cov, p = j % 4, rng.uniform(0.05, 0.25), rng.uniform(0.5, 0.9)
        odds = np.where(y == c, 4 * p, 4 * (1 - p) / 3)
        L[rng.rand(n) < cov * odds, j] = c
    return L, y


SETS = {"rules6": rules6, "keywords4": keywords4}


def methods(seed):
    from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel

    return {
        "MV (argmax)": MajorityVote(),
        "DawidSkene": DawidSkene(),
        "Snorkel": Snorkel(random_state=seed),
        "LinearizedApprox(DS)": LinearizedApprox(DawidSkene()),
        "Snorkel(init='precision')": Snorkel(init="precision", random_state=seed),
        "Snorkel(init='majority_vote')": Snorkel(init="majority_vote", random_state=seed),
    }


DEFAULTS = ["DawidSkene", "Snorkel", "LinearizedApprox(DS)"]


def run_set(make, seed):
    L, y = make(seed)
    L_train, L_test, y_test = L[:N_TRAIN], L[N_TRAIN:], y[N_TRAIN:]
    n_classes = int(L.max()) + 1
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in methods(seed).items():
            P = model.fit(L_train).predict_proba(L_test)
            scores[name] = 100 * float(np.mean(P.argmax(axis=1) == y_test))
            if name == "MV (argmax)":
                scores["MV (random ties)"] = 100 * tie_expected_accuracy(P, y_test)
        try:
            peer = make_adapter("snorkel LabelModel", n_classes, seed).load()
            P = peer.fit(L_train).predict_proba(L_test)
            scores["snorkel 0.10 LabelModel"] = 100 * float(np.mean(P.argmax(1) == y_test))
        except Unavailable:
            pass
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    for set_name in args.sets:
        runs = [run_set(SETS[set_name], seed) for seed in range(args.seeds)]
        names = list(runs[0])
        rows = [[name] + [f"{r[name]:.1f}" for r in runs]
                + [f"{np.mean([r[name] for r in runs]):.1f}"] for name in names]
        target = []
        for name in DEFAULTS:
            gaps = [r[name] - r["MV (argmax)"] for r in runs]
            verdict = "PASS" if min(gaps) >= -1 else "MISS"
            target.append([f"{name} >= MV - 1", f"{min(gaps):+.1f} (worst seed)", verdict])
        print(rst_table(["method"] + [f"seed {s}" for s in range(args.seeds)] + ["mean"],
                        rows, title=f"{set_name}: test accuracy (%)"))
        print(rst_table(["target T1", "margin over MV", "status"], target,
                        title=f"{set_name}: T1 on every seed"))


if __name__ == "__main__":
    main()
