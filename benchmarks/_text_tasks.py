"""The text tasks of ``text_suite.py``: real texts, labeling functions as users write them.

:func:`load_text_task` returns, for one task, TF-IDF features, the label
matrices of its labeling functions (LFs) and the gold labels of three splits.

Tasks (:data:`TASKS`)
---------------------
``youtube``, ``yoruba``
    WRENCH sets with the LFs that WRENCH ships (10 and 7 sources); the
    validation split is WRENCH's whole ``valid.json`` (120 and 189 rows).
``imdb_narrow``, ``mr_narrow``
    Movie-review sentiment (IMDB: paragraph reviews; MR: one-sentence
    reviews), each with many narrow one-class rules (a phrase or a few
    synonyms per rule, different phrases in every rule of a class) plus three
    broad, low-precision fallbacks.
``imdb_lexicon``
    IMDB with a few broad keyword lists, a ``x/10`` rating rule and a
    sentiment-lexicon count (positive minus negative lexicon words).
``mr_keywords``
    MR with a few broad keyword lists plus three low-precision fallbacks.

The sentiment LFs were written from general knowledge of how reviewers
write, before any label of these data sets was looked at, and have not been
tuned since; their coverage and accuracy on the training split are reported
afterwards (``python -m benchmarks._text_tasks``), as a user would check
them. They are built with the library's own tools
(:func:`skweak_e2e.labeling.keyword_lf`, :func:`~skweak_e2e.labeling.regex_lf`,
:func:`~skweak_e2e.labeling.labeling_function`, :class:`skweak_e2e.LFApplier`).

Data and splits
---------------
Read in place: the WRENCH sets from ``$SKWEAK_E2E_WRENCH`` (see
``_common.py``) and the sentiment sets (JSON lines ``{"sentence", "label",
"idx"}``, ``train/dev/test``: 4000/1000/1000 rows) from
``$SKWEAK_E2E_TEXT``, else ``../shared/data/text`` beside the repository.
Validation is 250 gold rows drawn from the dev split with a fixed seed
(``RandomState(0)``), or the whole valid split when it is smaller.

Features: ``TfidfVectorizer(ngram_range=(1, 2), min_df=2,
max_features=20000, sublinear_tf=True)`` (accents stripped for Yoruba),
fitted on the training texts only; sparse CSR.

Built tasks are cached under ``benchmarks/results/text_cache/`` (git-ignored),
keyed by this file's source and the data files' sizes and times.
"""

import hashlib
import json
import os
import re

import numpy as np

from ._common import HERE, default_text_dir, default_wrench_dir

TASKS = (
    "youtube",
    "yoruba",
    "imdb_narrow",
    "imdb_lexicon",
    "mr_narrow",
    "mr_keywords",
)

N_VAL = 250
VAL_SEED = 0
CACHE_DIR = os.path.join(HERE, "results", "text_cache")

TFIDF_PARAMS = dict(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True)

NEG, POS = 0, 1
I = re.IGNORECASE


# --------------------------------------------------------------------------
# A hand-written sentiment lexicon (general-purpose review words)
# --------------------------------------------------------------------------

POS_LEXICON = frozenset(
    """
    good great excellent superb outstanding wonderful brilliant amazing awesome
    fantastic terrific marvelous marvellous magnificent masterful masterpiece
    beautiful beautifully lovely gorgeous stunning elegant charming delightful
    delight enjoyable enjoyed enjoy fun funny hilarious witty clever smart
    intelligent moving touching heartfelt heartwarming powerful gripping
    compelling engaging engrossing absorbing fascinating riveting captivating
    memorable remarkable impressive impressed inspired inspiring original
    fresh refreshing rich solid strong best perfect perfectly favorite
    favourite love loved loves lovable likable sweet tender warm wonderfully
    recommend recommended worth worthwhile satisfying rewarding thoughtful
    poignant haunting honest authentic genuine exceptional superbly flawless
    entertaining exciting thrilling intense tense suspenseful nicely nice
    fine classic gem treasure treat triumph success successful admirable
    wise insightful surprising unforgettable timeless glorious joy joyous
    """.split()
)

