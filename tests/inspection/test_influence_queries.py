"""The queries of SourceAwareInfluence: mislabel scores, explain, reduce modes,
errors, soft votes, pickling and parameter validation."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skweak_e2e import MajorityVote, SourceAwareInfluence

from .._tolerance import assert_allclose_scaled
from ._influence_common import (
    LAM,
    FixedW,
    _data,
)


def test_mislabel_scores_rank_wrong_votes_first():
    from sklearn.metrics import average_precision_score

    Xtr, Ltr, ytr, Xv, yv = _data(n_train=300, n_classes=2, accuracy=0.75, seed=4)
    sai = SourceAwareInfluence(l2=LAM).fit(Xtr, Ltr)
    scores = sai.mislabel_scores(Xv, yv)
    assert np.array_equal(np.isnan(scores), Ltr < 0)
    for j in range(Ltr.shape[1]):
        voted = Ltr[:, j] >= 0
        wrong = Ltr[voted, j] != ytr[voted]
        assert average_precision_score(wrong, scores[voted, j]) > wrong.mean()


def test_explain_returns_most_harmful_components(tiny):
    _, Ltr, _, Xv, yv, sai = tiny
    exp = sai.explain(Xv[0], yv[0], top_k=3)
    res = sai.influence(Xv[:1], yv[:1], reduce="sum")
    np.testing.assert_allclose(exp.proba, sai.end_model_.predict_proba(Xv[:1])[0])
    assert exp.samples.index[0] == np.argmax(res.per_sample)
    assert list(exp.sources.index) == list(np.argsort(-res.per_source)[:3])
    dense_votes = res.per_vote.toarray()
    i, j = exp.votes.sample[0], exp.votes.source[0]
    assert dense_votes[i, j] == dense_votes.max() == exp.votes.influence[0]
    assert exp.votes.vote[0] == Ltr[i, j]


def test_reduce_modes(tiny):
    _, _, _, Xv, yv, sai = tiny
    mean = sai.influence(Xv[:4], yv[:4])
    total = sai.influence(Xv[:4], yv[:4], reduce="sum")
    each = sai.influence(Xv[:4], yv[:4], reduce="none")
    assert len(each) == 4
    assert_allclose_scaled(total.per_sample, 4 * mean.per_sample, atol=1e-12)
    assert_allclose_scaled(
        sum(r.per_source for r in each), total.per_source, atol=1e-10
    )
    single = sai.influence(Xv[2:3], yv[2:3])
    assert_allclose_scaled(each[2].per_sample, single.per_sample, atol=1e-12)


def test_errors_and_dense_guard(tiny):
    Xtr, Ltr, _, Xv, yv, sai = tiny
    with pytest.raises(ValueError, match="max_bytes"):
        sai.influence(Xv, yv).terms("dense", max_bytes=100)
    with pytest.raises(ValueError, match="outside"):
        sai.influence(Xv, yv + 5)
    with pytest.raises(ValueError, match="features"):
        sai.influence(Xv[:, :3], yv)
    with pytest.raises(ValueError, match="rows"):
        SourceAwareInfluence().fit(Xtr[:10], Ltr)
    with pytest.raises(TypeError, match="end model"):
        SourceAwareInfluence((MajorityVote(), object())).fit(Xtr, Ltr)
    with pytest.raises(ValueError, match="solver"):
        SourceAwareInfluence(relative=True, solver="cg").fit(Xtr, Ltr)


# ------------------------------------------------------- end models and exp LMs
def test_sklearn_logistic_regression_penalty_translation():
    Xtr, Ltr, _, Xv, yv = _data()
    mv = MajorityVote().fit(Ltr)
    T = mv.predict_proba(Ltr)
    T[~(Ltr >= 0).any(axis=1)] = 0  # the influence objective uses covered rows only
    i, c = np.nonzero(T > 0)
    lr = LogisticRegression(C=0.5, tol=1e-10, max_iter=10000).fit(
        Xtr[i], c, sample_weight=T[i, c]
    )
    sai = SourceAwareInfluence((mv, lr), tol=1e-12).fit(Xtr, Ltr)
    # A correct translation (l2 = 1/(C N), free intercept) finds sklearn's
    # optimum already stationary.
    assert sai.stationarity_["grad_inf_given"] < 1e-6
    assert sai.stationarity_["grad_inf"] <= 1e-12
    assert isinstance(sai.end_model_, LogisticRegression)
    np.testing.assert_allclose(sai.end_model_.coef_, lr.coef_, atol=1e-5)
    res = sai.influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    # An unfitted LogisticRegression is trained and analysed the same way.
    sai2 = SourceAwareInfluence((mv, LogisticRegression(C=0.5)), tol=1e-12).fit(
        Xtr, Ltr
    )
    np.testing.assert_allclose(
        sai2.influence(Xv, yv).per_source, res.per_source, rtol=1e-8
    )
    rep = sai.drop_harmful(Xv, yv, fractions=[0, 0.1])
    assert isinstance(rep.estimator, LogisticRegression)


def test_soft_votes_match_hard_votes(tiny):
    Xtr, Ltr, _, Xv, yv, _ = tiny
    soft = np.zeros(Ltr.shape + (3,))
    rows, cols = np.nonzero(Ltr >= 0)
    soft[rows, cols, Ltr[rows, cols]] = 1.0
    W = MajorityVote().fit(Ltr).W_
    for method in ("rw", "wm"):
        hard = SourceAwareInfluence(FixedW(W), method=method, l2=LAM).fit(Xtr, Ltr)
        sft = SourceAwareInfluence(FixedW(W), method=method, l2=LAM).fit(Xtr, soft)
        a, b = hard.influence(Xv, yv), sft.influence(Xv, yv)
        assert_allclose_scaled(a.terms("dense"), b.terms("dense"), atol=1e-12)
        assert_allclose_scaled(a.per_parameter, b.per_parameter, atol=1e-12)
        assert_allclose_scaled(
            a.per_vote.toarray(), b.per_vote.toarray(), atol=1e-12
        )
    # A genuinely soft vote splits its term across the vote's classes.
    soft[rows[0], cols[0]] = [0.3, 0.3, 0.3]
    res = SourceAwareInfluence(FixedW(W), l2=LAM).fit(Xtr, soft).influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    assert_allclose_scaled(
        res.per_parameter.sum(axis=(1, 2)), res.per_source, atol=1e-12
    )


def test_pickle_and_parameter_validation(tiny):
    import pickle

    from sklearn.utils._param_validation import InvalidParameterError

    Xtr, Ltr, _, Xv, yv, sai = tiny
    clone_ = pickle.loads(pickle.dumps(sai))
    np.testing.assert_allclose(
        clone_.influence(Xv, yv).per_source, sai.influence(Xv, yv).per_source
    )
    for bad in (
        {"method": "xx"},
        {"l2": -1.0},
        {"damping": -0.1},
        {"damping": "big"},
        {"solver": "lu"},
        {"network": "some"},
    ):
        with pytest.raises(InvalidParameterError):
            SourceAwareInfluence(**bad).fit(Xtr, Ltr)


def test_cuda_request_without_cuda_names_the_device(tiny):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    Xtr, Ltr, _, _, _, _ = tiny
    net = torch.nn.Sequential(torch.nn.Linear(5, 3)).double()
    sai = SourceAwareInfluence((MajorityVote(), net), l2=LAM, device="cuda")
    with pytest.raises(ValueError, match="SourceAwareInfluence got device='cuda'"):
        sai.fit(Xtr, Ltr)
