"""The shared vote encoding: one class rule and one encoder for every estimator."""

import resource
import sys

import numpy as np
import pytest

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    LFApplier,
    MajorityVote,
    WeaSELClassifier,
)
from skweak_e2e.datasets import make_weak_supervision
from skweak_e2e.labeling import labeling_function
from skweak_e2e.utils._targets import (
    MAX_INFERRED_CLASSES,
    abstain_mask,
    encode_votes,
    expand_soft_labels,
    infer_classes,
    n_classes_from_max,
)
from skweak_e2e.utils._validation import check_fits_in_dtype

X, L, Y = make_weak_supervision(80, 4, 3, n_features=3, random_state=0)
# Votes for classes 0 and 2 only: class 1 exists but no source votes for it.
L02 = np.where(L == 1, 2, L)


# ------------------------------------------------------------ the class rule
@pytest.mark.parametrize(
    "votes, kwargs, expected",
    [
        ([[0, -1], [2, 0]], {}, [0, 1, 2]),  # indices: unvoted class 1 counts
        ([[1, 1], [-1, 1]], {}, [0, 1]),  # at least two classes
        ([[0.0, 2.0]], {}, [0, 1, 2]),  # integral floats are indices
        ([[True, False]], {}, [0, 1]),
        ([["b", "-"], ["a", "b"]], {"abstain": "-"}, ["a", "b"]),
        ([[-1, 1], [0, 1]], {"abstain": 0}, [-1, 1]),  # negative labels: sorted
        ([[5, 7]], {"abstain": None}, [0, 1, 2, 3, 4, 5, 6, 7]),
        ([[0, 1]], {"classes": [2, 1, 0]}, [0, 1, 2]),
        ([[0, 1]], {"n_classes": 4}, [0, 1, 2, 3]),
        (np.array([[0, 2]], dtype=object), {}, [0, 1, 2]),  # pandas objects
    ],
)
def test_infer_classes_known_answers(votes, kwargs, expected):
    np.testing.assert_array_equal(infer_classes(np.asarray(votes), **kwargs), expected)


def test_class_count_limit_and_how_to_declare():
    assert n_classes_from_max(MAX_INFERRED_CLASSES - 1) == MAX_INFERRED_CLASSES
    with pytest.raises(ValueError, match="vote 1000: .* declare them with n_classes="):
        n_classes_from_max(MAX_INFERRED_CLASSES)
    # Declared, a larger count is fine.
    big = np.array([[0, 4999]])
    np.testing.assert_array_equal(infer_classes(big, n_classes=5000), np.arange(5000))
    L_big, n = DawidSkene(n_classes=1200).fit(
        np.array([[0, 1199, -1], [1, 1199, 0], [0, -1, 1]])
    )._validate_L(np.array([[0, 1199, 0]]), reset=False)
    assert n == 1200


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_unsigned_wrapped_abstain_is_named(dtype):
    wrapped = np.where(L < 0, np.iinfo(dtype).max, L).astype(dtype)
    with pytest.raises(ValueError, match=f"unsigned dtype {np.dtype(dtype)}"):
        MajorityVote().fit(wrapped)
    with pytest.raises(ValueError, match=f"unsigned dtype {np.dtype(dtype)}"):
        LabelModelClassifier().fit(X, wrapped)
    # Unsigned votes without a wrapped -1 are fine.
    assert MajorityVote().fit(np.clip(L, 0, None).astype(dtype)).n_classes_ == 3


def test_huge_vote_is_refused_without_allocating():
    """One id-like vote used to allocate arrays sized by it (tens of GB)."""
    L_bad = L.copy()
    L_bad[3, 1] = 2_000_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for fit in (
        lambda: MajorityVote().fit(L_bad),
        lambda: DawidSkene().fit(L_bad),
        lambda: LabelModelClassifier().fit(X, L_bad),
    ):
        with pytest.raises(ValueError, match="vote 2000000000"):
            fit()
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    scale = 1024 if sys.platform == "darwin" else 1  # ru_maxrss unit
    assert grown_kb / scale < 200_000  # < 200 MB, against 16 GB per array


def test_abstain_type_mismatch_is_an_error_not_a_class():
    with pytest.raises(ValueError, match="abstain='-1'"):
        abstain_mask(np.array(["-1", "0"]), -1)
    with pytest.raises(ValueError, match="abstain=-1"):
        abstain_mask(np.array([-1, 0]), "-1")
    # No clash: nothing to hide.
    assert not abstain_mask(np.array(["a", "b"]), -1).any()
    np.testing.assert_array_equal(
        abstain_mask(np.array(["-1", "a"]), "-1"), [True, False]
    )


