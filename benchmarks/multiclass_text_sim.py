#!/usr/bin/env python
"""WeaSEL and the two-stage pipelines on simulated multi-class documents.

The text suite has one multi-class task (Yoruba, one rule per class). Real
rule sets are often multi-class with many narrow rules: a six-class
question-type task with about 50 narrow rules and a few broad fallbacks is
the typical case. No such corpus ships with the data this project may
read, so this script simulates one, with features, to compare the end
models (``narrow_rules.py`` simulates label matrices only):

* documents are bags of words: each class has a topic of 250 words drawn
  from a shared pool of 1,000 content words (so topics overlap), every
  document draws ``topic_frac`` of its ``doc_len`` tokens from its class's
  topic and the rest from a background of 5,000 other words; classes have
  priors 0.30/0.22/0.18/0.14/0.12/0.04 (one rare class);
* rules: 8 per class, each firing on one word among the class topic's most
  frequent ones (its precision is set by how much the other topics use that
  word), and 3 broad fallbacks (content words that every topic uses, voting
  classes 0, 1, 0);
* features: TF-IDF (sublinear) of the word counts, fitted on the training
  rows; 4,000 training, 250 gold validation and 1,000 test rows.

Three regimes: ``short`` (12 tokens, 30 % from the topic, rules among each
topic's top 20 words: question-like texts), ``long`` (60 tokens, 6 % from
the topic, top 40: long texts whose class words are rare) and
``keywords4`` (four balanced classes with topics of 400 words from a pool
of 1,200, 40 tokens, 6 % from the topic, and 22 broad keyword lists of 4-11
words among each topic's top 60 instead of the one-word rules: news-like
topics labelled like a four-class task with 22 keyword lists that a user
reported).

Methods: every default label model alone (argmax on the test rows), each
in ``LabelModelClassifier(lm, LogisticRegression())``, LR on the gold
training labels, and ``WeaSELClassifier`` with ``X_val, y_val`` (seeds 0
and 1): ``default``, ``gold-led`` (``validation_weight=10.0``: the linear
model with the gold rows leading the join whatever they score alone, the
default before the join was chosen from the data) and ``hidden16``
(``hidden_layer_sizes=(16,)``, which also keeps the gentle join: share 1
at a tenth of the learning rate). Run from the repository root (about 10
minutes)::

    python -m benchmarks.multiclass_text_sim
    python -m benchmarks.multiclass_text_sim --regimes short --seeds 2
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp

from ._common import rst_table

REGIMES = {
    "short": dict(doc_len=12, topic_frac=0.3, n_top=20),
    "long": dict(doc_len=60, topic_frac=0.06, n_top=40),
    "keywords4": dict(
        doc_len=40, topic_frac=0.06, n_top=60, vocabulary=8000, pool_size=1200,
        n_classes=4, keyword_lists=22, topic_size=400,
    ),
}
PRIOR = np.array([0.30, 0.22, 0.18, 0.14, 0.12, 0.04])
N_TRAIN, N_VAL, N_TEST = 4000, 250, 1000
WEASEL = {
    "default": {},
    "gold-led": dict(validation_weight=10.0),
    "hidden16": dict(hidden_layer_sizes=(16,)),
}


def make_task(seed, doc_len, topic_frac, n_top, vocabulary=6000, pool_size=1000,
              n_classes=6, keyword_lists=0, topic_size=250):
    """TF-IDF features, label matrix and labels of one simulated task."""
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.RandomState(seed)
    n = N_TRAIN + N_VAL + N_TEST
    prior = PRIOR if n_classes == PRIOR.size else np.full(n_classes, 1 / n_classes)
    y = rng.choice(n_classes, n, p=prior)
    pool = rng.choice(vocabulary, pool_size, replace=False)
    background = rng.dirichlet(np.full(vocabulary, 0.1))
    background[pool] = 0.0
    background /= background.sum()
    topics = np.zeros((n_classes, vocabulary))
    for c in range(n_classes):
        topics[c, rng.choice(pool, topic_size, replace=False)] = rng.dirichlet(
            np.full(topic_size, 0.3)
        )
    counts = np.zeros((n, vocabulary))
    for c in range(n_classes):  # one draw per class, all its rows at once
        rows = np.flatnonzero(y == c)
        mix = (1 - topic_frac) * background + topic_frac * topics[c]
        counts[rows] = rng.multinomial(doc_len, mix, size=rows.size)
    if keyword_lists:
        L = _keyword_list_votes(rng, counts, topics, keyword_lists, n_top)
    else:
        L = _word_rule_votes(rng, counts, topics, n_top)
    counts = sp.csr_matrix(counts)
    X = TfidfTransformer(sublinear_tf=True).fit(counts[:N_TRAIN]).transform(counts)
    return X.tocsr(), L, y


def _word_rule_votes(rng, counts, topics, n_top):
    """8 one-word rules per class and 3 broad fallbacks."""
    rules = [
        (word, c)
        for c in range(len(topics))
        for word in rng.choice(np.argsort(-topics[c])[2:n_top], 8, replace=False)
    ]
    shared = np.argsort(-topics.sum(axis=0))[:30]
    rules += [(shared[5 + 7 * k], c) for k, c in enumerate([0, 1, 0])]
    words = np.array([w for w, _ in rules])
    votes = np.array([c for _, c in rules])
    return np.where(counts[:, words] > 0, votes, -1)


def _keyword_list_votes(rng, counts, topics, n_lists, n_top):
    """``n_lists`` keyword lists, classes in turn, each of 4-11 words among
    its class topic's ``n_top`` most frequent (words other topics use too)."""
    L = np.full((counts.shape[0], n_lists), -1)
    for j in range(n_lists):
        c = j % len(topics)
        words = rng.choice(np.argsort(-topics[c])[:n_top], rng.randint(4, 12), replace=False)
        L[counts[:, words].sum(axis=1) > 0, j] = c
    return L


