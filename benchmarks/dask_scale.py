#!/usr/bin/env python
"""Dask scale-out: label-model fits and LF application on a local cluster.

Run it from the repository root in the peers venv (snorkel beside this
checkout; see README.rst)::

    . ../venv-peers/bin/activate
    python -m benchmarks.dask_scale                     # every part
    python -m benchmarks.dask_scale --part lf           # one part
    python -m benchmarks.dask_scale --part lf --rows 1e5 --partitions 4

Parts (``--part``; "all" runs each one):

* ``lf``: labeling functions applied to a dask DataFrame of texts on a
  LocalCluster of worker processes (one thread each): skweak_e2e's
  ``LFApplier(lfs).transform(ddf).compute()`` against snorkel's
  ``DaskLFApplier(lfs).apply(ddf)``, the same ten labeling functions written
  for each library, on the same persisted dask DataFrame. Both results are
  numpy label matrices on the driver and must be equal. Measured: wall time,
  CPU seconds of the driver (which hosts the scheduler) and of the worker
  processes, rows per CPU-second, and the ratio of ours to snorkel's.

* ``influence``: SourceAwareInfluence on a dask ``X`` (``--influence-rows`` x
  ``--features``, 1e6 x 300 by default, of ``--influence-dtype``) and ``L``
  (x ``--sources``), both generated on the workers: the fit, the influence of every term on a
  validation loss (summaries in memory, per-row and per-term arrays reduced
  on the workers) and the leave-one-out mislabel scores; the driver's peak
  memory against the size of ``X``, each worker's peak memory, and the
  equality with the in-memory inspector on the first 1e5 rows.

* ``label-models``: MajorityVote, DawidSkene and Snorkel fitted on a
  persisted dask label matrix of ``--lm-rows`` x ``--sources`` int8 votes
  (1e7 x 50 by default), generated on the workers in two regimes: few
  distinct rows (``--patterns``, DawidSkene fits on merged pattern counts)
  and many (planted independent sources: nearly every row is distinct, one
  map-reduce per EM iteration). Each is also fitted on the same matrix in
  this process. Measured: both fit times and their ratio, the largest
  difference of the fitted tensors, and the peak memory of this process
  (the driver, which also hosts the scheduler) during the dask fit against
  the size of ``L``. It needs no peer library.

* ``weasel``: WeaSELClassifier fitted on a lazy ``--weasel-rows`` x
  ``--features`` float32 dask X (planted two-class data, ``--sources``
  sources, blocks of ``--weasel-block-rows`` rows generated and persisted
  on a 1-worker LocalCluster; ``--weasel-scheduler threads`` generates them
  in this process instead, on every pass), streamed block by block, then on
  the first ``--weasel-memory-rows`` of the same rows (all by default)
  gathered into this process. Measured: time per epoch (median of skorch's
  ``dur``; an in-memory fit on fewer rows is scaled to all of them), the
  time outside the epochs (the passes over the blocks before training),
  the driver's peak memory above its level at the start against the size of
  X, the worker's peak memory, and the accuracy of both fits on 20,000
  held-out rows, next to the accuracy change of the in-memory fit from one
  seed to another.

The data of ``lf``: the WRENCH YouTube comments (train, valid and test texts, read in
place from ``--wrench-dir``) repeated to ``--rows`` rows, as an object
column (``dataframe.convert-string`` off: see README.rst for why snorkel
needs it, and pandas < 3). Each applier first
labels a few partitions once, untimed, so that the imports and the first
calls on the workers are not charged to either.
"""

import argparse
import json
import os
import re
import time

import numpy as np

from ._common import default_wrench_dir, rst_table

SPAM, HAM, ABSTAIN = 1, 0, -1


# ====================================================================== data
def youtube_texts(root):
    """The YouTube comment texts of the three WRENCH splits, in file order."""
    texts = []
    for split in ("train", "valid", "test"):
        path = os.path.join(root, "youtube", f"{split}.json")
        if not os.path.exists(path):
            raise SystemExit(
                f"{path} not found: pass --wrench-dir (or set SKWEAK_E2E_WRENCH) "
                "to the WRENCH root that holds youtube/."
            )
        with open(path) as f:
            texts += [item["data"]["text"] for item in json.load(f).values()]
    return texts


