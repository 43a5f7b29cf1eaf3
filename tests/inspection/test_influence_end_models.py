"""SourceAwareInfluence with scikit-learn, pipeline, torch and skorch end models:
the same influences as the closed form where they describe the same model."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skweak_e2e import MajorityVote, SourceAwareInfluence

from .._tolerance import assert_allclose_scaled
from ._influence_common import (
    LAM,
    _data,
)


# --------------------------------------------------------------------- torch
@pytest.fixture
def torch_serial():
    """torch with one intra-op thread (restored after the test).

    These tiny networks gain nothing from threads, and on a busy CI machine
    torch's spinning thread pool makes each small op ~50x slower.
    """
    torch = pytest.importorskip("torch")
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(n_threads)


def _linear_at_optimum(torch, ref):
    """A float64 ``nn.Linear(5, 3)`` holding the closed-form solution of ``ref``."""
    theta = ref._backend.theta.reshape(6, 3)
    lin = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(theta[:5].T))
        lin.bias.copy_(torch.as_tensor(theta[5]))
    return lin


def test_torch_last_layer_and_full_network_match_closed_form(tiny, torch_serial):
    torch = torch_serial
    Xtr, Ltr, _, Xv, yv, _ = tiny
    ref = SourceAwareInfluence(
        l2=LAM, logits="multinomial", tol=1e-12, damping=0.0
    ).fit(Xtr, Ltr)
    r0 = ref.influence(Xv, yv)
    scale = np.abs(r0.per_sample).max()
    # A network whose body is the identity: the last layer is the whole model
    # (as a bare module and as a skorch net; the layer is polished from its
    # random initialisation to the same optimum).
    body = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(5, 3)).double()
    nets = [body]
    skorch = pytest.importorskip("skorch")
    nets.append(skorch.NeuralNetClassifier(body, train_split=None).initialize())
    for net in nets:
        last = SourceAwareInfluence(
            (MajorityVote(), net), l2=LAM, tol=1e-12, damping=0.0
        )
        r1 = last.fit(Xtr, Ltr).influence(Xv, yv)
        np.testing.assert_allclose(
            r1.terms("dense"), r0.terms("dense"), atol=1e-6 * scale
        )
    # Full network (GGN = Hessian for a linear softmax model) at the optimum.
    lin = _linear_at_optimum(torch, ref)
    full = SourceAwareInfluence(
        (MajorityVote(), lin), l2=LAM, network="full", cg_tol=1e-12, damping=0.0
    )
    full.fit(Xtr, Ltr)
    u_jvp = full._backend.directions(Xv, yv, "mean")[0]
    u_ref = ref._backend.directions(Xv, yv, "mean")[0]
    np.testing.assert_allclose(u_jvp, u_ref, atol=1e-8 * np.abs(u_ref).max())
    np.testing.assert_allclose(
        full.influence(Xv, yv).per_sample, r0.per_sample, atol=1e-6 * scale
    )
    with pytest.raises(ValueError, match="last_layer"):
        full.drop_harmful(Xv, yv)


def test_torch_paths_with_damping_match_closed_form(tiny, torch_serial):
    torch = torch_serial
    Xtr, Ltr, _, Xv, yv, _ = tiny
    damping = 0.3
    kw = {"l2": LAM, "tol": 1e-12, "damping": damping}
    ref = SourceAwareInfluence(logits="multinomial", **kw).fit(Xtr, Ltr)
    r0 = ref.influence(Xv, yv)
    scale = np.abs(r0.per_sample).max()
    # Last layer: the closed-form machinery, damped the same way.
    body = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(5, 3)).double()
    last = SourceAwareInfluence((MajorityVote(), body), **kw).fit(Xtr, Ltr)
    np.testing.assert_allclose(
        last.influence(Xv, yv).terms("dense"), r0.terms("dense"), atol=1e-6 * scale
    )
    # Full network: delta = damping * tr(G + l2 I) / D, the trace estimated by
    # Hutchinson probes; the solve is exact for that delta.
    lin = _linear_at_optimum(torch, ref)
    full = SourceAwareInfluence(
        (MajorityVote(), lin), l2=LAM, damping=damping, network="full", cg_tol=1e-12
    ).fit(Xtr, Ltr)
    be, solver = full._backend, ref._backend.solver
    assert be.hessian_scale_ == pytest.approx(solver.hessian_scale_, rel=0.3)
    delta = be.damping_ - LAM
    assert delta == pytest.approx(damping * be.hessian_scale_, rel=1e-12)
    same = SourceAwareInfluence(
        logits="multinomial", l2=LAM, tol=1e-12, damping=delta / solver.hessian_scale_
    ).fit(Xtr, Ltr)
    u_ref = same._backend.directions(Xv, yv, "mean")[0]
    u_jvp = be.directions(Xv, yv, "mean")[0]
    np.testing.assert_allclose(u_jvp, u_ref, atol=1e-8 * np.abs(u_ref).max())
    # Undamped: the GGN damping is l2 alone and no trace is estimated.
    plain = SourceAwareInfluence(
        (MajorityVote(), lin), l2=LAM, damping=0.0, network="full"
    ).fit(Xtr, Ltr)
    assert plain._backend.damping_ == LAM and plain._backend.hessian_scale_ is None


def test_skorch_net_end_model(torch_serial):
    torch = torch_serial
    skorch = pytest.importorskip("skorch")
    Xtr, Ltr, ytr, Xv, yv = _data()
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(
            torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
        ),
        max_epochs=3,
        train_split=None,
        verbose=0,
    ).fit(Xtr.astype(np.float32), ytr)
    sai = SourceAwareInfluence((MajorityVote(), net), l2=LAM).fit(
        Xtr.astype(np.float32), Ltr
    )
    assert sai.stationarity_["grad_inf"] <= 1e-8 < sai.stationarity_["grad_inf_given"]
    res = sai.influence(Xv.astype(np.float32), yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-10)
    rep = sai.drop_harmful(Xv.astype(np.float32), yv, fractions=[0, 0.2])
    assert isinstance(rep.estimator, torch.nn.Module)
    gold = sai.mislabel_scores(Xv.astype(np.float32), yv)  # last-layer features
    np.testing.assert_array_equal(np.isnan(gold), np.isnan(sai.mislabel_scores()))


def test_label_model_classifier_and_pipeline_end_models():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skweak_e2e.two_stage import LabelModelClassifier

    Xtr, Ltr, _, Xv, yv = _data()
    lmc = LabelModelClassifier(
        MajorityVote(), LogisticRegression(C=0.5, tol=1e-10, max_iter=5000)
    )
    lmc.fit(Xtr, Ltr)
    sai = SourceAwareInfluence(lmc, tol=1e-12).fit(Xtr, Ltr)
    # Same rows, same soft labels, translated penalty: already stationary.
    assert sai.stationarity_["grad_inf_given"] < 1e-6
    pair = SourceAwareInfluence((MajorityVote(), LogisticRegression(C=0.5)), tol=1e-12)
    np.testing.assert_allclose(
        sai.influence(Xv, yv).per_source,
        pair.fit(Xtr, Ltr).influence(Xv, yv).per_source,
        rtol=1e-8,
    )
    # A pipeline: the scaler is a fixed feature map of the logistic regression.
    pipe = LabelModelClassifier(
        MajorityVote(), make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    ).fit(Xtr, Ltr)
    psai = SourceAwareInfluence(pipe, tol=1e-12).fit(Xtr, Ltr)
    res = psai.influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    rep = psai.drop_harmful(Xv, yv, fractions=[0, 0.1])
    assert rep.estimator.predict_proba(Xv).shape == (len(yv), 3)
    # The leave-one-out score refits the pipeline's last step with the gold
    # rows, mapped through the fixed head.
    gold = psai.mislabel_scores(Xv, yv)
    free = psai.mislabel_scores()
    np.testing.assert_array_equal(np.isnan(gold), np.isnan(free))
    assert np.nanmax(np.abs(gold - free)) > 1e-3


@pytest.mark.gpu
def test_torch_paths_on_cuda_match_cpu(tiny):
    torch = pytest.importorskip("torch")
    Xtr, Ltr, _, Xv, yv, _ = tiny
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    ).double()
    for network in ("last_layer", "full"):
        kw = {"l2": LAM, "network": network, "cg_tol": 1e-10}
        cpu = SourceAwareInfluence((MajorityVote(), net), device="cpu", **kw).fit(
            Xtr, Ltr
        )
        gpu = SourceAwareInfluence((MajorityVote(), net), device="cuda", **kw).fit(
            Xtr, Ltr
        )
        a, b = cpu.influence(Xv, yv), gpu.influence(Xv, yv)
        scale = np.abs(a.per_sample).max()
        np.testing.assert_allclose(b.per_sample, a.per_sample, atol=1e-7 * scale)
        np.testing.assert_allclose(b.per_source, a.per_source, atol=1e-7 * scale)
