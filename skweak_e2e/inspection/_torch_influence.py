"""Influence functions for torch end models.

Two routes, both feeding the same per-term formulas as the closed form:

* **last layer** (exact, recommended): the penultimate activations ``h(x)``
  are fixed inputs of the final ``nn.Linear``, which is a softmax regression
  on ``h``; the closed-form machinery of :mod:`._backends` applies with
  ``x := h(x)``, the layer being polished to stationarity first.
* **full network** (GGN-CG + JVP): ``v = (G + (l2 + delta) I)^-1 grad L_target``
  by conjugate gradients on the generalised Gauss-Newton matrix ``G`` (JVP,
  output Hessian ``diag(p) - p p^T``, VJP), then one forward-mode pass gives
  every training row's logit direction ``u_i = J_i v``; ``b_ic = p_i . u_i -
  u_ic`` as in the closed form. The network is not retrained, so this is the
  usual (approximate) influence of a non-convex model.

torch is imported lazily: the rest of the library works without it.
"""

import copy

import numpy as np

from ..utils._math import softmax_rows
from ..utils._optional import import_optional
from ..utils._torch import TORCH_CHUNK, resolve_device, row_slices

__all__ = [
    "TorchGGNBackend",
    "TorchLastLayer",
    "import_torch",
    "is_torch_model",
]

#: Rademacher probes of the Hutchinson trace estimate (relative damping).
TRACE_PROBES = 16


def import_torch():
    """Import torch with a helpful message when it is missing."""
    return import_optional("torch", "Influence functions of torch end models")


def is_torch_model(obj):
    """True for a ``torch.nn.Module`` or a fitted skorch net (``module_``)."""
    torch = import_optional("torch", "is_torch_model", required=False)
    if torch is None:  # pragma: no cover - torch is a dependency
        return False
    if isinstance(obj, torch.nn.Module):
        return True
    return isinstance(getattr(obj, "module_", None), torch.nn.Module)


def unwrap_module(obj):
    """The ``nn.Module`` of a module or a skorch net (deep-copied, eval mode)."""
    torch = import_torch()
    module = obj if isinstance(obj, torch.nn.Module) else obj.module_
    module = copy.deepcopy(module)
    module.eval()
    return module


def _param_dtype(module):
    torch = import_torch()
    for p in module.parameters():
        return p.dtype
    return torch.float32


def last_linear(module):
    """Name and instance of the last ``nn.Linear`` registered in ``module``."""
    torch = import_torch()
    found = None
    for name, sub in module.named_modules():
        if isinstance(sub, torch.nn.Linear):
            found = (name, sub)
    if found is None:
        raise ValueError(
            "The torch end model has no nn.Linear layer; the last-layer "
            "influence needs its final layer to be linear."
        )
    return found


def to_tensor(X, module, device):
    torch = import_torch()
    if isinstance(X, torch.Tensor):
        t = X
    else:
        t = torch.as_tensor(np.asarray(X))
    if t.is_floating_point():
        t = t.to(_param_dtype(module))
    return t.to(device)


def forward_logits(module, X, device):
    """Logits of ``module`` on ``X`` in batches (numpy float64)."""
    torch = import_torch()
    with torch.no_grad():
        out = [
            module(to_tensor(X[rows], module, device)).double().cpu().numpy()
            for rows in row_slices(len(X))
        ]
    return np.concatenate(out, axis=0)


def pad_logits(Z, n_classes):
    """One-output (binary) networks have logits ``[0, z]``."""
    if Z.shape[1] == n_classes:
        return Z
    if Z.shape[1] == 1 and n_classes == 2:
        return np.concatenate([np.zeros_like(Z), Z], axis=1)
    raise ValueError(
        f"The torch end model outputs {Z.shape[1]} logits for {n_classes} classes; "
        "expected one logit per class (or a single logit for two classes)."
    )


class TorchLastLayer:
    """The penultimate features and the final linear layer of a network.

    Parameters
    ----------
    obj : torch.nn.Module or fitted skorch net
    device : str or torch.device or None
    """

    def __init__(self, obj, device=None):
        self.device = resolve_device(device, "SourceAwareInfluence")
        self.module = unwrap_module(obj).to(self.device)
        self.layer_name, self.layer = last_linear(self.module)
        self.n_outputs = self.layer.out_features
        self.has_bias = self.layer.bias is not None

    def features(self, X):
        """Inputs of the final linear layer, as float64 numpy (n, d_h)."""
        torch = import_torch()
        captured = []

        def hook(_module, inputs):
            captured.append(inputs[0].detach().double().cpu())

        handle = self.layer.register_forward_pre_hook(hook)
        try:
            with torch.no_grad():
                for rows in row_slices(len(X)):
                    self.module(to_tensor(X[rows], self.module, self.device))
        finally:
            handle.remove()
        H = torch.cat(captured, dim=0).numpy()
        return H.reshape(H.shape[0], -1)

    def theta(self):
        """Flat ``Theta`` (row-major (F, K)) of the final layer."""
        Wt = self.layer.weight.detach().double().cpu().numpy().T  # (d_h, K)
        if self.has_bias:
            b = self.layer.bias.detach().double().cpu().numpy()[None, :]
            Wt = np.vstack([Wt, b])
        return Wt.ravel()

    def with_theta(self, theta):
        """A copy of the module whose final layer holds ``theta``."""
        torch = import_torch()
        module = copy.deepcopy(self.module)
        layer = dict(module.named_modules())[self.layer_name]
        d_h = layer.in_features
        Th = np.asarray(theta).reshape(-1, layer.out_features)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(Th[:d_h].T, dtype=layer.weight.dtype))
            if layer.bias is not None:
                layer.bias.copy_(torch.as_tensor(Th[d_h], dtype=layer.bias.dtype))
        return module