NEG_LEXICON = frozenset(
    """
    bad worse worst awful terrible horrible horrid dreadful atrocious lousy
    poor poorly weak lame dull boring bored tedious tiresome monotonous
    bland flat lifeless stale tired predictable formulaic clichéd cliched
    cliche cliches derivative generic uninspired unoriginal mediocre
    forgettable pointless senseless meaningless silly stupid dumb idiotic
    ridiculous absurd laughable ludicrous inept incompetent amateurish
    clumsy awkward sloppy messy mess confusing confused incoherent muddled
    pretentious overlong slow sluggish plodding unfunny annoying irritating
    obnoxious unbearable unwatchable painful disappointing disappointed
    disappointment waste wasted fails failed failure flop trash garbage
    crap junk ugly shallow hollow empty contrived forced implausible
    unconvincing unbelievable cheap cheesy hackneyed embarrassing
    embarrassed hate hated mediocrity nonsense worthless useless problem
    problems lacks lacking lackluster misguided overrated sadly unfortunately
    """.split()
)

_WORD = re.compile(r"[a-zé']+")


# --------------------------------------------------------------------------
# LF helpers
# --------------------------------------------------------------------------


def _lfs_module():
    from skweak_e2e.labeling import keyword_lf, labeling_function, regex_lf

    return keyword_lf, regex_lf, labeling_function


def _rules(pos_rules, neg_rules, prefix):
    """Narrow one-class rules: ``(name, regex)`` pairs, searched ignoring case."""
    _, regex_lf, _ = _lfs_module()
    lfs = [regex_lf(p, POS, flags=I, name=f"{prefix}pos_{n}") for n, p in pos_rules]
    lfs += [regex_lf(p, NEG, flags=I, name=f"{prefix}neg_{n}") for n, p in neg_rules]
    return lfs


def _lexicon_lf(margin, name):
    """Vote the sign of (#positive - #negative lexicon words) when it reaches ``margin``."""
    _, _, labeling_function = _lfs_module()

    @labeling_function(name=name, resources=dict(pos=POS_LEXICON, neg=NEG_LEXICON, m=margin))
    def lexicon(text, pos, neg, m):
        words = _WORD.findall(text.lower())
        score = sum(w in pos for w in words) - sum(w in neg for w in words)
        if score >= m:
            return POS
        if score <= -m:
            return NEG
        return -1

    return lexicon


def _rating_lf():
    """``7/10`` .. ``10/10`` (or "out of 10") votes positive, ``0/10`` .. ``4/10`` negative."""
    _, _, labeling_function = _lfs_module()
    pattern = re.compile(r"\b(\d{1,2}(?:\.\d)?)\s*(?:/|out of)\s*10\b", I)

    @labeling_function(name="rating_x_of_10", resources=dict(pattern=pattern))
    def rating(text, pattern):
        m = pattern.search(text)
        if m is None:
            return -1
        score = float(m.group(1))
        if score > 10:
            return -1
        if score >= 7:
            return POS
        if score <= 4:
            return NEG
        return -1

    return rating


# --------------------------------------------------------------------------
# The LF sets
# --------------------------------------------------------------------------


