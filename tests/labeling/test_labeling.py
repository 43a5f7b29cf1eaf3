"""Tests of labeling functions, the helpers and LFApplier."""

import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skweak_e2e import LabelingFunction, LFApplier, MajorityVote, labeling_function
from skweak_e2e.labeling import (
    LabelingFunctionError,
    keyword_lf,
    model_lf,
    regex_lf,
)

HAM, SPAM, ABSTAIN = 0, 1, -1

# A YouTube-comments-like toy corpus (spam = 1), written for these tests.
TEXTS = [
    "Check out my channel for free gift cards http://bit.ly/abc",
    "This song is amazing, I love it",
    "Subscribe to me and I will subscribe back!!",
    "Who is still listening in 2015?",
    "Visit https://www.example.com/win to win an iPhone",
    "Love this video, great song",
    "please subscribe to my channel",
    "Katy Perry is the best",
    "omg",
    "Go to my channel, I make music covers",
    "This song never gets old <3",
    "Checkout these awesome offers www.deals.example",
]
GOLD = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1])


@labeling_function()
def lf_short(text):
    """Short comments are usually genuine."""
    return HAM if len(text.split()) <= 5 else ABSTAIN


@labeling_function(name="lf_has_link")
def has_link_impl(record):
    return SPAM if "http" in record["text"] else ABSTAIN


@labeling_function
def lf_bare(text):
    return ABSTAIN


def youtube_lfs(field=None):
    short = lf_short
    if field is not None:
        short = LabelingFunction(lambda r: lf_short(r[field]), name="lf_short")
    return [
        keyword_lf(["my channel", "subscribe"], SPAM, field=field, name="kw_spam"),
        regex_lf(r"https?://|www\.", SPAM, field=field, name="link"),
        keyword_lf(["song", "love"], HAM, field=field, name="kw_ham"),
        short,
        keyword_lf("check", SPAM, field=field, name="kw_check"),
    ]


# Hand-computed: columns kw_spam, link, kw_ham, lf_short, kw_check.
EXPECTED_L = np.array(
    [
        [1, 1, -1, -1, 1],  # "Check out my channel ... http://"
        [-1, -1, 0, -1, -1],  # song, love
        [1, -1, -1, -1, -1],  # Subscribe (case-insensitive)
        [-1, -1, -1, -1, -1],  # six words, no keyword: uncovered
        [-1, 1, -1, -1, -1],  # https://
        [-1, -1, 0, 0, -1],  # Love ... song, five words
        [1, -1, -1, 0, -1],  # subscribe, five words: conflict
        [-1, -1, -1, 0, -1],
        [-1, -1, -1, 0, -1],
        [1, -1, -1, -1, -1],  # "my channel," (punctuation is a word boundary)
        [-1, -1, 0, -1, -1],
        [-1, 1, -1, 0, -1],  # www., five words; "Checkout" is not "check"
    ]
)
# Majority vote with ties -> -1: rows 3 (uncovered), 6 and 11 (1 vs 1).
EXPECTED_MV = np.array([1, 0, 1, -1, 1, 0, -1, 0, 0, 1, 0, -1])


# --------------------------------------------------------------------------
# LabelingFunction and the decorator
# --------------------------------------------------------------------------
def test_decorator_name_resources_and_call():
    assert isinstance(lf_short, LabelingFunction)
    assert lf_short.name == "lf_short" and not lf_short.batch
    assert lf_short("omg") == HAM and lf_short(TEXTS[0]) == ABSTAIN
    assert lf_short.__doc__ == "Short comments are usually genuine."
    assert has_link_impl.name == "lf_has_link"
    assert lf_bare.name == "lf_bare" and lf_bare("x") == ABSTAIN
    assert repr(lf_short) == "LabelingFunction(name='lf_short')"

    @labeling_function(name="lexicon", resources={"words": {"spam", "free"}})
    def lexicon(text, words):
        return SPAM if words & set(text.lower().split()) else ABSTAIN

    assert lexicon("Free stuff") == SPAM and lexicon("hello") == ABSTAIN
    assert lexicon.resources == {"words": {"spam", "free"}}


