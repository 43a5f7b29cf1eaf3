"""
From a dask DataFrame of text to WeaSEL and per-source influence
================================================================

This example runs the whole weak-supervision workflow on a collection of
comments held in a dask DataFrame, without ever loading the training rows
into one array:

1. labeling functions applied partition by partition
   (:class:`~skweak_e2e.LFApplier`), giving a lazy label matrix ``L``;
2. features computed partition by partition (a stateless scikit-learn
   :class:`~sklearn.feature_extraction.text.HashingVectorizer`), giving a
   lazy dask array ``X`` of scipy.sparse blocks;
3. an end-to-end :class:`~skweak_e2e.WeaSELClassifier` trained on ``X`` and
   ``L`` block by block, with lazy predictions;
4. the influence of every labeling function on a small gold validation set
   (:class:`~skweak_e2e.SourceAwareInfluence`), from sums over the blocks.

It runs on dask's default scheduler (threads in this process), so "the
workers" below are threads of the Python process that also plays the
driver. With a ``distributed.Client`` the same code runs on a cluster, and
what the text says stays on the workers then stays in their memory. The
user guide page :ref:`scaling_out` describes each step.
"""

# %%
# The comments, generated partition by partition
# -----------------------------------------------
# The comments (YouTube-like spam, ``1``, or ham, ``0``) are made from short
# phrases, so that the example needs no download. Each partition is built
# from its seed by :func:`dask.dataframe.from_map` when a task needs it: the
# driver holds the task graph, never the comments. In real use the frame
# comes from files, e.g. ``dask.dataframe.read_parquet``, with the same
# laziness. The training comments carry no gold label.
import dask.dataframe as dd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from skweak_e2e import (
    LFApplier,
    MajorityVote,
    SourceAwareInfluence,
    WeaSELClassifier,
    labeling_function,
)
from skweak_e2e.labeling import keyword_lf, regex_lf
from skweak_e2e.plotting import plot_influence

ABSTAIN, HAM, SPAM = -1, 0, 1

SPAM_PHRASES = [
    "check out my channel", "subscribe to my channel", "please subscribe",
    "visit http://beats.example", "free gift cards at www.gifts.example",
    "i will subscribe back", "make money from home", "follow me on instagram",
    "please share my video", "win a free phone", "hey guys i sing too",
    "my covers are up now",
]
HAM_PHRASES = [
    "i love this song", "this song is amazing", "her voice is beautiful",
    "best song ever", "still listening in 2024", "this video made my day",
    "the beat is so good", "so catchy", "this reminds me of my summer",
    "check the drummer at 2:30", "great video", "my favourite song", "love it",
    "free concert in my town was the best",
]
FILLERS = ["", "", " lol", " :)", " !!!"]


