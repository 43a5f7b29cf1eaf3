"""
The snorkel spam tutorial, ported
=================================

snorkel's introductory tutorial labels YouTube comments as spam or ham with
labeling functions, combines them with a label model and trains a
bag-of-n-grams classifier on the result. This example ports it step by
step; each step names the snorkel (0.10) call it replaces and every place
where the behaviour differs. :ref:`coming_from_snorkel` lists the same
correspondences as a table.

The tutorial reads the YouTube comments data set, which the documentation
cannot download; the comments below are generated in memory from short
phrases, with the same columns (``author``, ``date``, ``text``, ``label``,
``video``) and the same label convention: ``SPAM = 1``, ``HAM = 0``,
``ABSTAIN = -1``.
"""

# %%
# The data
# --------
# Comments are built from spam and ham phrases; a few ham comments use
# spammy words ("check", "my") and a few spam comments avoid them, so that
# the labeling functions make mistakes, as real ones do.
import numpy as np
import pandas as pd

ABSTAIN, HAM, SPAM = -1, 0, 1

SPAM_PHRASES = [
    "check out my channel", "check out my new video", "please subscribe",
    "subscribe to my channel", "plz subscribe to me", "visit http://beats.example",
    "free gift cards at https://gifts.example", "i will subscribe back",
    "make money from home", "follow me on instagram", "please share my video",
    "my covers are on my channel", "go to www.promo.example", "hey guys i sing too",
]
HAM_PHRASES = [
    "i love this song", "this song is amazing", "her voice is beautiful",
    "best song ever", "still listening in 2014", "who is watching in 2015",
    "this video made my day", "the beat is so good", "so catchy",
    "this reminds me of my summer", "check the drummer at 2:30", "great video",
    "my favourite song", "love it", "wow",
]
FILLERS = ["", "", "", " lol", " :)", " !!!", " omg"]


def make_comments(n, seed):
    rng = np.random.RandomState(seed)
    label = (rng.random_sample(n) < 0.45).astype(int)  # 45% spam
    texts = []
    for is_spam in label:
        phrases = SPAM_PHRASES if is_spam else HAM_PHRASES
        k = rng.choice([1, 2], p=[0.6, 0.4])
        words = " and ".join(rng.choice(phrases, size=k, replace=False))
        texts.append(words.capitalize() + rng.choice(FILLERS))
    year = rng.choice(["2013", "2014", "2015"], size=n, p=[0.2, 0.5, 0.3])
    return pd.DataFrame(
        {
            "author": [f"user{i}" for i in rng.randint(0, 10**6, size=n)],
            "date": [f"{y}-0{m}-1{d}" for y, m, d in zip(year, rng.randint(1, 10, n),
                                                          rng.randint(0, 10, n))],
            "text": texts,
            "label": label,
            "video": rng.randint(1, 6, size=n),
        }
    )


df_train = make_comments(1500, seed=0)
df_dev = make_comments(150, seed=1)  # a few labelled rows for analysis
df_test = make_comments(500, seed=2)
y_dev, y_test = df_dev.label.to_numpy(), df_test.label.to_numpy()
df_train.head(3)

# %%
# Labeling functions
# ------------------
# snorkel: ``@labeling_function()`` on ``def f(x)``, where ``x`` is a pandas
# Series (a row). Here the decorator is the same and ``x`` is a light record
# with the same access (``x.text``, ``x["text"]``); ``row_type="series"``
# gives a real Series, at about ten times the cost.
#
# The tutorial's keyword functions test ``keyword in x.text.lower()``, a
# substring test. :func:`~skweak_e2e.labeling.keyword_lf` matches *whole
# words* by default, so ``"http"`` would not fire on ``"https"`` and
# ``"my"`` not on ``"myself"``; ``whole_words=False`` gives the tutorial's
# behaviour. ``field="text"`` is required on DataFrame rows: without it the
# function raises instead of searching the whole row (dates, author names
# and column names included).
import re

from skweak_e2e import LFApplier, labeling_function
from skweak_e2e.labeling import keyword_lf, preprocessor


def substring_lf(word, label):
    return keyword_lf(word, label, field="text", whole_words=False,
                      name=f"keyword_{word}")


keyword_my = substring_lf("my", SPAM)
keyword_subscribe = substring_lf("subscribe", SPAM)
keyword_link = substring_lf("http", SPAM)
keyword_please = keyword_lf(["please", "plz"], SPAM, field="text",
                            whole_words=False, name="keyword_please")
