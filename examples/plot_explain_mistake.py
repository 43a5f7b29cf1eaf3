"""
Explaining a mistake with source-aware influence
================================================

When a weakly supervised classifier gets a test point wrong, which sources,
which training samples and which individual votes pushed it there?
:class:`~skweak_e2e.SourceAwareInfluence` answers with influence functions
that split the training loss of a two-stage pipeline into one term per
(training sample, source, class) and score each term's effect on the loss of
the test point.

**Sign convention:** a *positive* influence is *harmful*: up-weighting the
term raises the test loss, so removing it would lower the loss.
"""

# %%
# A two-stage pipeline
# --------------------
# The inspector fits the pipeline itself: a label model (here the majority
# vote) and an end model trained on its labels, by default a logistic
# regression with a closed-form Hessian (``l2`` is its ridge strength).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import StandardScaler

from skweak_e2e import MajorityVote, SourceAwareInfluence
from skweak_e2e.datasets import load_tabular_weak_supervision
from skweak_e2e.plotting import plot_influence

data = load_tabular_weak_supervision("breast_cancer", random_state=0)
scaler = StandardScaler().fit(data.X_train)
X_train, X_test = scaler.transform(data.X_train), scaler.transform(data.X_test)
L_train, y_test = data.L_train, data.y_test
names = data.source_names

# ``source_names`` names the sources in every result, explanation and plot
# (a DataFrame ``L`` names them by its columns).
inspector = SourceAwareInfluence(MajorityVote(), l2=1e-2, source_names=names)
inspector.fit(X_train, L_train)
end_model = inspector.end_model_
pred = end_model.predict(X_test)
mistakes = np.flatnonzero(pred != y_test)
print(f"test accuracy {np.mean(pred == y_test):.3f}; {len(mistakes)} mistakes")
print("classes:", data.target_names)
print("gold labels of the mistakes:", y_test[mistakes])

# %%
# Every mistake is a malignant tumour predicted benign. Take the first one.
i = mistakes[0]
explanation = inspector.explain(X_test[i], y_test[i], top_k=5)
print("predicted probabilities:", explanation.proba.round(3))

# %%
# Which sources?
# --------------
# ``explanation.sources`` lists the most harmful sources, with their
# influence (the sum of the influences of all their votes):
for name, phi in zip(explanation.sources.name, explanation.sources.influence):
    print(f"{name:18} influence {phi:+8.2f}")

# %%
# The full per-source picture, harmful in red and helpful in blue:
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
plot_influence(explanation.result, top_k=10, ax=ax)

# %%
# The sources that vote *benign* harm this prediction and the ones that
# vote *malignant* help it, as one would expect. Influence becomes useful
# one level down.
#
# Which votes?
# ------------
# ``explanation.votes`` gives the most harmful individual votes: a training
# sample, a source and the class it voted. Here we can check them against the
# gold labels of the training rows (which the pipeline never saw):
votes = explanation.votes
for s, name, v, phi in zip(votes.sample, votes.source_name, votes.vote, votes.influence):
    gold = data.y_train[s]
    verdict = "WRONG" if v != gold else "right"
    print(
        f"sample {s:3d}  {name:18} voted {data.target_names[v]:9} "
        f"(gold {data.target_names[gold]:9}, {verdict})  influence {phi:+.2f}"
    )

# %%
# The most harmful votes are mislabels: influence points at the specific
# wrong votes behind the mistake, not merely at the sources that disagree
# with it.
#
# Which training samples?
# -----------------------
# ``explanation.samples`` aggregates over the sources of each training row:
for s, phi in zip(explanation.samples.index, explanation.samples.influence):
    print(
        f"training row {s:3d}: gold {data.target_names[data.y_train[s]]:9} "
        f"votes {L_train[s]}  influence {phi:+.2f}"
    )

# %%
# Harmful rows are not always mislabelled: a correctly labelled row can also
# pull the decision boundary the wrong way for this particular point.
#
# Checking the explanation
# ------------------------
# Influence functions are a first-order approximation of "what if this term
# were removed and the model retrained". Here we do it for real: abstain the
# five most harmful votes and refit.
L_fixed = L_train.copy()
L_fixed[votes.sample, votes.source] = -1
refit = SourceAwareInfluence(MajorityVote(), l2=1e-2).fit(X_train, L_fixed)
print("P(malignant) before:", explanation.proba[0].round(3))
print(
    "P(malignant) after: ",
    refit.end_model_.predict_proba(X_test[i : i + 1])[0, 0].round(3),
)
print("votes in the training label matrix:", int((L_train != -1).sum()))

# %%
# Five votes out of well over a thousand move the prediction towards the
# right class; the change is small, as expected for a single test point on
# a regularised model.
#
# All mistakes at once
# --------------------
# ``influence`` with several target points and ``reduce="sum"`` scores the
# terms on the total loss of all the mistakes, which points at the sources
# to revise first:
result = inspector.influence(X_test[mistakes], y_test[mistakes], reduce="sum")
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
plot_influence(
    result,
    top_k=10,
    ax=ax,
    title="Influence on the loss of all mistakes",
)

# %%
# The next example, :ref:`sphx_glr_auto_examples_plot_repair_pipeline.py`,
# turns these scores into an automatic repair of the training labels.
