"""
Crowdsourced labels: from a long table to worker confusion matrices
===================================================================

Crowdsourcing is Dawid-Skene's home ground: many workers, each labelling a
few tasks, most (task, worker) pairs empty. The labels usually arrive as a
long table, one row per label given. This example simulates such a crowd,
turns the table into a sparse label matrix, aggregates the labels with
:class:`~skweak_e2e.MajorityVote` and :class:`~skweak_e2e.DawidSkene`, and
plots what Dawid-Skene learned about the workers: one confusion matrix each.
"""

# %%
# A simulated crowd
# -----------------
# 20,000 tasks with three classes, 400 workers, five labels per task. Task
# assignment ignores the class (as on a crowd platform) and a few workers do
# most of the work (``activity="zipf"``); a fifth of the workers answer at
# random. The others answer the true class with probability 0.5 to 0.9 and
# make systematic mistakes otherwise.
import matplotlib.pyplot as plt
import numpy as np

from skweak_e2e import DawidSkene, MajorityVote
from skweak_e2e.datasets import make_crowd
from skweak_e2e.utils import label_matrix_from_long

sim = make_crowd(
    n_tasks=20_000, n_workers=400, labels_per_task=5, n_classes=3,
    accuracy=(0.5, 0.9), spammer_fraction=0.2, activity="zipf", random_state=0,
)
# The user's view: a long table with ids and class names of their own.
names = np.array(["cat", "dog", "fox"])
data = {
    "task": np.char.add("task-", sim.data["task"].astype(str)),
    "worker": np.char.add("w", sim.data["worker"].astype(str)),
    "label": names[sim.data["label"]],
}
print({key: value[:3] for key, value in data.items()})

# %%
# The sparse label matrix
# -----------------------
# :func:`~skweak_e2e.utils.label_matrix_from_long` gives a CSR matrix with
# one row per task and one column per worker; the stored value is the class
# index plus one, and the implicit zero means "no label". Its size follows
# the number of labels (100,000 here), not tasks x workers (8 million).
crowd = label_matrix_from_long(data)
print(crowd)
print("classes:", crowd.classes_, " first workers:", crowd.workers_[:4])
# The rows follow crowd.tasks_ (sorted ids): the simulated truth, aligned.
truth = sim.y[np.char.replace(crowd.tasks_, "task-", "").astype(int)]

# %%
# Aggregation
# -----------
# Every label model fits the sparse matrix directly, at a cost proportional
# to the number of labels. Task assignment says nothing about the class, so
# abstaining is no evidence here: classic Dawid-Skene treats it as missing
# (``model_abstain=False``). Ties are broken at random, as a crowd
# aggregator must answer for every task.
models = {
    "MajorityVote": MajorityVote(tie_break="random", random_state=0),
    "DawidSkene": DawidSkene(model_abstain=False, tie_break="random", random_state=0),
}
for name, model in models.items():
    pred = model.fit_predict(crowd.L)
    print(f"{name:>13}: accuracy {np.mean(pred == truth):.3f}")
ds = models["DawidSkene"]
print("aggregated labels:", crowd.decode(ds.predict(crowd.L)[:5]))

# %%
# What Dawid-Skene learned about the workers
# ------------------------------------------
# ``confusion_[j, c, k]`` is the probability that worker ``j`` answers
# ``k`` when the true class is ``c``. Good workers have a bright diagonal,
# spammers flat rows. Below, the six most active workers, next to the
# confusion matrices the simulation used.
active = np.argsort(np.bincount(crowd.L.indices, minlength=crowd.L.shape[1]))[::-1][:6]
worker_ids = np.char.replace(crowd.workers_, "w", "").astype(int)
fig, axes = plt.subplots(2, 6, figsize=(12, 4.4), layout="constrained")
for col, j in enumerate(active):
    for row, (matrix, title) in enumerate(
        [(ds.confusion_[j], "learned"), (sim.confusion[worker_ids[j]], "true")]
    ):
        ax = axes[row, col]
        ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(3), crowd.classes_)
        ax.set_yticks(range(3), crowd.classes_)
        ax.set_title(f"{crowd.workers_[j]} {title}", fontsize=9)
fig.supxlabel("answer")
fig.supylabel("true class")

# %%
# Worker accuracy, learned against true
# -------------------------------------
# The learned accuracy of a worker is ``sum_c prior_c confusion_[j, c, c]``.
# Workers with a handful of labels are estimated loosely, and pulled toward
# their majority-vote rates by the default anchor (5 pseudo-votes per class,
# ``anchor_strength="auto"``); busy ones are fitted closely by their labels.
learned = np.einsum("jcc,c->j", ds.confusion_, ds.class_prior_)
true_acc = np.einsum("jcc,c->j", sim.confusion[worker_ids], np.full(3, 1 / 3))
n_labels = np.bincount(crowd.L.indices, minlength=crowd.L.shape[1])
fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
points = ax.scatter(true_acc, learned, c=np.log10(n_labels), s=12, cmap="plasma")
ax.plot([0.3, 1], [0.3, 1], color="grey", lw=1)
ax.set_xlabel("true accuracy")
ax.set_ylabel("accuracy learned by DawidSkene")
fig.colorbar(points, label="log10(labels given)")
plt.show()
