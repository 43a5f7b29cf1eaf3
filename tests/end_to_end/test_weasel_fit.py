"""WeaSELClassifier fits: losses, encodings, votes, selection, persistence, devices."""

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import config_context
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skweak_e2e import WeaSELClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skweak_e2e.end_to_end import (  # noqa: E402
    WeaSELModule,
    best_f1_threshold,
)
from skweak_e2e.end_to_end._losses import LOSSES  # noqa: E402
from ._weasel_common import FAST, _data, _quiet_fit, _split  # noqa: E402
from .._tolerance import assert_allclose_scaled  # noqa: E402


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_to_a_finite_model(loss):
    X, L, y = _data()
    clf = _quiet_fit(WeaSELClassifier(loss=loss, **FAST), X, L)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    assert np.isfinite(clf.predict_proba(X)).all()


def test_lf_encodings_feed_the_encoder_the_documented_columns():
    L = torch.tensor([[0, -1, 1], [1, 1, -1]])
    X = torch.arange(4, dtype=torch.float64).reshape(2, 2)
    onehot = torch.tensor([[1, 0, 0, 0, 0, 1], [0, 1, 0, 1, 0, 0]], dtype=torch.float64)
    expected = {
        "onehot": onehot,
        "signed": torch.tensor([[-1, 0, 1], [1, 1, 0]], dtype=torch.float64),
        "raw": L.double(),
    }
    for encoding, votes in expected.items():
        for uses_features in (True, False):
            module = WeaSELModule(
                torch.nn.Identity(),
                torch.nn.Identity(),
                n_sources=3,
                n_classes=2,
                lf_encoding=encoding,
                encoder_uses_features=uses_features,
            )
            lam = module.vote_onehot(L, torch.float64)
            torch.testing.assert_close(lam.reshape(2, -1), onehot)
            got = module.encoder_input(X, L, lam)
            want = torch.cat([votes, X], dim=1) if uses_features else votes
            torch.testing.assert_close(got, want)
    X, L, _ = _data()
    for encoding in ("signed", "raw"):
        clf = _quiet_fit(
            WeaSELClassifier(lf_encoding=encoding, encoder_uses_features=False, **FAST),
            X,
            L,
        )
        assert clf.net_.module_.encoder.layers[0].in_features == L.shape[1]


# ----------------------------------------------------------------------------
# Training data handling
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("class_prior", [None, [0.8, 0.2]])
def test_uncovered_rows_are_dropped_even_with_a_non_uniform_prior(class_prior):
    X, L, _ = _data(m=3, coverage=0.4)
    covered = (L >= 0).any(axis=1)
    assert 0.1 < (~covered).mean() < 0.5
    params = dict(FAST, class_prior=class_prior)
    full = _quiet_fit(WeaSELClassifier(**params), X, L)
    assert full.n_train_used_ == covered.sum()
    assert full.coverage_ == pytest.approx(covered.mean())
    # Training on all rows is training on the covered rows only.
    only = _quiet_fit(WeaSELClassifier(**params), X[covered], L[covered])
    # The same rows, copied apart: equal up to float32 noise (a BLAS may
    # sum differently over buffers aligned differently).
    assert_allclose_scaled(full.predict_proba(X), only.predict_proba(X),
                           rtol=1e-5, atol=1e-6)
    kept = _quiet_fit(WeaSELClassifier(drop_uncovered=False, **params), X, L)
    assert kept.n_train_used_ == len(X)
    assert not np.array_equal(kept.predict_proba(X), full.predict_proba(X))
    if class_prior is not None:
        # uncovered rows: the encoder returns the prior, not a uniform label
        np.testing.assert_allclose(
            full.predict_proba_encoder(X[~covered], L[~covered]),
            np.tile(class_prior, ((~covered).sum(), 1)),
            rtol=1e-12,
        )