class TorchGGNBackend:
    """Full-network influence: GGN conjugate gradients and JVP directions.

    Parameters
    ----------
    obj : torch.nn.Module or fitted skorch net
    X : array-like
        Training inputs (the covered rows).
    labels : ndarray of shape (n, C)
        Training labels (their row sums weight the GGN).
    n_classes : int
    l2 : float
        ``lambda`` added to the GGN (the L2 strength of the objective).
    cg_tol, cg_max_iter : float, int
    damping : float, default=0.0
        Relative damping of the solves: ``delta = damping * tr(G + l2 I) / D``
        is added on top of ``l2``. The trace is a Hutchinson estimate with
        :data:`TRACE_PROBES` Rademacher probes drawn from a fixed seed (so it
        is deterministic); it is computed only when ``damping > 0``.
    device : str or None

    Attributes
    ----------
    damping_ : float
        The total diagonal added to ``G``: ``l2 + delta``.
    can_refit : bool
        False: the network is not retrained (``drop_harmful`` needs the
        last-layer path).
    has_inverse : bool
        False: only inverse-Hessian-vector products, no explicit ``H^-1``.
    raw_inputs : bool
        True: targets are raw inputs of the network.
    """

    can_refit = False
    has_inverse = False
    raw_inputs = True
    n_features = None
    make_estimator = None

    def __init__(
        self,
        obj,
        X,
        labels,
        n_classes,
        *,
        l2,
        cg_tol,
        cg_max_iter,
        damping=0.0,
        device=None,
    ):
        self.device = resolve_device(device, "SourceAwareInfluence")
        self.module = unwrap_module(obj).to(self.device)
        self.X = X
        self.n_classes = n_classes
        self.rho = labels.sum(axis=1)
        self.n_norm = len(X)
        self.l2 = float(l2)
        self.damping_ = self.l2
        self.cg_tol, self.cg_max_iter = cg_tol, cg_max_iter
        self.params = {
            k: v.detach() for k, v in self.module.named_parameters() if v.requires_grad
        }
        if not self.params:
            raise ValueError("The torch end model has no trainable parameter.")
        self.P = softmax_rows(self.logits(X))
        self.cg_iterations_ = []
        self.hessian_scale_ = None
        if damping:
            self.hessian_scale_ = self.trace_estimate() / self.n_params
            self.damping_ = self.l2 + float(damping) * self.hessian_scale_

    @property
    def end_model(self):
        """The analysed network (not retrained)."""
        return self.module

    @property
    def n_params(self):
        return sum(v.numel() for v in self.params.values())

    def trace_estimate(self, n_probes=None):
        """Hutchinson estimate of ``tr(G + l2 I)`` (fixed-seed Rademacher probes)."""
        torch = import_torch()
        n_probes = TRACE_PROBES if n_probes is None else n_probes
        gen = torch.Generator().manual_seed(0)
        total = 0.0
        for _ in range(n_probes):
            z = {
                k: (2 * torch.randint(0, 2, v.shape, generator=gen) - 1)
                .to(v.dtype)
                .to(self.device)
                for k, v in self.params.items()
            }
            total += float(self._dot(z, self.ggn_vp(z)))
        return total / n_probes

    # ------------------------------------------------------------ helpers
    def _call(self, params, xb):
        return import_torch().func.functional_call(self.module, params, (xb,))

    def logits(self, X):
        return pad_logits(forward_logits(self.module, X, self.device), self.n_classes)

    def proba(self, X):
        return softmax_rows(self.logits(X))

    def _pad_t(self, z):
        if z.shape[1] == self.n_classes:
            return z
        return import_torch().cat([import_torch().zeros_like(z), z], dim=1)

    def _unpad_t(self, q, n_out):
        return q if n_out == q.shape[1] else q[:, 1:]

    def _zeros_like_params(self):
        return {k: import_torch().zeros_like(v) for k, v in self.params.items()}

    def _dot(self, a, b):
        return sum((a[k] * b[k]).sum() for k in a)

    def _axpy(self, alpha, x, y):
        return {k: y[k] + alpha * x[k] for k in y}

    # --------------------------------------------------------- products
    def jvp_rows(self, v, X=None):
        """``u_i = J_i v`` for every row, numpy (n, C)."""
        torch = import_torch()
        X = self.X if X is None else X
        out = []
        for start in range(0, len(X), TORCH_CHUNK):
            xb = to_tensor(X[start : start + TORCH_CHUNK], self.module, self.device)
            _, u = torch.func.jvp(
                lambda p, xb=xb: self._call(p, xb), (self.params,), (v,)
            )
            out.append(self._pad_t(u).double().cpu().numpy())
        return np.concatenate(out, axis=0)

    def ggn_vp(self, v):
        """``(G + damping_ I) v`` with ``G = 1/n sum_i rho_i J_i^T A_i J_i``."""
        torch = import_torch()
        result = self._zeros_like_params()
        for start in range(0, len(self.X), TORCH_CHUNK):
            xb = to_tensor(self.X[start : start + TORCH_CHUNK], self.module, self.device)
            out, u = torch.func.jvp(
                lambda p, xb=xb: self._call(p, xb), (self.params,), (v,)
            )
            n_out = out.shape[1]
            u = self._pad_t(u)
            P = torch.as_tensor(
                self.P[start : start + TORCH_CHUNK], dtype=u.dtype, device=self.device
            )
            rho = torch.as_tensor(
                self.rho[start : start + TORCH_CHUNK], dtype=u.dtype, device=self.device
            )
            Pu = P * u
            Q = (Pu - P * Pu.sum(dim=1, keepdim=True)) * rho[:, None] / self.n_norm
            _, vjp_fn = torch.func.vjp(lambda p, xb=xb: self._call(p, xb), self.params)
            (g,) = vjp_fn(self._unpad_t(Q, n_out).to(out.dtype))
            result = {k: result[k] + g[k] for k in result}
        return {k: result[k] + self.damping_ * v[k] for k in result}

    def target_gradient(self, X_t, y_t, weights):
        """``sum_k weights_k grad l_{y_k}(x_k)`` over the parameters."""
        torch = import_torch()
        grad = self._zeros_like_params()
        for start in range(0, len(X_t), TORCH_CHUNK):
            xb = to_tensor(X_t[start : start + TORCH_CHUNK], self.module, self.device)
            yb = torch.as_tensor(
                np.asarray(y_t[start : start + TORCH_CHUNK]), device=self.device
            )
            wb = torch.as_tensor(
                weights[start : start + TORCH_CHUNK], device=self.device
            )
            params = {k: v.clone().requires_grad_(True) for k, v in self.params.items()}
            logits = self._pad_t(self._call(params, xb))
            logp = torch.log_softmax(logits, dim=1)
            loss = -(
                wb.to(logp.dtype) * logp[torch.arange(len(yb), device=yb.device), yb]
            ).sum()
            gs = torch.autograd.grad(loss, list(params.values()))
            grad = {k: grad[k] + g.detach() for k, g in zip(params, gs)}
        return grad

    def cg(self, g):
        """Solve ``(G + damping_ I) v = g`` by conjugate gradients from zero."""
        x = self._zeros_like_params()
        r = {k: v.clone() for k, v in g.items()}
        p = {k: v.clone() for k, v in g.items()}
        rr = float(self._dot(r, r))
        norm_g = rr**0.5
        it = 0
        if norm_g == 0:
            self.cg_iterations_.append(0)
            return x
        for it in range(1, self.cg_max_iter + 1):
            Gp = self.ggn_vp(p)
            alpha = rr / float(self._dot(p, Gp))
            x = self._axpy(alpha, p, x)
            r = self._axpy(-alpha, Gp, r)
            rr_new = float(self._dot(r, r))
            if rr_new**0.5 <= self.cg_tol * norm_g:
                break
            p = self._axpy(rr_new / rr, p, r)
            rr = rr_new
        self.cg_iterations_.append(it)
        return x

    def directions(self, X_t, y_t, reduce):
        """Logit directions ``u`` of the training rows, (n_targets, n, C)."""
        y_t = np.asarray(y_t)
        n_t = len(y_t)
        if reduce == "none":
            groups = [(np.array([k]), np.ones(1)) for k in range(n_t)]
        else:
            w = np.full(n_t, 1.0 / n_t if reduce == "mean" else 1.0)
            groups = [(np.arange(n_t), w)]
        U = []
        for idx, w in groups:
            g = self.target_gradient(X_t[idx], y_t[idx], w)
            v = self.cg(g)
            U.append(self.jvp_rows(v))
        return np.stack(U)