# ======================================================= labeling functions
# The same ten sources for both libraries. Keywords are whole words,
# case-insensitive (keyword_lf's default); the snorkel versions use the
# equivalent regular expressions, so the two label matrices must be equal.
KEYWORDS = [
    ("kw_my", ["my"], SPAM),
    ("kw_subscribe", ["subscribe", "subscribers"], SPAM),
    ("kw_please", ["please", "plz", "pls"], SPAM),
    ("kw_music", ["song", "music", "voice"], HAM),
]
REGEXES = [
    ("re_check_out", r"check.*out", SPAM),
    ("re_link", r"https?://|www\.", SPAM),
    ("re_praise", r"\b(?:love|nice|great|beautiful|amazing|best)\b", HAM),
]


def _short(text):
    return HAM if len(text.split()) < 5 else ABSTAIN


def _shouting(text):
    return SPAM if text.count("!") >= 3 else ABSTAIN


def _caps(text):
    return SPAM if len(text) > 10 and text.isupper() else ABSTAIN


HEURISTICS = [("short", _short), ("shouting", _shouting), ("caps", _caps)]


def ours_lfs():
    from skweak_e2e.labeling import keyword_lf, labeling_function, regex_lf

    lfs = [keyword_lf(words, label, field="text", name=name)
           for name, words, label in KEYWORDS]
    lfs += [regex_lf(pattern, label, field="text", flags=re.IGNORECASE, name=name)
            for name, pattern, label in REGEXES]
    lfs += [labeling_function(name=name)(_on_text(func)) for name, func in HEURISTICS]
    return lfs


def _on_text(func):
    def lf(x):
        return func(x.text)

    return lf


def snorkel_lfs():
    from snorkel.labeling import LabelingFunction

    def search(x, pattern, label):
        return label if pattern.search(x.text) else ABSTAIN

    def heuristic(x, func):
        return func(x.text)

    lfs = []
    for name, words, label in KEYWORDS:
        body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)
        lfs.append(LabelingFunction(
            name, search, resources={"pattern": pattern, "label": label}))
    for name, source, label in REGEXES:
        pattern = re.compile(source, re.IGNORECASE)
        lfs.append(LabelingFunction(
            name, search, resources={"pattern": pattern, "label": label}))
    for name, func in HEURISTICS:
        lfs.append(LabelingFunction(name, heuristic, resources={"func": func}))
    return lfs


# ============================================================ measurements
def _process_cpu():
    """user + system CPU seconds of the calling process (run on each worker)."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def _peak_rss():
    """Peak resident memory of the calling process, bytes (run on each worker)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(client, run):
    """``run()`` with its wall time and the CPU seconds of driver and workers."""
    workers0 = client.run(_process_cpu)
    driver0 = _process_cpu()
    start = time.perf_counter()
    out = run()
    wall = time.perf_counter() - start
    driver = _process_cpu() - driver0
    workers1 = client.run(_process_cpu)
    workers = sum(workers1[w] - workers0[w] for w in workers0)
    return out, {"wall": wall, "driver": driver, "workers": workers}