def test_soft_votes_equal_hard_votes_when_one_hot():
    X, L, _ = _data(n_classes=3)
    soft = (L[:, :, None] == np.arange(3)).astype(float)
    hard_clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    soft_clf = _quiet_fit(WeaSELClassifier(**FAST), X, soft)
    assert_allclose_scaled(hard_clf.predict_proba(X), soft_clf.predict_proba(X),
                           rtol=1e-5, atol=1e-6)
    assert_allclose_scaled(
        hard_clf.accuracy_scores(X, L), soft_clf.accuracy_scores(X, soft),
        rtol=1e-5, atol=1e-6,
    )
    # genuinely soft votes are accepted too
    soft[:, 0] = [0.2, 0.3, 0.1]
    _quiet_fit(WeaSELClassifier(**FAST), X, soft)


def test_string_labels_abstain_value_and_declared_classes():
    X, L, _ = _data(m=4)
    names = np.array(["neg", "pos"])
    L_str = np.where(L < 0, "?", names[np.clip(L, 0, 1)])
    clf = _quiet_fit(WeaSELClassifier(abstain="?", **FAST), X, L_str)
    np.testing.assert_array_equal(clf.classes_, names)
    assert set(clf.predict(X)) <= set(names)
    ref = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(
        clf.predict_proba_encoder(X, L_str), ref.predict_proba_encoder(X, L)
    )
    # a class that no source votes for
    wide = _quiet_fit(WeaSELClassifier(classes=[0, 1, 2], **FAST), X, L)
    assert wide.n_classes_ == 3 and wide.predict_proba(X).shape == (len(X), 3)


def test_score_is_gold_accuracy_or_agreement_with_the_votes():
    X, L, y = _data(m=4)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    pred = clf.predict(X)
    assert clf.score(X, y) == pytest.approx(np.mean(pred == y))
    votes = L >= 0
    agree = (L == pred[:, None]) & votes
    assert clf.score(X, L) == pytest.approx(agree.sum() / votes.sum())
    y_partial = np.where(np.arange(len(y)) % 3 == 0, -1, y)
    known = y_partial >= 0
    assert clf.score(X, y_partial) == pytest.approx(np.mean(pred[known] == y[known]))


# ----------------------------------------------------------------------------
# Validation, checkpoints and the decision threshold
# ----------------------------------------------------------------------------
def _brute_force_f1_threshold(y, scores):
    best_t, best_f1 = None, -1.0
    for t in np.sort(np.unique(scores))[::-1]:
        pred = scores >= t
        tp = np.sum(pred & (y == 1))
        precision = tp / pred.sum()
        recall = tp / np.sum(y == 1)
        f1 = 2 * precision * recall / (precision + recall + 1e-6)
        if f1 > best_f1:
            best_t, best_f1 = t, f1
    return best_t, best_f1


def test_best_f1_threshold_is_the_brute_force_argmax():
    rng = np.random.RandomState(0)
    for _ in range(20):
        y = rng.randint(0, 2, 60)
        y[:2] = [0, 1]
        scores = np.round(rng.rand(60) * 0.5 + 0.3 * y, 2)  # many ties
        t, f1 = best_f1_threshold(y, scores)
        t_ref, f1_ref = _brute_force_f1_threshold(y, scores)
        assert t == t_ref and f1 == pytest.approx(f1_ref, rel=1e-12)
        assert f1 == pytest.approx(
            f1_score(y, scores >= t), abs=1e-5
        )  # the 1e-6 guard aside, this is F1


