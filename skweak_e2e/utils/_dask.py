"""Dask collections: recognised without importing dask, driven block by block.

dask is an optional dependency (``pip install "skweak_e2e[dask]"``). A dask
collection is recognised by its module and its ``__dask_graph__`` method, so
that numpy users never import dask; dask itself is imported only when such a
collection arrives.

The label models fit from statistics that are sums over rows. For a dask
array ``L`` (and aligned ``sample_weight``) every row block becomes one task
(:func:`row_blocks`); :func:`map_sum` computes a function of every block and
adds the results up on the workers, and :func:`persist_map` keeps per-block
objects (such as encoded votes) in the workers' memory, for statistics that
are summed again and again (one EM iteration each). Only the small results
travel to the driver: ``L`` is never gathered.
"""

import functools

import numpy as np

from ._optional import import_optional

__all__ = [
    "DASK_EXTRA",
    "align_rows",
    "import_dask",
    "is_dask_array",
    "is_dask_collection",
    "is_dask_frame",
    "refuse_dask",
    "map_sum",
    "map_tree",
    "persist_map",
    "row_blocks",
]

DASK_EXTRA = 'pip install "skweak_e2e[dask]"'
_DASK_ROOTS = ("dask", "dask_expr", "dask_cudf")


def is_dask_collection(obj):
    """Whether ``obj`` is a dask collection (array, DataFrame, Series, bag...).

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_collection(np.zeros(3))
    False
    """
    root = type(obj).__module__.split(".")[0]
    return root in _DASK_ROOTS and hasattr(obj, "__dask_graph__")


def refuse_dask(owner, method, how, **arrays):
    """Refuse dask inputs that ``owner.method`` would gather whole, silently.

    ``how`` says what to do instead for data beyond memory.
    """
    for name, array in arrays.items():
        if is_dask_collection(array):
            raise TypeError(
                f"{owner}.{method} works on data in memory and would load the "
                f"dask {type(array).__name__} passed as {name} whole. For data "
                f"beyond memory, {how}; call .compute() first if it fits in "
                "memory."
            )


def is_dask_array(obj):
    """Whether ``obj`` is a ``dask.array.Array``."""
    return is_dask_collection(obj) and hasattr(obj, "chunks") and hasattr(obj, "blocks")


def is_dask_frame(obj):
    """Whether ``obj`` is a dask DataFrame or Series (partitioned pandas).

    Bags, indexes and scalars also have partitions; they are not frames.
    """
    return (
        is_dask_collection(obj)
        and hasattr(obj, "map_partitions")
        and type(obj).__name__ in ("DataFrame", "Series")
    )


def import_dask(caller, module="dask"):
    """Import ``module`` (a dask module), or explain how to install the extra."""
    try:
        return import_optional(module, caller)
    except ImportError as exc:
        raise ImportError(
            f"{caller} got a dask collection but dask is not installed; install "
            f"the optional dependencies with `{DASK_EXTRA}`."
        ) from exc


def _whole_rows(array, name, caller, known=True):
    """A dask array whose blocks hold whole rows (with known row chunks).

    A dask DataFrame or Series (votes as ``LFApplier`` writes them) becomes
    its dask array, its partition lengths read in one pass.
    """
    if is_dask_frame(array):
        array = array.to_dask_array(lengths=True)
    if not is_dask_array(array):
        raise TypeError(
            f"{caller} takes a dask array or DataFrame as {name}, not a dask "
            f"{type(array).__name__}; pass a dask array, e.g. "
            f"dask.array.from_delayed blocks of {name}."
        )
    if known and any(np.isnan(c) for c in array.chunks[0]):
        raise ValueError(
            f"{name} has row chunks of unknown size (nan); call "
            f"{name}.compute_chunk_sizes() first (or to_dask_array(lengths=True))."
        )
    if array.ndim > 1 and any(len(c) > 1 for c in array.chunks[1:]):
        array = array.rechunk({axis: -1 for axis in range(1, array.ndim)})
    return array


def align_rows(arrays, caller):
    """Inputs cut into the same row blocks, each block holding whole rows.

    The one rule of every estimator that takes several dask inputs: the
    first dask array leads; the others (dask arrays, in-memory arrays, dense
    or scipy.sparse) take its row chunks, and every axis but the first
    becomes one chunk.

    Parameters
    ----------
    arrays : list of (str, array or None)
        The inputs with their names (for messages), at least one of them a
        dask collection; None stays None.
    caller : str
        Who asks, for messages.

    Returns
    -------
    rows : tuple of int
        The row chunks (``nan`` for a block of unknown size: only when
        every other input is None, with nothing to align).
    aligned : list of dask arrays (or None)
        One per input, in order.

    Raises
    ------
    TypeError
        A dask collection that is not an array (a DataFrame: the message
        names ``to_dask_array(lengths=True)``).
    ValueError
        Row chunks of unknown size beside another input, or inputs of
        different lengths.
    """
    da = import_dask(caller, "dask.array")
    lead_name, lead = next((n, a) for n, a in arrays if is_dask_collection(a))
    alone = sum(a is not None for _, a in arrays) == 1
    rows = _whole_rows(lead, lead_name, caller, known=not alone).chunks[0]
    if alone:
        return rows, [None if a is None else _whole_rows(a, n, caller, known=False)
                      for n, a in arrays]
    n_rows = int(sum(rows))
    aligned = []
    for name, array in arrays:
        if array is None:
            aligned.append(None)
            continue
        if is_dask_collection(array):
            array = _whole_rows(array, name, caller)
        elif hasattr(array, "tocsr"):
            array = array.tocsr()  # COO and DIA matrices cannot be sliced by rows
        else:
            array = np.asarray(array)
        if array.shape[0] != n_rows:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"{lead_name} has {n_rows} rows but {name} has {array.shape[0]}."
            )
        if not is_dask_collection(array):
            array = da.from_array(array, chunks=(rows,) + (-1,) * (array.ndim - 1))
        elif array.chunks[0] != rows:
            array = array.rechunk({0: rows})
        aligned.append(array)
    return rows, aligned


