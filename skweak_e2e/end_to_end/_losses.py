"""Agreement losses between the encoder's labels and the downstream model.

Both networks output logits: ``logits_e`` (the encoder's aggregation of the
votes, ``y_e = softmax(logits_e)``) and ``logits_f`` (the downstream model,
``y_f = softmax(logits_f)``). Every loss below measures their disagreement
on a mini-batch; ``CE(pred; target)`` denotes
``-sum_c target_c log pred_c`` averaged over the batch.

=====================  ====================================================
``"ce"`` (default)     ``CE(y_f; sg(y_e)) + CE(y_e; sg(y_f))``: symmetric
                       cross-entropy with stop-gradient on the targets, so
                       each network only receives the gradient of the loss
                       in which it is the prediction.
``"hellinger"``        ``mean_b sum_c (sqrt(y_e) - sqrt(y_f))^2``
``"l1"``               ``mean_{b,c} |y_e - y_f|`` on probabilities
``"mig"``              negative Max-MIG lower bound (for crowdsourcing)
``"ce_no_stopgrad"``   ``(CE(y_f; y_e) + CE(y_e; y_f)) / 2`` without
                       stop-gradient
``"ce_asym_f"``        ``CE(y_f; y_e)`` only, no stop-gradient
``"ce_asym_e"``        ``CE(y_e; y_f)`` only, no stop-gradient
=====================  ====================================================

This module imports torch; the estimator imports it lazily.
"""

import torch
from torch import nn

from ._options import LOSSES

__all__ = ["LOSSES", "WeaSELLoss", "soft_cross_entropy", "weasel_loss"]


#: Upper bound of the random offset inside MIG's logarithm (reference value).
MIG_XI_MAX = 1e-4


def soft_cross_entropy(log_pred, target):
    """Batch mean of ``-sum_c target_c * log_pred_c``.

    Parameters
    ----------
    log_pred : Tensor of shape (batch, n_classes)
        Log-probabilities of the prediction.
    target : Tensor of shape (batch, n_classes)
        Target distribution (detach it for a stop-gradient target).

    Returns
    -------
    loss : Tensor
        Scalar.
    """
    return -(target * log_pred).sum(dim=1).mean()


def _mig(log_pe, log_pf, class_prior, xi):
    """Negative Max-MIG bound with ``M_ab = sum_c y_f[a,c] y_e[b,c] / p_c``."""
    p_f = log_pf.exp()
    p_e = log_pe.exp()
    batch = p_f.shape[0]
    if class_prior is None:
        weights = torch.full(
            (p_f.shape[1],), float(p_f.shape[1]), dtype=p_f.dtype, device=p_f.device
        )
    else:
        weights = 1.0 / class_prior
    M = (p_f * weights) @ p_e.T
    if xi is None:
        xi = torch.rand((), dtype=p_f.dtype, device=p_f.device) * MIG_XI_MAX
    diag = torch.diagonal(M)
    loss = -torch.log(diag + xi).mean() - 1.0
    if batch > 1:
        loss = loss + (M.sum() - diag.sum()) / (batch * (batch - 1))
    return loss


def weasel_loss(logits_e, logits_f, loss="ce", *, class_prior=None, xi=None):
    """Agreement loss between the encoder and the downstream model.

    Parameters
    ----------
    logits_e : Tensor of shape (batch, n_classes)
        Encoder logits; ``y_e = softmax(logits_e)``.
    logits_f : Tensor of shape (batch, n_classes)
        Downstream logits; ``y_f = softmax(logits_f)``.
    loss : str, default="ce"
        One of :data:`LOSSES` (see the module docstring).
    class_prior : Tensor of shape (n_classes,), default=None
        Class prior ``p`` of the MIG loss; uniform when None.
    xi : float or None, default=None
        Offset inside MIG's logarithm; None draws it from ``U(0, 1e-4)``
        (torch's global generator) as the reference implementation does.
        Pass ``0.0`` for exact values.

    Returns
    -------
    parts : dict
        ``"loss"``: the scalar to minimise. For ``loss="ce"`` also
        ``"loss_f"`` (the downstream model's term, whose target is the
        detached ``y_e``) and ``"loss_e"`` (the encoder's term, whose target
        is the detached ``y_f``); ``loss = loss_f + loss_e``.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    >>> parts = weasel_loss(logits, logits, "hellinger")
    >>> float(parts["loss"])
    0.0
    """
    log_pe = torch.log_softmax(logits_e, dim=1)
    log_pf = torch.log_softmax(logits_f, dim=1)
    if loss == "ce":
        loss_f = soft_cross_entropy(log_pf, log_pe.detach().exp())
        loss_e = soft_cross_entropy(log_pe, log_pf.detach().exp())
        return {"loss": loss_f + loss_e, "loss_f": loss_f, "loss_e": loss_e}
    if loss == "hellinger":
        # sqrt(p) = exp(log(p) / 2) keeps the gradient finite where p -> 0.
        diff = (0.5 * log_pe).exp() - (0.5 * log_pf).exp()
        value = diff.square().sum(dim=1).mean()
    elif loss == "l1":
        value = (log_pe.exp() - log_pf.exp()).abs().mean()
    elif loss == "mig":
        value = _mig(log_pe, log_pf, class_prior, xi)
    elif loss == "ce_no_stopgrad":
        value = 0.5 * (
            soft_cross_entropy(log_pf, log_pe.exp())
            + soft_cross_entropy(log_pe, log_pf.exp())
        )
    elif loss == "ce_asym_f":
        value = soft_cross_entropy(log_pf, log_pe.exp())
    elif loss == "ce_asym_e":
        value = soft_cross_entropy(log_pe, log_pf.exp())
    else:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}.")
    return {"loss": value}


class WeaSELLoss(nn.Module):
    """Agreement loss of a WeaSEL module's outputs, as a skorch criterion.

    ``forward(y_pred, y_true)`` takes the module output ``(logits_e,
    logits_f)`` and ignores ``y_true`` (there is no gold target).

    Parameters
    ----------
    loss : str, default="ce"
        One of :data:`LOSSES`.
    class_prior : array-like of shape (n_classes,), default=None
        Class prior of the MIG loss; uniform when None.
    mig_xi : float or None, default=None
        Offset of MIG's logarithm; None draws ``U(0, 1e-4)`` per batch.

    See Also
    --------
    weasel_loss : The functional form, with the separate terms.

    Examples
    --------
    >>> import torch
    >>> from skweak_e2e.end_to_end import WeaSELLoss
    >>> logits = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    >>> criterion = WeaSELLoss("hellinger")
    >>> float(criterion((logits, logits)))  # the two models agree
    0.0
    """

    def __init__(self, loss="ce", class_prior=None, mig_xi=None):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}.")
        self.loss = loss
        self.mig_xi = mig_xi
        prior = None if class_prior is None else torch.as_tensor(class_prior)
        self.register_buffer("class_prior", prior)

    def forward(self, y_pred, y_true=None):
        """Compute the agreement loss.

        Parameters
        ----------
        y_pred : tuple of Tensor
            Output of a :class:`WeaSELModule`: ``(encoder logits, downstream
            logits)``, each of shape (batch, n_classes).
        y_true : object, default=None
            Ignored (there is no gold target); skorch passes a placeholder.

        Returns
        -------
        loss : Tensor
            The scalar to minimise.
        """
        logits_e, logits_f = y_pred[0], y_pred[1]
        prior = self.class_prior
        if prior is not None:
            prior = prior.to(dtype=logits_f.dtype)
        return weasel_loss(
            logits_e, logits_f, self.loss, class_prior=prior, xi=self.mig_xi
        )["loss"]