def test_labeling_function_bad_arguments():
    with pytest.raises(ValueError, match="no usable name"):
        LabelingFunction(lambda x: -1)
    assert LabelingFunction(lambda x: -1, name="neg").name == "neg"
    with pytest.raises(TypeError, match="callable"):
        LabelingFunction("not callable", name="x")
    with pytest.raises(TypeError, match="resources must be a dict"):
        LabelingFunction(len, resources=[1])
    with pytest.raises(TypeError, match="non-empty string"):
        LabelingFunction(len, name="")


def test_pickle_round_trip_of_decorated_and_helper_lfs():
    clf = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    lfs = youtube_lfs() + [lf_short, has_link_impl, model_lf(clf, threshold=0.5)]
    for lf in lfs:
        lf2 = pickle.loads(pickle.dumps(lf))
        assert lf2.name == lf.name and lf2.batch == lf.batch
    # The decorated module-level function is stored by reference and still
    # works after the round trip.
    again = pickle.loads(pickle.dumps(has_link_impl))
    assert again({"text": "http://a"}) == SPAM and again({"text": "a"}) == ABSTAIN
    assert pickle.loads(pickle.dumps(lf_short))("omg") == HAM


def test_error_is_picklable_with_its_fields():
    err = LabelingFunctionError("boom", "lf_x", 17)
    err2 = pickle.loads(pickle.dumps(err))
    assert (str(err2), err2.lf_name, err2.record_index) == ("boom", "lf_x", 17)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def test_keyword_lf_matching_rules():
    lf = keyword_lf(["check", "my channel"], SPAM)
    assert lf.name == "keyword_check_my_channel"
    assert [
        lf(t) for t in ["CHECK this", "checkout", "in my channel.", "mychannel"]
    ] == [
        1,
        -1,
        1,
        -1,
    ]
    sub = keyword_lf("check", SPAM, whole_words=False, case_sensitive=True)
    assert [sub(t) for t in ["checkout", "Check"]] == [1, -1]
    # Keywords with regex metacharacters are literal; missing texts abstain.
    odd = keyword_lf(["c++", "$$$"], 2, field="text")
    assert odd({"text": "I code in C++"}) == 2 and odd({"text": "win $$$ now"}) == 2
    assert odd({"text": "c"}) == -1
    assert odd({"text": None}) == -1 and odd({"text": float("nan")}) == -1
    with pytest.raises(ValueError, match="keywords must be"):
        keyword_lf([], 1)
    with pytest.raises(ValueError, match="label must be a class index"):
        keyword_lf("x", -1)
    with pytest.raises(ValueError, match="label must be a class index"):
        keyword_lf("x", True)


def test_regex_lf_ignores_case_like_keyword_lf():
    """Bug report: a ``^what does`` rule silently never fired on "What does"."""
    texts = ["What does it cost", "what does it cost", "WHAT DOES"]
    assert [regex_lf(r"^what does", 1)(t) for t in texts] == [1, 1, 1]
    assert [keyword_lf("what", 1)(t) for t in texts] == [1, 1, 1]
    exact = regex_lf(r"^what does", 1, case_sensitive=True)
    assert [exact(t) for t in texts] == [-1, 1, -1]
    assert [keyword_lf("what", 1, case_sensitive=True)(t) for t in texts] == [-1, 1, -1]


def test_regex_lf_flags_fields_and_errors():
    lf = regex_lf(r"^free", 1, flags=re.MULTILINE, field=0)
    assert lf(("FREE gift", 3)) == 1 and lf(("a free gift", 3)) == -1
    assert lf(("a\nfree", 3)) == 1
    assert regex_lf(re.compile(r"\d{3}"), 0, name="digits")("call 555") == 0
    with pytest.raises(ValueError, match="Invalid regular expression"):
        regex_lf("(", 1)
    with pytest.raises(ValueError, match="flags cannot be combined"):
        regex_lf(re.compile("a"), 1, flags=re.IGNORECASE)
    with pytest.raises(TypeError, match="pattern must be"):
        regex_lf(3, 1)


