"""
Soft (probabilistic) sources
============================

Some sources say how sure they are: a classifier's probabilities, an
annotator's confidence, a fuzzy-matching score. skweak_e2e accepts such
*soft* votes as an array of shape ``(n_samples, n_sources, n_classes)``:
``A[i, j, c]`` is the probability that source ``j`` gives to class ``c`` on
sample ``i``, and the missing mass ``1 - A[i, j].sum()`` is the
probability that it abstains (an all-zero row is a plain abstention). Hard
votes are the special case of one-hot rows.

This example builds soft sources whose confidence is informative (higher
when they are right) and compares them with the same sources reduced to
hard votes.
"""

# %%
# Sources with a confidence
# -------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from skweak_e2e import (
    LabelModelClassifier,
    MajorityVote,
    Snorkel,
    WeaSELClassifier,
)
from skweak_e2e.datasets import make_weak_supervision

n_classes = 3
X, L, y = make_weak_supervision(
    1400, 8, n_classes=n_classes, coverage=0.5, accuracy=0.6, random_state=0
)
rng = np.random.RandomState(0)
votes = L != -1
correct = votes & (L == y[:, None])
# Each source reports a confidence q in its vote: typically high when the
# vote is right (Beta(6, 2), mean 0.75), lower when it is wrong (Beta(2, 3),
# mean 0.4), and never below 1/3 (a vote for a class is at least uniform).
q = np.where(correct, rng.beta(6, 2, L.shape), rng.beta(2, 3, L.shape))
q = np.maximum(q, 1 / n_classes)
onehot = np.eye(n_classes)[np.where(votes, L, 0)]
A = onehot * q[..., None] + (1 - onehot) * ((1 - q) / (n_classes - 1))[..., None]
A[~votes] = 0.0  # abstain: no mass on any class
print("soft label matrix:", A.shape)
print("sample 0, the sources that vote:\n", A[0][votes[0]].round(2))

# %%
# ``L`` holds the same votes without the confidences. Split the rows: few
# training rows (weak labels only), a small labelled validation set and a
# test set.
train, val, test = np.arange(400), np.arange(400, 600), np.arange(600, 1400)

# %%
# Label models on soft votes
# --------------------------
# :class:`~skweak_e2e.MajorityVote` adds up the soft votes;
# :class:`~skweak_e2e.Snorkel` fits its vote overlaps on them. Nothing else
# changes in the API.
results = {}
for name, make in {
    "MajorityVote": lambda: MajorityVote(tie_break="random", random_state=1),
    "Snorkel": lambda: Snorkel(
        optimizer="adam", n_epochs=300, tie_break="random", random_state=1
    ),
}.items():
    for kind, votes_matrix in {"hard": L, "soft": A}.items():
        label_model = make().fit(votes_matrix[train])
        proba = label_model.predict_proba(votes_matrix[test])
        results[f"{name}, {kind}"] = (
            label_model.score(votes_matrix[test], y[test]),
            log_loss(y[test], proba, labels=range(n_classes)),
        )
for key, (acc, loss) in results.items():
    print(f"{key:20} accuracy {acc:.3f}   log loss {loss:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
keys = list(results)
colors = ["tab:gray", "tab:blue"] * 2
for ax, k, title in zip(
    axes, (0, 1), ("accuracy (higher is better)", "log loss (lower is better)")
):
    ax.barh(keys[::-1], [results[key][k] for key in keys][::-1], color=colors[::-1])
    ax.set_title(title)
axes[1].set_yticklabels([])
fig.suptitle("Labels of the test rows from hard vs soft votes")

# %%
# The confidences separate the right votes from the wrong ones, so the
# labels are both more accurate and better calibrated. (The hard majority
# vote's log loss is large because it gives probability 0 to classes that no
# source voted for, sometimes wrongly.)
#
# End models
# ----------
# Both :class:`~skweak_e2e.LabelModelClassifier` and
# :class:`~skweak_e2e.WeaSELClassifier` take the soft matrix as ``y``. The
# end models gain much less than the labels: a classifier trained on the
# features already averages out part of the label noise, and it cannot be
# more accurate than the features allow (see the classifier trained on the
# gold labels). Here the two-stage classifier gains a few points and WeaSEL
# about nothing.
for kind, votes_matrix in {"hard": L, "soft": A}.items():
    two_stage = LabelModelClassifier(MajorityVote(), LogisticRegression())
    two_stage.fit(X[train], votes_matrix[train])
    weasel = WeaSELClassifier(lr=3e-3, max_epochs=40, random_state=0)
    weasel.fit(X[train], votes_matrix[train], X_val=X[val], y_val=y[val])
    print(
        f"{kind}: two-stage test accuracy {two_stage.score(X[test], y[test]):.3f}, "
        f"WeaSEL {weasel.score(X[test], y[test]):.3f}"
    )
supervised = LogisticRegression().fit(X[train], y[train])
reference = supervised.score(X[test], y[test])
print(f"for reference, trained on the gold labels: {reference:.3f}")


# %%
# Converting hard sources
# -----------------------
# A soft matrix can also mix hard and soft sources: a hard vote is a one-hot
# row. This helper turns a hard label matrix into the soft layout, so that
# one can, for instance, append the outputs of a probabilistic model to a set
# of keyword rules.
def to_soft(L, n_classes):
    """One-hot soft votes from a hard label matrix (-1 = abstain)."""
    soft = np.eye(n_classes)[np.where(L == -1, 0, L)]
    soft[L == -1] = 0.0
    return soft


mixed = np.concatenate([to_soft(L[:, :4], n_classes), A[:, 4:]], axis=1)
mixed_model = MajorityVote(tie_break="random", random_state=1).fit(mixed[train])
print(
    f"4 hard + 4 soft sources: accuracy {mixed_model.score(mixed[test], y[test]):.3f}"
)
