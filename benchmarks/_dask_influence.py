"""SourceAwareInfluence on a dask cluster: every term of n x 50 sources x 2 classes.

``X`` (``n x d`` float64 features) and ``L`` (``n x m`` int8 votes of planted
conditionally independent sources) are generated on the workers block by
block, from a seed: nothing of size ``n`` is built on the driver. The
inspector is fitted on them (the closed-form logistic regression on a
MajorityVote, fitted on the dask ``L`` first), then asked the influence of
every term on the mean loss of a validation set: the per-source and
per-parameter summaries come back in memory, and the per-sample, per-vote
and per-term arrays are reduced on the workers (their sums, the count of
harmful terms), as are the leave-one-out mislabel scores. The driver's peak
memory above its level at the start is measured throughout.

Equality: on the first ``check_rows`` rows, the same inspector fitted in
memory and on the dask arrays (``tol=1e-12`` on both sides) must give the
same influences to 1e-8 of their scale.
"""

import warnings

import numpy as np

N_CLASSES = 2


def _planted(seed, n_sources):
    rng = np.random.RandomState(seed)
    return rng.uniform(0.55, 0.9, n_sources), rng.uniform(0.1, 0.6, n_sources)


def _classes(rng, n_rows):
    return (rng.random_sample(n_rows) < 0.4).astype(np.int8)


def _votes_block(index, n_rows, n_sources, seed):
    """Votes and classes of one block (generated on a worker)."""
    rng = np.random.RandomState([seed, index + 1])
    accuracy, coverage = _planted(seed, n_sources)
    y = _classes(rng, n_rows)
    right = rng.random_sample((n_rows, n_sources)) < accuracy
    L = np.where(right, y[:, None], 1 - y[:, None]).astype(np.int8)
    L[rng.random_sample((n_rows, n_sources)) >= coverage] = -1
    return L, y


def _features_block(index, n_rows, n_features, seed, dtype):
    """Features of one block, of ``dtype``, whose mean shifts with the class.

    A task of its own, apart from the votes: its result is the only large
    thing a worker keeps, and is held where it was made. The classes are
    drawn again from the votes' seed (the first draw of both).
    """
    y = _classes(np.random.RandomState([seed, index + 1]), n_rows)
    rng = np.random.RandomState([seed, index + 1, 1])
    mean = np.random.RandomState([seed, 0]).normal(size=n_features) / np.sqrt(n_features)
    X = rng.normal(size=(n_rows, n_features))
    X += (2.0 * y - 1.0)[:, None] * mean
    return X.astype(dtype, copy=False)


def make_problem(n_rows, n_features, n_sources, chunk_rows, seed=0, dtype=np.float64):
    """Lazy ``X`` (n, d) of ``dtype``, ``L`` (n, m) and ``y`` (n,), blockwise tasks."""
    import dask
    import dask.array as da

    Xs, Ls, ys = [], [], []
    for index, start in enumerate(range(0, n_rows, chunk_rows)):
        rows = min(chunk_rows, n_rows - start)
        votes = dask.delayed(_votes_block, pure=True, nout=2)(index, rows, n_sources, seed)
        features = dask.delayed(_features_block, pure=True)(index, rows, n_features, seed,
                                                             dtype)
        Xs.append(da.from_delayed(features, shape=(rows, n_features), dtype=dtype))
        Ls.append(da.from_delayed(votes[0], shape=(rows, n_sources), dtype=np.int8))
        ys.append(da.from_delayed(votes[1], shape=(rows,), dtype=np.int8))
    return da.concatenate(Xs), da.concatenate(Ls), da.concatenate(ys)


def run_influence(client, n_rows, n_features, n_sources, chunk_rows, l2, check_rows,
                  measure, dtype=np.float64):
    """``(steps, summary, check)``: every step's times, totals, the equality check.

    ``measure(run)`` returns ``run()`` and its wall time and CPU seconds of
    the driver and the workers.
    """
    import dask
    import dask.array as da
    from distributed import wait

    from ._dask_fit import PeakMemory
    from skweak_e2e import MajorityVote, SourceAwareInfluence

    X, L, _ = make_problem(n_rows, n_features, n_sources, chunk_rows, dtype=dtype)
    Xv, _, yv = make_problem(2000, n_features, n_sources, 2000, seed=1, dtype=dtype)
    Xv, yv = dask.compute(Xv, yv)
    steps = []

    def step(name, run):
        out, times = measure(run)
        steps.append((name, times))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PeakMemory() as memory:
            X, L = step("generate X and L on the workers (persisted)",
                        lambda: _persisted(client, wait, X, L))
            label_model = step("MajorityVote fit on dask L", lambda: MajorityVote().fit(L))
            sai = SourceAwareInfluence(label_model, l2=l2)
            sai = step("inspector fit", lambda: sai.fit(X, L))
            res = step("influence: per-source / per-parameter summaries",
                       lambda: sai.influence(Xv, yv))
            terms = res.terms("coo")["influence"]
            sums = step("every term, per-sample and per-vote, reduced", lambda: dask.compute(
                res.per_sample.sum(), res.per_vote.sum(), terms.sum(), (terms > 0).sum(),
                da.ones_like(terms).sum()))
            step("leave-one-out mislabel scores, reduced",
                 lambda: da.nanmean(sai.mislabel_scores()).compute())
    sum_gap = abs(sums[0] - res.per_source.sum()) / max(abs(res.per_source).max(), 1e-300)
    summary = {
        "peak": memory.peak,
        "X bytes": X.nbytes,
        "terms": int(sums[4]),
        "harmful": int(sums[3]),
        "sum identity": float(sum_gap),
        "n_train": sai.n_train_,
        "passes": sai.stationarity_["n_passes"],
    }
    return steps, summary, _check(X, L, Xv, yv, label_model, l2, check_rows)


def _persisted(client, wait, X, L):
    X, L = client.persist([X, L])
    wait([X, L])
    return X, L


def _check(X, L, Xv, yv, label_model, l2, check_rows):
    """Largest scaled difference, dask against in memory, on the first rows."""
    import dask

    from skweak_e2e import SourceAwareInfluence

    import dask.array as da

    X_mem, L_mem = dask.compute(X[:check_rows], L[:check_rows])
    chunks = (X.chunks[0][0], -1)
    Xs, Ls = da.from_array(X_mem, chunks=chunks), da.from_array(L_mem, chunks=chunks)
    mem = SourceAwareInfluence(label_model, l2=l2, tol=1e-12).fit(X_mem, L_mem)
    lazy = SourceAwareInfluence(label_model, l2=l2, tol=1e-12).fit(Xs, Ls)
    want, got = mem.influence(Xv, yv), lazy.influence(Xv, yv)
    per_sample, per_vote = dask.compute(got.per_sample, got.per_vote)

    def gap(a, b):
        return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-300))

    return {
        "per_source": gap(want.per_source, got.per_source),
        "per_parameter": gap(want.per_parameter, got.per_parameter),
        "per_sample": gap(want.per_sample, per_sample),
        "per_vote": gap(want.per_vote.toarray(), per_vote),
    }
