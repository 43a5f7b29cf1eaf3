"""Crowd regime: skweak_e2e's label models against crowd-kit, from the long table.

Crowdsourcing has very many workers, a few labels per task and almost every
(task, worker) cell empty. This benchmark simulates crowds with
:func:`skweak_e2e.datasets.make_crowd` (worker confusion matrices, class-blind
task assignment) and times every method **from the user's long
(task, worker, label) DataFrame to the posteriors**:

* skweak_e2e: ``label_matrix_from_long(df)`` (the sparse label matrix), then
  ``fit`` and ``predict_proba`` on it;
* crowd-kit: ``fit_predict_proba(df)``.

Run it in the peers' venv, from the repository root::

    . ../venv-peers/bin/activate
    python -m benchmarks.crowd            # 1e5 and 1e6 tasks
    python -m benchmarks.crowd --quick    # 1e5 tasks only

Every (scenario, method) runs in a fresh subprocess, under a wall-clock
limit and with its peak resident memory measured (``VmHWM`` minus the
resident size once the long table is loaded, i.e. what the method allocates
beyond the user's data). Accuracy: the most probable class of every task
(ties go to the lowest class), against the simulated truth.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from ._common import ROOT, module_command, predict_lowest, reset_peak, rst_table, status_kb

OURS = {
    "ours MV": ("MajorityVote", {}),
    # The default: workers vote for several classes, so "auto" leaves their
    # abstains out (classic Dawid-Skene) and anchors each worker to the
    # majority vote with 5 pseudo-votes per class (anchor_strength="auto").
    "ours DS (default)": ("DawidSkene", {}),
    "ours DS (anchor_strength=1)": ("DawidSkene", {"anchor_strength": 1.0}),
    "ours DS (anchor_strength=0)": ("DawidSkene", {"anchor_strength": 0.0}),
    "ours DS (model_abstain=True)": ("DawidSkene", {"model_abstain": True}),
    "ours Snorkel": ("Snorkel", {}),
    "ours LinearizedApprox(MV)": ("LinearizedApprox", {}),
}
PEERS = {
    "crowd-kit MV": ("MajorityVote", {}),
    "crowd-kit DS": ("DawidSkene", {}),
    "crowd-kit one-coin DS": ("OneCoinDawidSkene", {}),
    "crowd-kit GLAD": ("GLAD", {}),
}
# Largest task count each slow method runs at. GLAD optimises per-task
# difficulties by gradient steps (over 10 minutes at 1e5 tasks here);
# LinearizedApprox's L-BFGS-B over n_workers x 6 weights takes ~1000
# iterations; at 1e6 it runs with max_iter=50 to measure its memory.
SLOW = {"crowd-kit GLAD": 20_000}
CAPPED = {"ours LinearizedApprox(MV)": (200_000, {"max_iter": 50})}


def run_one(method, path, n_classes, capped=False):
    """One method on the saved crowd, in this (fresh) process: prints JSON."""
    import pandas as pd

    saved = np.load(path)
    df = pd.DataFrame({"task": saved["task"], "worker": saved["worker"],
                       "label": saved["label"]})
    y = saved["y"]
    del saved
    # Imports happen before the clock starts (skweak_e2e imports torch).
    if method in OURS:
        import skweak_e2e
        from skweak_e2e.utils import label_matrix_from_long
    else:
        from crowdkit import aggregation
    rss0 = status_kb("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    if method in OURS:
        name, params = OURS[method]
        if capped:
            params = {**params, **CAPPED[method][1]}
        cls = getattr(skweak_e2e, name)
        if name == "LinearizedApprox":
            model = cls(skweak_e2e.MajorityVote(), **params)
        else:
            model = cls(**params)
        crowd = label_matrix_from_long(df, classes=np.arange(n_classes))
        proba = model.fit(crowd.L).predict_proba(crowd.L)
        tasks = crowd.tasks_
        n_iter = getattr(model, "n_iter_", None)
    else:
        name, params = PEERS[method]
        model = getattr(aggregation, name)(**params)
        probas = model.fit_predict_proba(df)
        probas = probas.reindex(columns=range(n_classes), fill_value=0.0)
        proba, tasks = probas.to_numpy(np.float64), probas.index.to_numpy()
        history = getattr(model, "loss_history_", None)
        n_iter = None if history is None else len(history)
    seconds = time.perf_counter() - t0
    peak = (status_kb("VmHWM") - rss0) / 1024.0
    pred = predict_lowest(proba)
    acc = float(np.mean(pred == y[np.asarray(tasks, dtype=np.int64)]))
    print(json.dumps({"seconds": seconds, "accuracy": acc, "peak_mb": peak,
                      "n_iter": None if n_iter is None else int(n_iter)}))


def scenarios(quick):
    out = [
        ("1e4 x 1000, uniform", dict(n_tasks=10_000, n_workers=1000)),
        ("1e5 x 1000, uniform", dict(n_tasks=100_000, n_workers=1000)),
        ("1e5 x 1000, zipf + 20% spam", dict(n_tasks=100_000, n_workers=1000,
                                             activity="zipf", spammer_fraction=0.2)),
        ("1e5 x 1000, 3 classes", dict(n_tasks=100_000, n_workers=1000, n_classes=3)),
    ]
    if not quick:
        out.append(("1e6 x 10000, uniform", dict(n_tasks=1_000_000, n_workers=10_000)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--labels", type=int, default=5, help="labels per task")
    parser.add_argument("--methods", default="", help="comma-separated subset")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--n-classes", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--capped", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(args.one, args.path, args.n_classes, args.capped)

    from skweak_e2e.datasets import make_crowd

    methods = [*OURS, *PEERS]
    if args.methods:
        methods = [m for m in methods if m in args.methods.split(",")]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    rows = []
    for title, params in scenarios(args.quick):
        crowd = make_crowd(labels_per_task=args.labels, accuracy=(0.5, 0.9),
                           random_state=0, **params)
        C = params.get("n_classes", 2)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "crowd.npz")
            np.savez(path, y=crowd.y, **crowd.data)
            for method in methods:
                if params["n_tasks"] > SLOW.get(method, np.inf):
                    rows.append([title, method, "skipped", "", "", ""])
                    continue
                cmd = module_command(__spec__.name, "--one", method, "--path", path,
                                     "--n-classes", C)
                label = method
                if params["n_tasks"] > CAPPED.get(method, (np.inf,))[0]:
                    cmd.append("--capped")
                    label = f"{method} {CAPPED[method][1]}"
                try:
                    res = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                         cwd=ROOT, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    rows.append([title, label, "timeout", "", "", ""])
                    continue
                if res.returncode != 0:
                    err = (res.stderr.strip().splitlines() or ["?"])[-1][:60]
                    rows.append([title, label, "error: " + err, "", "", ""])
                    continue
                out = json.loads(res.stdout.strip().splitlines()[-1])
                rows.append([title, label, f"{out['accuracy']:.4f}",
                             f"{out['seconds']:.2f}", f"{out['peak_mb']:.0f}",
                             "" if out["n_iter"] is None else out["n_iter"]])
                print(" | ".join(map(str, rows[-1])), flush=True)
    print()
    print(rst_table(["crowd", "method", "accuracy", "seconds", "peak MB", "iter"],
                    rows, title=f"Crowd regime ({args.labels} labels per task)"))


if __name__ == "__main__":
    main()
