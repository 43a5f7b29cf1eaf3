"""The result of an influence query: aggregates and the individual terms."""

from dataclasses import dataclass

import numpy as np

__all__ = ["InfluenceResult", "TermState"]


@dataclass(frozen=True)
class TermState:
    """What :meth:`InfluenceResult.terms` needs to list the individual terms.

    Attributes
    ----------
    decomposition : TermDecomposition
        The (sample, source, class) decomposition of the training loss.
    train_index : ndarray of shape (n_train,)
        Rows of ``L`` used in training.
    n_samples : int
        Rows of ``L``.
    b : ndarray of shape (n_train, n_classes)
        Logit-space directions ``b_ic`` of the target.
    r : ndarray of shape (n_train,)
        ``r_i = y_i . b_i``.
    kappa : ndarray of shape (n_train, n_classes) or None
        Self-influence bases (RelatIF only).
    """

    decomposition: object
    train_index: np.ndarray
    n_samples: int
    b: np.ndarray
    r: np.ndarray
    kappa: object = None


class InfluenceResult:
    """Influences of the training terms of a pipeline on one target.

    Sign convention: positive = **harmful** (up-weighting the component
    raises the target loss; removing it changes the loss by about
    ``-phi / n_train``). Rows that do not take part in training (uncovered
    rows) have influence 0. Results are made by
    :meth:`SourceAwareInfluence.influence`; every parameter is kept as the
    attribute of the same name.

    Parameters
    ----------
    per_sample : ndarray of shape (n_samples,)
        ``phi_x_i = sum_jc phi_ijc`` (Table 1, row 1). For RW without RelatIF
        this equals the ordinary influence of the sample.
    per_source : ndarray of shape (n_sources,)
        ``phi_lambda_j = sum_ic phi_ijc``: the group influence of a source.
    per_vote : scipy.sparse.csr_matrix of shape (n_samples, n_sources)
        ``phi_L_ij = sum_c phi_ijc``, stored over the (sample, source) pairs
        that carry a term (the votes, plus abstentions when the label model
        gives abstaining mass).
    per_parameter : ndarray of shape (n_sources, n_classes + 1, n_classes)
        ``phi_W[j, k', c] = sum_i phi_ijc 1[L_ij + 1 = k']`` (slot 0 =
        abstain): the influence of each label-model parameter.
    ordinary : ndarray of shape (n_samples,)
        The ordinary (sample-level) influence function, or its RelatIF when
        ``relative``; the baseline "IF" / "R-IF" of Zhang et al. (2022).
    method : {"rw", "wm"}
        Reweighting or weight-modification influence.
    relative : bool
        Whether the scores are RelatIF (relative) influences.
    n_train : int
        Number of training rows ``N``.
    state : TermState
        Internal state from which :meth:`terms` builds the individual
        terms (private; kept as ``_state``).
    source_names : ndarray of str, default=None
        Name of each source (``per_source[j]`` is ``source_names[j]``'s).
    classes : ndarray, default=None
        Class label of each class index (the last axis of
        ``per_parameter`` and of the terms).

    Notes
    -----
    RW scores are additive, so the aggregates are exact group influences.
    WM and RelatIF scores are not additive; their sums are the heuristic
    aggregates of Zhang et al. (2022).

    Examples
    --------
    >>> from skweak_e2e import SourceAwareInfluence
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> X, L, y = make_weak_supervision(300, 5, n_features=4, random_state=0)
    >>> sai = SourceAwareInfluence(l2=1e-2).fit(X[:200], L[:200])
    >>> res = sai.influence(X[200:], y[200:])
    >>> res.method, res.n_train, res.per_parameter.shape  # 188 covered rows
    ('rw', 188, (5, 3, 2))
    >>> res.source_names[:2].tolist(), res.classes.tolist()
    (['source 0', 'source 1'], [0, 1])
    >>> phi = res.terms("dense")  # (n_samples, n_sources, n_classes)
    >>> bool(abs(phi.sum(axis=(1, 2)) - res.per_sample).max() < 1e-10)
    True
    """

    def __init__(
        self,
        *,
        per_sample,
        per_source,
        per_vote,
        per_parameter,
        ordinary,
        method,
        relative,
        n_train,
        state,
        source_names=None,
        classes=None,
    ):
        self.per_sample = per_sample
        self.per_source = per_source
        self.per_vote = per_vote
        self.per_parameter = per_parameter
        self.ordinary = ordinary
        self.method = method
        self.relative = relative
        self.n_train = n_train
        self._state = state
        self.source_names = source_names
        self.classes = classes

    def __repr__(self):
        return (
            f"InfluenceResult(method={self.method!r}, relative={self.relative}, "
            f"n_samples={self.per_sample.shape[0]}, n_sources={self.per_source.shape[0]}, "
            f"n_train={self.n_train})"
        )

    def terms(self, format="coo", *, max_bytes=2**31, dtype=np.float64):
        """Return every (sample, source, class) influence ``phi_ijc``.

        Positive = harmful (see the class docstring).

        Parameters
        ----------
        format : {"coo", "dense"}, default="coo"
            ``"coo"``: a dict of arrays over the terms that exist
            (``w_ijc != 0``): ``sample``, ``source``, ``class``, ``influence``,
            ``coefficient`` (``w_ijc``; ``a_ijc = w_ijc / Z_i`` for identity
            label models) and, with RelatIF, ``self_influence`` (``q_ijc >=
            0``). ``"dense"``: an array of shape (n_samples, n_sources,
            n_classes) with zeros for absent terms.
        max_bytes : int, default=2**31
            Refuse to build a dense tensor larger than this.
        dtype : dtype, default=np.float64
            Data type of the dense tensor.

        Returns
        -------
        terms : dict or ndarray
            The dict of arrays (``"coo"``) or the dense array (``"dense"``)
            described under ``format``.
        """
        st = self._state
        dec, train_index, n_samples = st.decomposition, st.train_index, st.n_samples
        b, r, kappa = st.b, st.r, st.kappa
        if format == "dense":
            size = n_samples * dec.n_sources * dec.n_classes * np.dtype(dtype).itemsize
            if size > max_bytes:
                raise ValueError(
                    f"The dense influence tensor needs {size} bytes, above "
                    f"max_bytes={max_bytes}; use format='coo' or raise max_bytes."
                )
            out = np.zeros((n_samples, dec.n_sources, dec.n_classes), dtype=dtype)
            out[train_index] = dec.dense(b, r, self.method, kappa, dtype=dtype)
            return out
        if format != "coo":
            raise ValueError(f"format must be 'coo' or 'dense'; got {format!r}.")
        out = dec.terms(b, r, self.method, kappa)
        if kappa is not None:
            a = out["coefficient"] / dec.Z[out["sample"]]
            out["self_influence"] = a * a * kappa[out["sample"], out["class"]]
        out["sample"] = train_index[out["sample"]]
        return out
