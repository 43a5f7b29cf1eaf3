"""LFApplier on dask DataFrames and Series: one lazy task per partition.

The in-memory applier is the kernel: every partition (a pandas DataFrame or
Series) goes through the same code as a pandas input, on a worker. The
result stays lazy and aligned with the partitions: a dask array with row
chunks of unknown size, or a dask DataFrame with the input's index and one
column per labeling function. Its ``meta`` is given, so dask never calls the
labeling functions on made-up rows to guess it.

dask is an optional dependency: it is only imported here, once a dask
collection has arrived.
"""

import sys

import numpy as np

from ..utils._dask import import_dask, is_dask_array, is_dask_collection, is_dask_frame
from ._labeling_function import LabelingFunctionError

__all__ = ["is_lazy_frame", "transform_lazy", "type_name"]


def type_name(obj):
    """The qualified name of the type of ``obj``, for error messages."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def is_lazy_frame(X):
    """Whether ``X`` is a dask DataFrame or Series (the lazy input accepted).

    Records in memory give False. Any other lazy collection (a dask array or
    bag, a delayed object, an unknown object with partitions) raises a
    TypeError that says what to pass instead: applying labeling functions to
    it would either compute it silently or iterate the wrong thing.
    """
    lazy = is_dask_collection(X) or (hasattr(X, "npartitions") and hasattr(X, "compute"))
    if not lazy:
        return False
    if is_dask_frame(X):
        return True
    # A dask Index is a Series to dask, but its partitions have no index to
    # align the votes with.
    if type(X).__name__ == "Index":
        advice = "Call .to_series() to label its values with their index."
    elif is_dask_array(X):
        advice = (
            "Wrap it in a dask DataFrame or Series, e.g. "
            "dask.dataframe.from_dask_array(X, columns=[...]) (a 1-D array "
            "gives a Series), or call .compute() for an array in memory."
        )
    elif type(X).__module__.startswith("dask.bag"):
        advice = (
            "Turn it into a dask DataFrame with bag.to_dataframe() (records as "
            "dicts or tuples), or call .compute() for a list in memory."
        )
    else:
        advice = (
            "Call .compute() to get the records in memory (a pandas object), or "
            "pass a dask DataFrame or Series."
        )
    raise TypeError(
        "LFApplier applies labeling functions to records in memory and to dask "
        f"DataFrames and Series; got the lazy collection {type_name(X)}. {advice}"
    )


def transform_lazy(kernel, X, names, dtype, output):
    """Apply ``kernel`` (an in-memory transform) partition by partition.

    Parameters
    ----------
    kernel : callable
        ``kernel(records)`` applies the labeling functions to one pandas
        partition (the in-memory transform of a sequential LFApplier without
        progress bar); it is pickled to the workers once.
    X : dask DataFrame or Series
        The records.
    names : list of str
        The labeling function names (the output columns).
    dtype : numpy dtype
        The output dtype, one for every partition (dask needs it up front).
    output : {"default", "pandas"} or str
        The scikit-learn output container configured for ``transform``.

    Returns
    -------
    L : dask array or dask DataFrame
        A dask array for ``"default"``, a dask DataFrame with the index of
        ``X`` and the columns ``names`` for ``"pandas"``.
    """
    if output not in ("default", "pandas"):
        raise TypeError(
            f"LFApplier got a dask collection but its transform output is set to "
            f"{output!r}, which has no lazy counterpart; use "
            "set_output(transform='pandas') for a dask DataFrame or 'default' "
            "for a dask array."
        )
    dask = import_dask("LFApplier")
    pd = sys.modules["pandas"]  # imported by dask.dataframe
    meta = pd.DataFrame(
        {name: np.empty(0, dtype=dtype) for name in names}, index=X._meta.index
    )
    # A delayed kernel travels to each worker once, not once per partition
    # (labeling functions may hold a model as a resource).
    shared = dask.delayed(kernel, pure=True)
    L = X.map_partitions(
        _label_partition, shared, list(names), np.dtype(dtype), meta=meta
    )
    if output == "pandas":
        return L
    return L.to_dask_array()


def _label_partition(part, kernel, names, dtype, partition_info=None):
    """The votes on one pandas partition, as a DataFrame with its index."""
    try:
        L = kernel(part)
    except (LabelingFunctionError, ValueError) as exc:
        if partition_info is None:
            raise
        # The kernel counts record positions from the partition's start:
        # say which partition, so that the position can be found.
        where = (
            f" [in partition {partition_info['number']} of the dask collection; "
            "record positions count from the partition's first row]"
        )
        if isinstance(exc, LabelingFunctionError):
            raise LabelingFunctionError(
                exc.args[0] + where, exc.lf_name, exc.record_index
            ) from exc
        raise ValueError(f"{exc}{where}") from exc
    pd = sys.modules["pandas"]
    return pd.DataFrame(L.astype(dtype, copy=False), index=part.index, columns=names)