def part_lf(args):
    """LF application on a dask DataFrame: skweak_e2e against snorkel."""
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster, wait

    from skweak_e2e import LFApplier

    try:
        from snorkel.labeling.apply.dask import DaskLFApplier
    except ImportError:
        DaskLFApplier = None
        print("snorkel is not installed here: its row shows n/a (run this "
              "script in the peers venv, see benchmarks/README.rst).")

    import dask

    texts = youtube_texts(args.wrench_dir)
    n = int(args.rows)
    # Plain Python strings (object dtype) for both appliers: snorkel's
    # DaskLFApplier lets dask infer its output by calling the LFs on made-up
    # rows, which are "foo" for an object column but hold a missing value
    # for a string dtype (a TypeError in any LF that reads x.text as a str).
    dask.config.set({"dataframe.convert-string": False})
    text = pd.Series(np.resize(np.asarray(texts, dtype=object), n), dtype=object)
    frames = {"text only": pd.DataFrame({"text": text})}
    if args.layout in ("tutorial", "both"):
        frames["5 columns"] = tutorial_frame(text)
    if args.layout == "tutorial":
        del frames["text only"]
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                           processes=True, dashboard_address=":0")
    client = Client(cluster)
    results, matrices = {}, {}
    try:
        ours = LFApplier(ours_lfs())
        runs = {"skweak_e2e": lambda d: ours.transform(d).compute(scheduler=client)}
        if DaskLFApplier is not None:
            theirs = DaskLFApplier(snorkel_lfs())
            runs["snorkel"] = lambda d: theirs.apply(d, scheduler=client)
        for layout, frame in frames.items():
            ddf = dd.from_pandas(frame, npartitions=args.partitions)
            # The data sit in the workers' memory before any timing, so that
            # neither applier pays for shipping them.
            ddf = client.persist(ddf)
            wait(ddf)
            warm = ddf.partitions[: args.workers]
            for name, run in runs.items():
                run(warm)
                key = (layout, name)
                matrices[key], results[key] = measure(client, lambda data=ddf: run(data))
                print(f"  {layout}, {name}: {results[key]['wall']:.1f} s wall", flush=True)
            del ddf
    finally:
        client.close()
        cluster.close()

    for key, L in matrices.items():
        if L.shape != (n, len(KEYWORDS) + len(REGEXES) + len(HEURISTICS)):
            raise SystemExit(f"{key} returned a label matrix of shape {L.shape}.")
    same = "n/a"
    if DaskLFApplier is not None:
        same = all(
            np.array_equal(matrices[(layout, "skweak_e2e")], matrices[(layout, "snorkel")])
            for layout in frames
        )
        if not same:
            raise SystemExit("skweak_e2e and snorkel label matrices differ.")
    first = next(iter(frames))
    coverage = float((matrices[(first, "skweak_e2e")] != ABSTAIN).mean())

    rows, speed = [], {}
    for layout in frames:
        for name in ("skweak_e2e", "snorkel"):
            key = (layout, name)
            if key not in results:
                rows.append([layout, name] + ["n/a"] * 6)
                continue
            r = results[key]
            cpu = r["driver"] + r["workers"]
            speed[key] = n / cpu
            rows.append([layout, name, f"{r['wall']:.1f}", f"{r['driver']:.1f}",
                         f"{r['workers']:.1f}", f"{cpu:.1f}", f"{speed[key]:,.0f}",
                         f"{n / r['wall']:,.0f}"])
    title = (f"LF application, {n:,} rows x 10 LFs, {args.partitions} partitions, "
             f"{args.workers} worker processes (vote density {coverage:.3f})")
    print(rst_table(["frame", "applier", "wall s", "driver CPU s", "workers CPU s",
                     "total CPU s", "rows / CPU-s", "rows / wall-s"], rows, title))
    checks = []
    for layout in frames:
        if (layout, "snorkel") not in speed:
            continue
        ratio = speed[(layout, "skweak_e2e")] / speed[(layout, "snorkel")]
        wall = results[(layout, "snorkel")]["wall"] / results[(layout, "skweak_e2e")]["wall"]
        checks.append([f"{layout}: rows / CPU-s, ours / snorkel", f"{ratio:.1f}x",
                       ">= 10x", "PASS" if ratio >= 10 else "MISS"])
        checks.append([f"{layout}: wall time, snorkel / ours", f"{wall:.1f}x", "", ""])
    if checks:
        checks.append(["same label matrices", str(same), "True",
                       "PASS" if same else "MISS"])
        print(rst_table(["measure", "value", "target", "status"], checks, title="Targets"))


