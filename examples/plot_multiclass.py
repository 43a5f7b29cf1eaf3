"""
Multi-class weak supervision
============================

Nothing in skweak_e2e is binary-only: classes are ``0..n_classes-1`` in the
label matrix, every label model and classifier handles any number of them,
and WeaSEL switches to one accuracy per (source, class) when there are more
than two classes.

This example uses the embedded *digits* task: ten classes and thirty
sources, each a small decision tree on a few pixels that votes for a single
digit where it is confident. With ten classes, a one-class source covers at
most about a tenth of the rows, so many rows get a single vote or none.
"""

# %%
# The sources
# -----------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    MajorityVote,
    WeaSELClassifier,
)
from skweak_e2e.datasets import load_tabular_weak_supervision
from skweak_e2e.metrics import source_summary

# sphinx_gallery_thumbnail_number = 2
data = load_tabular_weak_supervision("digits", random_state=0)
print("classes:", data.n_classes, "sources:", data.L_train.shape[1])
print("train rows:", len(data.y_train), "test rows:", len(data.y_test))

summary = source_summary(data.L_train, data.y_train, source_names=data.source_names)
summary[["polarity", "coverage", "accuracy"]].head(10).round(3)

# %%
# How many sources vote on each row, and for how many distinct classes?
n_votes = (data.L_train != -1).sum(axis=1)
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.hist(n_votes, bins=np.arange(n_votes.max() + 2) - 0.5, color="tab:blue")
ax.set_xlabel("number of votes on a training row")
ax.set_ylabel("rows")
print(f"rows with no vote: {np.mean(n_votes == 0):.1%}")

# %%
# Declare the number of classes
# -----------------------------
# Label models infer the number of classes as ``max(L) + 1``, which misses a
# class that no source votes for on the training rows. When you know the
# classes, pass ``n_classes``: here every class has sources, so both agree.
mv = MajorityVote(n_classes=10).fit(data.L_train)
print(mv.n_classes_, mv.classes_)

# %%
# Label models
# ------------
# With one-class sources, *abstaining* carries information: a "this is a 7"
# source that stays silent makes 7 less likely.
# :class:`~skweak_e2e.DawidSkene` models this by default for every source
# that votes for one class only (``model_abstain="auto"``). Classic
# Dawid-Skene (``model_abstain=False``) treats abstains as missing; a
# one-class source then always "votes the same" whatever the class, carries
# no information, and the model collapses. Predictions break ties at random
# (seeded) so that rows with tied votes are not counted as errors.
label_models = {
    "MajorityVote": MajorityVote(tie_break="random", random_state=1),
    "DawidSkene": DawidSkene(tie_break="random", random_state=1),
    "DawidSkene(model_abstain=False)": DawidSkene(
        model_abstain=False, tie_break="random", random_state=1
    ),
}
for name, label_model in label_models.items():
    label_model.fit(data.L_train)
    acc = label_model.score(data.L_test, data.y_test)
    print(f"{name:>32}: test accuracy of the votes {acc:.3f}")

# %%
# Two-stage classifier
# --------------------
# The classifier is trained on the covered rows with the label model's soft
# labels (each row is repeated once per class, weighted by its probability)
# and predicts every test row from its pixels.
two_stage = LabelModelClassifier(
    MajorityVote(),
    make_pipeline(StandardScaler(), LogisticRegression(C=0.1)),
)
two_stage.fit(data.X_train, data.L_train)
print(f"coverage of the training rows: {two_stage.coverage_:.3f}")
print(f"two-stage test accuracy: {two_stage.score(data.X_test, data.y_test):.3f}")

fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
ConfusionMatrixDisplay.from_estimator(
    two_stage, data.X_test, data.y_test, ax=ax, colorbar=False
)
ax.set_title("Two-stage classifier, test set")

# %%
# WeaSEL with class-conditional accuracies
# ----------------------------------------
# With more than two classes, ``class_conditional="auto"`` gives every
# source one accuracy score per class; a one-class source only ever uses the
# score of its class.
scaler = StandardScaler().fit(data.X_train)
weasel = WeaSELClassifier(lr=3e-3, max_epochs=30, random_state=0)
weasel.fit(
    scaler.transform(data.X_train),
    data.L_train,
    X_val=scaler.transform(data.X_valid),
    y_val=data.y_valid,
)
print("class-conditional:", weasel.class_conditional_)
theta = weasel.accuracy_scores(scaler.transform(data.X_test), data.L_test)
print("accuracy scores:", theta.shape, "(samples, sources, classes)")
print(
    "WeaSEL test accuracy:",
    round(weasel.score(scaler.transform(data.X_test), data.y_test), 3),
)

# %%
# Reading the results
# -------------------
# * The end models are far more accurate than the votes: the classifier
#   generalises from the pixels to the rows where the few votes are wrong,
#   tied, or missing.
# * Modelling abstains matters with one-class sources (compare the two
#   Dawid-Skene variants).
# * On this task the simple two-stage pipeline beats WeaSEL. WeaSEL's edge
#   is robustness to sources that violate the label models' assumptions
#   (see :ref:`sphx_glr_auto_examples_plot_duplicated_sources.py`), not
#   a better fit when those assumptions hold; it also needs more tuning
#   (learning rate, epochs) than a logistic regression.
