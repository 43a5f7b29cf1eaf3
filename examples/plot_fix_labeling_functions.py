"""
Which labeling function hurts, and what to fix (text)
=====================================================

A user has written keyword labeling functions (LFs) for a three-topic text
task (sport, technology, food) and labelled 300 validation documents by
hand. This example walks from "which LF hurts the classifier?" to "what
should I fix?" with :class:`~skweak_e2e.SourceAwareInfluence`, and checks
every answer on a **held-out test set** that played no part in any choice:

1. rank the LFs by their influence on the validation loss;
2. list the votes most likely to be wrong (``mislabel_scores``);
3. let ``drop_harmful`` choose a repair on held-out validation folds, and
   read the change it expects, with its standard error;
4. fix the LF at the source, and measure.

The documents are generated (from a small topic and filler
vocabulary), so that the example runs offline in a few seconds.
"""

# %%
# A generated text task and its labeling functions
# ------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from skweak_e2e import LFApplier, MajorityVote, SourceAwareInfluence
from skweak_e2e.labeling import keyword_lf

SPORT, TECH, FOOD = 0, 1, 2
topics = {
    SPORT: "match goal team coach league season player score stadium win "
    "championship referee tournament striker",
    TECH: "software chip phone laptop update app server code network "
    "battery screen startup robot cloud",
    FOOD: "recipe dinner chef taste oven sauce bread cheese kitchen flavor "
    "spicy dessert menu bake",
}
# Words every topic uses; "great" and "new" are the ones the LFs misuse.
shared = "great new today people time year really first best week".split()
rng = np.random.RandomState(0)


def document(label):
    words = list(rng.choice(topics[label].split(), rng.randint(1, 4)))
    if rng.rand() < 0.5:  # a word of another topic ("the team's new app")
        words.append(rng.choice(topics[(label + rng.randint(1, 3)) % 3].split()))
    words += list(rng.choice(shared, rng.randint(3, 8)))
    rng.shuffle(words)
    return " ".join(words)


y_all = rng.randint(3, size=2600)
texts = [document(c) for c in y_all]
train, valid, test = slice(0, 1300), slice(1300, 1600), slice(1600, None)

lfs = [
    keyword_lf(["goal", "coach"], SPORT, name="sport_goal_coach"),
    keyword_lf(["league", "stadium"], SPORT, name="sport_league"),
    keyword_lf(["software", "app"], TECH, name="tech_software"),
    keyword_lf(["chip", "server", "network"], TECH, name="tech_hardware"),
    keyword_lf(["recipe", "chef"], FOOD, name="food_recipe"),
    keyword_lf(["oven", "bake", "bread"], FOOD, name="food_baking"),
    # Two careless LFs: common words taken for topic words.
    keyword_lf(["great", "best"], SPORT, name="sport_great"),
    keyword_lf(["new"], TECH, name="tech_new"),
]
applier = LFApplier(lfs, n_classes=3, progress_bar=False)
L_train = applier.fit_transform(texts[train])
names = [lf.name for lf in lfs]

vectorizer = TfidfVectorizer(sublinear_tf=True).fit(texts[train])
X_train, X_valid, X_test = (vectorizer.transform(texts[s]) for s in (train, valid, test))
y_train, y_valid, y_test = y_all[train], y_all[valid], y_all[test]

voted = L_train >= 0
lf_accuracy = (L_train == y_train[:, None]).sum(0) / voted.sum(0)
for name, coverage, accuracy in zip(names, voted.mean(0), lf_accuracy):
    # The accuracy needs gold labels: printed for the reader only.
    print(f"{name:17s} coverage {coverage:.2f}   accuracy {accuracy:.2f}")

# %%
# The inspected pipeline
# ----------------------
# MajorityVote and a logistic regression on TF-IDF; the ridge ``l2`` is
# chosen on the validation loss. The test set is kept aside.
inspector = SourceAwareInfluence(MajorityVote(), source_names=names)
inspector.fit(X_train, L_train, X_val=X_valid, y_val=y_valid)