def tutorial_frame(text):
    """The texts in the five-column layout of snorkel's spam tutorial.

    ``author``, ``date``, ``text``, ``label`` and ``video`` (the layout of
    the YouTube spam collection). The other columns are generated: the LFs
    read only ``text``, but snorkel's applier builds a row object from every
    column of every row, so its cost grows with the width of the table.
    """
    import pandas as pd

    n = len(text)
    index = np.arange(n)
    return pd.DataFrame({
        "author": pd.Series([f"user{i % 9973}" for i in index], dtype=object),
        "date": pd.Series([f"2015-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00"
                           for i in index], dtype=object),
        "text": text,
        "label": (index % 2).astype(np.int64),
        "video": (index % 5).astype(np.int64),
    })


def _import_library():
    import skweak_e2e  # noqa: F401 - the first task of a worker pays for it

    return True


def part_label_models(args):
    """Label-model fits on a dask label matrix against the in-memory fits."""
    from distributed import Client, LocalCluster

    from ._dask_fit import run_label_models

    n = int(args.lm_rows)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                           processes=True, dashboard_address=":0")
    client = Client(cluster)
    try:
        client.run(_import_library)
        # A small fit first, untimed: dask's and the library's code paths load.
        run_label_models(client, 20_000, 10, 5_000, 100, repeats=1)
        rows = run_label_models(client, n, args.sources, int(args.chunk_rows),
                                int(args.patterns), repeats=args.repeats)
    finally:
        client.close()
        cluster.close()
    table = [
        [r["regime"], r["model"], f"{r['in-memory s']:.2f}", f"{r['dask s']:.2f}",
         f"{r['dask / in-memory']:.2f}", f"{r['max |dW| / scale']:.1e}",
         str(r["n_iter"]), f"{r['driver peak / L']:.3f}"]
        for r in rows
    ]
    title = (f"Label models, {n:,} x {args.sources} int8 L "
             f"({n * args.sources / 2**20:,.0f} MiB), blocks of {int(args.chunk_rows):,} "
             f"rows, {args.workers} worker processes; few patterns = "
             f"{int(args.patterns):,} distinct rows")
    print(rst_table(["regime", "model", "in-memory s", "dask s", "dask / in-memory",
                     "max |dW| / scale", "EM iter", "driver peak / L"], table, title))
    checks = []
    for r in rows:
        if r["model"] == "MajorityVote":
            continue
        label = f"{r['model']}, {r['regime']}"
        checks.append([f"{label}: dask / in-memory time", f"{r['dask / in-memory']:.2f}",
                       "<= 1.2", "PASS" if r["dask / in-memory"] <= 1.2 else "MISS"])
    worst_memory = max(r["driver peak / L"] for r in rows)
    worst_diff = max(r["max |dW| / scale"] for r in rows)
    checks.append(["driver peak memory / size of L (worst)", f"{worst_memory:.3f}",
                   "< 0.1", "PASS" if worst_memory < 0.1 else "MISS"])
    checks.append(["max |dW| against in-memory (worst)", f"{worst_diff:.1e}",
                   "<= 1e-10", "PASS" if worst_diff <= 1e-10 else "MISS"])
    print(rst_table(["measure", "value", "target", "status"], checks, title="Targets"))