def test_encode_votes_round_trip_and_unknown_labels():
    classes = np.array(["ham", "spam"])
    y = np.array([["spam", "-"], ["ham", "spam"]])
    codes = encode_votes(y, classes, abstain="-")
    np.testing.assert_array_equal(codes, [[1, -1], [0, 1]])
    np.testing.assert_array_equal(classes[codes[codes >= 0]], y[codes >= 0])
    with pytest.raises(ValueError, match=r"not classes: \['eggs'\]"):
        encode_votes(np.array(["eggs"]), classes, abstain="-")
    # Integer path (lookup table) and the generic path agree.
    big = np.array([[0, 5, -1], [10**7, 5, 0]])
    cls = np.array([0, 5, 10**7])
    np.testing.assert_array_equal(
        encode_votes(big, cls), [[0, 1, -1], [2, 1, 0]]
    )
    np.testing.assert_array_equal(
        encode_votes(big[:, :2] % 10, np.arange(6)), [[0, 5], [0, 5]]
    )


def test_expand_soft_labels_known_answer():
    proba = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])
    index, labels, weight = expand_soft_labels(
        proba, np.array([0, 1, 2]), sample_weight=np.array([2.0, 1.0, 0.0])
    )
    assert index.tolist() == [0, 0, 1]
    assert labels.tolist() == [0, 1, 0]
    np.testing.assert_allclose(weight, [0.5, 1.5, 1.0], rtol=1e-12)


# ------------------------------------------- every estimator, the same classes
def test_label_model_and_classifier_infer_the_same_classes():
    clf = LabelModelClassifier().fit(X, L02)
    lm = MajorityVote().fit(L02)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, lm.classes_)
    np.testing.assert_array_equal(clf.classes_, infer_classes(L02))
    assert clf.predict_proba(X).shape == (len(X), 3)


def test_weasel_infers_the_same_classes_as_the_label_models():
    weasel = WeaSELClassifier(max_epochs=1, random_state=0).fit(X, L02)
    np.testing.assert_array_equal(weasel.classes_, infer_classes(L02))
    np.testing.assert_array_equal(
        weasel.classes_, LabelModelClassifier().fit(X, L02).classes_
    )


def test_weasel_refuses_the_huge_vote_with_the_shared_message():
    L_bad = L.copy()
    L_bad[0, 0] = 2_000_000_000
    with pytest.raises(ValueError, match="vote 2000000000: the number of classes"):
        WeaSELClassifier(max_epochs=1).fit(X, L_bad)


def test_weasel_refuses_features_that_overflow_float32():
    X_big = X.copy()
    X_big[0, 0] = 1e39
    with pytest.raises(ValueError, match=r"1e\+39 at \(0, 0\), beyond the largest"):
        WeaSELClassifier(max_epochs=1).fit(X_big, L)


def test_check_fits_in_dtype():
    X_big = X.copy()
    X_big[2, 1] = -1e39
    with pytest.raises(ValueError, match=r"-1e\+39 at \(2, 1\).*dtype='float64'"):
        check_fits_in_dtype(X_big, "float32")
    check_fits_in_dtype(X_big, "float64")
    check_fits_in_dtype(X, np.float32)


# ----------------------------------------------------------------- LFApplier
@labeling_function()
def short(text):
    return 0 if len(text) < 4 else -1


def test_applier_reads_a_generator_once():
    texts = ["a", "long text", "bc"]
    expected = LFApplier([short]).fit_transform(texts)
    np.testing.assert_array_equal(
        LFApplier([short]).fit_transform(t for t in texts), expected
    )
    np.testing.assert_array_equal(
        LFApplier([short]).fit(None).transform(iter(texts)), expected
    )
    assert expected.tolist() == [[0], [-1], [0]]


def test_string_minus_one_in_a_dataframe_is_an_error_not_a_class():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(L.astype(str)).astype(object)
    with pytest.raises(ValueError, match="among them '-1'.*abstain='-1'"):
        LabelModelClassifier().fit(X, frame)
    clf = LabelModelClassifier(abstain="-1").fit(X, frame)
    np.testing.assert_array_equal(clf.classes_, ["0", "1", "2"])


@pytest.mark.parametrize("missing", [None, np.nan], ids=["None", "nan"])
@pytest.mark.parametrize("container", ["array", "DataFrame", "list"])
def test_missing_string_votes_say_how_to_mark_abstains(missing, container):
    # String LFs that return None to abstain gave "Input contains NaN" or
    # "The votes mix types that cannot be ordered": neither says what to do.
    import pandas as pd

    from skweak_e2e.utils._targets import check_vote_target

    y = np.array([["a", missing], [missing, "b"], ["b", "a"]], dtype=object)
    y = {"array": y, "DataFrame": pd.DataFrame(y), "list": y.tolist()}[container]
    for abstain in (-1, None, ""):
        with pytest.raises(ValueError, match=r"y holds 2 missing value\(s\).*abstain=''"):
            check_vote_target(y, abstain=abstain)
    # The fix it suggests works.
    filled = np.where(pd.isna(np.asarray(y, dtype=object)), "", np.asarray(y, dtype=object))
    assert check_vote_target(filled, abstain="").shape == (3, 2)
