"""
Robustness to duplicated sources
================================

Label models such as :class:`~skweak_e2e.DawidSkene` and
:class:`~skweak_e2e.Snorkel` assume that the sources are independent given
the true class. Real sources are often correlated: two keyword lists that
share words, a rule and its slightly edited copy. Copies of a source agree
perfectly with each other, which these models read as evidence that they are
excellent.

This example reproduces, on synthetic data, the robustness experiment of
the WeaSEL paper: five reasonable sources (accuracy 0.8, coverage 0.5) and
one *coin-flip* source that votes on every sample at random, which is then
copied ``k`` times.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    MajorityVote,
    Snorkel,
    WeaSELClassifier,
)
from skweak_e2e.datasets import make_weak_supervision


def make_data(n_copies):
    """Source 0 is a coin flip on every sample, copied ``n_copies`` times."""
    return make_weak_supervision(
        2500,
        6,
        n_features=10,
        accuracy=[0.5, 0.8, 0.8, 0.8, 0.8, 0.8],
        coverage=[1.0, 0.5, 0.5, 0.5, 0.5, 0.5],
        duplicates={0: n_copies} if n_copies else None,
        random_state=0,
    )


train, val, test = (
    np.arange(1500),
    np.arange(1500, 1700),
    np.arange(1700, 2500),
)
X, L, y = make_data(3)
print("label matrix with 3 copies:", L.shape, "(the copies are the last columns)")
print(L[:4])

# %%
# The experiment
# --------------
# For each number of copies, train the two-stage pipeline with each label
# model (logistic regression end model) and WeaSEL (with 200 labelled
# validation rows for model selection), and score them on the test rows.
copies = [0, 1, 2, 3, 5, 10, 20]
methods = {
    "MajorityVote + LR": lambda: LabelModelClassifier(
        MajorityVote(), LogisticRegression()
    ),
    "DawidSkene + LR": lambda: LabelModelClassifier(DawidSkene(), LogisticRegression()),
    "Snorkel + LR": lambda: LabelModelClassifier(
        Snorkel(optimizer="adam", n_epochs=500, random_state=0),
        LogisticRegression(),
    ),
    "WeaSEL": lambda: WeaSELClassifier(lr=3e-3, max_epochs=25, random_state=0),
}
accuracy = {name: [] for name in methods}
for k in copies:
    X, L, y = make_data(k)
    for name, make in methods.items():
        model = make()
        if name == "WeaSEL":
            model.fit(X[train], L[train], X_val=X[val], y_val=y[val])
        else:
            model.fit(X[train], L[train])
        accuracy[name].append(model.score(X[test], y[test]))
    print(
        f"{k:2d} copies: " + "  ".join(f"{n} {a[-1]:.3f}" for n, a in accuracy.items())
    )

supervised = LogisticRegression().fit(X[train], y[train]).score(X[test], y[test])

# %%
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for name, values in accuracy.items():
    ax.plot(copies, values, marker="o", label=name)
ax.axhline(supervised, color="gray", ls=":", label="LR on gold labels")
ax.axhline(0.5, color="black", lw=0.5)
ax.set_xscale("symlog", linthresh=1)
ax.set_xticks(copies, [str(k) for k in copies])
ax.set_xlabel("number of copies of the coin-flip source")
ax.set_ylabel("test accuracy")
ax.legend()

# %%
# With as few as one copy, Dawid-Skene and Snorkel trust the coin flips:
# two perfectly agreeing sources look perfectly accurate under the
# independence assumption, and the end model learns noise. The majority vote
# degrades as the copies outvote the good sources. WeaSEL stays close to the
# supervised classifier.
#
# What WeaSEL learned
# -------------------
# Its encoder gives each good source several times the weight of a
# coin-flip column on average; what the coin flips do get lands unevenly on a
# few of their copies, which are interchangeable (mean accuracy score of
# each source over the test rows, 10 copies):
X, L, y = make_data(10)
weasel = methods["WeaSEL"]().fit(X[train], L[train], X_val=X[val], y_val=y[val])
theta = weasel.accuracy_scores(X[test], L[test]).mean(axis=0)
names = (
    ["coin flip"]
    + [f"good {j}" for j in range(1, 6)]
    + [f"copy {c}" for c in range(1, 11)]
)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.bar(names, theta, color=["tab:red"] + ["tab:green"] * 5 + ["tab:red"] * 10)
ax.set_ylabel("mean accuracy score")
ax.tick_params(axis="x", rotation=60)

# %%
# Takeaways
# ---------
# * Look for duplicated or near-duplicated sources before trusting a
#   conditionally independent label model:
#   :func:`~skweak_e2e.metrics.source_summary` shows overlaps and
#   conflicts, and two columns of ``L`` that never disagree are suspicious.
# * When sources are correlated and cannot be cleaned up, prefer
#   :class:`~skweak_e2e.WeaSELClassifier` (or at least the majority vote)
#   to the independence-based label models.
