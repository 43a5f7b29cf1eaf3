"""The label-matrix layer (skweak_e2e/utils/_validation.py).

Every bad-input error of the label-matrix checks, the accepted inputs, the vote
encodings and the unique-pattern compression.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skweak_e2e import MajorityVote
from skweak_e2e.label_model import apply_tensor_form, tensor_scores
from skweak_e2e.utils import (
    check_class_prior,
    check_label_matrix,
    infer_n_classes,
    is_covered,
    silent_sources,
    unique_rows,
    vote_indicator,
)
from skweak_e2e.utils._label_matrix import warn_silent_sources
from skweak_e2e.utils._targets import check_sample_alignment
from skweak_e2e.utils._validation import check_n_sources, is_integral_number
from .._tolerance import assert_allclose_scaled


def _random_L(rng, n=50, m=4, C=3, abstain_rate=0.4):
    L = rng.randint(0, C, size=(n, m))
    L[rng.rand(n, m) < abstain_rate] = -1
    L[0, 0] = C - 1  # make the inferred number of classes C
    return L


def _soft_from_hard(L, C):
    """One-hot soft votes equivalent to hard votes (abstain = all-zero fibre)."""
    return (L[:, :, None] == np.arange(C)).astype(np.float64)


# --------------------------------------------------------------------------- #
# Errors of section 6.1 (each message names the problem)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "L, match",
    [
        (np.array([0, 1, -1]), "2-D"),  # 1-D
        (np.zeros((2, 2, 2, 2)), "2-D"),  # 4-D
        (np.array(3), "2-D"),  # 0-D
        (np.zeros((0, 3), dtype=int), "empty"),
        (np.zeros((3, 0), dtype=int), "empty"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN or inf"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "NaN or inf"),
        (np.array([[0.5, 1.0], [1.0, 0.0]]), "non-integer"),
        (np.array([[0, -2], [1, 0]]), "-2"),
        (np.array([[-1, -1], [-1, -1]]), "no vote"),
    ],
)
def test_invalid_hard_label_matrix_raises_value_error(L, match):
    with pytest.raises(ValueError, match=match):
        check_label_matrix(L)


def test_vote_at_or_above_n_classes_raises():
    with pytest.raises(ValueError, match=r"vote 3 but n_classes=3"):
        check_label_matrix(np.array([[0, 3], [1, 2]]), n_classes=3)
    # Inferred n_classes accepts it.
    _, n_classes = check_label_matrix(np.array([[0, 3], [1, 2]]))
    assert n_classes == 4


def test_all_abstain_allowed_without_require_votes():
    L, n_classes = check_label_matrix(
        np.full((3, 2), -1), n_classes=3, require_votes=False
    )
    assert (L == -1).all() and n_classes == 3


@pytest.mark.parametrize(
    "L",
    [
        np.array([["a", "b"], ["c", "d"]]),
        np.array([[1 + 1j, 0], [0, 1]]),
        np.array([[object(), 1], [0, 1]], dtype=object),
    ],
    ids=["str", "complex", "object"],
)
def test_non_numeric_label_matrix_raises_type_error(L):
    with pytest.raises(TypeError, match="numeric"):
        check_label_matrix(L)


def test_sparse_label_matrix_raises_type_error():
    with pytest.raises(TypeError, match="sparse"):
        check_label_matrix(sp.csr_matrix(np.eye(3)))


def test_soft_votes_rejected_when_not_allowed():
    with pytest.raises(ValueError, match="3-D"):
        check_label_matrix(np.zeros((2, 2, 2)), allow_soft=False)


@pytest.mark.parametrize(
    "A, match",
    [
        (np.full((2, 2, 2), 0.6), "more than 1"),
        (np.array([[[0.5, -0.1]], [[0.2, 0.2]]]), "negative"),
        (np.array([[[0.5, np.nan]], [[0.2, 0.2]]]), "NaN or inf"),
        (np.zeros((2, 2, 1)), "at least 2 classes"),
        (np.zeros((0, 2, 2)), "empty"),
        (np.zeros((2, 2, 2)), "no vote"),
    ],
)
def test_invalid_soft_votes_raise(A, match):
    with pytest.raises(ValueError, match=match):
        check_label_matrix(A)


def test_soft_votes_class_count_mismatch():
    with pytest.raises(ValueError, match="3 classes on its last axis but n_classes=2"):
        check_label_matrix(np.full((2, 2, 3), 0.2), n_classes=2)


def test_soft_row_sum_tolerance():
    # Rounding noise below 1e-6 is accepted, a real excess is not.
    A = np.array([[[0.5, 0.5 + 5e-7]]])
    out, n_classes = check_label_matrix(A)
    assert out.dtype == np.float64 and n_classes == 2
    with pytest.raises(ValueError):
        check_label_matrix(np.array([[[0.5, 0.5 + 1e-4]]]))


def test_abstain_none_rejects_negative_votes():
    with pytest.raises(ValueError, match="abstain=None"):
        check_label_matrix(np.array([[0, -1]]), abstain=None)
    L, _ = check_label_matrix(np.array([[0, 1]]), abstain=None)
    assert L.tolist() == [[0, 1]]


def test_custom_abstain_value_is_mapped_to_minus_one():
    L, n_classes = check_label_matrix(np.array([[9, 0], [1, 9]]), abstain=9)
    assert L.tolist() == [[-1, 0], [1, -1]] and n_classes == 2
    # With a custom abstain value, -1 is an invalid (negative) vote.
    with pytest.raises(ValueError, match="negative votes"):
        check_label_matrix(np.array([[9, -1], [1, 0]]), abstain=9)


def test_estimator_level_errors_n_sources_and_alignment():
    L = np.array([[0, 1, -1], [1, 1, 0], [0, -1, -1]])
    model = MajorityVote().fit(L)
    with pytest.raises(ValueError, match="3 features"):
        model.predict_proba(L[:, :2])
    with pytest.raises(ValueError, match="different numbers of samples"):
        MajorityVote().fit(L, y=np.array([0, 1]))
    with pytest.raises(ValueError, match="vote 2 but n_classes=2"):
        model.predict_proba(np.array([[2, 0, 0]]))
    with pytest.raises(ValueError, match="no vote"):
        MajorityVote().fit(np.full((4, 3), -1))
    # An all-abstain matrix is fine after fit: every row gets the prior.
    np.testing.assert_allclose(model.predict_proba(np.full((2, 3), -1)), 0.5)


def test_check_n_sources_and_sample_alignment_messages():
    with pytest.raises(ValueError, match="L has 2 sources .* fitted with 3"):
        check_n_sources(2, 3, "Model")
    check_n_sources(3, 3, "Model")
    with pytest.raises(ValueError, match="different numbers of samples: 4 and 5"):
        check_sample_alignment(4, 5)
    check_sample_alignment(5, 5)


def test_silent_source_warning_names_the_columns():
    L = np.array([[0, -1, 1, -1], [1, -1, -1, -1], [0, -1, 0, -1]])
    with pytest.warns(UserWarning, match=r"source\(s\) \[1, 3\] never vote"):
        silent = warn_silent_sources(L, "Owner")
    assert silent.tolist() == [1, 3]
    with pytest.warns(UserWarning, match=r"\[1, 3\]"):
        MajorityVote().fit(L)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_silent_sources(L[:, [0, 2]], "Owner").size == 0


# --------------------------------------------------------------------------- #
# Accepted inputs and canonical form
# --------------------------------------------------------------------------- #
def test_integral_floats_bools_unsigned_and_objects_are_accepted():
    expected = [[0, -1], [1, 1]]
    for L in (
        np.array([[0.0, -1.0], [1.0, 1.0]]),
        np.array([[0, -1], [1, 1]], dtype=object),
        [[0, -1], [1, 1]],
    ):
        out, n_classes = check_label_matrix(L)
        assert out.tolist() == expected and n_classes == 2
        assert out.dtype == np.int8
    out, _ = check_label_matrix(np.array([[True, False]]))
    assert out.tolist() == [[1, 0]]
    # Unsigned input cannot hold -1: a custom abstain value is needed and mapped.
    unsigned = np.array([[255, 0], [1, 255]], dtype=np.uint8)
    out, _ = check_label_matrix(unsigned, abstain=255)
    assert out.tolist() == [[-1, 0], [1, -1]]


def test_pandas_dataframe_is_accepted():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"lf_a": [0, -1, 1], "lf_b": [1, 1, -1]})
    out, n_classes = check_label_matrix(frame)
    assert out.tolist() == [[0, 1], [-1, 1], [1, -1]] and n_classes == 2


@pytest.mark.parametrize(
    "n_classes, dtype",
    [(2, np.int8), (128, np.int8), (129, np.int16), (40000, np.int32)],
)
def test_smallest_integer_dtype(n_classes, dtype):
    out, _ = check_label_matrix(np.array([[0, n_classes - 1]]), n_classes=n_classes)
    assert out.dtype == dtype
    assert out.max() == n_classes - 1


def test_infer_n_classes_is_max_plus_one_and_at_least_two():
    assert infer_n_classes(np.array([[0, -1]])) == 2
    assert infer_n_classes(np.array([[4, -1]])) == 5
    assert infer_n_classes(np.array([[-1, -1]])) == 2


def test_check_class_prior():
    np.testing.assert_allclose(check_class_prior(None, 3), [1 / 3] * 3)
    np.testing.assert_allclose(check_class_prior([2, 1, 1], 3), [0.5, 0.25, 0.25])
    for bad, match in [
        ([0.5, 0.5], "2 entries but there are 3"),
        ([0.5, -0.1, 0.6], "non-negative"),
        ([0, 0, 0], "positive sum"),
        ([np.nan, 0.5, 0.5], "finite"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_class_prior(bad, 3)


def test_is_covered_and_silent_sources_hard_and_soft():
    L = np.array([[0, -1, -1], [-1, -1, -1], [-1, -1, 1]])
    assert is_covered(L).tolist() == [True, False, True]
    assert silent_sources(L).tolist() == [1]
    A = _soft_from_hard(L, 2)
    assert is_covered(A).tolist() == [True, False, True]
    assert silent_sources(A).tolist() == [1]


def test_is_integral_number():
    assert is_integral_number(3) and is_integral_number(np.int64(3))
    assert not is_integral_number(True)
    assert not is_integral_number(3.0)


# --------------------------------------------------------------------------- #
# Encodings
# --------------------------------------------------------------------------- #
def test_augmented_one_hot_fibres_sum_to_one_and_slot_zero_is_abstain(rng):
    C = 3
    L = _random_L(rng, n=40, m=5, C=C)
    aug = vote_indicator(L, C, include_abstain=True).toarray().reshape(40, 5, C + 1)
    assert aug.shape == (40, 5, C + 1)
    np.testing.assert_array_equal(aug.sum(axis=2), 1.0)
    np.testing.assert_array_equal(aug[:, :, 0] == 1, L == -1)
    # Slot k + 1 <=> vote k.
    np.testing.assert_array_equal(aug.argmax(axis=2), L + 1)


def test_vote_indicator_without_abstain_matches_dense_one_hot(rng):
    C = 4
    L = _random_L(rng, n=30, m=3, C=C)
    ind = vote_indicator(L, C)
    assert sp.isspmatrix_csr(ind) and ind.shape == (30, 3 * C)
    assert ind.nnz == (L >= 0).sum()
    dense = _soft_from_hard(L, C).reshape(30, -1)
    np.testing.assert_array_equal(ind.toarray(), dense)


def test_soft_path_equals_hard_path_for_one_hot_votes(rng):
    C = 3
    L = _random_L(rng, n=60, m=4, C=C)
    A = _soft_from_hard(L, C)
    for include_abstain in (False, True):
        np.testing.assert_array_equal(
            vote_indicator(L, C, include_abstain=include_abstain).toarray(),
            vote_indicator(A, C, include_abstain=include_abstain).toarray(),
        )
    W = rng.normal(size=(4, C + 1, C))
    assert_allclose_scaled(tensor_scores(L, W), tensor_scores(A, W), atol=1e-12)
    assert_allclose_scaled(
        apply_tensor_form(L, W, "exp"), apply_tensor_form(A, W, "exp"), atol=1e-12
    )
    mv = MajorityVote().fit(L)
    assert_allclose_scaled(mv.predict_proba(L), mv.predict_proba(A), atol=1e-12)


def test_tensor_scores_match_explicit_sum(rng):
    C = 3
    L = _random_L(rng, n=20, m=4, C=C)
    W = rng.normal(size=(4, C + 1, C))
    expected = np.array(
        [
            [sum(W[j, L[i, j] + 1, c] for j in range(4)) for c in range(C)]
            for i in range(20)
        ]
    )
    assert_allclose_scaled(tensor_scores(L, W), expected, atol=1e-12)


# --------------------------------------------------------------------------- #
# Unique-pattern compression
# --------------------------------------------------------------------------- #
def test_unique_rows_reconstructs_and_counts(rng):
    L = _random_L(rng, n=200, m=3, C=2, abstain_rate=0.6).astype(np.int8)
    patterns, inverse, counts = unique_rows(L)
    np.testing.assert_array_equal(patterns[inverse], L)
    assert counts.sum() == 200
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    np.testing.assert_array_equal(np.bincount(inverse), counts)
    # At most 3 ** 3 patterns for 3 sources with {-1, 0, 1}.
    assert len(patterns) <= 27


def test_unique_rows_on_soft_votes(rng):
    L = _random_L(rng, n=50, m=3, C=2, abstain_rate=0.5)
    A = _soft_from_hard(L, 2)
    patterns, inverse, _counts = unique_rows(A)
    np.testing.assert_array_equal(patterns[inverse], A)
    assert len(patterns) == len(unique_rows(L)[0])


def test_unique_rows_small_known_case():
    L = np.array([[0, 1], [-1, 1], [0, 1]], dtype=np.int64)
    patterns, inverse, counts = unique_rows(L)
    found = {tuple(p): int(c) for p, c in zip(patterns.tolist(), counts)}
    assert found == {(0, 1): 2, (-1, 1): 1}
    assert inverse[0] == inverse[2] != inverse[1]


def test_label_model_output_identical_on_compressed_patterns(rng):
    # A label model depends on L only through its row patterns: predicting
    # the patterns and gathering back gives the row-wise output exactly.
    L = _random_L(rng, n=300, m=4, C=3, abstain_rate=0.5)
    patterns, inverse, _ = unique_rows(L)
    model = MajorityVote().fit(L)
    np.testing.assert_array_equal(
        model.predict_proba(patterns)[inverse], model.predict_proba(L)
    )


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_is_covered_and_silent_sources_agree_with_the_definition(dtype, layout):
    # is_covered takes a byte-level shortcut for C-contiguous int8 input; every
    # dtype and memory layout must give the textbook answer.
    rng = np.random.RandomState(0)
    L = np.where(rng.rand(300, 9) < 0.8, -1, rng.randint(0, 4, (300, 9)))
    L[:40] = -1  # uncovered rows
    L[:, 3] = -1  # a silent source
    L[5, :] = np.r_[np.full(8, -1), 3]  # covered by the last source only
    L = L.astype(dtype)
    if layout == "F":
        L = np.asfortranarray(L)
    elif layout == "strided":
        L = np.repeat(L, 2, axis=1)[:, ::2]
    expected_covered = np.array([any(v >= 0 for v in row) for row in L.tolist()])
    expected_silent = [j for j in range(L.shape[1]) if all(v < 0 for v in L[:, j])]
    np.testing.assert_array_equal(is_covered(L), expected_covered)
    assert silent_sources(L).tolist() == expected_silent


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint8, np.float64])
def test_large_matrices_take_the_blocked_scan_with_the_same_result(dtype):
    # Above 2**20 entries the range checks and the int8 conversion run in one
    # blocked pass; values, dtype and errors must match the small-matrix path.
    rng = np.random.RandomState(0)
    L = rng.randint(-1, 3, size=(2**21 // 7 + 5, 7))
    if dtype is np.uint8:
        L = np.where(L < 0, 9, L)  # no -1 in unsigned input: 9 means abstain
    L = L.astype(dtype)
    abstain = 9 if dtype is np.uint8 else -1
    out, n_classes = check_label_matrix(L, abstain=abstain)
    assert out.dtype == np.int8 and n_classes == 3
    expected = np.where(L == abstain, -1, L.astype(np.int64))
    np.testing.assert_array_equal(out, expected)
    if dtype is not np.uint8:
        bad = L.copy()
        bad[-1, -1] = 3  # the very last entry, in the last block
        with pytest.raises(ValueError, match="vote 3 but n_classes=3"):
            check_label_matrix(bad, n_classes=3)
        bad[-1, -1] = -2
        with pytest.raises(ValueError, match="the vote -2"):
            check_label_matrix(bad)


def test_blocked_scan_keeps_wide_classes_and_catches_wrapped_values():
    # A vote of 256 would wrap to 0 in int8: it must be kept as a class.
    L = np.full((2**20 // 4 + 3, 4), -1, dtype=np.int64)
    L[::5, 0] = 1
    L[-2, 3] = 256
    out, n_classes = check_label_matrix(L)
    assert n_classes == 257 and out.dtype == np.int16
    assert out[-2, 3] == 256 and out[0, 0] == 1
    L[-2, 3] = 130
    out, n_classes = check_label_matrix(L)
    assert n_classes == 131 and out.dtype == np.int16 and out[-2, 3] == 130
