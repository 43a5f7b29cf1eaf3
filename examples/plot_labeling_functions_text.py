"""
Writing labeling functions for text
===================================

Labeling functions are the usual way to write sources: small Python
functions that read one record and return a class index, or ``-1`` to
abstain. This example labels comments under music videos as spam (``1``) or
not (``0``, "ham") without labelling any training comment by hand:

* :func:`~skweak_e2e.labeling.keyword_lf` and
  :func:`~skweak_e2e.labeling.regex_lf` build the common rules;
* :func:`~skweak_e2e.labeling_function` turns any function into a source;
* :class:`~skweak_e2e.LFApplier` applies them and returns the label matrix;
* :class:`~skweak_e2e.LabelModelClassifier` trains a text classifier on
  the result.
"""

# %%
# A few comments
# --------------
# The comments are written for this example; the gold labels are kept only
# to evaluate the sources and the classifier.
import re

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skweak_e2e import (
    LabelModelClassifier,
    LFApplier,
    MajorityVote,
    labeling_function,
)
from skweak_e2e.labeling import keyword_lf, regex_lf
from skweak_e2e.metrics import source_summary
from skweak_e2e.plotting import plot_source_summary

HAM, SPAM, ABSTAIN = 0, 1, -1

comments = [
    ("Subscribe to my channel for daily beats!", SPAM),
    ("This song never gets old, pure nostalgia", HAM),
    ("Check out my new video http://vid.example/abc", SPAM),
    ("Her voice in the chorus gives me chills", HAM),
    ("Win a free phone, click here: www.prizes.example", SPAM),
    ("Who is still listening in 2024?", HAM),
    ("Please subscribe, I need 1000 subscribers", SPAM),
    ("Love this song so much", HAM),
    ("I make money from home, message me to learn how", SPAM),
    ("The drummer is amazing in this one", HAM),
    ("Check my channel, I cover this song on guitar", SPAM),
    ("My dad used to play this in the car", HAM),
    ("FREE gift cards at http://gifts.example", SPAM),
    ("Beautiful lyrics, beautiful video", HAM),
    ("Follow me on instagram for more music", SPAM),
    ("This was the song of our summer", HAM),
    ("Visit www.cheap-followers.example to grow your channel", SPAM),
    ("Classic. Nothing more to say", HAM),
    ("Hey guys, please check out my rap video", SPAM),
    ("The bridge at 2:30 is the best part", HAM),
    ("Earn $500 a day, link in my profile", SPAM),
    ("Can't stop dancing to this", HAM),
    ("Subscribe and like, I will subscribe back!", SPAM),
    ("Still a masterpiece after all these years", HAM),
    ("Go to http://promo.example for a free album", SPAM),
    ("I cried when I heard this live", HAM),
    ("Check out my channel please, new songs every week", SPAM),
    ("The video looks so good even today", HAM),
    ("Want free followers? Message me", SPAM),
    ("This song reminds me of my grandmother", HAM),
    ("Click here to win an iphone http://win.example", SPAM),
    ("Such a great melody", HAM),
    ("Please share my video, it means a lot www.my-video.example", SPAM),
    ("Best song of the decade", HAM),
    ("Make money online fast, ask me how", SPAM),
    ("The guitar solo gives me goosebumps", HAM),
    ("Follow my page for free beats", SPAM),
    ("I love the dance in this video", HAM),
    ("Subscribe to me and win a prize", SPAM),
    ("Listening to this on repeat", HAM),
    # held-out comments, used as the test set
    ("Check out my music, link in bio", SPAM),
    ("This song makes me so happy", HAM),
    ("Free subscribers here: http://subs.example", SPAM),
    ("The singer's voice is unreal", HAM),
    ("Please subscribe to my channel, thank you!", SPAM),
    ("Who else came here after the movie?", HAM),
    ("Win money now, click www.cash.example", SPAM),
    ("I love the piano intro", HAM),
    ("Follow me for daily covers of this song", SPAM),
    ("This video is a work of art", HAM),
    ("Earn free gift cards by watching my videos", SPAM),
    ("The best song to sing along to", HAM),
]
texts = [text for text, _ in comments]
y = np.array([label for _, label in comments])
texts_train, texts_test = texts[:40], texts[40:]
y_train, y_test = y[:40], y[40:]

