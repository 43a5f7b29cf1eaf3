"""Benchmark skweak_e2e's label models against snorkel 0.10 and crowd-kit.

Run it from the repository root in the peers' venv (see ``benchmarks/README.rst``)::

    python -m benchmarks.label_models               # default run (< ~30 min, 2 cores)
    python -m benchmarks.label_models --quick       # n <= 1e5, a few minutes
    python -m benchmarks.label_models --sizes 1e4,1e5 --sources 10 --classes 2

One run prints, as reStructuredText tables:

1. **Real data** (WRENCH YouTube and Yoruba, read from ``--wrench-dir``):
   test accuracy of every model, fit and predict time, and the largest
   difference of ``predict_proba`` between each skweak_e2e model and its
   peer. *Inductive* = fit on the train split, predict the test split;
   *transductive* = fit on train+valid+test, read the test rows (crowd-kit
   can only do this). Times are the median of ``--repeats`` transductive runs.
2. **LinearizedApprox fidelity** on the same data (when the class exists).
3. **Synthetic** data from ``make_weak_supervision`` (``n_features=0``) over
   a grid of ``n`` samples, ``m`` sources and ``C`` classes: accuracy against
   the gold labels, fit / predict time, peak memory. Every measurement runs in
   a fresh subprocess, under a wall-clock limit (``--timeout``) and a memory
   cap (``--mem-cap-gb``) enforced by the parent; a killed run is reported as
   ``timeout`` or ``OOM``, never silently extrapolated.
4. The issue's **targets**, each with its measured number and PASS / MISS.

Accuracy rule, identical for every model: a row's prediction is the lowest
class whose probability is within 1e-5 of the row maximum (ties go to the
lowest class); every test row counts, uncovered rows (no vote at all)
included, with whatever the model outputs for them (the class prior for most
models, i.e. class 0 under a uniform prior; a task crowd-kit never saw gets
the uniform distribution).

Memory is the peak resident set size (``VmHWM``, reset before each phase
through ``/proc/self/clear_refs``) minus the resident size once the label
matrix (int64) is loaded: everything the method allocates beyond the user's
``L``, including crowd-kit's long DataFrame.
"""

import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from ._common import (
    ROOT,
    default_wrench_dir,
    module_command,
    predict_lowest,
    reset_peak,
    rst_table,
    status_kb,
)
from ._peers import ADAPTERS, Unavailable, make_adapter, ours_class, versions

SEED = 123  # model seed (Snorkel init); never the generator's seed

SYNTH_MODELS = [
    "ours MV",
    "crowd-kit MV",
    "snorkel MajorityLabelVoter",
    "ours DS (model_abstain=True)",
    "ours DS (model_abstain=False)",
    "crowd-kit DS",
    "ours Snorkel",
    "snorkel LabelModel",
]
REAL_MODELS = SYNTH_MODELS[:1] + ["ours MV (method='argmax')"] + SYNTH_MODELS[1:]
# (ours, peer) pairs compared by ratio and by max |delta predict_proba|.
PAIRS = [
    ("ours MV", "crowd-kit MV"),
    ("ours MV", "snorkel MajorityLabelVoter"),
    ("ours MV (method='argmax')", "snorkel MajorityLabelVoter"),
    ("ours DS (model_abstain=True)", "crowd-kit DS"),
    ("ours DS (model_abstain=False)", "crowd-kit DS"),
    ("ours Snorkel", "snorkel LabelModel"),
]


# --------------------------------------------------------------------- helpers
def accuracy(proba, y):
    return float(np.mean(predict_lowest(proba) == np.asarray(y)))