keyword_song = substring_lf("song", HAM)


@labeling_function()
def check(x):
    return SPAM if "check" in x.text.lower() else ABSTAIN


@labeling_function()
def check_out(x):
    return SPAM if re.search(r"check.*out", x.text, flags=re.I) else ABSTAIN


# %%
# Preprocessors
# -------------
# snorkel: ``@preprocessor(memoize=True)`` adds fields to the data point
# (the tutorial runs TextBlob for sentiment and spaCy for named entities).
# Here :func:`~skweak_e2e.labeling.preprocessor` works the same way: it
# receives a copy of the record, may set new fields on it, and returns it;
# the labeling function lists it in ``pre=``. With ``memoize=True`` the
# output is computed once per record and shared between the functions that
# use it, within one ``transform`` call (snorkel keeps a cache until
# reset). snorkel's ``nlp_labeling_function`` (a spaCy parse in ``x.doc``) is
# the same pattern: a memoized preprocessor that sets ``x.doc =
# nlp(x.text)``, listed in ``pre=``. To stay self-contained, a small word
# list stands in for TextBlob's sentiment model, and the spaCy-based rule
# is left out.
POSITIVE = {"love", "amazing", "beautiful", "best", "good", "great", "favourite"}


@preprocessor(memoize=True)
def words(x):
    x.words = re.findall(r"[a-z']+", x.text.lower())
    return x


@labeling_function(pre=[words])
def short_comment(x):
    return HAM if len(x.words) < 5 else ABSTAIN


@labeling_function(pre=[words])
def positive(x):
    return HAM if sum(w in POSITIVE for w in x.words) >= 1 else ABSTAIN


lfs = [check, check_out, keyword_my, keyword_subscribe, keyword_link,
       keyword_please, keyword_song, short_comment, positive]

# %%
# Applying them
# -------------
# snorkel: ``PandasLFApplier(lfs=lfs).apply(df=df_train)``. Here the applier
# is a scikit-learn transformer: ``fit_transform``. ``L`` is the same matrix
# (``-1`` = abstain), stored in the smallest integer type.
applier = LFApplier(lfs)
L_train = applier.fit_transform(df_train)
L_dev = applier.transform(df_dev)
L_test = applier.transform(df_test)
L_train.shape, L_train.dtype

# %%
# What a row-wide search would have done: a rule for ``"2014"`` written
# against the whole row finds the year in the ``date`` column, not in the
# comment.
row_wide = LFApplier([labeling_function(name="in_row")(
    lambda x: HAM if "2014" in str(x) else ABSTAIN)]).fit_transform(df_train)
in_text = LFApplier([keyword_lf("2014", HAM, field="text")]).fit_transform(df_train)
print(f"coverage of '2014': whole row {np.mean(row_wide >= 0):.1%}, "
      f"text only {np.mean(in_text >= 0):.1%}")

# %%
# Analysing the labeling functions
# --------------------------------
# snorkel: ``LFAnalysis(L=L_train, lfs=lfs).lf_summary()`` (and with
# ``Y=Y_dev`` the empirical accuracies). Here
# :func:`~skweak_e2e.metrics.source_summary` gives polarity, coverage,
# overlap and conflict per function, and ``correct``, ``incorrect`` and
# ``accuracy`` with gold labels; ``source_names=lfs`` names the rows.
from skweak_e2e.metrics import label_buckets, label_matrix_summary, source_summary

source_summary(L_dev, y_dev, source_names=lfs)

# %%
# snorkel: ``label_coverage()``, ``label_overlap()``, ``label_conflict()``.
label_matrix_summary(L_train)

# %%
# Error analysis. snorkel: ``get_label_buckets(Y_dev, L_dev[:, 0])``. Here
# :func:`~skweak_e2e.metrics.label_buckets` returns the same dictionary:
# the ham comments on which ``check`` voted spam are
buckets = label_buckets(y_dev, L_dev[:, lfs.index(check)])
df_dev.iloc[buckets[(HAM, SPAM)]].text.head()