def imdb_narrow_lfs():
    """Many narrow one-class rules for paragraph reviews + three broad fallbacks."""
    keyword_lf, regex_lf, _ = _lfs_module()
    pos = [
        ("highly_recommend", r"\bhighly recommend"),
        ("must_see", r"\bmust[- ]see\b"),
        ("masterpiece", r"\bmasterpiece"),
        ("rating_high", r"\b(?:8|9|10)\s*(?:/|out of)\s*10\b"),
        ("one_of_the_best", r"\bone of the (?:very )?best\b"),
        ("tour_de_force", r"\btour de force\b"),
        ("loved_it", r"\bloved (?:this|it|every)\b"),
        ("beautifully", r"\bbeautifully (?:shot|filmed|made|done|acted|photographed|written)\b"),
        ("well_worth", r"\bwell worth\b"),
        ("superb", r"\bsuperb"),
        ("gem", r"\ba (?:real |true |little |hidden )?gem\b"),
        ("brilliant", r"\bbrillian(?:t|tly|ce)\b"),
        ("edge_of_seat", r"\bedge of (?:my|your|our) seats?\b"),
        ("stunning", r"\bstunning"),
        ("hilarious", r"\bhilarious"),
        ("a_classic", r"\b(?:a|an instant|a true) classic\b|\btimeless\b"),
        ("favorite", r"\bfavou?rite (?:movie|film|movies|films)\b"),
        ("wonderful", r"\bwonderful"),
        ("excellent", r"\bexcellent\b"),
        ("heartwarming", r"\bheart[- ]?warming\b|\btouching\b"),
        ("gripping", r"\bgripping\b|\bcaptivating\b|\briveting\b"),
        ("great_performance", r"\b(?:great|fine|strong|terrific|outstanding) performances?\b"),
        ("enjoyed", r"\b(?:really|thoroughly) enjoyed\b"),
        ("perfect", r"\bperfect(?:ly)? (?:cast|casting|performance|film|movie)\b"),
        ("ten_stars", r"\b10 stars\b|\bfive stars\b"),
        ("worth_watching", r"\bworth (?:watching|seeing|a look)\b"),
    ]
    neg = [
        ("waste_of", r"\bwaste of (?:time|money|talent|film|celluloid)\b"),
        ("worst", r"\bworst (?:movie|movies|film|films|acting|thing|ever)\b"),
        ("avoid", r"\bavoid (?:this|it|at all costs)\b"),
        ("rating_low", r"\b(?:0|1|2|3)\s*(?:/|out of)\s*10\b"),
        ("awful", r"\bawful\b"),
        ("terrible", r"\bterrible\b"),
        ("horrible", r"\bhorrible\b|\bhorrid\b"),
        ("boring", r"\bboring\b|\bbored\b"),
        ("poorly", r"\bpoorly (?:written|acted|made|directed|done|edited)\b"),
        ("bad_acting", r"\bbad acting\b|\bacting (?:was|is) (?:bad|terrible|awful|wooden)\b"),
        ("no_plot", r"\bno plot\b|\bplot holes?\b|\bno story\b"),
        ("laughable", r"\blaughabl[ey]\b"),
        ("stupid", r"\bstupid\b|\bidiotic\b"),
        ("pointless", r"\bpointless\b"),
        ("disappoint", r"\bdisappoint(?:ing|ed|ment)\b"),
        ("dont_bother", r"\bdo(?:n't| not) bother\b"),
        ("save_your", r"\bsave your (?:money|time)\b"),
        ("unwatchable", r"\bunwatchable\b"),
        ("fell_asleep", r"\bfell asleep\b"),
        ("dull", r"\bdull\b"),
        ("lame", r"\blame\b"),
        ("redeeming", r"\bredeeming (?:quality|qualities|value|feature|features)\b"),
        ("so_bad", r"\b(?:so|really|very|just) bad\b"),
        ("garbage", r"\bcrap\b|\bgarbage\b|\btrash\b"),
        ("annoying", r"\bannoying\b"),
        ("mess", r"\b(?:a|an utter|a complete|a total) mess\b"),
    ]
    lfs = _rules(pos, neg, "")
    # Broad, low-precision fallbacks (what a user adds "to raise coverage").
    lfs += [
        keyword_lf(["good", "great", "fun", "nice"], POS, name="fallback_pos_good_great"),
        keyword_lf(["bad", "worse", "nothing", "why"], NEG, name="fallback_neg_bad_nothing"),
        regex_lf(r"n't\b|\bnot\b", NEG, flags=I, name="fallback_neg_negation"),
    ]
    return lfs


def imdb_lexicon_lfs():
    """A few broad keyword lists, a rating rule and a lexicon count."""
    keyword_lf, _, _ = _lfs_module()
    return [
        keyword_lf(
            ["great", "excellent", "wonderful", "brilliant", "amazing", "superb",
             "masterpiece", "loved", "beautiful", "fantastic", "perfect", "best"],
            POS, name="kw_pos_praise",
        ),
        keyword_lf(
            ["recommend", "must see", "must-see", "worth watching", "enjoyed",
             "favorite", "favourite", "classic"],
            POS, name="kw_pos_recommend",
        ),
        keyword_lf(
            ["bad", "awful", "terrible", "horrible", "worst", "boring", "waste",
             "stupid", "poor", "dull", "lame", "crap"],
            NEG, name="kw_neg_insult",
        ),
        keyword_lf(
            ["avoid", "disappointing", "disappointed", "don't bother", "unwatchable",
             "pointless", "laughable", "redeeming"],
            NEG, name="kw_neg_warning",
        ),
        _rating_lf(),
        _lexicon_lf(2, name="lexicon_count_margin2"),
    ]


