"""
Repairing a pipeline with influence
===================================

Source-aware influence scores every (training sample, source, class) term
of a two-stage pipeline. Scored on the loss of a small **labelled
validation set**, they support two repairs that need no new labelling
effort on the training rows:

* **finding mislabelled votes**: rank the votes by how little the rest of
  the pipeline supports them
  (:meth:`~skweak_e2e.SourceAwareInfluence.mislabel_scores`) and review the
  top of the list, e.g. to fix a labeling function;
* **dropping harmful terms** and retraining the end model
  (:meth:`~skweak_e2e.SourceAwareInfluence.drop_harmful`), choosing how much
  to drop on validation rows that did not score the terms.

This example uses the embedded *digits* task (ten classes, thirty one-class
sources), its small labelled validation split and its test split.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import average_precision_score, log_loss
from sklearn.preprocessing import StandardScaler

from skweak_e2e import MajorityVote, SourceAwareInfluence
from skweak_e2e.datasets import load_tabular_weak_supervision

data = load_tabular_weak_supervision("digits", random_state=0)
scaler = StandardScaler().fit(data.X_train)
X_train, X_valid, X_test = (
    scaler.transform(data[k]) for k in ("X_train", "X_valid", "X_test")
)
L_train, y_valid, y_test = data.L_train, data.y_valid, data.y_test
print("labelled validation rows:", len(y_valid))

# The validation set also tunes the end model's ridge (``l2="auto"``): the
# repair is measured against a regularised model, not an overfitted one.
inspector = SourceAwareInfluence(MajorityVote(), source_names=data.source_names)
inspector.fit(X_train, L_train, X_val=X_valid, y_val=y_valid)
print("l2 chosen on the validation loss:", inspector.l2_)
erm = inspector.end_model_
labels = range(data.n_classes)
print(
    f"plain training: test accuracy {erm.score(X_test, y_test):.3f}, "
    f"test log loss {log_loss(y_test, erm.predict_proba(X_test), labels=labels):.3f}"
)

# %%
# Finding mislabelled votes
# -------------------------
# ``mislabel_scores`` returns one score per vote of the training label
# matrix (NaN where the source abstains). By default it is one minus the end
# model's probability of the voted class once the vote is removed from the
# training labels, computed by the influence function: high = the rest of
# the pipeline does not support the vote = suspicious. Given the validation
# set, the end model is first refitted with its gold rows as well; without
# it (``mislabel_scores()``), no gold label is needed.
scores = inspector.mislabel_scores(X_valid, y_valid)
gold_free = inspector.mislabel_scores()
voted = ~np.isnan(scores)
is_wrong = (L_train != data.y_train[:, None])[voted]  # gold labels: evaluation only
print(f"{voted.sum()} votes, {is_wrong.mean():.1%} of them wrong")

# %%
# Two comparisons: the paper's detector, the influence of each vote on the
# mean validation loss (``score="influence"``), and a natural baseline that
# ranks a vote by how much it disagrees with the label model's consensus,
# ``1 - P(vote | other votes)``:
consensus = inspector.label_model_.predict_proba(L_train)
rows, cols = np.nonzero(voted)
disagreement = 1 - consensus[rows, L_train[rows, cols]]
influence_scores = scores[rows, cols]
validation = inspector.mislabel_scores(X_valid, y_valid, score="influence")[rows, cols]
is_wrong = L_train[rows, cols] != data.y_train[rows]
for name, s in [
    ("leave-one-out", influence_scores),
    ("leave-one-out, gold-free", gold_free[rows, cols]),
    ("validation influence", validation),
    ("disagreement", disagreement),
]:
    print(f"average precision, {name:25} {average_precision_score(is_wrong, s):.3f}")
print(f"average precision, {'random':25} {is_wrong.mean():.3f}")

# %%
# Precision among the top-ranked votes: what a reviewer would see first.
order_inf = np.argsort(-influence_scores)
order_dis = np.argsort(-disagreement, kind="stable")
top = np.arange(10, 501, 10)
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
ax.plot(top, [is_wrong[order_inf[:k]].mean() for k in top], label="leave-one-out")
ax.plot(
    top,
    [is_wrong[order_dis[:k]].mean() for k in top],
    label="disagreement with the label model",
)
ax.axhline(is_wrong.mean(), color="gray", ls=":", label="random")
ax.set_xlabel("number of top-ranked votes reviewed")
ax.set_ylabel("fraction that are wrong")
ax.legend()

# %%
# Which sources hold the most suspicious votes? The mean score of each
# source's votes points at the labeling functions to revise first (their
# true accuracies are printed for comparison; the mean over all sources is
# given last):
suspicion = np.nanmean(scores, axis=0)
for j in np.argsort(-suspicion)[:5]:
    acc = np.mean(L_train[L_train[:, j] != -1, j] == data.y_train[L_train[:, j] != -1])
    print(
        f"{data.source_names[j]:14} mean score {suspicion[j]:.2f}   true accuracy {acc:.2f}"
    )
vote_correct = np.where(L_train != -1, L_train == data.y_train[:, None], np.nan)
mean_accuracy = np.nanmean(vote_correct, axis=0).mean()
print(f"mean true accuracy of the sources: {mean_accuracy:.2f}")

# %%
# Dropping harmful terms
# ----------------------
# ``drop_harmful`` removes the top fraction ``q`` of the harmful components
# and retrains the end model. Scored and judged on the same validation rows,
# a removal can only look good (Zhang et al., 2022, Thm. 1); so the
# validation set is cut into 5 folds, the components are scored on four and
# every ``q`` is judged on the fifth, in turn. A removal is kept only if it
# lowers this held-out loss by more than a standard error without costing
# held-out accuracy; ``expected_change`` is that held-out change, with its
# standard error. Three granularities are available: single (sample,
# source, class) terms, whole training samples (classic influence
# functions), and whole sources.
repairs = {}
for unit in ["term", "sample", "source"]:
    repairs[unit] = inspector.drop_harmful(X_valid, y_valid, unit=unit)
    r = repairs[unit]
    est = r.estimator
    test_loss = log_loss(y_test, est.predict_proba(X_test), labels=labels)
    print(
        f"{unit:>6}: selected {r.fraction!s:>4} | expected loss change "
        f"{r.expected_change:+.3f} +/- {r.expected_change_se:.3f} | "
        f"test accuracy {est.score(X_test, y_test):.3f}, "
        f"test log loss {test_loss:.3f}"
    )

# %%
# For terms and samples, ``fraction`` is the selected ``q``; for sources it
# is the number of sources removed. The held-out validation loss along the
# candidate fractions:
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
for unit in ["term", "sample"]:
    r = repairs[unit]
    ax.plot(
        r.candidates,
        r.validation_loss,
        marker="o",
        label=f"drop harmful {unit}s",
    )
ax.axhline(
    repairs["term"].validation_loss[0],
    color="gray",
    ls=":",
    label="plain training",
)
ax.set_xlabel("fraction q of the harmful components removed")
ax.set_ylabel("held-out validation log loss")
ax.legend()

# %%
# Removing harmful *terms* (a single source's vote for a single class on a
# single sample) repairs the labels more finely than dropping whole samples
# or whole sources. The repaired model is an ordinary fitted classifier,
# retrained on the training rows with the selected labels, and
# ``removed_names`` says which sources lost votes:
repaired = repairs["term"].estimator
print(np.unique(repairs["term"].removed_names, return_counts=True))
print(type(repaired).__name__, repaired.predict(X_test[:10]), y_test[:10])

# %%
# Caveats: the expected change is measured on validation rows, so it is
# only as good as they are representative of new data; and the final model
# scores the components on the whole validation set, a little more than any
# fold did.