def test_field_access_on_every_row_type():
    frame = pd.DataFrame({"text": ["free http://x", "hi"], "n": [1, 2]})
    lf = regex_lf("http", SPAM, field="text")
    for row_type in ("record", "series", "dict"):
        L = LFApplier([lf], row_type=row_type).fit_transform(frame)
        assert L.ravel().tolist() == [1, -1], row_type


def test_default_rows_behave_like_series():
    frame = pd.DataFrame({"text": ["a b", "c"], "my col": [1, 2], 3: ["x", "y"]})
    seen = []

    @labeling_function()
    def lf_probe(row):
        seen.append(
            (
                row.text,
                row["text"],
                row.get("text"),
                row[0],
                row["my col"],
                row[2],
                row.get("missing", "?"),
                row.keys(),
            )
        )
        return ABSTAIN

    LFApplier([lf_probe]).fit_transform(frame)
    assert seen == [
        ("a b", "a b", "a b", "a b", 1, "x", "?", ["text", "my col", 3]),
        ("c", "c", "c", "c", 2, "y", "?", ["text", "my col", 3]),
    ]

    @labeling_function()
    def lf_series_probe(row):
        seen.append((type(row).__name__, row.text, row["my col"]))
        return ABSTAIN

    seen.clear()
    LFApplier([lf_series_probe], row_type="series").fit_transform(frame)
    assert seen == [("Series", "a b", 1), ("Series", "c", 2)]


class _CountingModel:
    """A duck-typed fitted 'classifier' on 1-D inputs that counts its calls."""

    classes_ = np.array([0, 1])

    def __init__(self):
        self.calls = 0

    def predict_proba(self, X):
        self.calls += 1
        x = np.asarray(X, dtype=float).ravel()
        p1 = 1.0 / (1.0 + np.exp(-x))
        return np.column_stack([1 - p1, p1])

    def predict(self, X):
        self.calls += 1
        return (np.asarray(X, dtype=float).ravel() > 0).astype(int)


def test_model_lf_is_vectorised_one_call_per_chunk():
    model = _CountingModel()
    lf = model_lf(model, threshold=0.8, name="m")
    assert lf.batch
    x = np.linspace(-3, 3, 25)
    L = LFApplier([lf], batch_size=10).fit_transform(x)
    assert model.calls == 3  # chunks of 10, 10, 5 records
    p1 = 1 / (1 + np.exp(-x))
    expected = np.where(p1 >= 0.8, 1, np.where(p1 <= 0.2, 0, -1))
    np.testing.assert_array_equal(L.ravel(), expected)
    # threshold=None votes predict() everywhere.
    L = LFApplier([model_lf(model, name="m")]).fit_transform(x)
    np.testing.assert_array_equal(L.ravel(), (x > 0).astype(int))


def test_model_lf_text_pipeline_known_answer():
    vec_clf = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0))
    vec_clf.fit(TEXTS, GOLD)
    lf = model_lf(vec_clf, threshold=0.6)
    assert lf.name == "model_LogisticRegression"
    proba = vec_clf.predict_proba(TEXTS)
    expected = np.where(proba.max(axis=1) >= 0.6, proba.argmax(axis=1), -1)
    frame = pd.DataFrame({"text": TEXTS, "id": range(12)})
    for records, field in [(TEXTS, None), (frame, "text"), (np.array(TEXTS), None)]:
        lf = model_lf(vec_clf, threshold=0.6, field=field)
        L = LFApplier([lf], batch_size=5).fit_transform(records)
        np.testing.assert_array_equal(L.ravel(), expected)
    # A field read record by record from a list of dicts.
    dicts = [{"text": t} for t in TEXTS]
    L = LFApplier([model_lf(vec_clf, threshold=0.6, field="text")]).fit_transform(dicts)
    np.testing.assert_array_equal(L.ravel(), expected)


def test_model_lf_errors():
    with pytest.raises(NotFittedError):
        model_lf(LogisticRegression())
    X, y = np.array([[0.0], [1.0]]), np.array(["ham", "spam"])
    with pytest.raises(ValueError, match="class indices"):
        model_lf(LogisticRegression().fit(X, y))
    model = _CountingModel()
    no_proba = type(
        "NoProba", (), {"classes_": np.array([0, 1]), "predict": lambda self, X: X}
    )()
    with pytest.raises(TypeError, match="threshold needs predict_proba"):
        model_lf(no_proba, threshold=0.5)
    with pytest.raises(ValueError, match="threshold"):
        model_lf(model, threshold=1.5)