def mr_narrow_lfs():
    """Many narrow one-class rules for one-sentence reviews + three broad fallbacks."""
    keyword_lf, regex_lf, _ = _lfs_module()
    pos = [
        ("masterpiece", r"\bmasterpiece|\bmasterful"),
        ("beautiful", r"\bbeautiful(?:ly)?\b|\bgorgeous\b"),
        ("wonderful", r"\bwonderful(?:ly)?\b|\bterrific\b"),
        ("delight", r"\bdelight(?:ful|fully|s)?\b"),
        ("charming", r"\bcharm(?:ing|s)?\b"),
        ("moving", r"\bmoving\b|\btouching\b|\bpoignant\b"),
        ("compelling", r"\bcompelling\b|\bgripping\b|\bengrossing\b|\babsorbing\b"),
        ("remarkable", r"\bremarkabl[ey]\b|\bimpressive\b"),
        ("fascinating", r"\bfascinating\b|\bintriguing\b"),
        ("powerful", r"\bpowerful\b"),
        ("brilliant", r"\bbrillian(?:t|tly|ce)\b"),
        ("enjoyable", r"\benjoyable\b|\bentertaining\b"),
        ("witty", r"\bwitty\b|\bclever\b|\bsmart\b"),
        ("heartfelt", r"\bheartfelt\b|\bheart-?warming\b|\btender\b"),
        ("refreshing", r"\brefreshing\b|\bfresh\b"),
        ("excellent", r"\bexcellent\b|\bsuperb\b|\boutstanding\b"),
        ("well_made", r"\bwell-(?:acted|made|crafted|directed|written|observed)\b"),
        ("treat", r"\ba treat\b|\btreasure\b|\bgem\b"),
        ("rewarding", r"\brewarding\b|\bworthwhile\b|\bworth seeing\b"),
        ("thought_provoking", r"\bthought-provoking\b|\binsightful\b|\bintelligent\b"),
        ("best", r"\bthe best\b|\bone of the year's best\b"),
        ("funny_and", r"\bfunny and\b|\bhilarious\b"),
        ("performances", r"\b(?:fine|strong|terrific|wonderful|great) performances?\b"),
        ("beauty", r"\bbeauty\b|\bgrace\b"),
        ("affecting", r"\baffecting\b|\bhaunting\b"),
    ]
    neg = [
        ("bad", r"\bbad\b"),
        ("dull", r"\bdull\b|\blifeless\b"),
        ("boring", r"\bboring\b|\bbored\b"),
        ("mess", r"\bmess\b|\bmessy\b"),
        ("tedious", r"\btedious\b|\btiresome\b"),
        ("flat", r"\bflat\b|\bbland\b"),
        ("predictable", r"\bpredictable\b|\bformulaic\b"),
        ("stupid", r"\bstupid\b|\bdumb\b|\bidiotic\b"),
        ("worst", r"\bworst\b"),
        ("lame", r"\blame\b"),
        ("fails", r"\bfail(?:s|ed|ure)?\b"),
        ("waste", r"\bwaste(?:d)?\b"),
        ("pointless", r"\bpointless\b|\bempty\b|\bhollow\b"),
        ("unfunny", r"\bunfunny\b|\bnot funny\b"),
        ("awful", r"\bawful\b|\bterrible\b|\bhorrible\b"),
        ("slow", r"\bplodding\b|\bsluggish\b|\bslow\b"),
        ("too_long", r"\btoo (?:long|much|little|many)\b|\boverlong\b"),
        ("mediocre", r"\bmediocre\b|\bforgettable\b"),
        ("stale", r"\bstale\b|\btired\b"),
        ("cliche", r"\bclich[eé]"),
        ("pretentious", r"\bpretentious\b"),
        ("silly", r"\bsilly\b|\bridiculous\b"),
        ("lacks", r"\black(?:s|ing)\b"),
        ("contrived", r"\bcontrived\b|\bforced\b"),
        ("unpleasant", r"\bunpleasant\b|\bugly\b"),
    ]
    lfs = _rules(pos, neg, "")
    lfs += [
        keyword_lf(["good", "great", "fun", "life"], POS, name="fallback_pos_good_life"),
        regex_lf(r"n't\b|\bnot\b|\bno\b", NEG, flags=I, name="fallback_neg_negation"),
        keyword_lf(["too", "only", "just"], NEG, name="fallback_neg_too_only"),
    ]
    return lfs