def fmt_time(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def fmt_mb(mb):
    return "—" if mb is None else f"{mb:,.0f}" if mb >= 10 else f"{mb:.1f}"


# ------------------------------------------------------------------- real data
def load_wrench(path):
    """(L, y) of each split of a WRENCH-format data set, and n_classes."""
    from skweak_e2e.datasets import load_wrench as read

    data = read(path)
    splits = {split: (data[split].L.astype(np.int64), data[split].y) for split in
              ("train", "valid", "test")}
    return splits, data["train"].n_classes


def _run_once(name, C, L_fit, L_pred):
    ad = make_adapter(name, C, SEED).load()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        data = ad.prepare(L_fit)
        t1 = time.perf_counter()
        c1 = time.process_time()
        ad.fit(data)
        t2 = time.perf_counter()
        proba = ad.predict_proba(data if L_pred is None else L_pred)
        c3 = time.process_time()
        t3 = time.perf_counter()
    warn = sorted({w.category.__name__ for w in caught})
    return proba, {
        "prep": t1 - t0,
        "fit": t2 - t1,
        "predict": t3 - t2,
        "cpu": c3 - c1,
        "info": ad.info,
        "warnings": warn,
    }


def bench_real(args):
    results = {}
    for ds in args.datasets:
        splits, C = load_wrench(os.path.join(args.wrench_dir, ds))
        (L_tr, _), (L_va, _), (L_te, y_te) = (
            splits[s] for s in ("train", "valid", "test")
        )
        L_all = np.vstack([L_tr, L_va, L_te])
        test_rows = slice(len(L_tr) + len(L_va), None)
        res = {
            "n_classes": C,
            "n_train": len(L_tr),
            "n_all": len(L_all),
            "n_sources": L_tr.shape[1],
            "models": {},
        }
        for name in REAL_MODELS:
            ad_cls = ADAPTERS[name][0]
            entry = {}
            try:
                if not ad_cls.transductive:
                    proba, _ = _run_once(name, C, L_tr, L_te)
                    entry["acc_ind"] = accuracy(proba, y_te)
                    entry["proba_ind"] = proba
                _run_once(name, C, L_all, None)  # warm-up, discarded
                times = []
                for _ in range(args.repeats):
                    proba, t = _run_once(name, C, L_all, None)
                    times.append(t)
                proba = proba[test_rows]
                entry["acc_trans"] = accuracy(proba, y_te)
                entry["proba_trans"] = proba
                for key in ("prep", "fit", "predict", "cpu"):
                    entry[key] = float(np.median([t[key] for t in times]))
                entry["info"] = times[-1]["info"]
                entry["warnings"] = times[-1]["warnings"]
            except Unavailable as exc:
                entry = {"unavailable": str(exc)}
            res["models"][name] = entry
        res["linearized"] = bench_linearized(L_tr, L_te, C)
        results[ds] = res
    return results


def bench_linearized(L_tr, L_te, C):
    """Fidelity of LinearizedApprox to each exp/identity target model."""
    try:
        LinearizedApprox = ours_class("LinearizedApprox")
    except Unavailable as exc:
        return {"unavailable": str(exc)}
    from sklearn.frozen import FrozenEstimator

    targets = [
        ("MajorityVote", {}),
        ("DawidSkene", {}),
        ("Snorkel", {"random_state": SEED}),
    ]
    out = {}
    for cls_name, params in targets:
        try:
            cls = ours_class(cls_name)
        except Unavailable as exc:
            out[cls_name] = {"unavailable": str(exc)}
            continue
        with warnings.catch_warnings():
            # The target's own warnings are reported in the tables above.
            warnings.simplefilter("ignore")
            target = cls(n_classes=C, **params).fit(L_tr)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # FrozenEstimator: LinearizedApprox uses the fitted target as is.
            t0 = time.perf_counter()
            approx = LinearizedApprox(FrozenEstimator(target)).fit(L_tr)
            fit_s = time.perf_counter() - t0
        row = {
            "fit": fit_s,
            "n_iter": int(getattr(approx, "n_iter_", -1)),
            "warnings": sorted({w.category.__name__ for w in caught}),
        }
        for split, L in (("train", L_tr), ("test", L_te)):
            covered = (L != -1).any(axis=1)
            diff = np.abs(approx.predict_proba(L) - target.predict_proba(L))[covered]
            row[f"mean_{split}"] = float(diff.mean())
            row[f"max_{split}"] = float(diff.max())
            row[f"argmax_agree_{split}"] = float(
                np.mean(
                    predict_lowest(approx.predict_proba(L)[covered])
                    == predict_lowest(target.predict_proba(L)[covered])
                )
            )
        out[cls_name] = row
    return out


def report_real(results):
    out = []
    for ds, res in results.items():
        title = (
            f"{ds}: {res['n_train']} train rows, {res['n_all']} in all, "
            f"m = {res['n_sources']} sources, C = {res['n_classes']}"
        )
        rows = []
        for name, e in res["models"].items():
            if "unavailable" in e:
                rows.append([name, "n/a", "n/a", "—", "—", "—", "—", e["unavailable"]])
                continue
            notes = []
            if e["info"].get("n_iter") is not None:
                notes.append(f"n_iter={e['info']['n_iter']}")
            if e["warnings"]:
                notes.append("warns " + ",".join(e["warnings"]))
            if e["prep"] > 1e-4:
                notes.append(f"DataFrame prep {fmt_time(e['prep'])}")
            rows.append(
                [
                    name,
                    f"{100 * e['acc_ind']:.2f}" if "acc_ind" in e else "—",
                    f"{100 * e['acc_trans']:.2f}",
                    fmt_time(e["fit"]),
                    fmt_time(e["predict"]),
                    fmt_time(e["fit"] + e["predict"]),
                    fmt_time(e["cpu"]),
                    "; ".join(notes),
                ]
            )
        out.append(
            rst_table(
                [
                    "model",
                    "acc % (inductive)",
                    "acc % (transductive)",
                    "fit",
                    "predict",
                    "fit+predict",
                    "CPU fit+predict",
                    "notes",
                ],
                rows,
                title,
            )
        )
        rows = []
        for a, b in PAIRS:
            ea, eb = res["models"].get(a, {}), res["models"].get(b, {})
            if "unavailable" in ea or "unavailable" in eb or not ea or not eb:
                continue
            d_ind = (
                np.abs(ea["proba_ind"] - eb["proba_ind"]).max()
                if "proba_ind" in ea and "proba_ind" in eb
                else None
            )
            d_tr = np.abs(ea["proba_trans"] - eb["proba_trans"]).max()
            acc_key = "acc_ind" if "acc_ind" in eb else "acc_trans"
            rows.append(
                [
                    f"{a} / {b}",
                    f"{100 * (ea[acc_key] - eb[acc_key]):+.2f} ({acc_key[4:]})",
                    fmt_ratio(ea["fit"] + ea["predict"], eb["fit"] + eb["predict"]),
                    "—" if d_ind is None else f"{d_ind:.2e}",
                    f"{d_tr:.2e}",
                ]
            )
        out.append(
            rst_table(
                [
                    "ours / peer",
                    "Δ acc (points)",
                    "time ratio (fit+predict)",
                    "max|Δ proba| ind.",
                    "max|Δ proba| trans.",
                ],
                rows,
            )
        )
        lin = res["linearized"]
        if "unavailable" in lin:
            out.append(f"LinearizedApprox: {lin['unavailable']}\n")
        else:
            rows = []
            for tgt, r in lin.items():
                if "unavailable" in r:
                    rows.append([tgt, "n/a", "", "", "", "", ""])
                    continue
                rows.append(
                    [
                        tgt,
                        f"{r['mean_train']:.4f}",
                        f"{r['max_train']:.4f}",
                        f"{r['mean_test']:.4f}",
                        f"{r['max_test']:.4f}",
                        f"{100 * r['argmax_agree_test']:.1f}",
                        f"{fmt_time(r['fit'])}, n_iter={r['n_iter']}"
                        + (
                            " warns " + ",".join(r["warnings"]) if r["warnings"] else ""
                        ),
                    ]
                )
            out.append(
                rst_table(
                    [
                        "LinearizedApprox of",
                        "mean|Δp| train",
                        "max|Δp| train",
                        "mean|Δp| test",
                        "max|Δp| test",
                        "argmax agree % test",
                        "fit (of the approximation)",
                    ],
                    rows,
                    f"{ds}: LinearizedApprox fidelity (covered rows, |Δp| over rows × classes)",
                )
            )
    return "\n".join(out)


# ------------------------------------------------------------------- synthetic
def synth_data(n, m, C, cache_dir):
    """Cached (L as int8, y) of one grid point.

    Sources of mixed quality: coverage ~ U(0.05, 0.5) (so about 0.275·n·m
    votes: 2.75e7 rows in crowd-kit's long frame at n=1e6, m=100) and
    accuracy ~ U(1/C + 0.05, 0.85), errors uniform over the other classes;
    uniform class prior.
    """
    path = os.path.join(cache_dir, f"ws2_n{n}_m{m}_C{C}.npz")
    if not os.path.exists(path):
        from skweak_e2e.datasets import make_weak_supervision

        rs = np.random.RandomState(1000 * m + C)
        coverage = rs.uniform(0.05, 0.5, size=m)
        acc = rs.uniform(1.0 / C + 0.05, 0.85, size=m)
        _, L, y = make_weak_supervision(
            n_samples=n,
            n_sources=m,
            n_classes=C,
            coverage=coverage,
            accuracy=acc,
            n_features=0,
            random_state=7 + n % 9973 + m + C,
        )
        tmp = path + ".tmp.npz"
        np.savez(tmp, L=L.astype(np.int8), y=y.astype(np.int8))
        os.replace(tmp, path)
        del L
    return path


def worker(spec):
    """One measurement, in its own process; prints a RESULT json line."""
    out = {"status": "ok"}
    try:
        ad = make_adapter(spec["model"], spec["n_classes"], SEED).load()
    except Unavailable as exc:
        print("RESULT " + json.dumps({"status": "n/a", "error": str(exc)}), flush=True)
        return
    with np.load(spec["data"]) as z:
        L = z["L"].astype(np.int64)
        y = z["y"].astype(np.int64)
    # Warm-up on a small slice, so that one-time costs (lazy imports, first
    # calls into BLAS / torch / pandas) are not charged to the measurement.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = ad.prepare(L[:500])
        ad.fit(small)
        ad.predict_proba(small)
    gc.collect()
    if spec.get("marker"):
        open(spec["marker"], "w").close()  # the parent's timeout clock starts now
    rss0 = status_kb("VmRSS")
    out["reset_peak"] = reset_peak()
    peaks = {}
    times = {}
    cpu = {}
    warnings.simplefilter("ignore")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = None
        for phase in ("prep", "fit", "predict"):
            reset_peak()
            c0 = time.process_time()
            t0 = time.perf_counter()
            if phase == "prep":
                data = ad.prepare(L)
            elif phase == "fit":
                ad.fit(data)
            else:
                proba = ad.predict_proba(data)
            times[phase] = time.perf_counter() - t0
            cpu[phase] = time.process_time() - c0
            peaks[phase] = (status_kb("VmHWM") - rss0) / 1024.0
    out["warnings"] = sorted({w.category.__name__ for w in caught})
    out.update(
        times=times,
        cpu=cpu,
        peaks_mb=peaks,
        peak_mb=max(peaks.values()),
        acc=accuracy(proba, y),
        info=ad.info,
        rss0_mb=rss0 / 1024.0,
    )
    print("RESULT " + json.dumps(out), flush=True)


def run_worker(spec, timeout, mem_cap_mb, setup_limit=180.0):
    """Run ``worker(spec)`` in a subprocess under a time limit and memory cap.

    The time limit counts from the moment the worker has imported its
    libraries, loaded ``L`` and warmed up (it then creates a marker file);
    the set-up itself gets ``setup_limit`` seconds more.
    """
    with (
        tempfile.TemporaryFile() as fout,
        tempfile.TemporaryFile() as ferr,
        tempfile.TemporaryDirectory() as tmp,
    ):
        marker = os.path.join(tmp, "measuring")
        spec = dict(spec, marker=marker)
        proc = subprocess.Popen(
            module_command(__spec__.name, "--worker", json.dumps(spec)),
            cwd=ROOT,
            stdout=fout,
            stderr=ferr,
        )
        t0 = time.perf_counter()
        t_measure = None
        max_rss = 0
        killed = None
        while proc.poll() is None:
            rss = status_kb("VmRSS", proc.pid) or 0
            max_rss = max(max_rss, rss)
            now = time.perf_counter()
            if t_measure is None and os.path.exists(marker):
                t_measure = now
            if rss / 1024.0 > mem_cap_mb:
                killed = "OOM"
            elif (t_measure is not None and now - t_measure > timeout) or (
                now - t0 > timeout + setup_limit
            ):
                killed = "timeout"
            if killed:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        stdout = fout.read().decode(errors="replace")
        stderr = ferr.read().decode(errors="replace")
    if killed:
        return {"status": killed, "wall": wall, "max_rss_mb": max_rss / 1024.0}
    for line in stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT ") :])
            res["wall"] = wall
            return res
    status = (
        "OOM" if "MemoryError" in stderr or proc.returncode in (-9, 137) else "error"
    )
    return {
        "status": status,
        "wall": wall,
        "returncode": proc.returncode,
        "error": stderr.strip().splitlines()[-1:] if stderr.strip() else "",
    }


def bench_synthetic(args):
    os.makedirs(args.cache_dir, exist_ok=True)
    records = []
    given_up = {}  # (model, m, C) -> status at a smaller n
    total = len(args.sizes) * len(args.sources) * len(args.classes)
    k = 0
    for m in args.sources:
        for C in args.classes:
            for n in sorted(args.sizes):
                k += 1
                t0 = time.perf_counter()
                path = synth_data(n, m, C, args.cache_dir)
                print(
                    f"[synthetic {k}/{total}] n={n:.0e} m={m} C={C} "
                    f"(data {time.perf_counter() - t0:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                for model in args.models:
                    key = (model, m, C)
                    if key in given_up:
                        res = {"status": "skipped", "reason": given_up[key]}
                    else:
                        spec = {"model": model, "n_classes": C, "data": path}
                        res = run_worker(spec, args.timeout, args.mem_cap_gb * 1024)
                        # Cheap measurements are repeated (fresh process each
                        # time) and the fastest kept: the machine is shared.
                        for _ in range(args.synth_repeats - 1):
                            if res["status"] != "ok" or res["wall"] > args.repeat_below:
                                break
                            again = run_worker(
                                spec, args.timeout, args.mem_cap_gb * 1024
                            )
                            if again["status"] == "ok" and (
                                sum(again["times"].values())
                                < sum(res["times"].values())
                            ):
                                res = again
                        if res["status"] in ("timeout", "OOM"):
                            given_up[key] = f"{res['status']} at n={n:.0e}"
                    res.update(model=model, n=n, m=m, C=C, load=os.getloadavg()[0])
                    records.append(res)
                    if res["status"] == "ok":
                        msg = (
                            f"acc {100 * res['acc']:.2f}  fit {fmt_time(res['times']['fit'])}"
                            f"  predict {fmt_time(res['times']['predict'])}"
                            f"  peak {fmt_mb(res['peak_mb'])} MB"
                        )
                    else:
                        msg = (
                            res["status"]
                            + " "
                            + str(res.get("reason", res.get("error", "")))
                        )
                    print(f"    {model:32s} {msg}", file=sys.stderr, flush=True)
    return records


def _extrapolate(records, rec, limit):
    """Linear-in-n extrapolation of a killed run from the largest n that finished."""
    done = [
        r
        for r in records
        if r["model"] == rec["model"]
        and r["m"] == rec["m"]
        and r["C"] == rec["C"]
        and r["status"] == "ok"
        and r["n"] < rec["n"]
    ]
    if not done:
        return None
    ref = max(done, key=lambda r: r["n"])
    scale = rec["n"] / ref["n"]
    return {
        "fit": ref["times"]["fit"] * scale,
        "predict": ref["times"]["predict"] * scale,
        "peak_mb": ref["peak_mb"] * scale,
        "from_n": ref["n"],
    }


def report_synthetic(records, timeout, cap_gb):
    out = []
    by = {(r["model"], r["n"], r["m"], r["C"]): r for r in records}
    configs = sorted({(r["m"], r["C"], r["n"]) for r in records})
    peers = {
        "ours MV": ["crowd-kit MV", "snorkel MajorityLabelVoter"],
        "ours DS (model_abstain=True)": ["crowd-kit DS"],
        "ours DS (model_abstain=False)": ["crowd-kit DS"],
        "ours Snorkel": ["snorkel LabelModel"],
    }
    for m, C in sorted({(m, C) for m, C, _ in configs}):
        rows = []
        for _, _, n in [c for c in configs if c[:2] == (m, C)]:
            L_mb = n * m * 8 / 2**20
            for model in dict.fromkeys(r["model"] for r in records):
                r = by.get((model, n, m, C))
                if r is None:
                    continue
                if r["status"] != "ok":
                    cell = {
                        "timeout": f"timeout (> {timeout:.0f} s)",
                        "OOM": f"OOM (> {cap_gb:g} GB)",
                    }.get(r["status"], r["status"])
                    if r["status"] == "skipped":
                        cell = f"skipped ({r['reason']})"
                    ex = (
                        _extrapolate(records, r, timeout)
                        if r["status"] != "n/a"
                        else None
                    )
                    extra = ""
                    if ex:
                        extra = (
                            f"extrapolated (linear in n) from n={ex['from_n']:.0e}: fit "
                            f"~{fmt_time(ex['fit'])}, peak ~{fmt_mb(ex['peak_mb'])} MB"
                        )
                        if r["status"] == "timeout" and ex["fit"] < timeout:
                            extra += " (an underestimate: the run took longer)"
                    rows.append(
                        [f"{n:.0e}", model, "—", cell, "—", "—", "—", "—", "—", extra]
                    )
                    continue
                t = r["times"]
                notes = []
                if r["info"].get("n_iter") is not None:
                    notes.append(f"n_iter={r['info']['n_iter']}")
                if t["prep"] > 1e-4:
                    notes.append(f"DataFrame prep {fmt_time(t['prep'])}")
                if r["warnings"]:
                    notes.append("warns " + ",".join(r["warnings"]))
                if r.get("load", 0) > 2.5:
                    notes.append(f"load {r['load']:.1f}")
                ratio = []
                for peer in peers.get(model, []):
                    p = by.get((peer, n, m, C))
                    short = peer.split()[0]
                    if p and p["status"] == "ok":
                        tp = p["times"]
                        ratio.append(
                            f"{short}: "
                            f"{fmt_ratio(t['fit'] + t['predict'], tp['fit'] + tp['predict'])}"
                        )
                    elif p and p["status"] == "timeout":
                        ratio.append(
                            f"{short}: < {(t['fit'] + t['predict']) / timeout:.3f} "
                            "(peer timeout)"
                        )
                    elif p:
                        ratio.append(f"{short}: peer {p['status']}")
                rows.append(
                    [
                        f"{n:.0e}",
                        model,
                        f"{100 * r['acc']:.2f}",
                        fmt_time(t["fit"]),
                        fmt_time(t["predict"]),
                        fmt_time(r["cpu"]["fit"] + r["cpu"]["predict"])
                        if "cpu" in r
                        else "—",
                        fmt_mb(r["peak_mb"]),
                        f"{r['peak_mb'] / L_mb:.2f}",
                        "; ".join(ratio),
                        "; ".join(notes),
                    ]
                )
        out.append(
            rst_table(
                [
                    "n",
                    "model",
                    "acc %",
                    "fit",
                    "predict",
                    "CPU fit+predict",
                    "peak MB",
                    "peak / L",
                    "time ours/peer (fit+predict)",
                    "notes",
                ],
                rows,
                f"Synthetic, m = {m} sources, C = {C} classes "
                f"(L int64 = n·m·8 bytes; 'peak / L' = peak extra memory in units of L)",
            )
        )
    return "\n".join(out)


# --------------------------------------------------------------------- targets
def report_targets(real, records, timeout):
    rows = []

    def verdict(ok):
        return "—" if ok is None else ("PASS" if ok else "MISS")

    for ds, res in (real or {}).items():
        M = res["models"]
        for a, b, key in [
            ("ours MV", "crowd-kit MV", "acc_trans"),
            ("ours MV", "snorkel MajorityLabelVoter", "acc_ind"),
            ("ours DS (model_abstain=True)", "crowd-kit DS", "acc_trans"),
            ("ours DS (model_abstain=False)", "crowd-kit DS", "acc_trans"),
            ("ours Snorkel", "snorkel LabelModel", "acc_ind"),
        ]:
            if key in M.get(a, {}) and key in M.get(b, {}):
                d = 100 * (M[a][key] - M[b][key])
                rows.append(
                    [
                        f"{ds}: acc {a} ≥ {b} − 0.5 pt ({key[4:]})",
                        f"{100 * M[a][key]:.2f} vs {100 * M[b][key]:.2f} ({d:+.2f})",
                        verdict(d >= -0.5),
                    ]
                )
        lin = res.get("linearized", {})
        if ds == "youtube" and "unavailable" not in lin:
            for tgt, tol in (
                ("MajorityVote", 1e-6),
                ("DawidSkene", 0.02),
                ("Snorkel", 0.02),
            ):
                r = lin.get(tgt, {})
                if "mean_train" in r:
                    val = r["max_train"] if tgt == "MajorityVote" else r["mean_train"]
                    what = "max" if tgt == "MajorityVote" else "mean"
                    rows.append(
                        [
                            (
                                f"youtube: LinearizedApprox({tgt}) {what}|Δp| (train) "
                                f"≤ {tol:g}"
                            ),
                            f"{val:.2e} (test {r[what + '_test']:.2e})",
                            verdict(val <= tol),
                        ]
                    )

    by = {(r["model"], r["n"], r["m"], r["C"]): r for r in records or []}

    def get(model):
        return by.get((model, 10**6, 100, 2))

    def total(r):
        return r["times"]["fit"] + r["times"]["predict"]

    def cpu(r):
        return r["cpu"]["fit"] + r["cpu"]["predict"]

    if records and any(
        r["n"] == 10**6 and r["m"] == 100 and r["C"] == 2 for r in records
    ):
        mv = get("ours MV")
        if mv and mv["status"] == "ok":
            rows.append(
                [
                    "n=1e6, m=100, C=2: ours MV fit+predict < 1 s",
                    f"{fmt_time(total(mv))} (CPU {fmt_time(cpu(mv))})",
                    verdict(total(mv) < 1),
                ]
            )
        for ours, peer, factor, name in [
            ("ours DS (model_abstain=True)", "crowd-kit DS", 20, "DS"),
            ("ours DS (model_abstain=False)", "crowd-kit DS", 20, "DS"),
            ("ours Snorkel", "snorkel LabelModel", 3, "Snorkel"),
        ]:
            o, p = get(ours), get(peer)
            if not o or o["status"] != "ok":
                rows.append(
                    [f"n=1e6, m=100, C=2: {ours}", o["status"] if o else "not run", "—"]
                )
                continue
            label = f"n=1e6, m=100, C=2: {ours} ≥ {factor}x faster than {peer} (fit+predict)"
            if p and p["status"] == "ok":
                sp = total(p) / total(o)
                extra = ""
                if name == "Snorkel":
                    extra = f"; acc {100 * o['acc']:.2f} vs {100 * p['acc']:.2f}"
                rows.append(
                    [
                        label,
                        (
                            f"{fmt_time(total(o))} vs {fmt_time(total(p))} = "
                            f"{sp:.1f}x (CPU: {fmt_time(cpu(o))} vs "
                            f"{fmt_time(cpu(p))} = {cpu(p) / cpu(o):.1f}x){extra}"
                        ),
                        verdict(sp >= factor),
                    ]
                )
            elif p:
                bound = timeout / total(o)
                ex = _extrapolate(records, p, timeout)
                txt = f"{fmt_time(total(o))} vs peer {p['status']}"
                if p["status"] == "timeout":
                    txt += f" (> {timeout:.0f} s): ≥ {bound:.0f}x"
                if ex:
                    txt += (
                        f"; extrapolated (linear in n) peer "
                        f"~{fmt_time(ex['fit'] + ex['predict'])} "
                        f"= ~{(ex['fit'] + ex['predict']) / total(o):.0f}x"
                    )
                ok = True if p["status"] == "timeout" and bound >= factor else None
                rows.append([label, txt, verdict(ok)])
    # Memory: peak / L must not grow with C (n·m·C² would multiply it by 6.25
    # from C=2 to C=5) nor with n.
    ours_models = [
        m
        for m in dict.fromkeys(r["model"] for r in records or [])
        if m.startswith("ours")
    ]
    for model in ours_models:
        rs = [
            r
            for r in records
            if r["model"] == model and r["status"] == "ok" and r["n"] >= 10**5
        ]
        if not rs:
            continue
        per = {
            (r["n"], r["m"], r["C"]): r["peak_mb"] / (r["n"] * r["m"] * 8 / 2**20)
            for r in rs
        }
        worst = max(per, key=per.get)
        growth = [
            per[(n, m, 5)] / per[(n, m, 2)]
            for (n, m, C) in per
            if C == 2 and (n, m, 5) in per
        ]
        txt = (
            f"max peak/L = {per[worst]:.2f} at n={worst[0]:.0e}, m={worst[1]}, C={worst[2]}"
            + (
                f"; C=5 vs C=2 peak/L ratio ≤ {max(growth):.2f} (C² would be 6.25)"
                if growth
                else ""
            )
        )
        ok = (max(growth) < 6.25 / 2) if growth else None
        rows.append(
            [f"memory of {model} does not grow as n·m·C² (n ≥ 1e5)", txt, verdict(ok)]
        )
    return rst_table(["target", "measured", "verdict"], rows, "Targets")


# ------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="n in {1e4, 1e5}, one run per synthetic measurement, 3 repeats "
        "on real data, 120 s timeout",
    )
    p.add_argument(
        "--sizes",
        default=None,
        help="comma-separated n for the synthetic grid (default 1e4,1e5,1e6)",
    )
    p.add_argument(
        "--sources", default="10,100", help="comma-separated m (default 10,100)"
    )
    p.add_argument("--classes", default="2,5", help="comma-separated C (default 2,5)")
    p.add_argument(
        "--models",
        default=",".join(SYNTH_MODELS),
        help="comma-separated model names for the synthetic grid",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per synthetic measurement (default 240; 120 with --quick)",
    )
    p.add_argument(
        "--synth-repeats",
        type=int,
        default=None,
        help="runs per synthetic measurement, fastest kept (default 2; 1 with --quick)",
    )
    p.add_argument(
        "--repeat-below",
        type=float,
        default=30.0,
        help="only repeat measurements whose first run took less than "
        "this many seconds (default 30)",
    )
    p.add_argument(
        "--mem-cap-gb",
        type=float,
        default=12.0,
        help="RSS cap per synthetic measurement (default 12 GB)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timing repeats on real data (default 5; 3 with --quick)",
    )
    p.add_argument("--datasets", default="youtube,yoruba")
    p.add_argument("--wrench-dir", default=default_wrench_dir())
    p.add_argument("--no-real", action="store_true")
    p.add_argument("--no-synthetic", action="store_true")
    p.add_argument(
        "--cache-dir",
        default=os.path.join(tempfile.gettempdir(), "skweak_e2e_bench_cache"),
        help="where generated synthetic label matrices are cached",
    )
    p.add_argument("--json-out", default=None, help="also write raw results as JSON")
    p.add_argument("--rst-out", default=None, help="also write the tables to this file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = "1e4,1e5" if args.quick else "1e4,1e5,1e6"
    args.sizes = [int(float(s)) for s in args.sizes.split(",")]
    args.sources = [int(s) for s in args.sources.split(",")]
    args.classes = [int(s) for s in args.classes.split(",")]
    args.models = [s.strip() for s in args.models.split(",")]
    for name in args.models:
        if name not in ADAPTERS:
            p.error(f"unknown model {name!r}; choose from {sorted(ADAPTERS)}")
    args.datasets = [s for s in args.datasets.split(",") if s]
    if args.timeout is None:
        args.timeout = 120.0 if args.quick else 240.0
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.synth_repeats is None:
        args.synth_repeats = 1 if args.quick else 2
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return
    t_start = time.perf_counter()
    vers = versions()
    header = (
        f"Run {datetime.date.today().isoformat()}, {platform.machine()} "
        f"{os.cpu_count()} cores (load average at start "
        f"{os.getloadavg()[0]:.1f}), Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in vers.items() if v)
        + "\n"
    )
    print(header, flush=True)
    real = records = None
    parts = [header]
    if not args.no_real:
        real = bench_real(args)
        txt = report_real(real)
        print(txt, flush=True)
        parts.append(txt)
    if not args.no_synthetic:
        records = bench_synthetic(args)
        txt = report_synthetic(records, args.timeout, args.mem_cap_gb)
        print(txt, flush=True)
        parts.append(txt)
    txt = report_targets(real, records, args.timeout)
    print(txt)
    parts.append(txt)
    footer = (
        f"Total benchmark time: {time.perf_counter() - t_start:.0f} s "
        f"(load average at the end {os.getloadavg()[0]:.1f})\n"
    )
    print(footer)
    parts.append(footer)
    if args.rst_out:
        with open(args.rst_out, "w") as fh:
            fh.write("\n".join(parts))
    if args.json_out:

        def clean(obj):
            if isinstance(obj, dict):
                return {
                    k: clean(v) for k, v in obj.items() if not k.startswith("proba")
                }
            if isinstance(obj, (list, tuple)):
                return [clean(v) for v in obj]
            if isinstance(obj, np.generic):
                return obj.item()
            return obj

        with open(args.json_out, "w") as fh:
            json.dump(
                clean({"versions": vers, "real": real, "synthetic": records}),
                fh,
                indent=1,
                default=str,
            )


if __name__ == "__main__":
    main()
