"""
WeaSEL versus the two-stage pipeline
====================================

There are two ways to train a classifier from a label matrix:

* **two-stage**: a label model turns the votes into probabilistic labels,
  then a classifier is trained on them
  (:class:`~skweak_e2e.LabelModelClassifier`);
* **end to end**: WeaSEL (:class:`~skweak_e2e.WeaSELClassifier`) trains an
  *encoder*, which predicts per-sample accuracy scores of the sources from
  their votes and the features, together with the classifier, each network
  learning from the other's predictions.

This example compares them on the embedded breast-cancer task and shows
what a fitted WeaSEL model exposes: its training history, the encoder's
accuracy scores and the encoder's labels.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    MajorityVote,
    WeaSELClassifier,
)
from skweak_e2e.datasets import load_tabular_weak_supervision
from skweak_e2e.plotting import plot_accuracy_scores, plot_training_curves

data = load_tabular_weak_supervision("breast_cancer", random_state=0)
scaler = StandardScaler().fit(data.X_train)
X_train, X_valid, X_test = (
    scaler.transform(data[k]) for k in ("X_train", "X_valid", "X_test")
)
L_train, y_valid, y_test = data.L_train, data.y_valid, data.y_test

# %%
# WeaSEL, selected on a small validation set
# ------------------------------------------
# The defaults: both networks train together for 50 epochs. With
# ``X_val, y_val`` the downstream network is scored after every epoch
# (accuracy, ties broken by the log-loss) and the best epoch is kept;
# ``predict`` is the argmax of ``predict_proba``.
weasel = WeaSELClassifier(random_state=0)
weasel.fit(X_train, L_train, X_val=X_valid, y_val=y_valid)
print(
    f"best epoch {weasel.best_epoch_} of {weasel.n_epochs_}, "
    f"validation score {weasel.best_score_:.3f}"
)
print(f"WeaSEL test accuracy: {weasel.score(X_test, y_test):.3f}")

# %%
# The per-epoch history (a skorch ``History``) shows the agreement loss and
# the validation score; the star marks the epochs that improved it.
ax = plot_training_curves(weasel)
ax.figure.set_size_inches(7, 3.5)

# %%
# Without validation data WeaSEL keeps the last epoch, so it is worth
# holding out a few labelled rows.

# %%
# What the encoder learned
# ------------------------
# ``accuracy_scores`` returns the encoder's accuracy score of every source
# on every sample. With the default softmax over the voting sources
# (``accuracy_support="voters"``) the sources that abstain get 0 and the
# voters' scores sum to ``tau2_ = sqrt(n_sources)``.
theta = weasel.accuracy_scores(X_train, L_train)
fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
plot_accuracy_scores(theta, L=L_train, source_names=data.source_names, ax=ax)

# %%
# These scores are relative weights, not accuracies: the weights of the
# voting sources need not follow their accuracies, since the encoder is
# trained to agree with the classifier, not to estimate accuracies. (With
# ``accuracy_support="all"``, the paper's choice, the softmax also runs over
# the sources that abstain, and on small data the encoder tends to park
# most of ``tau2_`` there, which flattens its labels.)
voting_mass = (theta * (L_train != -1)).sum(axis=1).mean()
print(
    f"mean total score of the voting sources: {voting_mass:.2f} "
    f"out of tau2_ = {weasel.tau2_:.2f}"
)

# %%
# The encoder's own labels (``predict_proba_encoder``) are a label model
# that depends on the features too. They are a means, not the goal: the
# classifier is what WeaSEL returns, and the encoder's labels on the training
# rows are compared here with the majority vote only to see what it learned.
encoder_labels = weasel.predict_proba_encoder(X_train, L_train).argmax(axis=1)
mv_labels = (
    MajorityVote(tie_break="random", random_state=1).fit(L_train).predict(L_train)
)
print(
    f"accuracy of the encoder's labels  {np.mean(encoder_labels == data.y_train):.3f}"
)
print(f"accuracy of the majority vote     {np.mean(mv_labels == data.y_train):.3f}")

# %%
# Comparison over several seeds
# -----------------------------
# A fair comparison gives the two-stage pipeline the same end model: a
# multi-layer perceptron the size of WeaSEL's default network, and a
# logistic regression. Each is refitted with five seeds (the data split
# stays the same).
seeds = range(5)
scores = {
    "MV + logistic regression": [],
    "DS + logistic regression": [],
    "MV + MLP": [],
    "WeaSEL": [],
}
for seed in seeds:
    mlp = MLPClassifier((50, 50, 25), alpha=1e-3, max_iter=300, random_state=seed)
    for name, label_model, estimator in [
        ("MV + logistic regression", MajorityVote(), LogisticRegression()),
        ("DS + logistic regression", DawidSkene(), LogisticRegression()),
        ("MV + MLP", MajorityVote(), mlp),
    ]:
        clf = LabelModelClassifier(label_model, estimator).fit(X_train, L_train)
        scores[name].append(clf.score(X_test, y_test))
    weasel.set_params(random_state=seed).fit(
        X_train, L_train, X_val=X_valid, y_val=y_valid
    )
    scores["WeaSEL"].append(weasel.score(X_test, y_test))

fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
names = list(scores)[::-1]
ax.barh(
    names,
    [np.mean(scores[n]) for n in names],
    xerr=[np.std(scores[n]) for n in names],
    color=["tab:orange"] + ["tab:blue"] * 3,
)
ax.set_xlim(0.8, 1.0)
ax.set_xlabel("test accuracy, mean and std over 5 seeds")
for name, values in scores.items():
    print(f"{name:26} {np.mean(values):.3f} +- {np.std(values):.3f}")

# %%
# When to use which
# -----------------
# * On clean, conditionally independent sources like these the two are
#   close (WeaSEL a little ahead, and more variable from seed to seed); the
#   two-stage pipeline is simpler, faster and has fewer knobs.
# * WeaSEL's encoder sees the features and re-weights the sources per sample,
#   and it does not assume that the sources are independent: it is much more
#   robust to correlated or duplicated sources
#   (:ref:`sphx_glr_auto_examples_plot_duplicated_sources.py`).
# * A few labelled validation rows select WeaSEL's epoch; without them it
#   keeps the last one. See :ref:`weasel` in the user guide.
