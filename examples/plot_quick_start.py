"""
Quick start: from weak sources to a classifier
==============================================

Programmatic weak supervision replaces hand-labelled training data by
*sources*: heuristics, rules, or small models that vote for a class on some
samples and abstain on the others. Their votes form a **label matrix**
``L`` of shape ``(n_samples, n_sources)`` with ``-1`` for "no vote".

This example walks through the whole workflow on the library's embedded
data set (scikit-learn's breast-cancer data with ten built-in sources, no
download):

1. look at the sources;
2. combine their votes with a **label model**;
3. train a classifier on the features with the label model's
   probabilistic labels (the *two-stage* pipeline);
4. train the classifier **end to end** from the votes with WeaSEL.
"""

# %%
# The data
# --------
# :func:`~skweak_e2e.datasets.load_tabular_weak_supervision` returns train,
# validation and test splits. Each split has features ``X``, a label matrix
# ``L`` and gold labels ``y``; the gold labels of the training split are only
# used here to *evaluate* the sources, never to train.
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    MajorityVote,
    Snorkel,
    WeaSELClassifier,
)
from skweak_e2e.datasets import load_tabular_weak_supervision
from skweak_e2e.metrics import source_summary
from skweak_e2e.plotting import plot_source_summary

data = load_tabular_weak_supervision("breast_cancer", random_state=0)
print("classes:", data.target_names)
print("L_train:", data.L_train.shape, "X_train:", data.X_train.shape)
print(data.L_train[:5])

# %%
# Every source here is a shallow decision tree that votes for one class
# where it is confident and abstains elsewhere:
print(data.source_descriptions[0])

# %%
# Look at the sources
# -------------------
# :func:`~skweak_e2e.metrics.source_summary` reports, for each source, the
# classes it votes for, its coverage (fraction of rows where it votes), its
# overlaps and conflicts with the other sources, and, given gold labels, its
# empirical accuracy.
summary = source_summary(data.L_train, data.y_train, source_names=data.source_names)
summary.round(3)

# %%
fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
plot_source_summary(
    data.L_train,
    data.y_train,
    source_names=data.source_names,
    sort_by="coverage",
    ax=ax,
)

# %%
# Combine the votes with a label model
# ------------------------------------
# A label model is a scikit-learn transformer over ``L``:
# ``fit(L)``, then ``predict_proba(L)`` gives one distribution over the
# classes per sample. :class:`~skweak_e2e.MajorityVote` counts votes;
# :class:`~skweak_e2e.DawidSkene` and :class:`~skweak_e2e.Snorkel` learn how
# much to trust each source without any gold label.
label_models = {
    "MajorityVote": MajorityVote(),
    "DawidSkene": DawidSkene(),
    "Snorkel": Snorkel(n_epochs=500, random_state=0),
}
for name, label_model in label_models.items():
    label_model.fit(data.L_train)
    proba = label_model.predict_proba(data.L_test)
    # ``score`` counts a tie (``predict`` returns -1) as an error.
    accuracy = label_model.score(data.L_test, data.y_test)
    print(f"{name:>12}: test accuracy of the votes {accuracy:.3f}")

print(proba[:3].round(3))

# %%
# Train a classifier on the probabilistic labels
# ----------------------------------------------
# The label model only labels rows where some source votes, and it needs
# the votes at prediction time. A classifier trained on the *features*
# generalises to every row. :class:`~skweak_e2e.LabelModelClassifier`
# chains the two stages as one scikit-learn classifier: ``fit(X, L)`` fits
# the label model on ``L`` and the estimator on ``X`` with the soft labels.
scores = {}
for name, label_model in label_models.items():
    clf = LabelModelClassifier(
        label_model=label_model,
        estimator=make_pipeline(StandardScaler(), LogisticRegression()),
    )
    clf.fit(data.X_train, data.L_train)
    scores[f"{name} + LR"] = accuracy = clf.score(data.X_test, data.y_test)
    print(f"{name:>12} + logistic regression: test accuracy {accuracy:.3f}")

# %%
# It is an ordinary scikit-learn classifier: it predicts from features only.
clf.predict_proba(data.X_test[:3]).round(3)

# %%
# Train end to end with WeaSEL
# ----------------------------
# :class:`~skweak_e2e.WeaSELClassifier` learns the labels and the classifier
# together: an encoder scores how accurate each source is on each sample,
# and a network trained on the features is fitted to agree with the
# encoder's aggregated labels (and vice versa). A small labelled validation
# set selects the best epoch.
scaler = StandardScaler().fit(data.X_train)
weasel = WeaSELClassifier(random_state=0)
weasel.fit(
    scaler.transform(data.X_train),
    data.L_train,
    X_val=scaler.transform(data.X_valid),
    y_val=data.y_valid,
)
scores["WeaSEL"] = weasel.score(scaler.transform(data.X_test), data.y_test)
print(f"WeaSEL: test accuracy {scores['WeaSEL']:.3f}")
print(f"best epoch on the validation set: {weasel.best_epoch_}")

# %%
# Compare with supervised learning
# --------------------------------
# The sources were built from a seed set of 40 labelled rows. A classifier
# trained on those 40 gold labels, and one trained on *all* the gold labels
# of the training split, bracket what weak supervision achieves here.
supervised = make_pipeline(StandardScaler(), LogisticRegression())
scores["LR on 40 gold labels"] = supervised.fit(data.X_seed, data.y_seed).score(
    data.X_test, data.y_test
)
scores["LR on all gold labels"] = supervised.fit(data.X_train, data.y_train).score(
    data.X_test, data.y_test
)

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
names = list(scores)
colors = ["tab:blue"] * 3 + ["tab:orange"] + ["tab:gray"] * 2
ax.barh(names[::-1], [scores[n] for n in names][::-1], color=colors[::-1])
for i, n in enumerate(names[::-1]):
    ax.text(scores[n] + 0.002, i, f"{scores[n]:.3f}", va="center")
ax.set_xlim(0.8, 1.0)
ax.set_xlabel("test accuracy")
ax.set_title("Breast cancer, ten weak sources")

# %%
# Two things to take away:
#
# * every end model is more accurate than the votes it was trained on
#   (compare with the label-model accuracies above): the classifier
#   generalises from the features and overrides some wrong votes;
# * on this small and easy data set, the 40 labelled rows the sources were
#   built from are as good as the weak pipeline. Weak supervision pays off
#   when writing sources is cheaper than labelling: for instance keyword
#   rules on text (next example), or when the gold labels that do exist are
#   kept for validation and testing.
#
# The next examples look at each step in more detail.
