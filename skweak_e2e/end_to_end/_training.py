"""Training plumbing of WeaSELClassifier: dataset, batch iterator, callback.

Module-level classes (so that a fitted ``net_`` pickles). This module
imports torch and skorch; the estimator imports it lazily.
"""

import numpy as np
import torch
from skorch.callbacks import Callback

from ._weasel import _downstream_proba, best_f1_threshold

__all__ = ["BatchIterator", "TensorBatches", "ValidationCheckpoint"]


class TensorBatches(torch.utils.data.Dataset):
    """Features and votes held as tensors, indexed a whole batch at a time.

    ``dataset[index]`` returns ``({"X": X[index], "L": L[index]}, target)``
    where ``target`` is an empty placeholder: WeaSEL has no gold target.
    """

    def __init__(self, X, L):
        self.X = X
        self.L = L
        self.dummy_target = torch.zeros(0, device=X.device)

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return {"X": self.X[index], "L": self.L[index]}, self.dummy_target


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
        device = data.X.device
        if self.shuffle:
            order = torch.randperm(n).to(device)
        else:
            order = torch.arange(n, device=device)
        for start, stop in self._bounds():
            yield data[order[start:stop]]


class ValidationCheckpoint(Callback):
    """Score the downstream network on gold validation data every epoch.

    Keeps an in-memory copy of the best module state (restored at the end
    of training), the epoch and score, and for binary problems the
    F1-optimal decision threshold of that epoch. With ``patience``, stops
    training after that many epochs without improvement (skorch's fit loop
    treats ``KeyboardInterrupt`` as "stop now", as its EarlyStopping does).
    """

    def __init__(self, X_val, y_val, scorer, tune_threshold, patience):
        self.X_val = X_val
        self.y_val = y_val
        self.scorer = scorer
        self.tune_threshold = tune_threshold
        self.patience = patience

    def on_train_begin(self, net, **kwargs):
        self.best_score = -np.inf
        self.best_epoch = 0
        self.best_state = None
        self.threshold = None
        self.wait = 0

    def on_epoch_end(self, net, **kwargs):
        proba = _downstream_proba(net.module_, self.X_val)
        score = self.scorer(self.y_val, proba) if np.isfinite(proba).all() else -np.inf
        improved = bool(score > self.best_score)
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", improved)
        if improved:
            self.best_score = score
            self.best_epoch = len(net.history)
            self.wait = 0
            self.best_state = {
                key: value.detach().clone()
                for key, value in net.module_.state_dict().items()
            }
            if self.tune_threshold:
                self.threshold = best_f1_threshold(self.y_val, proba[:, 1])[0]
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.best_state is not None:
            net.module_.load_state_dict(self.best_state)

    def release(self):
        """Drop the references to data and states (keeps pickles small)."""
        self.X_val = self.y_val = self.scorer = self.best_state = None