def test_scores(estimator):
    """Test cross-entropy and accuracy (the held-out check)."""
    proba = estimator.predict_proba(X_test)
    loss = -np.mean(np.log(proba[np.arange(len(y_test)), y_test]))
    return loss, np.mean(proba.argmax(axis=1) == y_test)


before = test_scores(inspector.end_model_)
print(f"unrepaired: test loss {before[0]:.3f}, accuracy {before[1]:.3f}")

# %%
# 1. Which LF hurts?
# ------------------
# ``per_source`` is the influence of every LF on the mean validation loss;
# positive means harmful (removing it would lower the loss, to first order).
result = inspector.influence(X_valid, y_valid)
order = np.argsort(result.per_source)
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(np.asarray(names)[order], result.per_source[order])
ax.axvline(0, color="k", lw=0.8)
ax.set_xlabel("influence on the validation loss (positive = harmful)")
fig.tight_layout()
print("most harmful LFs:", [names[j] for j in order[::-1][:2]])

# %%
# 2. Which votes are wrong?
# -------------------------
# ``mislabel_scores`` gives every vote a suspicion score: one minus the end
# model's probability of the voted class once the vote is removed, the
# model being refitted with the validation rows' gold labels as well. The
# mean score of each LF's votes points at the same two LFs, and within an
# LF the wrong votes come first: average precision (AP) against the gold
# labels, printed for the reader, with and without the validation set
# (``mislabel_scores()`` needs no gold labels at all).
from sklearn.metrics import average_precision_score

scores = inspector.mislabel_scores(X_valid, y_valid)
gold_free = inspector.mislabel_scores()
for j, name in enumerate(names):
    ok = np.isfinite(scores[:, j])
    wrong = L_train[ok, j] != y_train[ok]
    print(f"{name:17s} mean suspicion {np.mean(scores[ok, j]):.2f}   AP "
          f"{average_precision_score(wrong, scores[ok, j]):.2f} (gold-free "
          f"{average_precision_score(wrong, gold_free[ok, j]):.2f}; error rate "
          f"{wrong.mean():.2f})")

# %%
# 3. What does a repair buy?
# --------------------------
# ``drop_harmful`` scores the components on part of the validation set and
# judges every candidate removal on the other part (5 folds), so the
# change it reports is an estimate for new data, with its standard error.
# ``unit="source"`` removes whole LFs, ranked by the effect of their
# removal (an LF that alone covers rows keeps its place if its coverage is
# worth more than its noise).
for unit in ("source", "term"):
    repair = inspector.drop_harmful(X_valid, y_valid, unit=unit)
    after = test_scores(repair.estimator)
    what = list(repair.removed_names) if unit == "source" else f"{repair.n_removed} terms"
    print(f"unit={unit}: removed {what}; expected loss change "
          f"{repair.expected_change:+.3f} +/- {repair.expected_change_se:.3f}; "
          f"test loss {after[0]:.3f} ({after[0] - before[0]:+.3f}), "
          f"accuracy {after[1]:.3f} ({after[1] - before[1]:+.3f})")

# %%
# 4. Fix the LFs
# --------------
# The repair is a diagnosis: the lasting fix is in the LFs. The flagged LFs
# fire on words every topic uses; here they are dropped (a user might
# instead narrow their keywords) and the pipeline is refitted.
keep = [j for j, n in enumerate(names) if n not in ("sport_great", "tech_new")]
fixed = SourceAwareInfluence(MajorityVote(), source_names=[names[j] for j in keep])
fixed.fit(X_train, L_train[:, keep], X_val=X_valid, y_val=y_valid)
after = test_scores(fixed.end_model_)
print(f"fixed LFs: test loss {after[0]:.3f} ({after[0] - before[0]:+.3f}), "
      f"accuracy {after[1]:.3f} ({after[1] - before[1]:+.3f})")