def part_influence(args):
    """SourceAwareInfluence on dask: every term, n x 50 sources x 2 classes, d=300."""
    from distributed import Client, LocalCluster

    from ._dask_influence import run_influence

    n, d = int(args.influence_rows), args.features
    dtype = np.dtype(args.influence_dtype)
    with _no_spilling():
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, dashboard_address=":0")
    client = Client(cluster)
    try:
        client.run(_import_library)
        timed = lambda run: measure(client, run)  # noqa: E731
        run_influence(client, 20_000, 10, 5, 5_000, 1e-3, 5_000, timed)  # warm-up
        steps, info, check = run_influence(client, n, d, args.sources,
                                           int(args.chunk_rows), 1e-3,
                                           min(int(1e5), n), timed, dtype)
        worker_peaks = client.run(_peak_rss)
    finally:
        client.close()
        cluster.close()
    title = (f"SourceAwareInfluence, {n:,} x {d} {dtype} X ({info['X bytes'] / 2**30:.2f} "
             f"GiB) and {n:,} x {args.sources} int8 L, blocks of {int(args.chunk_rows):,} "
             f"rows, {args.workers} worker processes ({info['n_train']:,} training rows, "
             f"{info['terms']:,} terms, {info['harmful']:,} harmful; the fit took "
             f"{info['passes']} passes)")
    table = [[name, f"{t['wall']:.1f}", f"{t['driver']:.1f}", f"{t['workers']:.1f}"]
             for name, t in steps]

    def total(part):
        return (sum(t["wall"] for _, t in part),
                sum(t["driver"] + t["workers"] for _, t in part))

    # After the data and the label model: the fit and every term (the
    # target), then the mislabel scores as well.
    terms_wall, terms_cpu = total(steps[2:5])
    all_wall, all_cpu = total(steps[2:])
    table.append(["inspector fit and every term", f"{terms_wall:.1f}", "",
                  f"{terms_cpu:.1f} (CPU s, all)"])
    table.append(["... and the mislabel scores", f"{all_wall:.1f}", "",
                  f"{all_cpu:.1f} (CPU s, all)"])
    print(rst_table(["step", "wall s", "driver CPU s", "workers CPU s"], table, title))
    memory = info["peak"] / info["X bytes"]
    scale = 1e7 / n / args.workers
    rows = [["fit and every term: wall time", f"{terms_wall:.0f} s",
             "< 120 s at 1e7 rows",
             "n/a" if n < 1e7 else "PASS" if terms_wall < 120 else "MISS"],
            ["fit and every term: CPU s x 1e7 / n / workers (extrapolated)",
             f"{terms_cpu * scale:.0f} s", "< 120 s",
             "PASS" if terms_cpu * scale < 120 else "MISS"],
            ["... with the mislabel scores (extrapolated)", f"{all_cpu * scale:.0f} s",
             "", ""],
            ["driver peak memory / size of X", f"{memory:.4f}", "< 0.1",
             "PASS" if memory < 0.1 else "MISS"],
            ["peak resident memory of each worker (GiB)",
             " / ".join(f"{v / 2**30:.1f}" for v in worker_peaks.values()),
             f"X + L: {(info['X bytes'] + n * args.sources) / 2**30:.1f} in all", ""],
            ["sum of per-sample = sum of per-source", f"{info['sum identity']:.1e}",
             "<= 1e-8", "PASS" if info["sum identity"] <= 1e-8 else "MISS"]]
    for name, gap in check.items():
        rows.append([f"{name}, dask vs in memory ({min(int(1e5), n):,} rows)",
                     f"{gap:.1e}", "<= 1e-8", "PASS" if gap <= 1e-8 else "MISS"])
    print(rst_table(["measure", "value", "target", "status"], rows, title="Targets"))


def _no_spilling():
    """Workers that keep the persisted data in memory instead of spilling it.

    The persisted X is the whole point of the timed runs: spilled to disk,
    every pass would time the disk. A worker still pauses, and is
    restarted, near its memory limit, so a run that does not fit fails
    instead of swapping.
    """
    import dask

    return dask.config.set({"distributed.worker.memory.target": False,
                            "distributed.worker.memory.spill": False})


def _weasel_block(index, n_rows, n_features, n_sources, seed):
    """One block of the WeaSEL data: float32 features, int8 votes, gold labels.

    A planted model, the same on every worker (seeded): two classes whose
    means differ on the first 20 features, and sources of accuracy
    0.55-0.8 that vote on 5-30% of the rows.
    """
    model = np.random.RandomState(seed)
    accuracy = model.uniform(0.55, 0.8, n_sources)
    coverage = model.uniform(0.05, 0.3, n_sources)
    shift = np.zeros(n_features, dtype=np.float32)
    shift[:20] = model.uniform(0.1, 0.3, 20)
    rng = np.random.RandomState([seed, index + 1])
    y = rng.randint(2, size=n_rows)
    X = rng.standard_normal((n_rows, n_features)).astype(np.float32)
    X += np.where(y[:, None] == 1, shift, -shift)
    right = rng.random_sample((n_rows, n_sources)) < accuracy
    L = np.where(right, y[:, None], 1 - y[:, None]).astype(np.int8)
    L[rng.random_sample((n_rows, n_sources)) >= coverage] = -1
    return X, L, y


