"""The (sample, source, class) decomposition of the noise-aware training loss.

A label model in tensor form ``W`` (``n_sources x (C+1) x C``, activation
``sigma``) gives training row ``i`` the label
``y_ic = sigma(S_ic) / sum_k sigma(S_ik)`` with ``S_ic = sum_j w_ijc`` and
``w_ijc = W[j, L_ij + 1, c]`` (for soft votes, the vote-probability mixture
of ``W[j, :, c]``). With ``sigma`` the identity the loss splits into terms
``a_ijc * l_c(x_i)`` with ``a_ijc = w_ijc / Z_i`` (Zhang et al. eq. 8).

Given the end model's logit-space directions ``b`` (``b_ic = x~_i^T V
(p_i - e_c)``, with ``V = H^-1 grad L_target``: the gradient of the loss
term ``l_c(x_i)`` is ``x~_i (x) (p_i - e_c)``), every influence is O(1) per
term:

* reweighting (RW, identity only): ``phi_ijc = -a_ijc b_ic``;
* weight-moving (WM, identity or exp):
  ``phi_ijc = -kappa_ijc (b_ic - r_i)``, ``r_i = y_i . b_i``, with
  ``kappa = w / (Z_i - w)`` for the identity (``phi = -r_i`` when the term is
  the row's whole mass, which drops the row) and
  ``kappa = y_ic (1 - e^-w) / ((1 - y_ic) + y_ic e^-w)`` for exp;
* RelatIF: divide by ``sqrt(a_ijc^2 k_ic)`` where ``k_ic`` is the
  self-influence of ``x~_i (x) (p_i - e_c)``.

Sign convention (the paper's): ``phi > 0`` means the term is **harmful**:
up-weighting it raises the target loss, and removing it (``eps = -1/N``)
changes the target loss by about ``-phi / N``.

The coefficients ``a`` are never stored: they are gathered source by source
from ``W`` and ``L`` (O(n C) memory per source), so all ``n m C`` scores and
their aggregates cost O(n m C) time and O(n C + nnz) memory.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from ..label_model._tensor_form import tensor_scores
from ..label_model._vote_codes import soft_augmented
from ..utils._math import softmax_rows

__all__ = ["TermDecomposition"]

#: Relative remaining mass below which removing a term empties its row.
WHOLE_MASS_RTOL = 1e-12


#: Pairs per block in the vectorised pair loops (bounds temporary memory).
PAIR_BLOCK = 1 << 20


class TermDecomposition:
    """Per-term coefficients and influence scores of a tensor-form label model.

    For hard votes the (sample, source) pairs that carry a term (``W[j,
    L_ij + 1, :] != 0``, i.e. the votes, plus abstentions when the model
    gives abstaining mass) are listed once, row-major; every score and
    aggregate is then a vectorised gather/scatter over these pairs, with no
    loop over sources. Soft votes are processed source by source.

    Parameters
    ----------
    L : ndarray of shape (n, m) or (n, m, C)
        Validated votes of the training rows (``-1`` = abstain).
    W : ndarray of shape (m, C + 1, C)
        Tensor form of the label model.
    activation : {"identity", "exp"}
    scores : ndarray of shape (n, C), default=None
        ``tensor_scores(L, W)`` when the caller has them already.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((2, 3, 2)); W[:, 1, 0] = W[:, 2, 1] = 1.0
    >>> dec = TermDecomposition(np.array([[0, 1], [1, 1]]), W, "identity")
    >>> dec.labels
    array([[0.5, 0.5],
           [0. , 1. ]])
    >>> dec.pair_rows.tolist(), dec.pair_cols.tolist()
    ([0, 0, 1, 1], [0, 1, 0, 1])
    """

    def __init__(self, L, W, activation, scores=None):
        self.L = L
        self.W = np.asarray(W, dtype=np.float64)
        self.activation = activation
        self.n_samples, self.n_sources = L.shape[:2]
        self.n_classes = self.W.shape[2]
        self.soft = L.ndim == 3
        S = tensor_scores(L, self.W) if scores is None else scores
        self.S = S
        if activation == "identity":
            self.Z = S.sum(axis=1)
            if np.any(self.Z <= 0):
                raise ValueError(
                    "Every training row needs positive label mass under an "
                    "identity label model (drop uncovered rows first)."
                )
            self.labels = S / self.Z[:, None]
            self._one_minus = None
        elif activation == "exp":
            self.Z = None
            lse = logsumexp(S, axis=1, keepdims=True)
            self.labels = np.exp(S - lse)
            # 1 - y_ic from the other classes, accurate when y_ic is near 1.
            one_minus = np.empty_like(S)
            for c in range(self.n_classes):
                others = np.delete(S, c, axis=1)
                one_minus[:, c] = np.exp(logsumexp(others, axis=1) - lse[:, 0])
            self._one_minus = one_minus
        else:
            raise ValueError(
                f"activation must be 'identity' or 'exp'; got {activation!r}."
            )
        if not self.soft:
            present = (self.W != 0).any(axis=2)  # (m, C+1)
            codes = L.astype(np.intp) + 1
            has = present[np.arange(self.n_sources)[None, :], codes]
            rows, cols = np.nonzero(has)
            # Compact indices: the pair list can hold n * m entries.
            self.pair_rows = rows.astype(
                np.int32 if self.n_samples < 2**31 else np.int64
            )
            self.pair_cols = cols.astype(np.int32)
            self.pair_codes = codes[rows, cols].astype(np.int32)
            del has, codes

    # ------------------------------------------------------------- gathers
    def outcomes(self, j):
        """Outcome codes ``L[:, j] + 1`` (hard) or augmented soft votes (n, C+1)."""
        if self.soft:
            return soft_augmented(self.L[:, j : j + 1])[:, 0, :]
        return self.L[:, j].astype(np.intp) + 1

    def coefficients(self, j):
        """``w_ijc`` for source ``j``: shape (n, C)."""
        out = self.outcomes(j)
        if self.soft:
            return out @ self.W[j]
        return self.W[j][out]

    def _blocks(self):
        """Yield ``(rows, cols, codes, w)`` blocks of pairs (hard votes)."""
        for start in range(0, self.pair_rows.size, PAIR_BLOCK):
            sl = slice(start, start + PAIR_BLOCK)
            rows, cols, codes = (
                self.pair_rows[sl],
                self.pair_cols[sl],
                self.pair_codes[sl],
            )
            yield rows, cols, codes, self.W[cols, codes]

    def _source_blocks(self):
        """Yield ``(rows, cols, None, w)`` per source (soft votes)."""
        rows = np.arange(self.n_samples)
        for j in range(self.n_sources):
            yield (
                rows,
                np.full(self.n_samples, j, dtype=np.intp),
                None,
                self.coefficients(j),
            )

    def blocks(self):
        return self._source_blocks() if self.soft else self._blocks()

    # -------------------------------------------------------------- scores
    def wm_factor(self, w, rows):
        """``kappa`` of weight-moving for coefficients ``w`` of ``rows``.

        Returns
        -------
        factor : ndarray, same shape as ``w``
        whole : ndarray of bool or None
            Terms that are their row's whole mass (identity only): removing
            them drops the row, and their WM influence is ``-r_i``.
        """
        if self.activation == "identity":
            Z = self.Z[rows][:, None]
            rest = Z - w
            whole = (w != 0) & (rest <= WHOLE_MASS_RTOL * Z)
            factor = np.zeros_like(w)
            np.divide(w, rest, out=factor, where=(w != 0) & ~whole)
            return factor, whole
        y = self.labels[rows]
        neg = np.minimum(-w, 700.0)
        factor = y * (-np.expm1(neg)) / (self._one_minus[rows] + y * np.exp(neg))
        return factor, None

    def phi(self, rows, w, b, r, method, kappa=None):
        """Influence of the terms with coefficients ``w`` (k, C) on ``rows``.

        Parameters
        ----------
        rows : ndarray of shape (k,)
            Training rows of the terms.
        w : ndarray of shape (k, C)
            Their coefficients ``w_ijc`` (0 = no term).
        b : ndarray of shape (n, C)
            ``b_ic = p_i . u_i - u_ic`` for the target.
        r : ndarray of shape (n,)
            ``r_i = y_i . b_i`` (minus the ordinary influence of row ``i``).
        method : {"rw", "wm"}
        kappa : ndarray of shape (n, C), default=None
            Self-influence base ``k_ic``; RelatIF when given.

        Returns
        -------
        phi : ndarray of shape (k, C)
            Zero where ``w == 0``.
        """
        bi = b[rows]
        if method == "rw":
            phi = -(w / self.Z[rows][:, None]) * bi
        else:
            factor, whole = self.wm_factor(w, rows)
            ri = r[rows][:, None]
            phi = -factor * (bi - ri)
            if whole is not None and whole.any():
                phi = np.where(whole, -ri, phi)
        if kappa is not None:
            denom = np.abs(w / self.Z[rows][:, None]) * np.sqrt(
                np.maximum(kappa[rows], 0.0)
            )
            phi = np.divide(phi, denom, out=np.zeros_like(phi), where=denom > 0)
        return phi

    def aggregate(self, b, r, method, kappa=None):
        """Table 1 aggregates of the term influences for one target.

        Returns
        -------
        out : dict
            ``per_sample`` (n,), ``per_source`` (m,), ``per_parameter``
            (m, C+1, C) and the per-vote entries ``vote_rows``,
            ``vote_cols``, ``vote_values`` over the (i, j) pairs with a term
            (row-major).
        """
        n, m, C = self.n_samples, self.n_sources, self.n_classes
        per_sample = np.zeros(n)
        per_source = np.zeros(m)
        per_parameter = np.zeros((m, C + 1, C))
        vrows, vcols, vvals = [], [], []
        for rows, cols, codes, w in self.blocks():
            phi = self.phi(rows, w, b, r, method, kappa)
            s = phi.sum(axis=1)
            per_sample += np.bincount(rows, weights=s, minlength=n)
            per_source += np.bincount(cols, weights=s, minlength=m)
            if self.soft:
                j = cols[0]
                keep = (w != 0).any(axis=1)
                vrows.append(rows[keep])
                vcols.append(cols[keep])
                vvals.append(s[keep])
                ratio = np.divide(phi, w, out=np.zeros_like(phi), where=w != 0)
                per_parameter[j] += self.W[j] * (self.outcomes(j).T @ ratio)
            else:
                vrows.append(rows)
                vcols.append(cols)
                vvals.append(s)
                slot = cols.astype(np.intp) * (C + 1) + codes
                for c in range(C):
                    per_parameter[:, :, c] += np.bincount(
                        slot, weights=phi[:, c], minlength=m * (C + 1)
                    ).reshape(m, C + 1)
        vrows, vcols, vvals = map(np.concatenate, (vrows, vcols, vvals))
        if self.soft:  # restore the row-major order of the hard path
            order = np.lexsort((vcols, vrows))
            vrows, vcols, vvals = vrows[order], vcols[order], vvals[order]
        return {
            "per_sample": per_sample,
            "per_source": per_source,
            "per_parameter": per_parameter,
            "vote_rows": vrows,
            "vote_cols": vcols,
            "vote_values": vvals,
        }

    def per_vote_matrix(self, agg, row_index, n_rows):
        """CSR (n_rows, m) of vote influences from :meth:`aggregate` output."""
        rows = row_index[agg["vote_rows"]]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return sp.csr_matrix(
            (agg["vote_values"], agg["vote_cols"], indptr),
            shape=(n_rows, self.n_sources),
        )

    def terms(self, b, r, method, kappa=None):
        """COO listing of every term with ``w_ijc != 0``.

        Returns
        -------
        out : dict
            ``sample`` (training-row index), ``source``, ``class``,
            ``influence`` and ``coefficient`` (``w_ijc``).
        """
        samples, sources, classes, values, coefs = [], [], [], [], []
        for rows, cols, _, w in self.blocks():
            phi = self.phi(rows, w, b, r, method, kappa)
            k, c = np.nonzero(w)
            samples.append(rows[k])
            sources.append(cols[k])
            classes.append(c)
            values.append(phi[k, c])
            coefs.append(w[k, c])
        return {
            "sample": np.concatenate(samples),
            "source": np.concatenate(sources),
            "class": np.concatenate(classes),
            "influence": np.concatenate(values),
            "coefficient": np.concatenate(coefs),
        }

    def dense(self, b, r, method, kappa=None, *, dtype=np.float64):
        """Dense (n, m, C) influence tensor (zeros for absent terms)."""
        out = np.zeros((self.n_samples, self.n_sources, self.n_classes), dtype=dtype)
        for rows, cols, _, w in self.blocks():
            out[rows, cols, :] = self.phi(rows, w, b, r, method, kappa)
        return out

    def term_coefficients(self, sample, source, klass):
        """``w_ijc`` of listed terms (training-row indices)."""
        if self.soft:
            aug = soft_augmented(self.L[sample, source][:, None, :])[:, 0, :]
            return np.einsum("tk,tk->t", aug, self.W[source, :, klass])
        codes = self.L[sample, source].astype(np.intp) + 1
        return self.W[source, codes, klass]

    # ------------------------------------------------------ modified labels
    def labels_without_terms(self, sample, source, klass, method):
        """Training labels after removing the listed terms.

        ``"rw"`` subtracts ``a_ijc`` from ``y_ic`` (no renormalisation);
        ``"wm"`` zeroes ``w_ijc`` in the scores and renormalises (identity:
        rows left without mass get all-zero labels and drop out).

        Returns
        -------
        T : ndarray of shape (n, C)
        """
        n, C = self.n_samples, self.n_classes
        w = self.term_coefficients(sample, source, klass)
        flat = sample * C + klass
        if method == "rw":
            removed = np.bincount(flat, weights=w / self.Z[sample], minlength=n * C)
            return np.clip(self.labels - removed.reshape(n, C), 0.0, None)
        delta = np.bincount(flat, weights=w, minlength=n * C).reshape(n, C)
        return self.scores_to_labels(self.S - delta)

    def labels_without_sources(self, sources):
        """Labels after zeroing ``W[j]`` for the listed sources (renormalised)."""
        W = self.W.copy()
        W[np.asarray(sources, dtype=np.intp)] = 0.0
        return self.scores_to_labels(tensor_scores(self.L, W))

    def vote_removals(self, j, method):
        """The votes of source ``j`` and the label change of removing each.

        Parameters
        ----------
        j : int
            Source.
        method : {"rw", "wm"}
            ``"rw"`` removes the vote's label mass ``a_ijc`` (identity
            models); ``"wm"`` zeroes its coefficients and renormalises.

        Returns
        -------
        rows : ndarray of shape (k,)
            Training rows on which ``j`` votes.
        vote : ndarray of shape (k,)
            The voted class (the most probable one of a soft vote).
        delta : ndarray of shape (k, C)
            New labels minus current labels.
        """
        if self.soft:
            mass = self.L[:, j]
            rows = np.flatnonzero(mass.sum(axis=1) > 0)
            vote = mass[rows].argmax(axis=1)
        else:
            rows = np.flatnonzero(self.L[:, j] >= 0)
            vote = self.L[rows, j].astype(np.intp)
        w = self.coefficients(j)[rows]
        if method == "rw":
            return rows, vote, -w / self.Z[rows, None]
        new = self.scores_to_labels(self.S[rows] - w, rows)
        return rows, vote, new - self.labels[rows]

    def scores_to_labels(self, S, rows=None):
        """Normalise scores; identity rows without mass become all-zero.

        ``rows``: the training rows of ``S`` (all rows when None).
        """
        if self.activation == "exp":
            return softmax_rows(S)
        S = np.clip(S, 0.0, None)
        Z = S.sum(axis=1, keepdims=True)
        Z_rows = self.Z if rows is None else self.Z[rows]
        tiny = WHOLE_MASS_RTOL * Z_rows[:, None]
        return np.divide(S, Z, out=np.zeros_like(S), where=Z > tiny)