def test_tuned_threshold_and_restored_checkpoint():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.5)
    # validation_weight=0: the checkpoint of the best epoch is the final model.
    tuned = dict(
        FAST, max_epochs=6, scoring="roc_auc", tune_threshold=True, validation_weight=0
    )
    clf = WeaSELClassifier(**tuned).fit(X, L, X_val=X_val, y_val=y_val)
    scores = clf.history_[:, "valid_score"]
    assert len(scores) == 6
    assert clf.best_score_ == max(scores)
    assert clf.best_epoch_ == int(np.argmax(scores)) + 1
    proba = clf.predict_proba(X_val)
    # The kept weights are those of the best epoch ...
    assert roc_auc_score(y_val, proba[:, 1]) == clf.best_score_
    # ... with the F1-optimal threshold of that epoch.
    t_ref, _ = _brute_force_f1_threshold(y_val, proba[:, 1])
    assert clf.threshold_ == t_ref
    np.testing.assert_array_equal(
        clf.predict(X_val), (proba[:, 1] >= t_ref).astype(int)
    )
    untuned = WeaSELClassifier(**dict(tuned, tune_threshold=False))
    untuned.fit(X, L, X_val=X_val, y_val=y_val)
    assert untuned.threshold_ is None
    np.testing.assert_array_equal(untuned.predict_proba(X_val), proba)
    np.testing.assert_array_equal(untuned.predict(X_val), proba.argmax(axis=1))


def test_patience_stops_when_the_validation_score_is_flat():
    X, L, X_val, y_val = _split()
    # An lr below float32 resolution leaves the weights, hence the score,
    # unchanged: no improvement after the first epoch.
    clf = WeaSELClassifier(
        **dict(FAST, dtype="float32", lr=1e-12, max_epochs=20, patience=2)
    ).fit(X, L, X_val=X_val, y_val=y_val)
    assert len(clf.history_) == 3
    assert clf.best_epoch_ == 1


def test_without_validation_data_the_last_epoch_is_kept_silently():
    X, L, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = WeaSELClassifier(**FAST).fit(X, L)
    assert clf.best_epoch_ == clf.n_epochs_ == 3
    assert clf.best_score_ is None and clf.threshold_ is None


# ----------------------------------------------------------------------------
# sklearn integration: determinism, pickling, model selection, pipelines
# ----------------------------------------------------------------------------
def test_same_random_state_same_model_and_global_rng_untouched():
    X, L, _ = _data()
    params = dict(FAST, dtype="float32")
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()
    first = _quiet_fit(WeaSELClassifier(**params), X, L).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    second = _quiet_fit(WeaSELClassifier(**params), X, L).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = _quiet_fit(WeaSELClassifier(**dict(params, random_state=1)), X, L)
    assert not np.array_equal(first, other.predict_proba(X))


def test_pickle_round_trip_keeps_predictions_and_drops_training_data():
    X, L, X_val, y_val = _split()
    clf = WeaSELClassifier(**FAST).fit(X, L, X_val=X_val, y_val=y_val)
    blob = pickle.dumps(clf)
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.predict_proba(X_val), clf.predict_proba(X_val))
    np.testing.assert_array_equal(
        loaded.accuracy_scores(X, L), clf.accuracy_scores(X, L)
    )
    assert loaded.threshold_ == clf.threshold_
    assert len(blob) < 200_000  # weights and history, not the data
    checkpoint = dict(loaded.net_.callbacks_)["checkpoint"]
    assert checkpoint.X_val is None and checkpoint.best_state is None


