"""Torch modules of WeaSEL: the MLPs and the joint encoder/downstream module.

The joint module is WeaSEL's (Rühling Cachay et al., NeurIPS 2021; see the
"Mathematical details" page of the documentation). For a sample with features
``x`` and vote one-hot ``lam`` of shape ``(n_sources, n_classes)`` (an
abstaining source has an all-zero row; soft sources give their class
probabilities), the encoder ``e`` scores every source from ``enc(L)`` and
``x``; the sample-dependent source accuracies are

    theta = tau2 * softmax_j(tau1 * e)        ("softmax", the default)
    theta = tau2 * sigmoid(tau1 * e)          ("sigmoid")

where the softmax runs over the sources (separately for each class when the
accuracies are class-conditional). The encoder's logits are
``s_c = sum_j theta_jc * lam_jc (+ log prior_c)`` and its labels
``y_e = softmax(s)``; the downstream network gives ``y_f = softmax(f(x))``.
Abstaining sources contribute nothing to ``s`` because their ``lam`` row is
zero. With ``accuracy_support="all"`` (the paper and the reference code) the
softmax is *not* renormalised over the voting sources, so ``theta`` sums to
``tau2`` over all sources; with ``accuracy_support="voters"`` (the default)
the sources that abstain on a row get ``-inf`` scores before the softmax (a
masked softmax), so ``theta`` sums to ``tau2`` over the sources that vote on
that row and is exactly zero on the others. A row where every source
abstains gets ``theta = 0``.

This module imports torch; the estimator imports it lazily.
"""

import torch
from torch import nn

__all__ = ["MLP", "WeaSELModule"]