# %%
# Ready-made labeling functions
# -----------------------------
# A keyword rule votes its class when one of the keywords occurs as a whole
# word (case-insensitive by default) and abstains otherwise; a regular
# expression rule votes when the pattern matches.
lf_subscribe = keyword_lf(
    ["subscribe", "subscribers", "my channel"], SPAM, name="subscribe"
)
lf_link = regex_lf(r"https?://|www\.", SPAM, name="link")
lf_money = keyword_lf(
    ["free", "win", "money", "earn", "click here"], SPAM, name="money"
)
lf_promo = keyword_lf(
    ["check out", "follow me", "follow my", "my video"], SPAM, name="promo"
)
lf_song = keyword_lf(
    ["song", "voice", "melody", "lyrics", "guitar"], HAM, name="music_words"
)

print(lf_subscribe("Please SUBSCRIBE to my channel"), lf_subscribe("great song"))


# %%
# Your own labeling functions
# ---------------------------
# Any function of one record works. The decorator names the source after the
# function; ``resources`` passes fixed keyword arguments (a lexicon, a
# fitted model...) to every call.
@labeling_function()
def short_comment(text):
    """Short comments without a link are rarely spam."""
    if len(text.split()) <= 6 and not re.search(r"https?://|www\.", text):
        return HAM
    return ABSTAIN


@labeling_function(
    resources={"words": {"love", "best", "amazing", "beautiful", "chills"}}
)
def enthusiasm(text, words):
    """Emotional words about the music."""
    tokens = set(re.findall(r"[a-z]+", text.lower()))
    return HAM if tokens & words else ABSTAIN


@labeling_function()
def first_person_ask(text):
    """'please ...', 'message me', 'ask me': requests to the reader."""
    if re.search(r"\bplease\b|\bmessage me\b|\bask me\b", text.lower()):
        return SPAM
    return ABSTAIN


lfs = [
    lf_subscribe,
    lf_link,
    lf_money,
    lf_promo,
    lf_song,
    short_comment,
    enthusiasm,
    first_person_ask,
]

# %%
# Apply them
# ----------
# :class:`~skweak_e2e.LFApplier` is a stateless scikit-learn transformer:
# ``transform`` calls every labeling function on every record and returns
# the label matrix, one column per function.
applier = LFApplier(lfs)
L_train = applier.fit_transform(texts_train)
L_test = applier.transform(texts_test)
print(applier.get_feature_names_out())
print(L_train[:6])

# %%
# How good are they?
# ------------------
# With a few gold labels (here the training labels, used for evaluation
# only) the summary shows each source's coverage, conflicts and accuracy.
names = list(applier.get_feature_names_out())
source_summary(L_train, y_train, source_names=names).round(2)

# %%
fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
plot_source_summary(L_train, y_train, source_names=names, ax=ax)

# %%
# The ``short_comment`` rule is the least accurate: short spam exists
# ("Want free followers? Message me"). It also has the most conflicts with
# the other sources, which is visible *without* gold labels: the
# ``conflict`` column is how one usually spots a rule to refine.
#
# A label model and a text classifier
# -----------------------------------
# The label model combines the votes; the classifier, a TF-IDF logistic
# regression on the raw text, learns from its soft labels and also labels
# the comments that no rule covers.
label_model = MajorityVote().fit(L_train)
print("comments without any vote:", int((L_train == ABSTAIN).all(axis=1).sum()))
print("majority vote on the test comments:", label_model.predict(L_test))

text_clf = LabelModelClassifier(
    label_model=MajorityVote(),
    estimator=make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=10.0),
    ),
)
text_clf.fit(texts_train, L_train)
print("test accuracy of the text classifier:", text_clf.score(texts_test, y_test))

# %%
# The classifier works on new text directly, with no labeling function at
# prediction time:
new = ["subscribe for free music", "what a beautiful voice", "link in my bio"]
for text, p in zip(new, text_clf.predict_proba(new)[:, SPAM]):
    print(f"P(spam) = {p:.2f}  {text}")

# %%
# The whole labelling step can also live in a scikit-learn pipeline, since
# :class:`~skweak_e2e.LFApplier` and the label models are transformers:
weak_labeler = make_pipeline(LFApplier(lfs), MajorityVote())
weak_labeler.fit(texts_train)
weak_labeler.predict_proba(texts_test[:3]).round(2)
