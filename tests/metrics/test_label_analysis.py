"""Matrix-level LF analysis and label buckets."""

import numpy as np
import pytest

from skweak_e2e.metrics import label_buckets, label_matrix_summary, source_summary

L = np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1], [2, -1, 2]])
Y = np.array([0, 1, 1, 0, -1])


def test_label_matrix_summary_by_hand():
    summary = label_matrix_summary(L, Y)
    assert summary["coverage"] == pytest.approx(4 / 5)
    assert summary["overlap"] == pytest.approx(4 / 5)
    assert summary["conflict"] == pytest.approx(1 / 5)  # only row 1
    assert summary["n_votes"] == 8
    # Votes on rows with known gold: 2 + 2 + 2 = 6, right: 2 + 1 + 2 = 5.
    assert summary["vote_accuracy"] == pytest.approx(5 / 6)
    assert "vote_accuracy" not in label_matrix_summary(L)


def test_label_matrix_summary_agrees_with_source_summary():
    rng = np.random.RandomState(0)
    L_big = rng.randint(-1, 3, size=(500, 6))
    overall = label_matrix_summary(L_big)
    per_source = source_summary(L_big, as_frame=False)
    # A row is in conflict iff some source on it is; same for overlap.
    voted = L_big >= 0
    conflict_rows = np.zeros(len(L_big), bool)
    for c in range(3):
        conflict_rows |= (L_big == c).any(1) & ((L_big >= 0) & (L_big != c)).any(1)
    assert overall["conflict"] == pytest.approx(conflict_rows.mean())
    assert overall["coverage"] == pytest.approx(voted.any(1).mean())
    assert overall["coverage"] >= per_source["coverage"].max()
    assert overall["conflict"] >= per_source["conflict"].max()


def test_label_buckets_groups_rows():
    buckets = label_buckets(L[:, 0], L[:, 1])
    assert set(buckets) == {(0, 0), (1, 0), (-1, 1), (-1, -1), (2, -1)}
    np.testing.assert_array_equal(buckets[(1, 0)], [1])
    gold, pred = np.array([0, 1, 1, 0, 1, 1]), np.array([0, 1, 0, 1, 0, 1])
    buckets = label_buckets(gold, pred)
    np.testing.assert_array_equal(buckets[(1, 0)], [2, 4])
    np.testing.assert_array_equal(buckets[(1, 1)], [1, 5])
    # A 2-D array counts as one array per column.
    assert set(label_buckets(L[:, :2])) == set(label_buckets(L[:, 0], L[:, 1]))
    total = sum(len(v) for v in label_buckets(L).values())
    assert total == len(L)


def test_label_buckets_errors():
    with pytest.raises(TypeError, match="at least one"):
        label_buckets()
    with pytest.raises(ValueError, match="labels\\[1\\] has 2 rows"):
        label_buckets([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        label_buckets([0.5, 1.0])