class MLP(nn.Module):
    """Multi-layer perceptron returning logits.

    Each hidden layer is ``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]``,
    followed by a final ``Linear`` to ``n_outputs``. With the defaults it is
    WeaSEL's downstream network (50-50-25, dropout 0.3 on every hidden layer
    but the last); the encoder uses ``hidden_layer_sizes=(70, 70)``,
    ``batchnorm=True`` and ``dropout_last_hidden=True``.

    Parameters
    ----------
    n_features_in : int
        Input dimension.
    n_outputs : int
        Output dimension (number of logits).
    hidden_layer_sizes : tuple of int, default=(50, 50, 25)
        Widths of the hidden layers; ``()`` gives a linear model.
    dropout : float, default=0.3
        Dropout probability after the hidden activations.
    batchnorm : bool, default=False
        Insert ``BatchNorm1d`` after each hidden ``Linear``.
    dropout_last_hidden : bool, default=False
        Also apply dropout after the last hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skweak_e2e.end_to_end import MLP
    >>> net = MLP(4, 2, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        n_features_in,
        n_outputs,
        hidden_layer_sizes=(50, 50, 25),
        dropout=0.3,
        batchnorm=False,
        dropout_last_hidden=False,
    ):
        super().__init__()
        layers = []
        width_in = int(n_features_in)
        sizes = [int(h) for h in hidden_layer_sizes]
        for k, width in enumerate(sizes):
            layers.append(nn.Linear(width_in, width))
            if batchnorm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            last = k == len(sizes) - 1
            if dropout > 0 and (dropout_last_hidden or not last):
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers.append(nn.Linear(width_in, int(n_outputs)))
        self.layers = nn.Sequential(*layers)

    #: The first layer multiplies sparse (COO) inputs without densifying them.
    accepts_sparse = True

    def forward(self, X):
        """Compute the logits.

        Parameters
        ----------
        X : Tensor of shape (batch, n_features_in)
            Inputs, dense or sparse (COO).

        Returns
        -------
        logits : Tensor of shape (batch, n_outputs)
            Output of the last ``Linear`` layer.
        """
        if X.layout == torch.strided:
            return self.layers(X)
        # A TF-IDF batch has a few dozen non-zeros per row: a sparse product
        # costs O(nnz * width) instead of O(batch * n_features * width).
        first = self.layers[0]
        hidden = torch.sparse.mm(X, first.weight.t()) + first.bias
        return self.layers[1:](hidden)


class WeaSELModule(nn.Module):
    """Encoder (source accuracies) and downstream network, trained jointly.

    Parameters
    ----------
    encoder : nn.Module
        Maps the encoder input (see ``lf_encoding`` and
        ``encoder_uses_features``) of shape ``(batch, n_in)`` to
        ``(batch, n_sources)`` scores, or ``(batch, n_sources * n_classes)``
        when ``class_conditional`` (source-major: column ``j * n_classes + c``).
    downstream : nn.Module
        Maps features ``(batch, n_features)`` to ``(batch, n_classes)`` logits.
    n_sources : int
        Number of sources.
    n_classes : int
        Number of classes.
    class_conditional : bool, default=False
        One accuracy per (source, class) instead of one per source.
    tau1 : float, default=1.0
        Inverse temperature of the accuracy softmax (or sigmoid).
    tau2 : float, default=1.0
        Scale of the accuracies: they sum to ``tau2`` over the sources.
    accuracy : {"softmax", "sigmoid"}, default="softmax"
        Accuracy parameterisation.
    accuracy_support : {"all", "voters"}, default="voters"
        Sources over which the accuracy softmax is normalised: all sources
        (the paper and its code), or only the sources that vote on the row
        (a source votes when its one-hot or soft vote has positive mass; for
        class-conditional accuracies the same voters are used for every
        class). With ``"voters"`` abstaining sources get ``theta = 0``
        under both parameterisations.
    lf_encoding : {"onehot", "signed", "raw"}, default="onehot"
        How the votes enter the encoder: the flattened one-hot (or soft)
        votes, ``+1/-1/0`` for binary votes, or the raw class index with
        ``-1`` for abstain.
    encoder_uses_features : bool, default=True
        Concatenate the features to the encoded votes.
    log_prior : Tensor of shape (n_classes,), default=None
        Added to the encoder logits.

    Examples
    --------
    >>> import torch
    >>> from skweak_e2e.end_to_end import MLP, WeaSELModule
    >>> module = WeaSELModule(
    ...     MLP(3 * 2 + 4, 3, hidden_layer_sizes=(8,)),  # one-hot votes + features
    ...     MLP(4, 2, hidden_layer_sizes=(8,)),
    ...     n_sources=3, n_classes=2,
    ... ).eval()
    >>> X, L = torch.zeros(5, 4), torch.tensor([[0, 1, -1]] * 5)
    >>> encoder_logits, downstream_logits = module(X, L)
    >>> encoder_logits.shape, downstream_logits.shape
    (torch.Size([5, 2]), torch.Size([5, 2]))
    >>> theta = module.accuracy_scores(X, L)  # softmax over the 2 voters
    >>> bool(torch.allclose(theta.sum(dim=1), torch.ones(5)))
    True
    >>> theta[:, 2].tolist()  # the abstaining source
    [0.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        encoder,
        downstream,
        *,
        n_sources,
        n_classes,
        class_conditional=False,
        tau1=1.0,
        tau2=1.0,
        accuracy="softmax",
        accuracy_support="voters",
        lf_encoding="onehot",
        encoder_uses_features=True,
        log_prior=None,
    ):
        super().__init__()
        self.encoder = encoder
        self.downstream = downstream
        self.n_sources = int(n_sources)
        self.n_classes = int(n_classes)
        self.class_conditional = bool(class_conditional)
        self.tau1 = float(tau1)
        self.tau2 = float(tau2)
        self.accuracy = accuracy
        if accuracy_support not in ("all", "voters"):
            raise ValueError(
                'accuracy_support must be "all" or "voters"; got '
                f"{accuracy_support!r}."
            )
        self.accuracy_support = accuracy_support
        self.lf_encoding = lf_encoding
        self.encoder_uses_features = bool(encoder_uses_features)
        self.register_buffer(
            "log_prior", None if log_prior is None else torch.as_tensor(log_prior)
        )
        self.register_buffer(
            "class_codes", torch.arange(self.n_classes), persistent=False
        )

    def vote_onehot(self, L, dtype):
        """Encode the votes as one-hot vectors; zero rows abstain.

        Parameters
        ----------
        L : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Integer votes (``-1`` = abstain) or soft votes, which are
            returned as they are (cast to ``dtype``).
        dtype : torch.dtype
            Floating-point type of the result.

        Returns
        -------
        lam : Tensor of shape (batch, n_sources, n_classes)
            ``lam[i, j, c]`` = 1 where source ``j`` votes ``c`` on sample ``i``.
        """
        if L.is_floating_point():
            return L.to(dtype)
        codes = self.class_codes.to(device=L.device, dtype=L.dtype)
        return (L.unsqueeze(-1) == codes).to(dtype)

    def encoder_input(self, X, L, lam):
        """Build the input of the encoder network.

        Parameters
        ----------
        X : Tensor of shape (batch, n_features)
            Features (concatenated when ``encoder_uses_features``).
        L : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Votes, used as they are by ``lf_encoding="raw"``.
        lam : Tensor of shape (batch, n_sources, n_classes)
            One-hot (or soft) votes, see :meth:`vote_onehot`.

        Returns
        -------
        inputs : Tensor of shape (batch, n_in)
            Encoded votes, followed by ``X`` when ``encoder_uses_features``.
        """
        batch = lam.shape[0]
        if self.lf_encoding == "onehot":
            votes = lam.reshape(batch, -1)
        elif self.lf_encoding == "signed":
            votes = lam[..., 1] - lam[..., 0]
        else:  # "raw": class index, -1 for abstain (hard votes only)
            votes = L.to(lam.dtype)
        if not self.encoder_uses_features:
            return votes
        if X.layout != torch.strided:
            return torch.cat([votes.to_sparse(), X], dim=1)
        return torch.cat([votes, X], dim=1)

    def accuracy_scores(self, X, L, lam=None):
        """Compute the per-sample source accuracies ``theta``.

        Parameters
        ----------
        X : Tensor of shape (batch, n_features)
            Features.
        L : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Votes (``-1`` = abstain) or soft votes.
        lam : Tensor of shape (batch, n_sources, n_classes), default=None
            One-hot votes, computed from ``L`` when None.

        Returns
        -------
        theta : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Accuracies, per class when ``class_conditional``; with
            ``accuracy="softmax"`` they sum to ``tau2`` over the sources
            (over the voting sources with ``accuracy_support="voters"``,
            which gives abstaining sources exactly 0 and rows without a
            vote ``theta = 0``).
        """
        if lam is None:
            lam = self.vote_onehot(L, X.dtype)
        scores = self.encoder(self.encoder_input(X, L, lam))
        if self.class_conditional:
            scores = scores.reshape(scores.shape[0], self.n_sources, self.n_classes)
        scores = self.tau1 * scores
        voters = None
        if self.accuracy_support == "voters":
            votes = lam.sum(dim=2) > 0  # (batch, n_sources)
            # Rows without any vote keep an unmasked softmax (finite values
            # and gradients) and are zeroed below, instead of 0/0 = NaN.
            keep = votes | ~votes.any(dim=1, keepdim=True)
            voters = votes.to(scores.dtype)
            if self.class_conditional:
                keep, voters = keep.unsqueeze(-1), voters.unsqueeze(-1)
            if self.accuracy == "softmax":
                scores = scores.masked_fill(~keep, float("-inf"))
        if self.accuracy == "softmax":
            theta = self.tau2 * torch.softmax(scores, dim=1)
        else:
            theta = self.tau2 * torch.sigmoid(scores)
        return theta if voters is None else theta * voters

    def aggregate(self, theta, lam):
        """Aggregate the votes into encoder logits.

        ``s_c = sum_j theta_j(c) lam_jc``, plus ``log_prior`` when given.

        Parameters
        ----------
        theta : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Source accuracies, see :meth:`accuracy_scores`.
        lam : Tensor of shape (batch, n_sources, n_classes)
            One-hot (or soft) votes.

        Returns
        -------
        logits : Tensor of shape (batch, n_classes)
            Logits of the encoder's labels.
        """
        if theta.dim() == 2:
            logits = torch.bmm(theta.unsqueeze(1), lam).squeeze(1)
        else:
            logits = (theta * lam).sum(dim=1)
        if self.log_prior is not None:
            logits = logits + self.log_prior.to(logits.dtype)
        return logits

    def encoder_logits(self, X, L):
        """Compute the logits of the encoder's labels ``y_e``.

        Parameters
        ----------
        X : Tensor of shape (batch, n_features)
            Features.
        L : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Votes (``-1`` = abstain) or soft votes.

        Returns
        -------
        logits : Tensor of shape (batch, n_classes)
            Encoder logits.
        """
        lam = self.vote_onehot(L, X.dtype)
        return self.aggregate(self.accuracy_scores(X, L, lam), lam)

    def forward(self, X, L):
        """Compute the encoder and the downstream logits.

        Parameters
        ----------
        X : Tensor of shape (batch, n_features)
            Features.
        L : Tensor of shape (batch, n_sources) or (batch, n_sources, n_classes)
            Votes (``-1`` = abstain) or soft votes.

        Returns
        -------
        encoder_logits : Tensor of shape (batch, n_classes)
            Logits of the encoder's labels, see :meth:`encoder_logits`.
        downstream_logits : Tensor of shape (batch, n_classes)
            Logits of the downstream network.
        """
        return self.encoder_logits(X, L), self.downstream(X)