def part_weasel(args):
    """WeaSELClassifier streamed from a dask X against the in-memory fit."""
    import dask
    import dask.array as da
    import warnings

    from ._dask_fit import PeakMemory
    from skweak_e2e import WeaSELClassifier

    n, block, m, d = int(args.weasel_rows), int(args.weasel_block_rows), args.sources, args.features
    n_mem = min(n, int(args.weasel_memory_rows or n))
    task = dask.delayed(_weasel_block, pure=True, nout=3)
    parts = [task(i, min(block, n - start), d, m, 7) for i, start in enumerate(range(0, n, block))]
    sizes = [min(block, n - start) for start in range(0, n, block)]
    X = da.concatenate([da.from_delayed(p[0], (r, d), np.float32) for p, r in zip(parts, sizes)])
    L = da.concatenate([da.from_delayed(p[1], (r, m), np.int8) for p, r in zip(parts, sizes)])
    X_test, _, y_test = _weasel_block(10**6, 20_000, d, m, 7)
    params = dict(max_epochs=args.weasel_epochs, random_state=0, n_threads=1)
    if args.weasel_scheduler == "processes":
        from distributed import Client, LocalCluster, wait

        with _no_spilling():
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        client = Client(cluster)
        scheduler = client
        # Held by the worker, as the label-models part holds L: the epochs
        # then time the streaming, not the generation of the data.
        X, L = client.persist([X, L])
        wait([X, L])
    else:
        scheduler = "threads"
    results = {"dask": [], "in-memory": []}
    try:
        with dask.config.set(scheduler=scheduler), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Untimed: torch, skorch and dask load here, not in the measured fits.
            WeaSELClassifier(max_epochs=1).fit(X[:500], L[:500])
            X_mem = L_mem = None
            for _ in range(args.repeats):  # alternated: the load of the host drifts
                with PeakMemory() as memory:
                    start = time.perf_counter()
                    streamed = WeaSELClassifier(**params).fit(X, L)
                    results["dask"].append((streamed, time.perf_counter() - start, memory))
                if X_mem is None:
                    X_mem, L_mem = dask.compute(X[:n_mem], L[:n_mem])
                with PeakMemory() as memory:
                    start = time.perf_counter()
                    fitted = WeaSELClassifier(**params).fit(X_mem, L_mem)
                    results["in-memory"].append((fitted, time.perf_counter() - start, memory))
            # The spread of the accuracy over seeds, to read the gap against.
            other_seed = WeaSELClassifier(**dict(params, random_state=1)).fit(X_mem, L_mem)
        worker_peak = (max(client.run(_peak_rss).values())
                       if args.weasel_scheduler == "processes" else None)
    finally:
        if args.weasel_scheduler == "processes":
            client.close()
            cluster.close()
    x_bytes = n * d * 4
    table, epoch, accuracy, peaks = [], {}, {}, {}
    for name, runs in results.items():
        # The fastest run (median epoch) is reported; the largest peak.
        model, wall, _ = min(runs, key=lambda r: np.median(r[0].history_[:, "dur"]))
        durations = np.asarray(model.history_[:, "dur"], dtype=float)
        # Per epoch over all n rows: an in-memory fit on the first n_mem
        # rows only (X too large for this process) is scaled by n / n_mem.
        scale = n / n_mem if name == "in-memory" else 1.0
        epoch[name] = float(np.median(durations)) * scale
        peaks[name] = max(run[2].peak for run in runs)
        accuracy[name] = model.score(X_test, y_test)
        rows = n if name == "dask" else n_mem
        table.append([f"{name} ({rows:,} rows)", f"{wall:.1f}", f"{wall - durations.sum():.1f}",
                      f"{np.median(durations):.1f}", f"{epoch[name]:.1f}",
                      f"{peaks[name] / 2**20:,.0f}",
                      f"{peaks[name] / x_bytes:.3f}", f"{accuracy[name]:.4f}"])
    title = (f"WeaSEL, {n:,} x {d} float32 X ({x_bytes / 2**20:,.0f} MiB), {m} sources, "
             f"{len(sizes)} blocks of {block:,} rows, batch {streamed.batch_size_}, "
             f"{args.weasel_epochs} epochs, {args.weasel_scheduler} scheduler, "
             f"best of {args.repeats}")
    print(rst_table(["fit", "wall s", "outside epochs s", "s / epoch (median)",
                     f"s / epoch per {n:,} rows", "driver peak MiB", "peak / X",
                     "test accuracy"], table, title))
    ratio = epoch["dask"] / epoch["in-memory"]
    gap = abs(accuracy["dask"] - accuracy["in-memory"]) * 100
    peak = peaks["dask"] / x_bytes
    seed_gap = abs(other_seed.score(X_test, y_test) - accuracy["in-memory"]) * 100
    checks = [
        ["driver peak memory / X (dask fit)", f"{peak:.3f}", "< 0.1",
         "PASS" if peak < 0.1 else "MISS"],
        [f"dask / in-memory time per epoch{'' if n_mem == n else ' (per row)'}",
         f"{ratio:.2f}", "<= 1.3",
         "PASS" if ratio <= 1.3 else "MISS"],
        ["accuracy gap (points)", f"{gap:.2f}", "<= 0.5",
         ("PASS" if gap <= 0.5 else "MISS")
         + ("" if n_mem == n else f" (in memory on {n_mem:,} rows)")],
        ["in memory, random_state 0 against 1 (points)", f"{seed_gap:.2f}", "", ""],
    ]
    if worker_peak is not None:
        checks.append(["peak resident memory of the worker (GiB)",
                       f"{worker_peak / 2**30:.1f}",
                       f"X + L: {(x_bytes + n * m) / 2**30:.1f}", ""])
    print(rst_table(["measure", "value", "target", "status"], checks, title="Targets"))


