"""Tests of the plotting functions (Agg backend)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from skweak_e2e import DawidSkene, MajorityVote
from skweak_e2e.metrics import source_summary
from skweak_e2e.plotting import (
    plot_accuracy_scores,
    plot_influence,
    plot_source_accuracies,
    plot_source_summary,
    plot_training_curves,
)

# Hand-checked statistics (see skweak_e2e.metrics.source_summary):
# coverage [.5, .75, .25], overlap [.5, .75, .25], conflict [.25, .25, 0],
# accuracy [1, 2/3, 1].
L_SMALL = np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1]])
Y_SMALL = np.array([0, 1, 1, 0])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _widths(ax):
    return np.array([p.get_width() for p in ax.patches])


def _ticks(ax, axis="y"):
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels]


def _saved_png(ax, tmp_path, name="plot.png"):
    path = tmp_path / name
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    return path


class _FittedStub(BaseEstimator):
    """A fitted 'label model' carrying only the attributes a test plants."""

    def __init__(self, **attrs):
        for k, v in attrs.items():
            setattr(self, k, v)

    def fit(self, L=None, y=None):  # pragma: no cover - API completeness
        return self

    def get_params(self, deep=True):
        return {}


# --------------------------------------------------------------------------
# plot_source_summary
# --------------------------------------------------------------------------
def test_source_summary_bars_match_statistics(tmp_path):
    ax = plot_source_summary(L_SMALL, Y_SMALL, source_names=["a", "b", "c"])
    assert len(ax.patches) == 3 * 4  # sources x (coverage, overlap, conflict, accuracy)
    assert _ticks(ax) == ["a", "b", "c"]
    expected = np.concatenate(
        [[0.5, 0.75, 0.25], [0.5, 0.75, 0.25], [0.25, 0.25, 0.0], [1.0, 2 / 3, 1.0]]
    )
    np.testing.assert_allclose(_widths(ax), expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "coverage",
        "overlap",
        "conflict",
        "accuracy",
    ]
    _saved_png(ax, tmp_path)


def test_source_summary_options():
    import pandas as pd

    frame = pd.DataFrame(L_SMALL, columns=["lf_x", "lf_y", "lf_z"])
    ax = plot_source_summary(frame)
    assert len(ax.patches) == 3 * 3 and _ticks(ax) == ["lf_x", "lf_y", "lf_z"]
    # Sorted by coverage, largest first; one statistic only.
    ax = plot_source_summary(
        frame, Y_SMALL, statistics=["coverage"], sort_by="coverage"
    )
    assert _ticks(ax) == ["lf_y", "lf_x", "lf_z"]
    np.testing.assert_allclose(_widths(ax), [0.75, 0.5, 0.25])
    # Drawing on a given Axes returns that Axes.
    _, (ax1, ax2) = plt.subplots(1, 2)
    assert plot_source_summary(L_SMALL, ax=ax2) is ax2 and not ax1.patches
    with pytest.raises(ValueError, match="accuracy needs y"):
        plot_source_summary(L_SMALL, statistics=["accuracy"])
    with pytest.raises(ValueError, match="sort_by"):
        plot_source_summary(L_SMALL, sort_by="nope")
    with pytest.raises(ValueError, match="source_names has 2 entries"):
        plot_source_summary(L_SMALL, source_names=["a", "b"])


def test_source_summary_agrees_with_metrics_on_random_matrix():
    rng = np.random.RandomState(0)
    L = np.where(rng.rand(300, 6) < 0.4, rng.randint(0, 3, (300, 6)), -1)
    y = rng.randint(0, 3, 300)
    ax = plot_source_summary(L, y)
    summary = source_summary(L, y, as_frame=False)
    expected = np.concatenate(
        [summary[k] for k in ("coverage", "overlap", "conflict", "accuracy")]
    )
    np.testing.assert_allclose(_widths(ax), expected)


# --------------------------------------------------------------------------
# plot_source_accuracies
# --------------------------------------------------------------------------
def _planted_ds_stub():
    # Two sources, two classes, abstain modelled; source_accuracy_ as
    # DawidSkene derives it (its known answer is in test_dawid_skene).
    confusion = np.array(
        [
            [[0.5, 0.4, 0.1], [0.5, 0.1, 0.4]],
            [[0.0, 0.9, 0.1], [0.0, 0.3, 0.7]],
        ]
    )
    return _FittedStub(
        confusion_=confusion,
        class_prior_=np.array([0.25, 0.75]),
        source_accuracy_=np.array([0.8, 0.75]),
        classes_=np.array([0, 1]),
    )


def test_source_accuracies_confusion_heatmap_and_fitted_accuracy(tmp_path):
    stub = _planted_ds_stub()
    ax = plot_source_accuracies(stub, source_names=["kw", "model"])
    image = ax.get_images()[0].get_array()
    np.testing.assert_allclose(image, stub.confusion_.reshape(4, 3))
    assert _ticks(ax) == ["kw | y=0", "kw | y=1", "model | y=0", "model | y=1"]
    assert _ticks(ax, "x") == ["abstain", "votes 0", "votes 1"]
    _saved_png(ax, tmp_path)

    ax = plot_source_accuracies(stub, kind="accuracy")  # read, not recomputed
    np.testing.assert_allclose(_widths(ax), [0.8, 0.75])
    assert _ticks(ax) == ["source 0", "source 1"]


def test_source_accuracies_of_fitted_models():
    rng = np.random.RandomState(1)
    y = rng.randint(0, 2, 400)
    acc = np.array([0.9, 0.8, 0.7, 0.6])
    L = np.where(rng.rand(400, 4) < acc, y[:, None], 1 - y[:, None])
    L[rng.rand(400, 4) < 0.3] = -1
    ds = DawidSkene(anchor_strength=0.0).fit(L)  # the planted model, unanchored
    ax = plot_source_accuracies(ds)  # auto -> confusion
    assert ax.get_images()[0].get_array().shape == (4 * 2, ds.confusion_.shape[2])
    ax = plot_source_accuracies(ds, kind="accuracy")
    learned = _widths(ax)
    np.testing.assert_array_equal(learned, ds.source_accuracy_)
    assert np.all(np.diff(learned) < 0)  # the planted ranking is recovered
    np.testing.assert_allclose(learned, acc, atol=0.08)
    # Exp-activation weights are centred over the classes.
    ax = plot_source_accuracies(ds, kind="weights")
    centred = ds.W_ - ds.W_.mean(axis=2, keepdims=True)
    np.testing.assert_allclose(ax.get_images()[0].get_array(), centred.reshape(4, 6))
    # MajorityVote (identity activation): W_ as is; columns "vote -> class".
    mv = MajorityVote().fit(L)
    ax = plot_source_accuracies(mv)
    np.testing.assert_allclose(ax.get_images()[0].get_array(), mv.W_.reshape(4, 6))
    assert _ticks(ax, "x") == ["abst.→0", "abst.→1", "0→0", "0→1", "1→0", "1→1"]


def test_source_accuracies_of_a_fitted_snorkel():
    label_model = pytest.importorskip("skweak_e2e.label_model")
    if not hasattr(label_model, "Snorkel"):
        pytest.skip("Snorkel is not available")
    rng = np.random.RandomState(2)
    y = rng.randint(0, 2, 2000)
    acc = np.array([0.9, 0.8, 0.7, 0.6])
    L = np.where(rng.rand(2000, 4) < acc, y[:, None], 1 - y[:, None])
    L[rng.rand(2000, 4) < 0.3] = -1
    snorkel = label_model.Snorkel(n_epochs=500, random_state=0).fit(L)
    ax = plot_source_accuracies(snorkel)  # auto -> accuracy: source_accuracy_
    np.testing.assert_allclose(_widths(ax), snorkel.get_weights())
    assert np.all(np.diff(_widths(ax)) < 0)  # the planted ranking


def test_source_accuracies_snorkel_like_and_errors():
    snorkel = _FittedStub(mu_=np.zeros((6, 2)), classes_=np.array([0, 1]))
    snorkel.get_weights = lambda: np.array([0.9, 0.55, 0.7])
    ax = plot_source_accuracies(snorkel, source_names=["a", "b", "c"])
    np.testing.assert_allclose(_widths(ax), [0.9, 0.55, 0.7])
    chance = [line for line in ax.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and chance[0].get_xdata()[0] == 0.5
    with pytest.raises(TypeError, match="no confusion_"):
        plot_source_accuracies(MajorityVote().fit(L_SMALL), kind="confusion")
    with pytest.raises(TypeError, match="neither source_accuracy_ nor get_weights"):
        plot_source_accuracies(MajorityVote().fit(L_SMALL), kind="accuracy")
    with pytest.raises(ValueError, match="kind must be"):
        plot_source_accuracies(MajorityVote().fit(L_SMALL), kind="bars")
    with pytest.raises(NotFittedError):
        plot_source_accuracies(MajorityVote())


# --------------------------------------------------------------------------
# plot_training_curves
# --------------------------------------------------------------------------
def _history():
    losses = [0.9, 0.7, 0.6, 0.55, 0.5]
    scores = [0.6, 0.75, 0.72, 0.8, 0.79]
    best = [True, True, False, True, False]
    return [
        {
            "epoch": e + 1,
            "train_loss": loss,
            "valid_loss": loss + 0.1,
            "valid_score": s,
            "valid_score_best": b,
            "dur": 0.1,
            "batches": [],
            "train_batch_count": 3,
        }
        for e, (loss, s, b) in enumerate(zip(losses, scores, best))
    ]


class _WeaselStub:
    """Only what plot_training_curves reads from a fitted WeaSELClassifier."""

    class _Net:
        pass

    def __init__(self, history):
        self.net_ = self._Net()
        self.net_.history = history


def test_training_curves_from_a_weasel_like_object(tmp_path):
    ax = plot_training_curves(_WeaselStub(_history()))
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train_loss", "valid_loss", "best epoch (4)"]
    np.testing.assert_allclose(
        ax.get_lines()[0].get_ydata(), [0.9, 0.7, 0.6, 0.55, 0.5]
    )
    twin = ax.score_axes
    assert twin is not ax and twin in ax.figure.axes
    assert [line.get_label() for line in twin.get_lines()] == ["valid_score"]
    stars = twin.collections[0].get_offsets()
    np.testing.assert_allclose(stars, [[1, 0.6], [2, 0.75], [4, 0.8]])
    assert ax.get_title() == "_WeaselStub: training curves (5 epochs)"
    _saved_png(ax, tmp_path)


def test_training_curves_sources_and_keys():
    history = _history()
    model = _WeaselStub([{"train_loss": 1.0}])
    model.history_ = history  # history_ wins over net_.history
    ax = plot_training_curves(model, keys=["valid_score"])
    assert ax.score_axes is ax and len(ax.get_lines()) == 2  # score + best-epoch line
    # Missing values are gaps (NaN), not zeros.
    history[2].pop("valid_loss")
    ax = plot_training_curves(history, keys=["valid_loss"])
    assert np.isnan(ax.get_lines()[0].get_ydata()[2])
    with pytest.raises(ValueError, match="keys must be"):
        plot_training_curves(history, keys=["valid_acc"])
    with pytest.raises(TypeError, match="Cannot find a training history"):
        plot_training_curves(object())
    with pytest.raises(ValueError, match="non-empty list of dicts"):
        plot_training_curves([])


def test_training_curves_with_a_real_skorch_history():
    history_mod = pytest.importorskip("skorch.history")
    history = history_mod.History()
    for epoch, (loss, score) in enumerate([(1.0, 0.5), (0.8, 0.7), (0.7, 0.65)], 1):
        history.new_epoch()
        history.record("epoch", epoch)
        history.record("train_loss", loss)
        history.record("valid_acc", score)
        history.record("valid_acc_best", score == 0.7 or epoch == 1)
    ax = plot_training_curves(history)
    assert [line.get_label() for line in ax.score_axes.get_lines()] == ["valid_acc"]
    assert ax.get_lines()[-1].get_label() == "best epoch (2)"


# --------------------------------------------------------------------------
# plot_accuracy_scores
# --------------------------------------------------------------------------
def test_accuracy_scores_box_and_heatmap(tmp_path):
    rng = np.random.RandomState(0)
    theta = rng.rand(50, 3)
    L = np.where(rng.rand(50, 3) < 0.5, 1, -1)
    L[:, 2] = -1  # a silent source: an empty box
    ax = plot_accuracy_scores(theta, L=L, source_names=["a", "b", "c"])
    assert _ticks(ax) == ["a", "b", "c"]
    # Each box spans the quartiles of the scores where its source votes;
    # the silent source has an empty box.
    spans = [
        (p.get_path().vertices[:, 0].min(), p.get_path().vertices[:, 0].max())
        for p in ax.patches
    ]
    np.testing.assert_allclose(
        spans[:2], [np.percentile(theta[L[:, j] != -1, j], [25, 75]) for j in range(2)]
    )
    assert np.isnan(spans[2]).all()
    _saved_png(ax, tmp_path, "box.png")

    ax = plot_accuracy_scores(theta, L=L, kind="heatmap", max_samples=10)
    image = np.ma.filled(ax.get_images()[0].get_array(), np.nan)
    rows = np.linspace(0, 49, 10).astype(int)
    expected = np.where(L != -1, theta, np.nan)[rows]
    np.testing.assert_allclose(image, expected)
    _saved_png(ax, tmp_path, "heat.png")


def test_accuracy_scores_class_conditional_and_errors():
    theta = np.arange(24, dtype=float).reshape(4, 3, 2)
    L = np.array([[0, 1, -1], [1, 1, 0], [-1, -1, -1], [0, 0, 1]])
    ax = plot_accuracy_scores(theta, L=L, kind="heatmap")
    assert _ticks(ax, "x") == [f"source {j} [{c}]" for j in range(3) for c in range(2)]
    image = np.ma.filled(ax.get_images()[0].get_array(), np.nan)
    # theta_jc is shown only where source j votes class c.
    mask = (L[:, :, None] == np.arange(2)).reshape(4, 6)
    np.testing.assert_array_equal(np.isnan(image), ~mask)
    with pytest.raises(ValueError, match="L has shape"):
        plot_accuracy_scores(theta, L=L[:2])
    with pytest.raises(ValueError, match="theta must have shape"):
        plot_accuracy_scores(np.ones(3))
    with pytest.raises(ValueError, match="kind must be"):
        plot_accuracy_scores(theta, kind="violin")


# --------------------------------------------------------------------------
# plot_influence
# --------------------------------------------------------------------------
def test_influence_top_k_order_and_colours(tmp_path):
    result = {
        "per_source": np.array([0.5, -0.2, 0.05, -0.9, 0.0]),
        "per_sample": np.zeros(7),
        "source_names": ["a", "b", "c", "d", "e"],
    }
    ax = plot_influence(result, top_k=3)
    assert _ticks(ax) == ["d", "a", "b"]
    np.testing.assert_allclose(_widths(ax), [-0.9, 0.5, -0.2])
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours[0] == colours[2] != colours[1]  # negative, positive, negative
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["> 0: harmful", "< 0: helpful"]
    _saved_png(ax, tmp_path)


def test_influence_accepts_generic_results():
    import pandas as pd

    ax = plot_influence(pd.Series([1.0, -3.0], index=["x", "y"]))
    assert _ticks(ax) == ["y", "x"]
    ax = plot_influence(
        {"lf_a": 0.1, "lf_b": -0.4}, positive_label="up", negative_label="down"
    )
    assert _ticks(ax) == ["lf_b", "lf_a"]
    # (source, class) tables are summed per source.
    ax = plot_influence(np.array([[1.0, 2.0], [-5.0, 1.0]]))
    np.testing.assert_allclose(_widths(ax), [-4.0, 3.0])
    assert _ticks(ax) == ["source 1", "source 0"]
    # Per-vote scores with their (sample, source) coordinates.
    votes = {
        "vote_values": [0.2, -0.7],
        "vote_rows": [3, 8],
        "vote_cols": [1, 0],
        "source_names": ["kw", "link"],
    }
    ax = plot_influence(votes, key="vote_values")
    assert _ticks(ax) == ["sample 8 / kw", "sample 3 / link"]
    assert "votes" in ax.get_title()
    ax = plot_influence({"per_sample": [0.1, 0.3]}, key="per_sample")
    assert _ticks(ax) == ["sample 1", "sample 0"]
    with pytest.raises(KeyError, match="'nope'"):
        plot_influence(votes, key="nope")
    with pytest.raises(ValueError, match="Cannot find the scores"):
        plot_influence({"a": [1, 2], "b": [3]})
    with pytest.raises(ValueError, match="top_k"):
        plot_influence([1.0], top_k=0)
    with pytest.raises(ValueError, match="names has 1 entries"):
        plot_influence([1.0, 2.0], names=["a"])


def test_importing_plotting_does_not_import_matplotlib():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, skweak_e2e, skweak_e2e.plotting; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_plot_influence_accepts_an_influence_result():
    from skweak_e2e import MajorityVote, SourceAwareInfluence
    from skweak_e2e.datasets import make_weak_supervision
    from skweak_e2e.plotting import plot_influence

    X, L, y = make_weak_supervision(200, 5, n_features=4, random_state=0)
    inspector = SourceAwareInfluence(MajorityVote()).fit(X[:150], L[:150])
    result = inspector.influence(X[150:], y[150:])
    ax = plot_influence(result)
    assert len(ax.patches) == 5
    np.testing.assert_allclose(
        sorted(np.abs([p.get_width() for p in ax.patches])),
        sorted(np.abs(result.per_source)),
    )


def _never_computed():
    raise AssertionError("plot_influence computed a lazy array")


def test_plot_influence_on_dask_results_draws_per_source_and_refuses_lazy_rows():
    # A dask result's per-row scores are lazy: drawing them would compute
    # every row in the driver, so they are refused (without computing them);
    # its per-source sums are in memory and draw as in memory.
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    from skweak_e2e import SourceAwareInfluence
    from skweak_e2e.datasets import make_weak_supervision
    from skweak_e2e.plotting import plot_influence

    lazy = da.from_delayed(dask.delayed(_never_computed)(), shape=(7,), dtype=float)
    for result, key in [({"per_sample": lazy}, "per_sample"), (lazy, "auto")]:
        with pytest.raises(TypeError, match=r"lazy dask Array .*\(7 entries\) whole"):
            plot_influence(result, key=key)

    X, L, y = make_weak_supervision(300, 4, n_features=3, random_state=0)
    Xd = da.from_array(X[:200], chunks=(100, -1))
    Ld = da.from_array(L[:200], chunks=(100, -1))
    result = SourceAwareInfluence(MajorityVote(), l2=1e-2).fit(Xd, Ld).influence(
        X[200:], y[200:]
    )
    ax = plot_influence(result)
    np.testing.assert_allclose(
        sorted(np.abs([p.get_width() for p in ax.patches])),
        sorted(np.abs(result.per_source)),
    )
    with pytest.raises(TypeError, match="per_sample"):
        plot_influence(result, key="per_sample")
    plt.close("all")
