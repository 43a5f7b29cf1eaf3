"""
Class imbalance and the class prior
===================================

When one class is rare, the class prior :math:`P(y)` matters twice:

* in the **label model**, where it turns vote counts into calibrated
  probabilities (a single vote for the rare class is weak evidence);
* in the **decision rule** of the end model, where calibrated probabilities
  of a rare class seldom exceed 0.5.

This example uses synthetic data where 10% of the samples belong to the
positive class, and eight sources of accuracy 0.75 that each vote on 30% of
the samples.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from skweak_e2e import DawidSkene, LabelModelClassifier, MajorityVote, Snorkel
from skweak_e2e.datasets import make_weak_supervision, planted_posterior
from skweak_e2e.end_to_end import best_f1_threshold

prior = np.array([0.9, 0.1])
X, L, y, params = make_weak_supervision(
    4000,
    8,
    class_prior=prior,
    coverage=0.3,
    accuracy=0.75,
    n_features=10,
    return_params=True,
    random_state=0,
)
# 3000 training rows (no gold label used), 300 labelled validation rows
# and 700 test rows
X_train, L_train = X[:3000], L[:3000]
X_val, y_val = X[3000:3300], y[3000:3300]
X_test, L_test, y_test = X[3300:], L[3300:], y[3300:]
print(f"positive rate: {y.mean():.3f}")

# %%
# The prior in the label models
# -----------------------------
# * :class:`~skweak_e2e.MajorityVote` ignores it (``class_prior`` only sets the
#   output of rows without any vote);
# * :class:`~skweak_e2e.DawidSkene` *learns* it by EM (``class_prior_``), or
#   holds a given ``class_prior`` fixed. Its default anchor to the majority
#   vote (``anchor_strength="auto"``) is a guard against spurious optima on
#   one-class hand-written rules; these eight sources vote for both
#   classes, so it only adds a few pseudo-votes per class to each source and
#   leaves the prior free. The full anchor of rules (``anchor_strength=1``)
#   would also pull the prior towards the majority vote's, which is uniform
#   on the many rows without a vote, as compared below;
# * :class:`~skweak_e2e.Snorkel` uses the given ``class_prior`` in its
#   objective and its posterior, uniform by default;
#   ``class_prior="estimate"`` estimates it from the votes first (with
#   Dawid-Skene's EM), with no gold label.
#
# Because the data are synthetic we can compare with the exact posterior
# under the planted parameters
# (:func:`~skweak_e2e.datasets.planted_posterior`).
label_models = {
    "MajorityVote": MajorityVote(),
    "DawidSkene (default)": DawidSkene(),
    "DawidSkene (full anchor)": DawidSkene(anchor_strength=1.0),
    "DawidSkene (no anchor)": DawidSkene(anchor_strength=0.0),
    "Snorkel (uniform prior)": Snorkel(optimizer="adam", n_epochs=500, random_state=0),
    "Snorkel (class_prior=[.9, .1])": Snorkel(
        optimizer="adam", n_epochs=500, class_prior=prior, random_state=0
    ),
    "Snorkel (estimated prior)": Snorkel(
        optimizer="adam", n_epochs=500, class_prior="estimate", random_state=0
    ),
}
rows = {"planted posterior (oracle)": planted_posterior(L_test, params)}
for name, label_model in label_models.items():
    rows[name] = label_model.fit(L_train).predict_proba(L_test)
for name in ["DawidSkene (default)", "DawidSkene (full anchor)", "DawidSkene (no anchor)"]:
    print(f"prior learned by {name}:", label_models[name].class_prior_.round(3))

print(f"{'':32} {'accuracy':>8} {'F1(pos)':>8} {'mean P(pos)':>11}")
for name, proba in rows.items():
    pred = proba.argmax(axis=1)
    print(
        f"{name:32} {accuracy_score(y_test, pred):8.3f} "
        f"{f1_score(y_test, pred):8.3f} {proba[:, 1].mean():11.3f}"
    )

# %%
# With a uniform prior, the majority vote and Snorkel put a third to a half
# of the probability mass on the positive class, three to five times the
# true rate:
# one positive vote is enough to label a row positive. With the prior
# (learned or given), the label models match the oracle's accuracy and base
# rate. Their F1 on the rare class is not better for it: even the oracle's
# calibrated probabilities of a rare class seldom exceed one half.
#
# The prior in the end model
# --------------------------
# The end model inherits the calibration of its training labels. Trained on
# prior-aware labels, a logistic regression almost never predicts the rare
# class at the default threshold of 0.5, although it *ranks* the samples as
# well as the others (same ROC AUC). A threshold chosen on a small labelled
# validation set fixes the decision rule.
results = {}
for name in ["MajorityVote", "DawidSkene (default)"]:
    clf = LabelModelClassifier(label_models[name], LogisticRegression())
    clf.fit(X_train, L_train)
    p_val = clf.predict_proba(X_val)[:, 1]
    p_test = clf.predict_proba(X_test)[:, 1]
    threshold, _ = best_f1_threshold(y_val, p_val)
    results[name] = p_test
    print(
        f"{name:28} ROC AUC {roc_auc_score(y_test, p_test):.3f} | "
        f"F1 at 0.5: {f1_score(y_test, p_test >= 0.5):.3f} | "
        f"F1 at the validation threshold {threshold:.2f}: "
        f"{f1_score(y_test, p_test >= threshold):.3f}"
    )

# %%
# F1 on the test set as a function of the threshold:
thresholds = np.linspace(0.02, 0.9, 89)
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
for name, p_test in results.items():
    ax.plot(
        thresholds,
        [f1_score(y_test, p_test >= t) for t in thresholds],
        label=name,
    )
ax.axvline(0.5, color="gray", ls=":", label="default threshold")
ax.set_xlabel("decision threshold on P(positive)")
ax.set_ylabel("test F1 of the positive class")
ax.legend()

# %%
# Summary
# -------
# * Use a prior-aware label model (``DawidSkene()``, or
#   ``Snorkel`` with ``class_prior``, given or ``"estimate"``) when you need
#   calibrated labels or accuracy; a uniform prior over-predicts the rare
#   class.
# * Either way, pick the decision threshold of the end model for the metric
#   you care about, on a few labelled rows.
#   :class:`~skweak_e2e.WeaSELClassifier`
#   does this itself for binary tasks when given ``X_val, y_val``
#   (``tune_threshold=True``), and also accepts a ``class_prior``.