def run_seed(seed, regime):
    """Test accuracy of every method on one simulated task."""
    from sklearn.linear_model import LogisticRegression

    from skweak_e2e import (
        DawidSkene,
        LabelModelClassifier,
        MajorityVote,
        Snorkel,
        WeaSELClassifier,
    )

    X, L, y = make_task(seed, **REGIMES[regime])
    train, val = slice(0, N_TRAIN), slice(N_TRAIN, N_TRAIN + N_VAL)
    test = slice(N_TRAIN + N_VAL, None)
    X_train, L_train, y_test = X[train], L[train], y[test]
    out = {"coverage": float((L_train >= 0).any(axis=1).mean())}
    for name, model in [
        ("MV", MajorityVote()), ("DS", DawidSkene(random_state=0)),
        ("Snorkel", Snorkel(random_state=0)),
    ]:
        proba = model.fit(L_train).predict_proba(L[test])
        out[name] = float(np.mean(proba.argmax(axis=1) == y_test))
        two_stage = LabelModelClassifier(model, LogisticRegression(), random_state=0)
        out[name + "+LR"] = two_stage.fit(X_train, L_train).score(X[test], y_test)
    out["gold LR"] = LogisticRegression().fit(X_train, y[train]).score(X[test], y_test)
    for name, params in WEASEL.items():
        out["WeaSEL " + name] = float(np.mean([
            WeaSELClassifier(random_state=s, **params)
            .fit(X_train, L_train, X_val=X[val], y_val=y[val])
            .score(X[test], y_test)
            for s in (0, 1)
        ]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="data seeds 0..n-1")
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # convergence notes of the many small fits
    for regime in args.regimes:
        tic = time.perf_counter()
        runs = [run_seed(seed, regime) for seed in range(args.seeds)]
        methods = list(runs[0])
        rows = [
            [m] + [f"{100 * r[m]:.1f}" for r in runs] + [f"{100 * np.mean([r[m] for r in runs]):.1f}"]
            for m in methods
        ]
        head = ["method"] + [f"seed {s}" for s in range(args.seeds)] + ["mean"]
        print(rst_table(head, rows, title=f"{regime} documents {REGIMES[regime]} (test accuracy, %)"))
        print(f"{time.perf_counter() - tic:.0f} s\n", flush=True)


if __name__ == "__main__":
    main()