def mr_keywords_lfs():
    """A few broad keyword lists + three low-precision fallbacks."""
    keyword_lf, regex_lf, _ = _lfs_module()
    return [
        keyword_lf(
            ["beautiful", "wonderful", "brilliant", "excellent", "superb", "terrific",
             "masterpiece", "delightful", "charming", "remarkable", "best"],
            POS, name="kw_pos_quality",
        ),
        keyword_lf(
            ["moving", "touching", "compelling", "gripping", "fascinating", "powerful",
             "funny", "witty", "clever", "entertaining", "enjoyable", "engrossing"],
            POS, name="kw_pos_experience",
        ),
        keyword_lf(
            ["bad", "awful", "terrible", "worst", "mess", "stupid", "dumb", "lame",
             "mediocre", "waste", "fails", "pointless"],
            NEG, name="kw_neg_quality",
        ),
        keyword_lf(
            ["dull", "boring", "tedious", "flat", "predictable", "bland", "slow",
             "plodding", "tired", "stale", "cliched", "contrived"],
            NEG, name="kw_neg_experience",
        ),
        keyword_lf(["good", "great", "fun", "life"], POS, name="fallback_pos_good_life"),
        regex_lf(r"n't\b|\bnot\b|\bno\b", NEG, flags=I, name="fallback_neg_negation"),
        keyword_lf(["too", "only", "just"], NEG, name="fallback_neg_too_only"),
    ]


_SENTIMENT = {
    "imdb_narrow": ("imdb", imdb_narrow_lfs),
    "imdb_lexicon": ("imdb", imdb_lexicon_lfs),
    "mr_narrow": ("mr", mr_narrow_lfs),
    "mr_keywords": ("mr", mr_keywords_lfs),
}
_WRENCH_LF_NAMES = {
    "youtube": [
        "keyword_my", "keyword_subscribe", "keyword_link", "keyword_please",
        "keyword_song", "regex_check_out", "short_comment", "has_person_nlp",
        "textblob_polarity", "textblob_subjectivity",
    ],
}


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _read_jsonl(path):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                texts.append(rec["sentence"])
                labels.append(int(rec["label"]))
    return texts, np.asarray(labels)


def _val_rows(n, seed=VAL_SEED, n_val=N_VAL):
    if n <= n_val:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, n_val, replace=False))


def _raw_task(name, data_dir):
    """Texts, label matrices, gold labels and class names of the three splits."""
    if name in _WRENCH_LF_NAMES or name == "yoruba":
        from skweak_e2e.datasets import load_wrench

        d = load_wrench(os.path.join(data_dir or default_wrench_dir(), name))
        v = _val_rows(len(d.valid.y))
        splits = {
            "train": (d.train.texts, d.train.L, d.train.y),
            "val": ([d.valid.texts[i] for i in v], d.valid.L[v], d.valid.y[v]),
            "test": (d.test.texts, d.test.L, d.test.y),
        }
        m = d.train.L.shape[1]
        lf_names = _WRENCH_LF_NAMES.get(name, [f"lf{j}" for j in range(m)])
        return splits, lf_names, list(d.target_names)
    if name not in _SENTIMENT:
        raise ValueError(f"unknown task {name!r}; expected one of {TASKS}")
    from skweak_e2e import LFApplier

    corpus, make_lfs = _SENTIMENT[name]
    root = os.path.join(data_dir or default_text_dir(), corpus)
    applier = LFApplier(make_lfs(), n_classes=2, progress_bar=False)
    splits = {}
    for split, fname in (("train", "train"), ("val", "dev"), ("test", "test")):
        texts, y = _read_jsonl(os.path.join(root, f"{fname}.json"))
        if split == "val":
            v = _val_rows(len(y))
            texts, y = [texts[i] for i in v], y[v]
        L = applier.fit_transform(texts) if split == "train" else applier.transform(texts)
        splits[split] = (texts, L, y)
    lf_names = [str(n) for n in applier.get_feature_names_out()]
    return splits, lf_names, ["negative", "positive"]