def row_blocks(L, sample_weight=None, *, caller, input_name="L",
               aligned_name="sample_weight"):
    """The row blocks of a dask array, as delayed ``(L_block, weight_block)``.

    ``L`` is rechunked to one chunk along every axis but the first, so that a
    block holds whole rows; ``sample_weight`` (None, a 1-D numpy or dask
    array with one entry per row, named ``aligned_name`` in messages) is
    split along the same row chunks. Row chunks of unknown size (``nan``,
    from a DataFrame) are accepted when ``sample_weight`` is None.

    Returns
    -------
    blocks : list of tuple of delayed objects
        One ``(L_block, weight_block or None)`` per row chunk, in row order.
    """
    if L.ndim not in (2, 3):
        raise ValueError(
            f"{input_name} must be a 2-D dask array (n_samples, n_sources) or a 3-D "
            f"one (n_samples, n_sources, n_classes); got {L.ndim} dimension(s) "
            f"with shape {L.shape}."
        )
    if any(len(c) > 1 for c in L.chunks[1:]):
        L = L.rechunk({axis: -1 for axis in range(1, L.ndim)})
    L_parts = L.to_delayed().ravel().tolist()
    if sample_weight is None:
        return [(part, None) for part in L_parts]
    row_chunks = L.chunks[0]
    if any(np.isnan(c) for c in row_chunks):
        raise ValueError(
            f"{aligned_name} needs the row chunk sizes of {input_name}, which are "
            f"unknown (nan); call {input_name}.compute_chunk_sizes() first."
        )
    n_samples = int(sum(row_chunks))
    weight = sample_weight if is_dask_collection(sample_weight) else np.asarray(
        sample_weight
    )
    if weight.ndim != 1:
        raise ValueError(f"{aligned_name} must be 1-D; got shape {weight.shape}.")
    if weight.shape[0] == n_samples or np.isnan(weight.shape[0]):
        weight = align_rows([(input_name, L), (aligned_name, weight)], caller)[1][1]
    else:
        raise ValueError(
            f"{aligned_name} has {weight.shape[0]} entries but {input_name} has "
            f"{n_samples} samples."
        )
    w_parts = weight.to_delayed().ravel().tolist()
    return list(zip(L_parts, w_parts))


def _delayed(func):
    dask = import_dask(func.__name__)
    # pure=False: every call gets fresh keys. Equal keys in two successive
    # computations (the same arguments) race with the release of the first
    # one's results on a distributed scheduler.
    return dask.delayed(func, pure=False)


#: Per-block results merged by one task of :func:`map_sum`'s tree.
SUM_FAN_IN = 8


def map_sum(func, blocks, *args, combine=None):
    """``sum(func(L_block, w_block, *args) for every block)``, computed on dask.

    The per-block results (numbers, arrays or tuples of them) are added on
    the workers, ``SUM_FAN_IN`` at a time in block order, in a tree whose
    shape depends on the number of blocks only: the result does not depend
    on which worker finished first, and only the total reaches the driver
    (a D x D Hessian per block, gathered whole, would grow with the number
    of blocks).

    Parameters
    ----------
    func : callable
        ``func(L_block, weight_block, *args)``; ``weight_block`` may be None.
    blocks : list
        From :func:`row_blocks`, or persisted per-block objects (then
        ``func(obj, *args)`` is called; pass ``(obj,)`` tuples).
    combine : callable, default=None
        Binary reduction of two results; tuples are added element-wise by
        default.

    Returns
    -------
    total : object
    """
    dask = import_dask(func.__name__)
    level = [_delayed(func)(*block, *args) for block in blocks]
    fold = _delayed(_fold)
    while len(level) > 1:
        level = [fold(combine, *level[i : i + SUM_FAN_IN])
                 for i in range(0, len(level), SUM_FAN_IN)]
    return dask.compute(level[0])[0]


def _fold(combine, *parts):
    return functools.reduce(combine or add_results, parts)


def map_tree(func, blocks, *args, combine):
    """``func`` on every block, then ``combine`` pairwise on the workers.

    For per-block results that are not small (e.g. tables of vote
    patterns): they are merged two by two in a binary tree on the workers,
    and only the final result reaches the driver.
    """
    dask = import_dask(func.__name__)
    level = [_delayed(func)(*block, *args) for block in blocks]
    merge = _delayed(combine)
    while len(level) > 1:
        pairs = [merge(a, b) for a, b in zip(level[::2], level[1::2])]
        level = pairs + level[len(pairs) * 2 :]
    return dask.compute(level[0])[0]


def persist_map(func, blocks, *args):
    """``func(*block, *args)`` for every block, kept in the workers' memory.

    Returns one persisted delayed object per block (a future on a
    distributed cluster), to pass to :func:`map_sum` as ``(obj,)`` blocks.
    """
    dask = import_dask(func.__name__)
    task = _delayed(func)
    return list(dask.persist(*[task(*block, *args) for block in blocks]))


def add_results(a, b):
    """Add two per-block results: numbers, arrays, or tuples/lists of them."""
    if isinstance(a, (tuple, list)):
        return type(a)(add_results(x, y) for x, y in zip(a, b))
    return a + b
