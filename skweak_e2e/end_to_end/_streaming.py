"""Training batches streamed from the row blocks of dask arrays.

WeaSEL's training loop (skorch's) iterates over a dataset epoch by epoch.
For features beyond memory the dataset is a :class:`BlockStream`: every
epoch visits the row blocks in a new order (drawn from its own numpy
generator, seeded by the estimator's ``random_state``, so that torch's
random stream is the one the in-memory fit draws from), shuffles the rows
within each block with torch's generator, and cuts them into mini-batches.
While one block trains, a background thread computes the next one (on
the dask scheduler: on a cluster the workers prepare it) and moves it to
the device, so the device is not left waiting; the driver holds the
current block, the rows carried over to the next one, and the block being
prefetched.

With a single block an epoch draws the same permutation and cuts the same
batches as the in-memory :class:`~._training.BatchIterator`: the fit is the
in-memory fit, bit for bit. With several blocks the batches mix the rows of
one block (plus fewer than two batches' worth carried over from the
previous one) instead of the whole data set.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
import torch

from ..utils._dask import import_dask
from ._dask_blocks import prepare_block
from ._training import feature_rows

__all__ = ["BlockStream", "StreamBatches"]


class BlockStream(torch.utils.data.Dataset):
    """The training rows of dask row blocks, one block in memory at a time.

    Parameters
    ----------
    X_parts, y_parts : list of delayed
        The row blocks of the features and of the label matrix.
    prepare_args : tuple
        The arguments of ``_dask_blocks.prepare_block`` after the two blocks.
    n_rows, n_features, n_sources : int
        Training rows (after the uncovered rows are dropped), features and
        sources.
    probe : tuple
        The first two training rows ``(X, L)``, to check the networks.
    seed : int
        Seeds the order of the blocks.
    """

    is_block_stream = True

    def __init__(self, X_parts, y_parts, prepare_args, *, n_rows, n_features,
                 n_sources, probe, seed):
        self.X_parts = X_parts
        self.y_parts = y_parts
        self.prepare_args = prepare_args
        self.n_rows = n_rows
        self.n_features = n_features
        self.n_sources = n_sources
        self.probe = probe
        self.seed = seed

    @property
    def iterator(self):
        """The skorch ``iterator_train`` of this dataset."""
        return StreamBatches

    def __len__(self):
        return self.n_rows

    def bind(self, dtype, device, sparse):
        """Set the tensors' dtype and device; start the prefetching thread."""
        self.dtype, self.device, self.sparse = dtype, device, sparse
        self.dummy_target = torch.zeros(0, device=device)
        self._rng = np.random.RandomState(self.seed)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="weasel-prefetch")
        self._next = None
        self._dask = import_dask("WeaSELClassifier.fit")
        return self

    def close(self):
        """Stop the prefetching thread (a block being computed is dropped)."""
        executor = getattr(self, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._next = None

    def _load(self, index):
        """Block ``index``: prepared by dask, as tensors on the device."""
        task = self._dask.delayed(prepare_block, pure=False)(
            self.X_parts[index], self.y_parts[index], *self.prepare_args
        )
        X, L = self._dask.compute(task)[0]
        if not sp.issparse(X):
            X = torch.from_numpy(np.ascontiguousarray(X)).to(self.device, self.dtype)
        L = torch.from_numpy(np.ascontiguousarray(L))
        if L.is_floating_point():
            L = L.to(self.dtype)
        return X, L.to(self.device)

    def _submit(self, index):
        return self._executor.submit(self._load, index)

    def epoch_blocks(self, shuffle=True):
        """The blocks of one epoch, in a new order, the next one prefetched."""
        n_blocks = len(self.X_parts)
        if self._next is None:
            order = self._rng.permutation(n_blocks) if shuffle else np.arange(n_blocks)
            self._next = (order, self._submit(order[0]))
        order, pending = self._next
        self._next = None
        for position in range(n_blocks):
            if position + 1 < n_blocks:
                upcoming = self._submit(order[position + 1])
            else:
                # The first block of the next epoch loads during the last one.
                following = (
                    self._rng.permutation(n_blocks) if shuffle else np.arange(n_blocks)
                )
                self._next = (following, self._submit(following[0]))
                upcoming = None
            block = pending.result()
            pending = upcoming
            yield block

    def batch(self, X, L):
        """A skorch batch of gathered rows (dense tensors or CSR features)."""
        X = feature_rows(X, slice(None), self.dtype, self.device, self.sparse)
        return {"X": X, "L": L}, self.dummy_target


def _take(X, index):
    if sp.issparse(X):
        return X[index.cpu().numpy()]
    return X[index]


def _concat(a, b):
    if sp.issparse(a):
        return sp.vstack([a, b], format="csr")
    return torch.cat([a, b])


def _rows(carry, X, L, order, a, b):
    """Rows ``a:b`` of the carried-over rows followed by ``X[order]``.

    Gathered straight from the block (no permuted copy of it is made).
    """
    c = 0 if carry is None else carry[1].shape[0]
    if b <= c:
        return carry[0][a:b], carry[1][a:b]
    index = order[max(a - c, 0) : b - c]
    X_rows, L_rows = _take(X, index), L[index]
    if a < c:
        X_rows, L_rows = _concat(carry[0][a:], X_rows), torch.cat([carry[1][a:], L_rows])
    return X_rows, L_rows


def _bounds(n, size, last):
    """Batch bounds over ``n`` rows.

    The last block of an epoch is cut as ``BatchIterator`` cuts the whole
    set (a trailing single row joins the previous batch). Other blocks keep
    their incomplete batch and their last full one for the next block, so
    that the epoch never ends on a batch of one row, which BatchNorm cannot
    train on.
    """
    if last:
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n]))
    stop = n - (n % size + (size if n >= size else 0))
    return [(start, start + size) for start in range(0, stop, size)]


class StreamBatches:
    """Mini-batches of a :class:`BlockStream`, block after block.

    Rows are shuffled within each block (torch's global generator, which
    the estimator forks and seeds) and gathered batch by batch. A block's
    rows that do not fill a batch, with its last full batch, are carried
    over to the next block (fewer than two batches); see :func:`_bounds`.
    """

    def __init__(self, dataset, batch_size=64, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return len(_bounds(len(self.dataset), self.batch_size, True))

    def __iter__(self):
        data, size = self.dataset, self.batch_size
        carry, n_blocks = None, len(data.X_parts)
        for position, (X, L) in enumerate(data.epoch_blocks(self.shuffle)):
            n_block = L.shape[0]
            if self.shuffle:
                order = torch.randperm(n_block).to(L.device)
            else:
                order = torch.arange(n_block, device=L.device)
            n = n_block + (0 if carry is None else carry[1].shape[0])
            bounds = _bounds(n, size, position + 1 == n_blocks)
            for start, stop in bounds:
                yield data.batch(*_rows(carry, X, L, order, start, stop))
            done = bounds[-1][1] if bounds else 0
            # Gathered rows are copies: the block itself can be freed.
            carry = _rows(carry, X, L, order, done, n) if done < n else None
