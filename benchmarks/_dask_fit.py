"""Label-model fits on a dask cluster against the same fits in memory.

The label matrix is generated on the workers, block by block, in two
regimes: *few patterns* (every row is one of ``n_patterns`` prototype rows,
so DawidSkene fits on merged pattern counts) and *many patterns* (planted
independent sources; nearly every row is distinct, so DawidSkene runs one
map-reduce per EM iteration over blocks encoded once on the workers). Each
model is fitted on the persisted dask array, then on the same matrix
gathered into this process; the table reports both times, their ratio,
the largest difference of the fitted tensors, and the driver's peak memory
during the dask fit against the size of ``L``.
"""

import gc
import threading
import time
import warnings

import numpy as np

N_CLASSES = 2


def _planted(seed, n_sources):
    rng = np.random.RandomState(seed)
    accuracy = rng.uniform(0.55, 0.9, n_sources)
    coverage = rng.uniform(0.1, 0.6, n_sources)
    return accuracy, coverage


def _votes(rng, n_rows, n_sources, seed):
    """Planted conditionally independent binary sources (int8, -1 = abstain)."""
    accuracy, coverage = _planted(seed, n_sources)
    y = (rng.random_sample(n_rows) < 0.4).astype(np.int8)
    right = rng.random_sample((n_rows, n_sources)) < accuracy
    votes = np.where(right, y[:, None], 1 - y[:, None]).astype(np.int8)
    votes[rng.random_sample((n_rows, n_sources)) >= coverage] = -1
    return votes


def _block(index, n_rows, n_sources, n_patterns, seed):
    rng = np.random.RandomState([seed, index + 1])
    if n_patterns is None:
        return _votes(rng, n_rows, n_sources, seed)
    # The same prototype table on every worker (seeded), rows drawn from it.
    prototypes = _votes(np.random.RandomState([seed, 0]), n_patterns, n_sources, seed)
    return prototypes[rng.randint(n_patterns, size=n_rows)]


def make_dask_label_matrix(n_rows, n_sources, n_patterns, chunk_rows, seed=0):
    """A lazy ``(n_rows, n_sources)`` int8 label matrix generated per block."""
    import dask
    import dask.array as da

    blocks = []
    for index, start in enumerate(range(0, n_rows, chunk_rows)):
        rows = min(chunk_rows, n_rows - start)
        task = dask.delayed(_block, pure=True)(index, rows, n_sources, n_patterns, seed)
        blocks.append(da.from_delayed(task, shape=(rows, n_sources), dtype=np.int8))
    return da.concatenate(blocks)


class PeakMemory:
    """Peak resident memory of this process above its level at entry."""

    def __init__(self, interval=0.005):
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self.peak = 0

    def __enter__(self):
        gc.collect()
        self._base = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss - self._base)
            time.sleep(self._interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss - self._base)
        return False


def _models():
    from skweak_e2e import DawidSkene, MajorityVote, Snorkel

    return {
        "MajorityVote": lambda: MajorityVote(),
        "DawidSkene": lambda: DawidSkene(),
        "Snorkel": lambda: Snorkel(random_state=0),
    }


def run_label_models(client, n_rows, n_sources, chunk_rows, n_patterns, repeats=1):
    """Rows of the result table for both regimes (dicts)."""
    from distributed import wait

    rows = []
    for regime, patterns in (("few patterns", n_patterns), ("many patterns", None)):
        L_dask = make_dask_label_matrix(n_rows, n_sources, patterns, chunk_rows)
        L_dask = client.persist(L_dask)
        wait(L_dask)
        L_bytes = L_dask.nbytes
        remote = {}
        for name, make in _models().items():
            best = np.inf
            for _ in range(repeats):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with PeakMemory() as memory:
                        start = time.perf_counter()
                        model = make().fit(L_dask)
                        elapsed = time.perf_counter() - start
                best = min(best, elapsed)
            remote[name] = (model, best, memory.peak)
        L = L_dask.compute()  # now the in-memory fits, on the same matrix
        del L_dask
        for name, make in _models().items():
            best = np.inf
            for _ in range(repeats):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    model = make().fit(L)
                    best = min(best, time.perf_counter() - start)
            dask_model, dask_time, peak = remote[name]
            scale = max(np.abs(model.W_[np.isfinite(model.W_)]).max(), 1.0)
            rows.append(
                {
                    "regime": regime,
                    "model": name,
                    "in-memory s": best,
                    "dask s": dask_time,
                    "dask / in-memory": dask_time / best,
                    "max |dW| / scale": float(np.abs(dask_model.W_ - model.W_).max() / scale),
                    "n_iter": getattr(model, "n_iter_", ""),
                    "driver peak / L": peak / L_bytes,
                }
            )
        del L
        gc.collect()
    return rows
