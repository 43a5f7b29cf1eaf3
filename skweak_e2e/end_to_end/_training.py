"""Training plumbing of WeaSELClassifier: data, batches, callbacks, inference.

Module-level classes (so that a fitted ``net_`` pickles). This module
imports torch and skorch; the estimator imports it lazily.

Features are held either as a dense tensor (on the training device) or as a
``scipy.sparse`` CSR matrix, whose mini-batches are made dense one at a time
(a TF-IDF matrix is never densified whole).
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from sklearn.utils import Bunch

from ..utils._torch import TORCH_CHUNK, row_slices
from ..utils._warnings import user_stacklevel
from ._losses import WeaSELLoss
from ._networks import build_weasel_module
from ._scoring import best_f1_threshold

__all__ = [
    "BatchIterator",
    "accepts_sparse",
    "EncoderWarmup",
    "EpochCheckpoint",
    "TensorBatches",
    "TrainingOptions",
    "WeaSELTrainer",
    "feature_rows",
    "predict_in_chunks",
]


def feature_rows(X, index, dtype, device, sparse=False):
    """Rows ``index`` of dense or sparse features as a tensor.

    Rows of a scipy.sparse ``X`` become a sparse COO tensor when ``sparse``
    (networks that multiply sparse inputs), else a dense one.
    """
    if sp.issparse(X):
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        rows = X[index]
        if not sparse:
            return torch.from_numpy(rows.toarray()).to(device=device, dtype=dtype)
        if X.format == "csr" and X.has_canonical_format:
            # Rows of a canonical CSR matrix are canonical: skip the sort.
            rows.has_canonical_format = True
        else:
            rows.sum_duplicates()  # canonical (sorted, unique) on the batch's copy
        rows = rows.tocoo()
        indices = torch.from_numpy(np.vstack([rows.row, rows.col]).astype(np.int64))
        return torch.sparse_coo_tensor(
            indices,
            torch.from_numpy(rows.data),
            rows.shape,
            dtype=dtype,
            device=device,
            is_coalesced=True,
            # Built from a valid CSR matrix: skip the checks (and the
            # warning torch gives when they are left implicit).
            check_invariants=False,
        )
    if isinstance(X, torch.Tensor):
        return X[index]
    rows = X[index]
    if not rows.flags.writeable:
        # A slice of a read-only array (pandas hands those out): torch would
        # share its memory and warn that it is not writable.
        rows = rows.copy()
    return torch.as_tensor(rows, dtype=dtype, device=device)


def predict_in_chunks(function, X, dtype, device, L=None, sparse=False):
    """Apply ``function(X_rows[, L_rows])`` chunk by chunk, without gradients.

    Returns the concatenated outputs as a numpy array. ``L`` (votes, hard
    or soft, already encoded) is cut into the same chunks when given.
    Sparse rows made dense are chunked to at most 2**24 values at a time.
    """
    chunk = TORCH_CHUNK
    if sp.issparse(X) and not sparse:
        chunk = max(1, min(chunk, 2**24 // max(X.shape[1], 1)))

    def run(rows):
        Xb = feature_rows(X, rows, dtype, device, sparse)
        if L is None:
            return function(Xb).cpu()
        Lb = torch.as_tensor(L[rows], device=device)
        if Lb.is_floating_point():
            Lb = Lb.to(dtype)
        return function(Xb, Lb).cpu()

    with torch.no_grad():
        outputs = [run(rows) for rows in row_slices(X.shape[0], chunk)]
    return torch.cat(outputs).numpy()


def downstream_proba(module, X):
    """Softmax of the downstream logits, in eval mode, as float64."""
    param = next(module.parameters())
    was_training = module.training
    module.eval()
    try:
        proba = predict_in_chunks(
            lambda Xb: torch.softmax(module.downstream(Xb), dim=1),
            X,
            param.dtype,
            param.device,
            sparse=accepts_sparse(module.downstream),
        )
    finally:
        module.train(was_training)
    return proba.astype(np.float64)


def accepts_sparse(*networks):
    """Whether every network multiplies sparse COO inputs (``accepts_sparse``)."""
    return all(getattr(network, "accepts_sparse", False) for network in networks)


class TensorBatches(torch.utils.data.Dataset):
    """Features and votes, indexed a whole batch at a time.

    ``dataset[index]`` returns ``({"X": X[index], "L": L[index]}, target)``
    where ``target`` is an empty placeholder: WeaSEL has no gold target.
    ``X`` is a tensor on ``L``'s device or a scipy CSR matrix, whose rows
    become a sparse tensor per batch when ``sparse`` (else dense rows).
    """

    def __init__(self, X, L, dtype, sparse=False):
        self.X = X
        self.L = L
        self.dtype = dtype
        self.sparse = sparse
        self.dummy_target = torch.zeros(0, device=L.device)

    def __len__(self):
        return self.L.shape[0]

    def __getitem__(self, index):
        X = feature_rows(self.X, index, self.dtype, self.L.device, self.sparse)
        return {"X": X, "L": self.L[index]}, self.dummy_target


class BatchIterator:
    """Shuffled mini-batches by tensor indexing (no per-sample collation).

    A trailing batch of a single sample is merged into the previous one,
    because BatchNorm cannot train on one sample. Shuffling draws from
    torch's global generator, which the estimator forks and seeds.
    """

    def __init__(self, dataset, batch_size=64, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def _bounds(self):
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n]))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        data = self.dataset
        n = len(data)
        device = data.L.device
        if self.shuffle:
            order = torch.randperm(n).to(device)
        else:
            order = torch.arange(n, device=device)
        for start, stop in self._bounds():
            yield data[order[start:stop]]


class EncoderWarmup(Callback):
    """Keep the encoder frozen during the first ``n_epochs`` epochs.

    The downstream network then learns the encoder's initial labels, a soft
    majority vote, before the two networks are trained jointly: the joint
    phase starts from a trained network instead of a random one.
    """

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs

    def _set(self, net, trainable):
        for param in net.module_.encoder.parameters():
            param.requires_grad_(trainable)

    def on_epoch_begin(self, net, **kwargs):
        self._set(net, len(net.history) > self.n_epochs)

    def on_train_end(self, net, **kwargs):
        self._set(net, True)


class EpochCheckpoint(Callback):
    """Keep the best downstream network of the epochs from ``first_epoch`` on.

    With validation data the downstream network is scored after every
    epoch and the best state is kept (restored when training ends), with
    its score and, when ``tune_threshold``, the F1-optimal threshold of that
    epoch; ``patience`` stops training after that many eligible epochs
    without improvement. Without validation data the last completed epoch
    is kept, and ``patience`` counts the epochs whose training loss did not
    improve by ``tol``. A user interrupt (Ctrl-C) lets skorch end the fit loop; the
    estimator then finds ``stopped_early`` False and warns.
    """

    def __init__(
        self, X_val, y_val, scorer, tune_threshold, patience, first_epoch=1, tol=1e-4
    ):
        self.tol = tol
        self.X_val = X_val
        self.y_val = y_val
        self.scorer = scorer
        self.tune_threshold = tune_threshold
        self.patience = patience
        self.first_epoch = first_epoch

    def on_train_begin(self, net, **kwargs):
        self.best_score = -np.inf
        self.best_epoch = 0
        self.best_state = None
        self.threshold = None
        self.wait = 0
        self.n_completed = 0
        self.stopped_early = False
        self.best_loss = np.inf

    def _keep(self, net, epoch, score, proba):
        self.best_score = score
        self.best_epoch = epoch
        self.best_state = {
            key: value.detach().clone()
            for key, value in net.module_.state_dict().items()
        }
        if self.tune_threshold:
            self.threshold = best_f1_threshold(self.y_val, proba[:, 1])[0]

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        self.n_completed = epoch
        if self.X_val is None:
            if epoch >= self.first_epoch:
                self._keep(net, epoch, np.nan, None)
                # Without validation data, patience watches the training
                # loss, as scikit-learn's MLP does (n_iter_no_change, tol).
                loss = float(net.history[-1, "train_loss"])
                if loss < self.best_loss - self.tol:
                    self.best_loss, self.wait = loss, 0
                else:
                    self._wait_or_stop()
            return
        proba = downstream_proba(net.module_, self.X_val)
        score = self.scorer(self.y_val, proba) if np.isfinite(proba).all() else -np.inf
        eligible = epoch >= self.first_epoch
        improved = bool(eligible and score > self.best_score)
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", improved)
        if improved:
            self._keep(net, epoch, score, proba)
            self.wait = 0
        elif eligible:
            self._wait_or_stop()

    def _wait_or_stop(self):
        self.wait += 1
        if self.patience is not None and self.wait >= self.patience:
            self.stopped_early = True
            # skorch's fit loop ends on KeyboardInterrupt (as its own
            # EarlyStopping does); the flag tells it from a user's Ctrl-C.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.best_state is not None:
            net.module_.load_state_dict(self.best_state)

    def release(self):
        """Drop the references to data and states (keeps pickles small)."""
        self.X_val = self.y_val = self.scorer = self.best_state = None


@dataclass(frozen=True)
class TrainingOptions:
    """The resolved training options of a WeaSEL fit (what the trainer reads).

    ``class_prior`` enters the loss (MIG); ``scorer`` and ``tune_threshold``
    select the epoch on validation data; ``estimator_name`` names the
    estimator in warnings and errors.
    """

    estimator_name: str
    lr: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    loss: str = "ce"
    encoder_lr: float = None
    warmup_epochs: int = 0
    patience: int = None
    class_prior: object = None
    scorer: object = None
    tune_threshold: bool = False
    verbose: int = 0


class WeaSELTrainer:
    """Train a WeaSEL module with skorch and keep the selected epoch.

    One fit in ``initialize_*`` steps, in the manner of skorch's
    ``NeuralNet.initialize``: :meth:`initialize_module` builds and checks the
    networks, :meth:`initialize_data` wraps the training data,
    :meth:`initialize_callbacks` the epoch checkpoint and the warm-up,
    :meth:`initialize_optimizer` Adam's keyword arguments, and
    :meth:`initialize_net` the skorch net; :meth:`fit` runs them and
    skorch's fit loop, then :meth:`finish` reads the kept epoch.

    Parameters
    ----------
    options : TrainingOptions
    dtype : torch.dtype
    device : torch.device
    """

    def __init__(self, options, dtype, device):
        self.options = options
        self.dtype = dtype
        self.device = device

    def initialize_module(self, spec, n_features, n_sources, probe):
        """The joint module of ``spec`` (a ``ModuleSpec``), checked on ``probe``.

        ``probe`` holds the first training rows, ``(X, L)`` as arrays.
        """
        X, L = probe
        probe_X = feature_rows(X, slice(0, 2), self.dtype, self.device)
        probe_L = torch.as_tensor(L[:2], device=self.device)
        if probe_L.is_floating_point():
            probe_L = probe_L.to(self.dtype)
        return build_weasel_module(
            spec, n_features, n_sources, (probe_X, probe_L), self.dtype, self.device, torch
        )

    def initialize_data(self, X, L, sparse):
        """In-memory training data as a :class:`TensorBatches` dataset.

        A sparse ``X`` is made canonical CSR once here instead of on every
        batch (on a copy: the user's matrix is left as it is); a dense one
        moves to the device whole.
        """
        if sp.issparse(X):
            X_train = X.tocsr()
            if not X_train.has_canonical_format:
                X_train = X_train.copy()
                X_train.sum_duplicates()
        else:
            X_train = torch.from_numpy(np.ascontiguousarray(X)).to(self.device, self.dtype)
        L_train = torch.from_numpy(np.ascontiguousarray(L))
        if L_train.is_floating_point():
            L_train = L_train.to(self.dtype)
        return TensorBatches(X_train, L_train.to(self.device), self.dtype, sparse)

    def initialize_callbacks(self, X_val, y_val):
        """The epoch checkpoint (kept as ``checkpoint_``) and the warm-up."""
        opts = self.options
        warmup = min(opts.warmup_epochs, opts.max_epochs)
        # The epochs of a warm-up train f on the frozen encoder's labels:
        # selection starts with the last of them.
        self.checkpoint_ = EpochCheckpoint(
            X_val,
            y_val,
            opts.scorer,
            opts.tune_threshold,
            opts.patience,
            first_epoch=max(warmup, 1),
        )
        callbacks = [("checkpoint", self.checkpoint_)]
        if warmup > 0:
            callbacks.append(("encoder_warmup", EncoderWarmup(warmup)))
        return callbacks

    def initialize_optimizer(self):
        """skorch's ``optimizer__*`` arguments: Adam's weight decay and groups."""
        opts = self.options
        kwargs = {"optimizer__weight_decay": opts.weight_decay}
        if opts.encoder_lr is not None and opts.encoder_lr != opts.lr:
            kwargs["optimizer__param_groups"] = [("encoder.*", {"lr": opts.encoder_lr})]
        if self.device.type in ("cpu", "cuda"):
            kwargs["optimizer__fused"] = True
        return kwargs

    def initialize_net(self, module, callbacks, iterator):
        """The skorch net around ``module``, batching with ``iterator``."""
        opts = self.options
        return NeuralNet(
            module=module,
            criterion=WeaSELLoss,
            criterion__loss=opts.loss,
            criterion__class_prior=opts.class_prior,
            optimizer=torch.optim.Adam,
            lr=opts.lr,
            max_epochs=opts.max_epochs,
            batch_size=opts.batch_size,
            iterator_train=iterator,
            iterator_train__shuffle=True,
            iterator_valid=BatchIterator,
            train_split=None,
            callbacks=callbacks,
            device=str(self.device),
            verbose=opts.verbose,
            **self.initialize_optimizer(),
        )

    def fit(self, spec, X, L, X_val=None, y_val=None):
        """Build, train and select: returns ``(net, result)`` (see :meth:`finish`).

        ``X`` and ``L`` are in-memory training rows, or ``X`` is a
        ``BlockStream`` (dask row blocks, see ``_streaming``) and ``L`` None.
        """
        stream = getattr(X, "is_block_stream", False)
        if stream:
            n_features, n_sources, probe = X.n_features, X.n_sources, X.probe
        else:
            n_features, n_sources, probe = X.shape[1], L.shape[1], (X, L)
        module = self.initialize_module(spec, n_features, n_sources, probe)
        sparse = accepts_sparse(module.downstream, module.encoder)
        if stream:
            dataset, iterator = X.bind(self.dtype, self.device, sparse), X.iterator
        else:
            dataset, iterator = self.initialize_data(X, L, sparse), BatchIterator
        net = self.initialize_net(module, self.initialize_callbacks(X_val, y_val), iterator)
        try:
            net.fit(dataset, None)
        finally:
            if stream:
                dataset.close()
        # The trained module lives in net.module_; keep the class (not the
        # instance) as the parameter so that the pickled net holds one copy,
        # which skorch maps to the CPU when CUDA is unavailable at load time.
        net.module = type(net.module_)
        return net, self.finish(net)

    def finish(self, net):
        """The kept epoch; warn on an interrupt or a non-finite loss.

        A user interrupt with an epoch to keep warns and keeps it; before
        any epoch it re-raises ``KeyboardInterrupt``.

        Returns
        -------
        result : Bunch
            ``best_epoch``, ``best_score`` (None without validation data),
            ``threshold`` and ``n_epochs``.
        """
        opts, checkpoint = self.options, self.checkpoint_
        completed = checkpoint.n_completed
        interrupted = completed < opts.max_epochs and not checkpoint.stopped_early
        if interrupted and checkpoint.best_state is None:
            checkpoint.release()
            raise KeyboardInterrupt(
                f"{opts.estimator_name}.fit was interrupted after {completed} "
                "epoch(s), before any epoch could be kept."
            )
        if interrupted:
            warnings.warn(
                f"{opts.estimator_name}.fit was interrupted after {completed} of "
                f"{opts.max_epochs} epochs; keeping epoch {checkpoint.best_epoch}.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        best = checkpoint.best_score
        result = Bunch(
            best_epoch=int(checkpoint.best_epoch),
            best_score=float(best) if np.isfinite(best) else None,
            threshold=checkpoint.threshold,
            n_epochs=completed,
            interrupted=interrupted,
        )
        checkpoint.release()
        losses = np.asarray(
            [row.get("train_loss", np.nan) for row in net.history[:completed]],
            dtype=np.float64,
        )
        if not np.isfinite(losses).all():
            warnings.warn(
                'The training loss became non-finite; lower lr or use dtype="float64".',
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )
        return result