# --------------------------------------------------------------------------
# LFApplier
# --------------------------------------------------------------------------
def test_youtube_toy_known_label_matrix_on_every_input_type():
    lfs = youtube_lfs()
    applier = LFApplier(lfs)
    np.testing.assert_array_equal(applier.fit_transform(TEXTS), EXPECTED_L)
    assert applier.n_sources_ == 5 and applier.lfs_[0].name == "kw_spam"
    np.testing.assert_array_equal(applier.transform(tuple(TEXTS)), EXPECTED_L)
    np.testing.assert_array_equal(applier.transform(np.array(TEXTS)), EXPECTED_L)
    np.testing.assert_array_equal(applier.transform(pd.Series(TEXTS)), EXPECTED_L)
    np.testing.assert_array_equal(applier.transform(iter(TEXTS)), EXPECTED_L)
    frame = pd.DataFrame({"text": TEXTS, "author": ["a"] * 12})
    L = LFApplier(youtube_lfs(field="text")).fit_transform(frame)
    np.testing.assert_array_equal(L, EXPECTED_L)
    assert L.dtype == np.int8
    names = ["kw_spam", "link", "kw_ham", "lf_short", "kw_check"]
    assert applier.get_feature_names_out().tolist() == names


def test_pipeline_with_a_label_model():
    lm = MajorityVote(tie_break="abstain")  # ties as -1, to count them below
    pipe = Pipeline([("lfs", LFApplier(youtube_lfs())), ("lm", lm)])
    proba = pipe.fit_transform(TEXTS)
    expected = MajorityVote().fit(EXPECTED_L).predict_proba(EXPECTED_L)
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(pipe.predict(TEXTS), EXPECTED_MV)
    # Against the gold labels: 9 rows decided, all correct; 3 ties count as errors.
    assert pipe.score(TEXTS, GOLD) == pytest.approx(9 / 12)
    # The label model sees the LF names when the applier outputs a DataFrame.
    pipe.set_output(transform="pandas")
    pipe.fit(TEXTS)
    assert list(pipe[-1].feature_names_in_) == list(pipe[0].get_feature_names_out())


def test_set_output_pandas_keeps_index_and_names():
    frame = pd.DataFrame({"text": TEXTS}, index=[f"id{i}" for i in range(12)])
    applier = LFApplier(youtube_lfs(field="text")).set_output(transform="pandas")
    out = applier.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["kw_spam", "link", "kw_ham", "lf_short", "kw_check"]
    assert list(out.index) == list(frame.index)
    np.testing.assert_array_equal(out.to_numpy(), EXPECTED_L)


def test_clone_pickle_and_params():
    applier = LFApplier(youtube_lfs(), n_classes=2, progress_bar=False)
    cloned = clone(applier)
    assert cloned.get_params()["n_classes"] == 2
    # Labeling functions are shared, not deep-copied with their resources.
    assert all(a is b for a, b in zip(cloned.lfs, applier.lfs))
    assert cloned.lfs is not applier.lfs
    np.testing.assert_array_equal(cloned.fit_transform(TEXTS), EXPECTED_L)
    restored = pickle.loads(pickle.dumps(applier.fit(TEXTS)))
    np.testing.assert_array_equal(restored.transform(TEXTS), EXPECTED_L)
    with pytest.raises(InvalidParameterError):
        LFApplier(youtube_lfs(), n_jobs="two").fit(TEXTS)
    with pytest.raises(InvalidParameterError):
        LFApplier(youtube_lfs(), row_type="namedtuple").transform(TEXTS)


def test_plain_callables_are_wrapped_and_transform_needs_no_fit():
    def starts_with_omg(text):
        return HAM if text.startswith("omg") else ABSTAIN

    L = LFApplier([starts_with_omg, lf_short]).transform(TEXTS)
    assert L[:, 0].tolist() == [-1] * 8 + [0] + [-1] * 3
    np.testing.assert_array_equal(L[:, 1], EXPECTED_L[:, 3])