# %%
# Label models
# ------------
# snorkel: ``MajorityLabelVoter()`` and ``LabelModel(cardinality=2)`` with
# ``fit(L_train, n_epochs=500, log_freq=100, seed=123)``; the tutorial then
# scores both with ``tie_break_policy="random"``. Here every setting goes to
# the constructor (``n_classes`` is inferred; ``random_state`` is the seed;
# ties are the ``tie_break`` parameter), ``fit`` takes ``L`` only, and
# ``score`` returns the accuracy as a float. A tie that abstains counts as an
# error. Python's keyword errors point to these names when snorkel's are
# used. One default differs on purpose: every LF here votes for one class,
# and :class:`~skweak_e2e.Snorkel` starts such rules at their majority-vote
# rates and holds them near there (``init="auto"``, ``l2="auto"``), where
# snorkel starts them on a fixed precision guess; ``init="precision"`` is
# snorkel's fit, step by step.
from skweak_e2e import MajorityVote, Snorkel

majority_model = MajorityVote(method="argmax", tie_break="random", random_state=0)
majority_model.fit(L_train)
label_model = Snorkel(n_epochs=500, random_state=123, tie_break="random")
label_model.fit(L_train)
as_snorkel = Snorkel(n_epochs=500, init="precision", random_state=123,
                     tie_break="random").fit(L_train)
print(f"majority vote accuracy:                  {majority_model.score(L_test, y_test):.3f}")
print(f"label model accuracy:                    {label_model.score(L_test, y_test):.3f}")
print(f"label model accuracy, snorkel's start:   {as_snorkel.score(L_test, y_test):.3f}")

# %%
# Both assume a uniform class prior (snorkel's default). snorkel can read it
# from dev labels (``Y_dev``); here
# :func:`~skweak_e2e.label_model.estimate_class_prior` does that, and
# ``class_prior="estimate"`` estimates it from the votes alone, with no
# label. It matters on imbalanced data (see
# :ref:`sphx_glr_auto_examples_plot_class_imbalance.py`); these comments are
# close to balanced, and the estimate is not expected to help.
from skweak_e2e.label_model import estimate_class_prior

print("prior from 150 dev labels:", estimate_class_prior(L_dev, y_dev).round(3))
estimated = Snorkel(n_epochs=500, random_state=123, tie_break="random",
                    class_prior="estimate").fit(L_train)
print("prior from the votes:     ", estimated.class_prior_.round(3))
print(f"label model accuracy with it: {estimated.score(L_test, y_test):.3f}")

# %%
# Training a classifier
# ---------------------
# snorkel: ``predict_proba``, then ``filter_unlabeled_dataframe`` to drop
# the comments without any vote, ``probs_to_preds`` (ties at random) and a
# scikit-learn ``LogisticRegression(C=1e3, solver="liblinear")`` on
# ``CountVectorizer(ngram_range=(1, 5))`` features. Here
# :class:`~skweak_e2e.LabelModelClassifier` does all of it in one estimator:
# it drops the uncovered rows (``drop_uncovered=True``; to do it by hand,
# ``df_train[is_covered(L_train)]``), and with ``soft_labels=False`` it
# trains on hard labels, ties broken at random like ``probs_to_preds``.
#
# Its default is ``soft_labels=True``: it trains on the probabilities
# themselves (by sample weights), which the tutorial does not do; the two
# can give different classifiers, so a port should pass
# ``soft_labels=False``.
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skweak_e2e import LabelModelClassifier
from skweak_e2e.utils import is_covered

print(f"comments with a vote: {is_covered(L_train).mean():.1%}")


def bag_of_ngrams():
    return make_pipeline(CountVectorizer(ngram_range=(1, 5)),
                         LogisticRegression(C=1e3, solver="liblinear"))


for soft in (False, True):
    clf = LabelModelClassifier(
        Snorkel(n_epochs=500, random_state=123), bag_of_ngrams(),
        soft_labels=soft, random_state=0,
    ).fit(df_train.text, L_train)
    kind = "soft" if soft else "hard (as the tutorial)"
    print(f"test accuracy, {kind} labels: {clf.score(df_test.text, y_test):.3f}")

# %%
# Saving and reusing
# ------------------
# snorkel: ``label_model.save(path)`` and ``load``. Every estimator here is
# picklable (``joblib.dump``), and ``LFApplier`` and the label model chain
# in a ``Pipeline`` from raw comments to labels:
labeler = make_pipeline(LFApplier(lfs), Snorkel(n_epochs=500, random_state=123))
labeler.fit(df_train).predict(df_test.head())
