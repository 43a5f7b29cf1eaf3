"""WeaSEL training: recovery, encoder start, warm-up, selection, sparse X, auto options."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skweak_e2e import MajorityVote, WeaSELClassifier
from skweak_e2e.datasets import make_weak_supervision

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from ._weasel_common import FAST, _data, _quiet_fit, _split  # noqa: E402


# Recovery (an analogue of the recovery experiment of Rühling Cachay et al.,
# NeurIPS 2021, appendix F.2.1)
# ----------------------------------------------------------------------------
def test_recovers_a_perfect_source_hidden_among_duplicated_coin_flips():
    """One perfect source and a fair coin duplicated k=25 times.

    Majority vote follows the coin (25 identical votes against 1), so a
    network trained on its labels learns noise; WeaSEL must learn to trust
    the perfect source and match the supervised network (same architecture,
    same training budget, same model selection) within 0.03 test AUC.
    """
    n_train, n_val, k = 2000, 200, 25
    X, L, y = make_weak_supervision(
        n_train + n_val + 2000,
        2,
        accuracy=[1.0, 0.5],
        coverage=1.0,
        duplicates={1: k - 1},
        n_features=20,
        class_sep=2.3,
        random_state=0,
    )
    L = L[:, np.random.RandomState(1).permutation(L.shape[1])]
    train, val, test = (
        slice(0, n_train),
        slice(n_train, n_train + n_val),
        slice(n_train + n_val, None),
    )
    # The paper's protocol: the gold rows select the epoch, never train.
    params = dict(lr=1e-3, max_epochs=15, validation_weight=0, random_state=2)

    def test_auc(labels):
        clf = WeaSELClassifier(**params).fit(
            X[train], labels, X_val=X[val], y_val=y[val]
        )
        return roc_auc_score(y[test], clf.predict_proba(X[test])[:, 1])

    supervised = test_auc(y[train])
    mv_labels = MajorityVote(tie_break="lowest").fit(L[train]).predict(L[train])
    majority = test_auc(mv_labels)
    weasel = test_auc(L[train])
    print(
        f"test AUC: supervised {supervised:.4f}, WeaSEL {weasel:.4f}, MV {majority:.4f}"
    )
    assert supervised > 0.93
    threshold = supervised - 0.03
    assert weasel >= threshold, (weasel, supervised)
    assert majority < threshold, (majority, supervised)
    assert majority < 0.7


# ----------------------------------------------------------------------------
# Training protocol: warm-up, epoch selection, sparse features, interrupts
# ----------------------------------------------------------------------------
def _soft_majority_vote(L, n_classes, tau2):
    """The default encoder's labels before training, in closed form.

    The zeroed output layer gives every voter the same accuracy, ``tau2``
    divided by the number of voters on the row, so the encoder's logits are
    ``tau2 * (votes for c) / (number of votes)``.
    """
    counts = np.stack([(L == c).sum(axis=1) for c in range(n_classes)], axis=1)
    n_votes = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    logits = tau2 * counts / n_votes
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_majority_vote_encoder_init_is_a_soft_majority_vote(n_classes):
    X, L, _ = _data(n_classes=n_classes, m=6, coverage=0.5)
    # The warm-up covers the whole fit: the encoder is never trained.
    params = dict(FAST, max_epochs=2, warmup_epochs=2, encoder_init="majority_vote")
    clf = _quiet_fit(WeaSELClassifier(**params), X, L)
    covered = (L >= 0).any(axis=1)
    expected = _soft_majority_vote(L[covered], n_classes, clf.tau2_)
    np.testing.assert_allclose(
        clf.predict_proba_encoder(X[covered], L[covered]), expected, rtol=1e-9
    )


def test_random_encoder_init_is_the_dense_default_and_the_papers():
    X, L, _ = _data(m=6, coverage=0.5)
    assert WeaSELClassifier().encoder_init == "auto"
    clf = _quiet_fit(
        WeaSELClassifier(**dict(FAST, max_epochs=1, warmup_epochs=1)), X, L
    )
    assert clf.encoder_init_ == "random"
    covered = (L >= 0).any(axis=1)
    expected = _soft_majority_vote(L[covered], 2, clf.tau2_)
    got = clf.predict_proba_encoder(X[covered], L[covered])
    assert np.abs(got - expected).max() > 1e-3  # per-sample accuracies differ


def test_warmup_freezes_the_encoder_then_trains_it():
    X, L, _ = _data()
    mv = dict(FAST, encoder_init="majority_vote")
    frozen = _quiet_fit(WeaSELClassifier(**dict(mv, warmup_epochs=3)), X, L)
    head = list(frozen.net_.module_.encoder.modules())[-1]
    assert torch.count_nonzero(head.weight) == 0  # never updated
    assert all(p.requires_grad for p in frozen.net_.module_.parameters())
    joint = _quiet_fit(WeaSELClassifier(**dict(mv, warmup_epochs=1)), X, L)
    head = list(joint.net_.module_.encoder.modules())[-1]
    assert torch.count_nonzero(head.weight) > 0


def test_selection_starts_after_the_warmup():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.5)
    clf = WeaSELClassifier(**dict(FAST, max_epochs=8, warmup_epochs=4)).fit(
        X, L, X_val=X_val, y_val=y_val
    )
    scores = np.asarray(clf.history_[:, "valid_score"])
    assert len(scores) == 8
    assert clf.best_epoch_ >= 4
    assert clf.best_epoch_ == 4 + int(np.argmax(scores[3:]))
    assert not any(clf.history_[:3, "valid_score_best"])


def test_predict_is_the_argmax_of_predict_proba_by_default():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.0)
    clf = WeaSELClassifier(random_state=0, max_epochs=12, warmup_epochs=3).fit(
        X, L, X_val=X_val, y_val=y_val
    )
    assert clf.threshold_ is None
    proba = clf.predict_proba(X_val)
    np.testing.assert_array_equal(clf.predict(X_val), clf.classes_[proba.argmax(1)])


def test_default_scoring_selects_on_accuracy_and_breaks_ties_by_log_loss():
    from skweak_e2e.end_to_end._scoring import validation_scorer

    scorer = validation_scorer("auto", 2, np.array([0, 1]))
    y = np.array([0, 1, 1, 0])
    sharp = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    flat = np.array([[0.55, 0.45], [0.45, 0.55], [0.45, 0.55], [0.55, 0.45]])
    wrong = np.array([[0.99, 0.01], [0.01, 0.99], [0.01, 0.99], [0.01, 0.99]])
    # Same accuracy (1.0): the better log-loss wins; 3/4 right loses to both.
    assert scorer(y, sharp) > scorer(y, flat) > scorer(y, wrong)
    assert scorer(y, flat) > 0.75 and scorer(y, sharp) <= 1.0


def test_kept_network_is_trained_not_the_initial_one():
    # Imbalanced, low-signal data where the validation AUC of an untrained
    # network can look good: the kept network must follow the votes.
    X, L, y = make_weak_supervision(
        900, 8, class_prior=[0.85, 0.15], accuracy=0.75, coverage=0.3,
        n_features=10, class_sep=1.0, random_state=3,
    )
    clf = WeaSELClassifier(random_state=0, max_epochs=15).fit(
        X[:700], L[:700], X_val=X[700:], y_val=y[700:]
    )
    covered = (L[:700] >= 0).any(axis=1)
    X_cov, L_cov, y_cov = X[:700][covered], L[:700][covered], y[:700][covered]
    # Ties count as misses (tie_break="abstain"), as in the numbers below.
    vote_accuracy = np.mean(MajorityVote(tie_break="abstain").fit(L_cov).predict(L_cov) == y_cov)
    # The paper's protocol (lr 1e-4, ROC-AUC selection, F1 threshold) keeps
    # an epoch-4 network right on 0.62 of these rows, below the votes (0.72).
    assert np.mean(clf.predict(X_cov) == y_cov) > vote_accuracy + 0.05
    paper = WeaSELClassifier(
        random_state=0, lr=1e-4, batch_size=64, max_epochs=15,
        scoring="roc_auc", tune_threshold=True,
    ).fit(X[:700], L[:700], X_val=X[700:], y_val=y[700:])
    assert np.mean(paper.predict(X_cov) == y_cov) < vote_accuracy


def test_sparse_features_give_the_dense_model():
    import scipy.sparse as sp

    X, L, X_val, y_val = _split(n=400, accuracy=0.8)
    X = np.where(np.abs(X) > 1.0, X, 0.0)  # mostly zeros, like TF-IDF
    X_val = np.where(np.abs(X_val) > 1.0, X_val, 0.0)
    # The "auto" options differ between dense and sparse X: pin them.
    params = dict(
        FAST, max_epochs=4, warmup_epochs=2, encoder_uses_features=True,
        weight_decay=1e-4, encoder_init="random", validation_weight=1.0,
        validation_lr=1e-3,
    )
    dense = WeaSELClassifier(**params).fit(X, L, X_val=X_val, y_val=y_val)
    sparse = WeaSELClassifier(**params).fit(
        sp.csr_matrix(X), L, X_val=sp.csr_matrix(X_val), y_val=y_val
    )
    proba = dense.predict_proba(X_val)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X_val)), proba,
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sparse.predict_proba(X_val), proba, rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(
        sparse.accuracy_scores(sp.csc_matrix(X), L), dense.accuracy_scores(X, L),
        rtol=1e-6, atol=1e-9,
    )
    assert dense.best_epoch_ == sparse.best_epoch_


def test_sparse_features_reach_a_custom_module_as_dense_rows():
    import scipy.sparse as sp

    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features_in, n_outputs)

        def forward(self, X):
            seen.append(X.layout)
            return self.linear(X)

    X, L, _ = _data(n=120)
    clf = _quiet_fit(WeaSELClassifier(module=Recorder, **FAST), sp.csr_matrix(X), L)
    clf.predict_proba(sp.csr_matrix(X))
    assert set(seen) == {torch.strided}


def test_without_validation_patience_watches_the_training_loss():
    X, L, _ = _data()
    # An lr below float32 resolution, without dropout and batch norm (whose
    # batch statistics depend on the shuffle), keeps the epoch loss flat:
    # stop after `patience` epochs without improvement, keep the last one.
    flat = dict(
        FAST, dtype="float32", lr=1e-12, dropout=0.0, encoder_dropout=0.0,
        encoder_batchnorm=False, max_epochs=30, patience=3,
    )
    clf = _quiet_fit(WeaSELClassifier(**flat), X, L)
    assert clf.n_epochs_ == 4 and clf.best_epoch_ == 4


class _InterruptAfter(torch.nn.Module):
    """A downstream network that raises KeyboardInterrupt (Ctrl-C) in training."""

    def __init__(self, n_features_in, n_outputs, n_calls):
        super().__init__()
        self.linear = torch.nn.Linear(n_features_in, n_outputs)
        self.n_calls = n_calls
        self.calls = 0

    def forward(self, X):
        if self.training:
            self.calls += 1
            if self.calls > self.n_calls:
                raise KeyboardInterrupt
        return self.linear(X)


def test_ctrl_c_keeps_the_best_epoch_so_far_and_warns():
    X, L, X_val, y_val = _split()
    n_batches = int(np.ceil((L >= 0).any(axis=1).sum() / 64))
    clf = WeaSELClassifier(
        module=_InterruptAfter,
        module_params={"n_calls": 2 * n_batches + 1},  # in the third epoch
        **dict(FAST, max_epochs=10, batch_size=64),
    )
    with pytest.warns(UserWarning, match=r"interrupted after 2 of 10 epochs"):
        clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert clf.n_epochs_ == 2 and clf.best_epoch_ in (1, 2)
    assert np.isfinite(clf.predict_proba(X_val)).all()
    assert clf.validation_weight_ == 0.0  # the gold rows did not join


def test_ctrl_c_before_any_epoch_reraises():
    X, L, X_val, y_val = _split()
    clf = WeaSELClassifier(
        module=_InterruptAfter, module_params={"n_calls": 1}, **FAST
    )
    with pytest.raises(KeyboardInterrupt, match="interrupted after 0 epoch"):
        clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize(
    "n_rows, expected",
    [(40, 16), (300, 18), (1023, 63), (1024, 64), (12_800, 64), (50_000, 250),
     (10**6, 512)],
)
def test_auto_batch_size(n_rows, expected):
    from skweak_e2e.end_to_end._weasel import _auto_batch_size

    assert _auto_batch_size(n_rows) == expected


def test_auto_batch_size_is_recorded():
    X, L, _ = _data(n=300)
    clf = _quiet_fit(WeaSELClassifier(**dict(FAST, batch_size="auto")), X, L)
    assert clf.batch_size_ == max(16, clf.n_train_used_ // 16)
    fixed = _quiet_fit(WeaSELClassifier(**dict(FAST, batch_size=32)), X, L)
    assert fixed.batch_size_ == 32


@pytest.mark.parametrize("sparse", [False, True])
def test_auto_options_follow_the_sparsity_of_X(sparse):
    import scipy.sparse as sp

    X, L, _ = _data(n=120)
    X_fit = sp.csr_matrix(np.maximum(X, 0.0)) if sparse else X
    clf = WeaSELClassifier(max_epochs=1, encoder_hidden=(8,), random_state=0)
    clf.fit(X_fit, L)
    expected = (
        ((16,), False, 1e-2, 1e-4) if sparse else ((50, 50, 25), True, 3e-3, 7e-7)
    )
    resolved = (
        clf.hidden_layer_sizes_, clf.encoder_uses_features_, clf.lr_,
        clf.weight_decay_,
    )
    assert resolved == expected
    widths = [layer.out_features for layer in clf.net_.module_.downstream.modules()
              if isinstance(layer, torch.nn.Linear)]
    assert widths == list(expected[0]) + [2]
    n_votes = L.shape[1] * 2
    first = next(m for m in clf.net_.module_.encoder.modules()
                 if isinstance(m, torch.nn.Linear))
    assert first.in_features == n_votes + (0 if sparse else X.shape[1])
    assert clf.net_.optimizer_.param_groups[0]["lr"] == expected[2]
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == expected[3]


def test_explicit_values_override_the_auto_options_on_sparse_X():
    import scipy.sparse as sp

    X, L, _ = _data(n=120)
    clf = WeaSELClassifier(
        max_epochs=1, hidden_layer_sizes=(5,), encoder_uses_features=True,
        lr=1e-3, weight_decay=0.0, random_state=0,
    ).fit(sp.csr_matrix(np.maximum(X, 0.0)), L)
    assert (clf.hidden_layer_sizes_, clf.encoder_uses_features_) == ((5,), True)
    assert (clf.lr_, clf.weight_decay_) == (1e-3, 0.0)



def test_non_canonical_sparse_X_gives_the_canonical_model_and_is_left_alone():
    import scipy.sparse as sp

    X, L, _ = _data(n=150)
    X = np.where(np.abs(X) > 1.0, X, 0.0)
    canonical = sp.csr_matrix(X)
    # The same matrix with every stored value split in two halves, each row's
    # entries in reversed column order: duplicated, unsorted entries.
    coo = canonical.tocoo()
    rows, cols = np.r_[coo.row, coo.row], np.r_[coo.col, coo.col]
    order = np.lexsort((-cols, rows))
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=X.shape[0]))]
    vals = np.r_[coo.data, coo.data] / 2
    messy = sp.csr_matrix((vals[order], cols[order], indptr), shape=X.shape)
    assert not messy.has_canonical_format
    before = (messy.data.copy(), messy.indices.copy())
    a = WeaSELClassifier(**FAST).fit(canonical, L)
    b = WeaSELClassifier(**FAST).fit(messy, L)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-9)
    np.testing.assert_array_equal(messy.data, before[0])
    np.testing.assert_array_equal(messy.indices, before[1])


def test_sparse_auto_starts_from_the_majority_vote_with_a_warm_up():
    import scipy.sparse as sp

    X, L, X_val, y_val = _split(n=300, accuracy=0.8)
    X = np.where(np.abs(X) > 1.0, X, 0.0)
    clf = WeaSELClassifier(**dict(FAST, max_epochs=4, warmup_epochs="auto")).fit(
        sp.csr_matrix(X), L, X_val=sp.csr_matrix(np.where(np.abs(X_val) > 1.0, X_val, 0.0)),
        y_val=y_val,
    )
    assert clf.encoder_init_ == "majority_vote" and clf.warmup_epochs_ == 3
    # Epoch selection starts with the last warm-up epoch.
    assert clf.best_epoch_ >= 3
    dense = WeaSELClassifier(**dict(FAST, max_epochs=2, warmup_epochs="auto")).fit(X, L)
    assert dense.encoder_init_ == "random" and dense.warmup_epochs_ == 0