def test_parallel_matches_sequential_and_reports_errors():
    lfs = youtube_lfs()
    sequential = LFApplier(lfs).fit_transform(TEXTS * 5)
    parallel = LFApplier(lfs, n_jobs=2, batch_size=7).fit_transform(TEXTS * 5)
    np.testing.assert_array_equal(parallel, sequential)
    np.testing.assert_array_equal(sequential, np.tile(EXPECTED_L, (5, 1)))
    # An error in a worker keeps its type, LF name and global record index.
    records = [{"text": t} for t in TEXTS]
    records[9] = {"body": "no text field"}
    with pytest.raises(LabelingFunctionError) as info:
        LFApplier([has_link_impl], n_jobs=2, batch_size=4).fit_transform(records)
    assert (
        "labeling function 'lf_has_link' failed on record 9: KeyError('text')"
        in str(info.value)
    )


def test_error_names_lf_and_record():
    records = [{"text": t} for t in TEXTS]
    del records[7]["text"]
    applier = LFApplier([lf_short, has_link_impl], batch_size=5)
    with pytest.raises(LabelingFunctionError) as info:
        LFApplier([has_link_impl], batch_size=5).fit_transform(records)
    assert str(info.value) == (
        "labeling function 'lf_has_link' failed on record 7: KeyError('text')"
    )
    assert info.value.lf_name == "lf_has_link" and info.value.record_index == 7
    assert isinstance(info.value.__cause__, KeyError)
    # lf_short fails first (a dict has no split): the first failing LF is named.
    with pytest.raises(
        LabelingFunctionError, match="'lf_short' failed on record 0: AttributeError"
    ):
        applier.fit_transform(records)
    # pandas index labels are reported when they differ from the position.
    frame = pd.DataFrame({"text": TEXTS}, index=[f"c{i}" for i in range(12)])
    frame.loc["c4", "text"] = None

    @labeling_function()
    def lf_lower(x):
        return SPAM if "http" in x.text.lower() else ABSTAIN

    with pytest.raises(
        LabelingFunctionError,
        match=r"failed on record 4 \(index label "
        r"'c4'\): AttributeError",
    ):
        LFApplier([lf_lower]).fit_transform(frame)


@pytest.mark.parametrize(
    "bad, n_classes, shown",
    [
        (None, None, "returned None of type NoneType on record 3"),
        (True, None, "returned True of type bool on record 3"),
        (1.0, None, "returned 1.0 of type float on record 3"),
        ("1", None, "returned '1' of type str on record 3"),
        (2, 2, r"returned 2 on record 3; expected a class index in \[0, 1\] or -1"),
        (
            -2,
            None,
            r"returned -2 on record 3; expected a class index in \[0, 999\] or -1",
        ),
        (np.int64(5), 3, r"returned 5 on record 3; expected a class index in \[0, 2\]"),
    ],
)
def test_invalid_return_values_raise_value_error(bad, n_classes, shown):
    @labeling_function()
    def lf_buggy(text):
        return bad if text.startswith("Who") else ABSTAIN

    with pytest.raises(ValueError, match=r"labeling function 'lf_buggy' " + shown):
        LFApplier([lf_buggy], n_classes=n_classes).fit_transform(TEXTS)


def test_batch_lf_output_checks():
    @labeling_function(batch=True)
    def wrong_shape(batch):
        return np.zeros(len(batch) + 1, dtype=int)

    @labeling_function(batch=True)
    def floats(batch):
        return np.zeros(len(batch))

    @labeling_function(batch=True)
    def out_of_range(batch):
        out = np.full(len(batch), -1)
        out[-1] = 7
        return out

    @labeling_function(batch=True)
    def raises(batch):
        raise RuntimeError("model crashed")

    with pytest.raises(
        ValueError,
        match=r"'wrong_shape' returned an array of shape "
        r"\(6,\) for records 0-4; expected shape \(5,\)",
    ):
        LFApplier([wrong_shape], batch_size=5).fit_transform(TEXTS)
    with pytest.raises(ValueError, match="'floats' returned an array of dtype float64"):
        LFApplier([floats]).fit_transform(TEXTS)
    with pytest.raises(
        ValueError,
        match=r"'out_of_range' returned 7 on record 4; "
        r"expected a class index in \[0, 1\]",
    ):
        LFApplier([out_of_range], n_classes=2, batch_size=5).fit_transform(TEXTS)
    with pytest.raises(
        LabelingFunctionError,
        match=r"'raises' failed on records "
        r"0-11: RuntimeError\('model crashed'\)",
    ):
        LFApplier([raises]).fit_transform(TEXTS)


