"""Shared problems and brute-force references of the influence tests."""

import numpy as np

from skweak_e2e.label_model._base import BaseLabelModel
from skweak_e2e.datasets import make_weak_supervision
from skweak_e2e.inspection._linear_loss import LogisticModel

LAM = 1e-2


class FixedW(BaseLabelModel):
    """A label model with a given tensor form (for invariance tests)."""

    def __init__(self, W=None, activation="identity"):
        self.W = W
        self.activation = activation
        self.n_classes = None
        self.abstain = -1
        self.class_prior = None
        self.tie_break = "abstain"
        self.random_state = None

    def _fit(self, L, sample_weight=None):
        self.W_ = np.asarray(self.W, dtype=float)


def _data(n_train=200, n_val=100, n_sources=6, n_classes=3, seed=1, **kw):
    kw.setdefault("coverage", 0.5)
    kw.setdefault("accuracy", 0.7)
    X, L, y = make_weak_supervision(
        n_train + n_val, n_sources, n_classes, n_features=5, random_state=seed, **kw
    )
    return X[:n_train], L[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _retrain_val_loss(X, T, Xv, yv, init=None):
    """Validation loss after retraining the end model on labels ``T``.

    A fresh fit of the same objective (warm-started when ``init`` is given),
    independent of the influence computation.
    """
    model = LogisticModel(X.shape[1], T.shape[1], l2=LAM)
    theta, info = model.fit(X, T, init=init, tol=1e-13, max_iter=5000)
    assert info["grad_inf"] <= 1e-12
    return -np.mean(model.log_proba(Xv, theta)[np.arange(len(yv)), yv])


def _brute_force(sai, Xv, yv, damping=0.0):
    """phi^rw[i, j, c] from explicit gradients, H and loops (training rows).

    ``damping`` solves with ``H + delta I``, ``delta = damping * tr(H) / D``.
    """
    be = sai._backend
    model, theta = be.model, be.theta
    X = be.X
    N, C = X.shape[0], sai.n_classes_
    Xt = np.hstack([X, np.ones((N, 1))])
    P = model.proba(X, theta)
    A = np.einsum("ia,ab->iab", P, np.eye(C)) - np.einsum("ia,ib->iab", P, P)
    F = Xt.shape[1]
    H = np.einsum("if,ig,iab->fagb", Xt, Xt, A).reshape(F * C, F * C) / N
    H += LAM * np.eye(F * C)
    H += damping * np.trace(H) / len(H) * np.eye(F * C)
    Pv = model.proba(Xv, theta)
    Xvt = np.hstack([Xv, np.ones((len(Xv), 1))])
    g_t = (Xvt.T @ (Pv - np.eye(C)[yv])).ravel() / len(yv)
    v = np.linalg.lstsq(H, g_t, rcond=None)[0]
    L = sai._decomposition.L
    W = sai.W_
    Z = sai._decomposition.Z
    phi = np.zeros((N, L.shape[1], C))
    for i in range(N):
        for j in range(L.shape[1]):
            for c in range(C):
                a = W[j, L[i, j] + 1, c] / Z[i]
                grad = a * np.outer(Xt[i], P[i] - np.eye(C)[c]).ravel()
                phi[i, j, c] = -v @ grad
    ordinary = np.array(
        [-v @ np.outer(Xt[i], P[i] - sai.labels_[i]).ravel() for i in range(N)]
    )
    return phi, ordinary
