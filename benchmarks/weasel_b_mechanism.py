#!/usr/bin/env python
"""What WeaSEL's encoder learns in robustness experiment (b) on YouTube.

Run it from the repository root in the project venv (about 10 s)::

    python -m benchmarks.weasel_b_mechanism
    python -m benchmarks.weasel_b_mechanism --ks 3,5,10 --seeds 3

For each k (the gold labels plus k independent coin-flip sources, the label
matrix of ``weasel_robustness.py`` for that seed) it fits WeaSEL with the
robustness benchmark's settings (lr 1e-3, at most 40 epochs, patience 10)
and prints, on the training rows: how much of each row's accuracy mass the
accurate source gets, against what a weight spread evenly over the sources
that vote the true class would give; the weight of a coin flip that votes
the true class against one that does not; how the encoder labels and the
downstream network ``f`` agree, and how confident each is.
"""

import argparse
import warnings

import numpy as np

from . import _weasel_common as C
from . import weasel_robustness as R


def diagnose(data, k, seed):
    L, tracked = R.experiment_L("youtube", "b", k, seed, data)  # the benchmark's matrix
    hp = {"lr": 1e-3, "max_epochs": 40, "patience": 10, "tau1": 1.0}
    res, model = C.run_method("WeaSEL", data, L, seed, hp, return_model=True)
    X, y = data.X_train, data.y_train
    share = model.accuracy_scores(X, L)
    share = share / share.sum(axis=1, keepdims=True)
    p_f = model.predict_proba(X)[:, 1]
    f_pred = model.predict(X)
    p_e = model.predict_proba_encoder(X, L)[:, 1]
    e_pred = (p_e > 0.5).astype(int)
    votes_y = L == y[:, None]
    coin_y = votes_y & ~tracked
    coin_not_y = ~votes_y & ~tracked
    accurate = share[:, tracked][:, 0]
    coin_y_weight = (share * coin_y).sum(1) / np.maximum(coin_y.sum(1), 1)
    coin_not_y_weight = (share * coin_not_y).sum(1) / np.maximum(coin_not_y.sum(1), 1)
    has_coin_y = coin_y.any(axis=1)
    return {
        "k": k,
        "seed": seed,
        "test AUC": res["auc"],
        "best epoch": res["best_epoch"],
        "accurate share": accurate.mean(),
        "even over true-class voters": np.mean(1.0 / votes_y.sum(1)),
        "accurate / coin flip voting y": np.median(
            accurate[has_coin_y] / coin_y_weight[has_coin_y]
        ),
        "coin flip voting y": coin_y_weight[has_coin_y].mean(),
        "coin flip voting not y": coin_not_y_weight[coin_not_y.any(axis=1)].mean(),
        "f right (train)": np.mean(f_pred == y),
        "encoder label right": np.mean(e_pred == y),
        "confidence f": np.mean(np.maximum(p_f, 1 - p_f)),
        "confidence encoder": np.mean(np.maximum(p_e, 1 - p_e)),
        "corr(p_f, p_e)": np.corrcoef(p_f, p_e)[0, 1],
    }


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ks", default="3,10")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--wrench-dir", default=C.DEFAULT_WRENCH)
    args = p.parse_args(argv)
    C.pin_threads(1)
    data = C.load_text_dataset("youtube", args.wrench_dir)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in [int(x) for x in args.ks.split(",")]:
            for seed in range(args.seeds):
                rows.append(diagnose(data, k, seed))
    header = list(rows[0])
    table = [
        [r[h] if isinstance(r[h], (int, np.integer)) else f"{r[h]:.3f}" for h in header]
        for r in rows
    ]
    print(C.rst_table(header, table, "YouTube (b): what the encoder weights (training rows)"))


if __name__ == "__main__":
    main()