@pytest.mark.gpu
def test_gpu_training_and_a_pickle_that_loads_on_cpu(tmp_path):
    X, L, X_val, y_val = _split()
    clf = WeaSELClassifier(**dict(FAST, device="cuda")).fit(
        X, L, X_val=X_val, y_val=y_val
    )
    assert clf.device_.startswith("cuda")
    assert next(clf.net_.module_.parameters()).is_cuda
    proba = clf.predict_proba(X_val)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X_val.npy", X_val)
    np.save(tmp_path / "proba.npy", proba)
    script = (
        "import pickle, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "warnings.simplefilter('ignore')\n"
        f"clf = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "assert not next(clf.net_.module_.parameters()).is_cuda\n"
        f"X = np.load({str(tmp_path / 'X_val.npy')!r})\n"
        f"ref = np.load({str(tmp_path / 'proba.npy')!r})\n"
        "np.testing.assert_allclose(clf.predict_proba(X), ref, atol=1e-10)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=python_path)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
def test_cuda_request_without_cuda_names_the_device():
    X, L, _ = _data()
    with pytest.raises(ValueError, match=r"WeaSELClassifier got device='cuda'.*no CUDA"):
        WeaSELClassifier(**dict(FAST, device="cuda", tau1=0.3)).fit(X, L)
    # "auto" is the portable spelling: CUDA only when present.
    clf = WeaSELClassifier(**dict(FAST, device="auto", tau1=0.3)).fit(X, L)
    assert clf.device_ == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_resolve_device_checks_the_cuda_index(monkeypatch):
    from skweak_e2e.utils._torch import resolve_device

    # A machine with one CUDA device, simulated: no CUDA call is made.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device(None) == torch.device("cuda", 0)
    assert resolve_device(torch.device("cuda:0")) == torch.device("cuda", 0)
    with pytest.raises(ValueError, match=r"Net got device='cuda:1'.*1 CUDA device"):
        resolve_device("cuda:1", "Net")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='bogus' is not a torch device"):
        resolve_device("bogus")


def test_grid_search_over_hyper_parameters_with_a_label_matrix():
    X, L, y = _data()
    search = GridSearchCV(
        WeaSELClassifier(**dict(FAST, tau1=0.3)),
        {"loss": ["ce", "hellinger"], "hidden_layer_sizes": [(8,), (16, 8)]},
        cv=2,
        error_score="raise",
    ).fit(X, L)
    assert search.best_params_["loss"] in ("ce", "hellinger")
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.score(X, y) > 0.8


def test_pipeline_routes_validation_data_through_the_scaler():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.0)
    X, X_val = X * 3 + 10, X_val * 3 + 10  # scaling matters
    with config_context(enable_metadata_routing=True):
        clf = WeaSELClassifier(**FAST, scoring="roc_auc", validation_weight=0)
        clf.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("clf", clf)], transform_input=["X_val"]
        ).fit(X, L, X_val=X_val, y_val=y_val)
    fitted = pipe.named_steps["clf"]
    scaled = pipe.named_steps["scale"].transform(X_val)
    assert fitted.best_score_ < 0.99
    assert (
        roc_auc_score(y_val, fitted.predict_proba(scaled)[:, 1]) == fitted.best_score_
    )
    assert roc_auc_score(y_val, fitted.predict_proba(X_val)[:, 1]) != fitted.best_score_


def test_custom_modules_classes_and_instances():
    class Linear(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs, bias=True):
            super().__init__()
            self.linear = torch.nn.Linear(n_features_in, n_outputs, bias=bias)

        def forward(self, X):
            return self.linear(X)

    X, L, _ = _data()
    by_class = _quiet_fit(
        WeaSELClassifier(
            module=Linear, module_params={"bias": False}, encoder=Linear, **FAST
        ),
        X,
        L,
    )
    module = by_class.net_.module_
    assert module.downstream.linear.bias is None
    assert module.encoder.linear.in_features == 5 * 2 + X.shape[1]
    user_net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 2)).double()
    before = user_net[0].weight.detach().clone()
    first = _quiet_fit(WeaSELClassifier(module=user_net, **FAST), X, L)
    second = _quiet_fit(WeaSELClassifier(module=user_net, **FAST), X, L)
    torch.testing.assert_close(user_net[0].weight, before)  # not trained in place
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_encoder_learning_rate_is_a_separate_parameter_group():
    X, L, _ = _data()
    clf = _quiet_fit(WeaSELClassifier(encoder_lr=3e-3, **FAST), X, L)
    groups = clf.net_.optimizer_.param_groups
    assert sorted(g["lr"] for g in groups) == [3e-3, 1e-2]
    encoder_ids = {id(p) for p in clf.net_.module_.encoder.parameters()}
    for group in groups:
        in_encoder = {id(p) in encoder_ids for p in group["params"]}
        assert in_encoder == {group["lr"] == 3e-3}


# ----------------------------------------------------------------------------
# Bad input