def make_comments(seed, n_rows=1500, gold=False):
    """``n_rows`` comments (40 % spam) as a pandas DataFrame."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n_rows) < 0.4).astype(np.int64)
    texts = []
    for is_spam in label:
        phrases = SPAM_PHRASES if is_spam else HAM_PHRASES
        n_phrases = rng.choice([1, 2], p=[0.6, 0.4])
        text = " and ".join(rng.choice(phrases, size=n_phrases, replace=False))
        texts.append(text.capitalize() + rng.choice(FILLERS))
    frame = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    if gold:
        frame["label"] = label
    return frame


records = dd.from_map(make_comments, range(8))  # 8 partitions of 1 500 rows
print(records.npartitions, "partitions, columns", list(records.columns))

# %%
# Two small labelled sets stay in memory: 300 validation comments (they
# select the WeaSEL epoch and are the target of the influence analysis) and
# 2 000 test comments, for the reader only.
validation = make_comments(100, n_rows=300, gold=True)
test = make_comments(101, n_rows=2000, gold=True)
y_val, y_test = validation["label"].to_numpy(), test["label"].to_numpy()

# %%
# 1. The label matrix, partition by partition
# -------------------------------------------
# Keyword and regular-expression rules, written as for an in-memory frame
# (``field="text"`` names the column they read), and one hand-written rule.
# Some are deliberately poor: ``"my"`` fires on "my favourite song" as well
# as on "my channel".
lfs = [
    keyword_lf(["subscribe", "my channel"], SPAM, field="text", name="subscribe"),
    regex_lf(r"https?://|www\.", SPAM, field="text", name="link"),
    keyword_lf(["free", "win", "money"], SPAM, field="text", name="money"),
    keyword_lf(["check"], SPAM, field="text", name="check"),
    keyword_lf(["my"], SPAM, field="text", name="my"),
    keyword_lf(["song", "voice", "beat"], HAM, field="text", name="music_words"),
    keyword_lf(["love", "best", "great"], HAM, field="text", name="praise"),
]


@labeling_function()
def short_comment(x):
    """Comments of four words or fewer are rarely spam."""
    return HAM if len(x.text.split()) <= 4 else ABSTAIN


lfs.append(short_comment)
applier = LFApplier(lfs)
source_names = list(applier.get_feature_names_out())

# %%
# On a dask DataFrame, ``transform`` returns at once: a lazy dask array with
# one block per partition, whose row counts are unknown (``nan``) until the
# partitions are read.
L = applier.transform(records)
print(L)

# %%
# ``persist`` applies the labeling functions to every partition and keeps
# the votes where they were computed (8 small integers per comment);
# ``compute_chunk_sizes`` then brings only the row count of each block to the
# driver. WeaSEL and the influence analysis need those counts to align the
# rows of ``X`` and ``L``.
L = L.persist()
L.compute_chunk_sizes()
print(L.chunks[0])

# %%
# Coverage per source is a reduction: eight numbers reach the driver.
coverage = (L != ABSTAIN).mean(axis=0).compute()

# %%
# 2. Features, partition by partition
# -----------------------------------
# A hashing vectorizer needs no vocabulary, hence no pass over the data
# before it can transform a partition: each block of ``X`` is the hashed
# text of one partition, a scipy.sparse CSR matrix, computed only when a task
# asks for it (and computed again when asked again: nothing is cached). The
# text column becomes a dask array of Python strings (dask keeps pandas'
# string dtype in frames, hence ``astype(object)``) with the row counts of
# ``L``, so that the blocks of ``X`` and ``L`` line up.
vectorizer = HashingVectorizer(n_features=2**9, ngram_range=(1, 2), alternate_sign=False)
text = records["text"].astype(object).to_dask_array(lengths=list(L.chunks[0]))
X = text.map_blocks(
    vectorizer.transform,
    new_axis=1,
    chunks=(text.chunks[0], (vectorizer.n_features,)),
    dtype=np.float64,
    meta=sp.csr_matrix((0, vectorizer.n_features)),
)
print(X)
X_val = vectorizer.transform(validation["text"])
X_test = vectorizer.transform(test["text"])

# %%
# 3. WeaSEL, trained block by block
# ---------------------------------
# ``fit`` first reduces the blocks to counts (the classes, the rows covered
# by a vote, the votes per source); then every epoch computes the blocks
# one after another, in a new order, and trains on each one in this
# process, while a background thread computes the next. The driver holds
# the block in training and the one being prefetched, never the whole
# ``X``. The gold validation rows select the best epoch; on dask input
# they cannot join the training rows (that needs the rows in memory), which
# ``validation_weight=0`` says explicitly.
weasel = WeaSELClassifier(max_epochs=5, validation_weight=0, random_state=0)
weasel.fit(X, L, X_val=X_val, y_val=y_val)

# %%
# Predictions on dask input are lazy, with the blocks of ``X``: the fitted
# network enters the task graph once. Only the share of comments predicted
# spam (one number) reaches the driver here. 40 % of the comments are spam:
# the network inherits part of the spam bias of the rules ``"my"`` and
# ``"check"``, which fire on ham as well.
predicted = weasel.predict(X)
print(predicted)
print(f"predicted spam: {float(predicted.mean().compute()):.1%} of the comments")

# %%
# On the in-memory test comments, against the majority vote of the rules
# (fitted on the dask ``L`` from statistics summed over its blocks):
L_test = applier.transform(test)
majority = MajorityVote().fit(L)
print(f"majority vote of the rules: {np.mean(majority.predict(L_test) == y_test):.3f}")
print(f"WeaSEL on the hashed text:  {weasel.score(X_test, y_test):.3f}")

# %%
# 4. Which rules help, which hurt?
# --------------------------------
# :class:`~skweak_e2e.SourceAwareInfluence` analyses the two-stage pipeline
# "majority vote, then a logistic regression on ``X``" (a closed-form end
# model, not the WeaSEL network): it is fitted by Newton steps whose
# gradients and Hessians are sums over the blocks, so that only
# ``D``-sized and ``D x D``-sized sums reach the driver (``D`` = 513 here: a
# weight per hashed feature and an intercept). ``influence`` then sends one ``D``-vector to every block; the
# per-source sums come back in memory, the per-comment scores stay lazy.
inspector = SourceAwareInfluence(majority, l2=1e-3, source_names=source_names)
inspector.fit(X, L)
result = inspector.influence(X_val, y_val)
print(type(result.per_source).__name__, type(result.per_sample).__name__)

# %%
# Positive influence means harmful: removing the source would lower the
# validation loss, to first order. The accuracy column uses the gold labels
# of the test comments, which the analysis itself does not see.
table = pd.DataFrame(
    {
        "influence": result.per_source,
        "coverage": coverage,
        "test accuracy": [
            np.mean(L_test[L_test[:, j] != ABSTAIN, j] == y_test[L_test[:, j] != ABSTAIN])
            for j in range(len(source_names))
        ],
    },
    index=pd.Index(source_names, name="source"),
).sort_values("influence", ascending=False)
table.round(3)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
plot_influence(result, ax=ax)

# %%
# The four rules the analysis flags as harmful are the four least accurate
# ones, in the order of their accuracy (``"my"`` and ``"check"`` fire on ham
# about as often as on spam), and the most helpful are accurate rules with a
# large coverage. Nothing above gathered the
# training comments, their features or their votes: what reached the driver
# was row counts, per-source counts and sums, the fitted models, and the
# small in-memory validation and test sets.