#: The parts of the benchmark, run in this order by ``--part all``.
PARTS = {
    "lf": part_lf,
    "label-models": part_label_models,
    "weasel": part_weasel,
    "influence": part_influence,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--rows", type=float, default=1e6,
                        help="rows of the LF data set (default 1e6)")
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--layout", choices=["text", "tutorial", "both"], default="both",
                        help="lf part: a text-only frame, the 5-column layout of "
                             "snorkel's spam tutorial, or both (default)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the LocalCluster, one thread each")
    parser.add_argument("--wrench-dir", default=default_wrench_dir())
    parser.add_argument("--lm-rows", type=float, default=1e7,
                        help="rows of the label matrix of the label-models part")
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--chunk-rows", type=float, default=1e6)
    parser.add_argument("--patterns", type=float, default=1e5,
                        help="distinct rows of the few-patterns regime")
    parser.add_argument("--influence-rows", type=float, default=1e6,
                        help="rows of X and L of the influence part")
    parser.add_argument("--influence-dtype", choices=["float64", "float32"],
                        default="float64",
                        help="influence part: the stored dtype of X (float32 halves "
                             "its memory; every block is still computed in float64)")
    parser.add_argument("--features", type=int, default=300,
                        help="features of X of the influence and weasel parts")
    parser.add_argument("--repeats", type=int, default=1,
                        help="fits per model and regime; the fastest is reported")
    parser.add_argument("--weasel-rows", type=float, default=2e5,
                        help="weasel part: rows of the dask X")
    parser.add_argument("--weasel-memory-rows", type=float, default=None,
                        help="weasel part: the in-memory fit trains on the first rows "
                             "only (default: all of them); its time per epoch is "
                             "scaled to all rows")
    parser.add_argument("--weasel-block-rows", type=float, default=5000)
    parser.add_argument("--weasel-epochs", type=int, default=3)
    parser.add_argument("--weasel-scheduler", choices=["processes", "threads"],
                        default="processes",
                        help="weasel part: a 1-worker LocalCluster, or threads in this process")
    args = parser.parse_args(argv)
    for name, part in PARTS.items():
        if args.part in (name, "all"):
            print(f"== {name}: {part.__doc__}", flush=True)
            part(args)


if __name__ == "__main__":
    main()
