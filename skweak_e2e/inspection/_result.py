"""The result of an influence query: aggregates and the individual terms."""

from dataclasses import dataclass

import numpy as np

from ._pipeline import leave_one_out_scores

__all__ = ["InfluenceResult", "ResultBuilder", "TermState", "Top", "check_variant"]


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


class ResultBuilder:
    """Turns a target's logit directions into :class:`InfluenceResult` objects.

    Holds what every query shares (the decomposition, the backend, the row
    index, the names) and caches the self-influences RelatIF divides by.

    Parameters
    ----------
    decomposition : TermDecomposition
    backend : LogisticBackend or TorchGGNBackend
    train_index : ndarray of shape (n_train,)
    n_samples : int
    source_names : ndarray of str
    classes : ndarray
    """

    def __init__(
        self, decomposition, backend, train_index, n_samples, source_names, classes
    ):
        self.decomposition, self.backend = decomposition, backend
        self.train_index, self.n_samples = train_index, n_samples
        self.source_names, self.classes = source_names, classes
        self._kappa = None
        self._ordinary_self = None

    def kappa(self):
        """Self-influence base ``k_ic`` of ``x~_i (x) (p_i - e_c)``, cached."""
        if self._kappa is None:
            P = self.backend.P
            eye = np.eye(P.shape[1])
            self._kappa = np.column_stack(
                [self.backend.self_influence(P - eye[c]) for c in range(P.shape[1])]
            )
        return self._kappa

    def ordinary_self_influence(self):
        """Self-influence of each training row's whole loss, cached."""
        if self._ordinary_self is None:
            lab = self.decomposition.labels
            G = lab.sum(axis=1, keepdims=True) * self.backend.P - lab
            self._ordinary_self = self.backend.self_influence(G)
        return self._ordinary_self

    def result(self, u, method, relative):
        """The :class:`InfluenceResult` of logit directions ``u`` (n_train, C)."""
        P = self.backend.P
        dec = self.decomposition
        b = (P * u).sum(axis=1, keepdims=True) - u
        r = (dec.labels * b).sum(axis=1)
        kappa = self.kappa() if relative else None
        agg = dec.aggregate(b, r, method, kappa)
        idx, n = self.train_index, self.n_samples
        per_sample = np.zeros(n)
        per_sample[idx] = agg["per_sample"]
        ordinary = np.zeros(n)
        phi = -r
        if relative:
            q = self.ordinary_self_influence()
            phi = np.divide(
                phi, np.sqrt(np.maximum(q, 0)), out=np.zeros_like(phi), where=q > 0
            )
        ordinary[idx] = phi
        return InfluenceResult(
            per_sample=per_sample,
            per_source=agg["per_source"],
            per_vote=dec.per_vote_matrix(agg, idx, n),
            per_parameter=agg["per_parameter"],
            ordinary=ordinary,
            method=method,
            relative=relative,
            n_train=idx.size,
            state=TermState(dec, idx, n, b, r, kappa),
            source_names=self.source_names,
            classes=self.classes,
        )

    def check_variant(self, method, relative):
        """Validated ``(method, relative)`` of a query."""
        return check_variant(
            method, relative, self.decomposition.activation, self.backend.has_inverse
        )

    def top_components(self, result, k):
        """The ``k`` most harmful training rows and votes of a result.

        Ties keep the row order (rows, then sources), as a stable sort.

        Returns
        -------
        top : Top
            ``samples`` (row indices) and ``sample_influence``; ``rows``,
            ``cols``, ``votes`` (the voted class, -1 for an abstention) and
            ``vote_influence`` of the votes.
        """
        train = self.train_index
        order = train[np.argsort(-result.per_sample[train], kind="stable")[:k]]
        coo = result.per_vote.tocoo()
        top = np.argsort(-coo.data, kind="stable")[:k]
        rows, cols = coo.row[top], coo.col[top]
        return Top(
            samples=order,
            sample_influence=result.per_sample[order],
            rows=rows,
            cols=cols,
            votes=self.vote_codes(rows, cols),
            vote_influence=coo.data[top],
        )

    def vote_codes(self, rows, cols):
        """The voted class of (row, source) pairs (the most probable one of a
        soft vote), -1 for an abstention."""
        dec = self.decomposition
        pos = np.searchsorted(self.train_index, rows)
        if dec.soft:
            mass = dec.L[pos, cols]
            return np.where(mass.sum(axis=1) > 0, mass.argmax(axis=1), -1)
        return dec.L[pos, cols].astype(np.intp)

    def leave_one_out(self, backend, method):
        """Leave-one-out mislabel scores of every vote (see ``mislabel_scores``)."""
        return leave_one_out_scores(
            backend, self.decomposition, self.train_index, self.n_samples, method
        )

    def vote_scores(self, result):
        """``per_vote`` as a dense (n_samples, n_sources) array, NaN off the votes."""
        dec = self.decomposition
        out = np.full((self.n_samples, dec.n_sources), np.nan)
        coo = result.per_vote.tocoo()
        pos = np.searchsorted(self.train_index, coo.row)
        if dec.soft:
            voted = dec.L[pos, coo.col].sum(axis=1) > 0
        else:
            voted = dec.L[pos, coo.col] >= 0
        out[coo.row[voted], coo.col[voted]] = coo.data[voted]
        return out


@dataclass(frozen=True)
class Top:
    """The most harmful rows and votes of a result (see ``top_components``)."""

    samples: np.ndarray
    sample_influence: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    votes: np.ndarray
    vote_influence: np.ndarray


def check_variant(method, relative, activation, has_inverse):
    """Validated ``(method, relative)`` of a query on a fitted inspector."""
    if method not in ("rw", "wm"):
        raise ValueError(f"method must be 'rw' or 'wm'; got {method!r}.")
    if (method == "rw" or relative) and activation != "identity":
        raise ValueError(
            "method='rw' and relative=True need an identity label model; fit "
            "the inspector with linearize=True to score an exp label model so."
        )
    if relative and not has_inverse:
        raise ValueError(
            "relative=True needs the explicit inverse Hessian (solver="
            "'cholesky', up to 4096 end-model parameters)."
        )
    return method, bool(relative)