def test_lfs_and_records_validation():
    with pytest.raises(ValueError, match="duplicated: \\['kw'\\]"):
        LFApplier([keyword_lf("a", 1, name="kw"), keyword_lf("b", 0, name="kw")]).fit(
            TEXTS
        )
    with pytest.raises(ValueError, match="lfs is empty"):
        LFApplier([]).fit(TEXTS)
    with pytest.raises(TypeError, match=r"lfs\[1\] is a int"):
        LFApplier([lf_short, 3]).fit(TEXTS)
    with pytest.raises(
        ValueError, match=r"lfs\[0\] is a callable without a usable name"
    ):
        LFApplier([lambda t: -1]).fit(TEXTS)
    with pytest.raises(InvalidParameterError):
        LFApplier(lf_short).fit(TEXTS)
    with pytest.raises(TypeError, match="single string"):
        LFApplier([lf_short]).fit_transform("omg")
    with pytest.raises(TypeError, match="got a mapping"):
        LFApplier([lf_short]).fit_transform({"text": TEXTS})
    with pytest.raises(TypeError, match="got int"):
        LFApplier([lf_short]).fit_transform(3)
    with pytest.raises(ValueError, match="abstain must be negative"):
        LFApplier([lf_short], abstain=0).fit_transform(TEXTS)


def test_dtype_custom_abstain_and_empty_input():
    @labeling_function()
    def big(text):
        return 300 if text == "omg" else -999

    L = LFApplier([big], abstain=-999).fit_transform(TEXTS)
    assert L.dtype == np.int16 and L[8, 0] == 300 and (np.delete(L, 8) == -999).all()
    with pytest.raises(
        ValueError,
        match=r"returned -1 on record 0; expected a class "
        r"index in \[0, 999\] or -999",
    ):
        LFApplier([lf_short], abstain=-999).fit_transform(TEXTS)
    empty = LFApplier(youtube_lfs()).fit_transform([])
    assert empty.shape == (0, 5)


def test_progress_reporting(capsys, monkeypatch):
    LFApplier([lf_short], progress_bar=False).fit_transform(TEXTS)
    LFApplier([lf_short]).fit_transform(TEXTS)  # "auto": fast runs stay silent
    assert capsys.readouterr().err == ""
    LFApplier([lf_short], progress_bar=True).fit_transform(TEXTS)
    err = capsys.readouterr().err
    assert "12/12" in err  # tqdm is installed here
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were missing
    LFApplier([lf_short], progress_bar=True, batch_size=4).fit_transform(TEXTS)
    err = capsys.readouterr().err
    assert "Applying labeling functions: 4/12 records (33%)" in err
    assert err.endswith("12/12 records (100%)\n")


@pytest.mark.slow
def test_lfs_defined_in_main_work_in_parallel_workers(tmp_path):
    # Scripts and notebooks define LFs in __main__, which worker processes
    # cannot import: cloudpickle must ship them by value, while plain pickle
    # (used by clone/joblib.dump in the parent) stores a reference.
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import pickle
            from skweak_e2e import LFApplier, labeling_function

            @labeling_function()
            def lf_link(text):
                return 1 if "http" in text else -1

            texts = ["a http://x", "b", "c http://y", "d"] * 3
            again = pickle.loads(pickle.dumps(lf_link))
            assert again("http://z") == 1
            L = LFApplier([lf_link], n_jobs=2, batch_size=2).fit_transform(texts)
            print(L.ravel().tolist())
            """
        )
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([1, -1, 1, -1] * 3)