def _cache_key(name, data_dir):
    h = hashlib.sha1()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(repr(sorted(TFIDF_PARAMS.items())).encode())
    if name in _SENTIMENT:
        root = os.path.join(data_dir or default_text_dir(), _SENTIMENT[name][0])
    else:
        root = os.path.join(data_dir or default_wrench_dir(), name)
    for fname in sorted(os.listdir(root)):
        st = os.stat(os.path.join(root, fname))
        h.update(f"{fname}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def load_text_task(name, data_dir=None, cache=True):
    """One text task: TF-IDF features, LF votes and gold labels of three splits.

    Parameters
    ----------
    name : str
        One of :data:`TASKS`.
    data_dir : str, default=None
        Root holding the task's corpus folder (``youtube``/``yoruba`` for the
        WRENCH tasks, ``imdb``/``mr`` for the others); default
        ``$SKWEAK_E2E_WRENCH`` or ``$SKWEAK_E2E_TEXT`` (see ``_common.py``).
    cache : bool, default=True
        Read/write the built task under ``benchmarks/results/text_cache/``.

    Returns
    -------
    task : sklearn.utils.Bunch
        ``X_train``, ``X_val``, ``X_test`` (CSR TF-IDF), ``L_train``,
        ``L_val``, ``L_test`` (int8, ``-1`` = abstain), ``y_train``,
        ``y_val``, ``y_test``, ``lf_names``, ``target_names``, ``n_classes``,
        ``text_train`` (list of str), ``name`` and ``features`` (a one-line
        description).
    """
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.utils import Bunch

    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {TASKS}")
    path = None
    if cache:
        path = os.path.join(CACHE_DIR, f"{name}-{_cache_key(name, data_dir)}.joblib")
        if os.path.exists(path):
            return joblib.load(path)

    splits, lf_names, target_names = _raw_task(name, data_dir)
    strip = "unicode" if name == "yoruba" else None
    vec = TfidfVectorizer(strip_accents=strip, **TFIDF_PARAMS)
    X_train = vec.fit_transform(splits["train"][0]).tocsr()
    task = Bunch(
        name=name,
        X_train=X_train,
        X_val=vec.transform(splits["val"][0]).tocsr(),
        X_test=vec.transform(splits["test"][0]).tocsr(),
        L_train=np.asarray(splits["train"][1], dtype=np.int8),
        L_val=np.asarray(splits["val"][1], dtype=np.int8),
        L_test=np.asarray(splits["test"][1], dtype=np.int8),
        y_train=np.asarray(splits["train"][2], dtype=np.int64),
        y_val=np.asarray(splits["val"][2], dtype=np.int64),
        y_test=np.asarray(splits["test"][2], dtype=np.int64),
        lf_names=list(lf_names),
        target_names=list(target_names),
        n_classes=len(target_names),
        text_train=list(splits["train"][0]),
        features=(
            "TF-IDF (word 1-2-grams, min_df=2, max 20000 terms, sublinear tf"
            f"{', accents stripped' if strip else ''}; {X_train.shape[1]} terms), "
            "fitted on the training texts"
        ),
    )
    if cache:
        os.makedirs(CACHE_DIR, exist_ok=True)
        joblib.dump(task, path)
    return task


def lf_summary(task):
    """Per-task LF statistics on the training split (as a user checks them).

    Returns a dict: number of LFs, coverage (rows with at least one vote),
    mean LF coverage, vote-weighted LF accuracy, min/max LF accuracy, and
    per-LF ``(name, coverage, accuracy)``.
    """
    L, y = task.L_train.astype(int), task.y_train
    voted = L >= 0
    cov = voted.mean(0)
    correct = (L == y[:, None]) & voted
    n_votes = voted.sum(0)
    acc = np.where(n_votes > 0, correct.sum(0) / np.maximum(n_votes, 1), np.nan)
    return dict(
        n_lfs=L.shape[1],
        coverage=float(voted.any(1).mean()),
        overlap=float((voted.sum(1) >= 2).mean()),
        mean_lf_coverage=float(cov.mean()),
        vote_accuracy=float(correct.sum() / max(voted.sum(), 1)),
        min_lf_accuracy=float(np.nanmin(acc)),
        max_lf_accuracy=float(np.nanmax(acc)),
        per_lf=[(n, float(c), float(a)) for n, c, a in zip(task.lf_names, cov, acc)],
    )


def main(argv=None):
    """The LF report on the training splits (coverage, overlap, accuracy)."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    p.add_argument("--per-lf", action="store_true", help="also list every LF")
    args = p.parse_args(argv)
    for t in args.tasks:
        task = load_text_task(t)
        s = lf_summary(task)
        print(
            f"{t:14s} n={task.L_train.shape[0]}/{len(task.y_val)}/{len(task.y_test)} "
            f"LFs={s['n_lfs']:3d} coverage={s['coverage']:.3f} overlap={s['overlap']:.3f} "
            f"mean LF cov={s['mean_lf_coverage']:.3f} vote acc={s['vote_accuracy']:.3f} "
            f"LF acc [{s['min_lf_accuracy']:.2f}, {s['max_lf_accuracy']:.2f}] "
            f"terms={task.X_train.shape[1]}"
        )
        if args.per_lf:
            for n, c, a in s["per_lf"]:
                print(f"    {n:32s} cov={c:.3f} acc={a:.3f}")


if __name__ == "__main__":
    main()
