"""Time one WeaSEL training epoch at the issue's size: 1e5 rows x 300 features x 100 sources.

The speed target of the WeaSEL issue is an epoch under 5 s on the project's
CPU. The script fits ``WeaSELClassifier`` for a few epochs on synthetic data
of that size (binary, ``make_weak_supervision`` with 100 sources of coverage
0.05-0.5) and reports skorch's per-epoch wall time, for both settings of
``accuracy_support`` and, when torch sees a GPU, on the GPU too.

Run from the project root::

    python -m benchmarks.weasel_epoch_speed            # 3 epochs per setting
    python -m benchmarks.weasel_epoch_speed --epochs 5 --threads 1
"""

import argparse
import os
import platform
import time

import numpy as np


def make_data(n_samples, n_features, n_sources, random_state=0):
    """Gaussian features and a label matrix with planted sources."""
    from skweak_e2e.datasets import make_weak_supervision

    rng = np.random.RandomState(random_state)
    coverage = rng.uniform(0.05, 0.5, size=n_sources)
    accuracy = rng.uniform(0.55, 0.85, size=n_sources)
    X, L, y = make_weak_supervision(
        n_samples=n_samples,
        n_sources=n_sources,
        n_classes=2,
        coverage=coverage,
        accuracy=accuracy,
        n_features=n_features,
        random_state=random_state,
    )
    return X.astype(np.float32), L, y


def epoch_times(X, L, *, device, epochs, threads, accuracy_support):
    """Per-epoch wall times (s) of a WeaSEL fit without validation data."""
    import warnings

    from skweak_e2e import WeaSELClassifier

    clf = WeaSELClassifier(
        max_epochs=epochs,
        device=device,
        n_threads=threads,
        accuracy_support=accuracy_support,
        random_state=0,
    )
    with warnings.catch_warnings():
        # Without validation data WeaSEL warns that it keeps the last epoch.
        warnings.simplefilter("ignore")
        clf.fit(X, L)
    return np.asarray(clf.net_.history[:, "dur"], dtype=float)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=300)
    parser.add_argument("--n-sources", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)

    import torch

    t0 = time.perf_counter()
    X, L, _ = make_data(args.n_samples, args.n_features, args.n_sources)
    print(
        f"data: {X.shape[0]} rows x {X.shape[1]} features, {L.shape[1]} sources "
        f"({(L >= 0).sum(axis=1).mean():.1f} votes per row), "
        f"made in {time.perf_counter() - t0:.1f} s"
    )
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = {}
    for device in devices:
        for support in ("voters", "all"):
            times = epoch_times(
                X, L, device=device, epochs=args.epochs, threads=args.threads,
                accuracy_support=support,
            )
            # The first epoch carries one-off costs (allocation, CUDA context).
            steady = times[1:] if len(times) > 1 else times
            results[device, support] = float(np.median(steady))
            print(
                f"{device:4s} accuracy_support={support!r:9s} epoch times "
                f"{np.round(times, 2).tolist()} s; median after the first "
                f"{results[device, support]:.2f} s"
            )
    verdict = "PASS" if results["cpu", "voters"] < 5.0 else "MISS"
    print(f"target: CPU epoch < 5 s with the defaults -> {results['cpu', 'voters']:.2f} s {verdict}")
    if "cuda" in devices:
        print(
            f"GPU speed-up (defaults): "
            f"{results['cpu', 'voters'] / results['cuda', 'voters']:.1f}x"
        )
    else:
        print("GPU speed-up: not measured, torch sees no GPU.")


if __name__ == "__main__":
    main()
