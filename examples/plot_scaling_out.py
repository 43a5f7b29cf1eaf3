"""
Scaling out: two-stage training when X does not fit in memory
=============================================================

The label matrix ``L`` is small (a few integers per row) but the features
``X`` often are not. This example trains a two-stage classifier on dask
arrays in the two ways that never hold all of ``X`` in memory:

* **a weighted sample**: :func:`~skweak_e2e.sample_training_rows` draws a
  stratified sample of the covered rows, weighted so that it represents all
  of them, and ``LabelModelClassifier.fit`` trains on that sample only;
* **incremental learning**: ``LabelModelClassifier.partial_fit`` trains an
  estimator that has ``partial_fit`` (here
  :class:`~sklearn.linear_model.SGDClassifier`) one block at a time.

Both use a label model fitted once on the whole ``L``, frozen with
:class:`~sklearn.frozen.FrozenEstimator`. We compare them with the ordinary
in-memory fit, which is possible here because the data are generated. The
user guide page :ref:`scaling_out` explains each step.
"""

# %%
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier

from skweak_e2e import DawidSkene, LabelModelClassifier, sample_training_rows
from skweak_e2e.datasets import make_weak_supervision

X_all, L_all, y_all = make_weak_supervision(
    120_000,
    10,
    3,
    class_prior=[0.6, 0.3, 0.1],
    coverage=0.25,
    n_features=20,
    class_sep=1.0,
    random_state=0,
)
# 100 000 training rows without gold labels, 20 000 labelled test rows.
X_test, y_test = X_all[100_000:], y_all[100_000:]
X, L = X_all[:100_000], L_all[:100_000]

# %%
# Dask arrays, in blocks of 10 000 rows
# -------------------------------------
# Here the arrays come from memory (:func:`dask.array.from_array`); in real
# use they come from files (``dask.array.from_zarr``, a dask DataFrame's
# ``to_dask_array(lengths=True)``, ...). The example runs on dask's default
# scheduler (threads in this process). On a cluster, create a client first,
# and the same code runs there::
#
#     from distributed import Client
#     client = Client("tcp://scheduler:8786")  # or Client() for a local one
Xd = da.from_array(X, chunks=(10_000, -1))
Ld = da.from_array(L, chunks=(10_000, -1))

# %%
# The label model, fitted on the whole label matrix
# -------------------------------------------------
# A label model's statistics are sums over rows, so it is fitted on all of
# ``L``; its probabilities are computed block by block, lazily.
label_model = DawidSkene().fit(Ld)
proba = label_model.predict_proba(Ld)
covered = (Ld >= 0).any(axis=1)  # rows with at least one vote
print(f"coverage: {float(covered.mean()):.3f}")

# %%
# The weighted sample
# -------------------
# The covered rows are split by their most probable class; each class gets
# a share of the sample proportional to its size, with a floor (10 rows by
# default) so that a rare class is represented. Each drawn row is weighted
# by its stratum's size over its share. Only the drawn rows of ``X`` are
# read into memory.
frozen = FrozenEstimator(label_model)
sizes = [250, 500, 1_000, 2_000, 5_000, 10_000]
sample_scores = []
for n_rows in sizes:
    idx, weight = sample_training_rows(proba, n_rows, covered=covered, random_state=0)
    X_s, L_s = Xd[idx].compute(), Ld[idx].compute()
    clf = LabelModelClassifier(frozen, LogisticRegression()).fit(
        X_s, L_s, sample_weight=weight
    )
    sample_scores.append(clf.score(X_test, y_test))
    print(f"sample of {n_rows:>6} rows: test accuracy {sample_scores[-1]:.3f}")

# %%
# Incremental learning over the blocks
# ------------------------------------
# ``partial_fit`` labels each block with the frozen label model (soft labels
# by sample-weight expansion, uncovered rows dropped, as ``fit`` does) and
# passes it to ``SGDClassifier.partial_fit``. Averaged SGD
# (``average=True``) converges in few passes.
sgd = LabelModelClassifier(
    frozen, SGDClassifier(loss="log_loss", average=True, random_state=0)
)
for epoch in range(2):
    for X_block, L_block in zip(Xd.to_delayed().ravel(), Ld.to_delayed().ravel()):
        sgd.partial_fit(X_block.compute(), L_block.compute())
incremental_score = sgd.score(X_test, y_test)
print(f"partial_fit over {Xd.numblocks[0]} blocks: {incremental_score:.3f}")

# %%
# Predictions are computed block by block as well:
pred = Xd.map_blocks(sgd.predict, drop_axis=1, dtype=sgd.classes_.dtype)
print(np.bincount(pred.compute(), minlength=3))

# %%
# The in-memory reference
# -----------------------
# The same label model and end model trained on all 100 000 rows at once.
in_memory = LabelModelClassifier(frozen, LogisticRegression()).fit(X, L)
in_memory_score = in_memory.score(X_test, y_test)
print(f"in-memory fit: {in_memory_score:.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(sizes, sample_scores, "o-", label="weighted sample + LogisticRegression")
ax.axhline(
    incremental_score, color="C1", ls="--", label="partial_fit, SGDClassifier"
)
ax.axhline(in_memory_score, color="k", ls=":", label="in-memory fit, all rows")
ax.set_xscale("log")
ax.set_xlabel("rows in the training sample")
ax.set_ylabel("test accuracy")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# A few thousand well-chosen rows train the end model nearly as well as all
# 100 000, and the incremental path does as well as the in-memory fit (here
# a little better) while holding one block of ``X`` at a time.
