"""sample_training_rows on dask arrays: the row blocks and their offsets.

The sampler itself (``_sampling.py``) is the same on numpy and dask: it
runs its two passes on ``(proba_block, covered_block, offset)`` triples,
one for a numpy array, one per row block (a delayed object) here.
"""

import numpy as np

from ..utils._dask import row_blocks

__all__ = ["UNKNOWN_CHUNKS", "dask_blocks"]

UNKNOWN_CHUNKS = (
    "{name} has row chunks of unknown size (nan), as dask arrays built from a "
    "DataFrame have (LFApplier.transform's votes, to_dask_array()); the rows "
    "cannot be indexed. Call L.compute_chunk_sizes() on the label matrix before "
    "predict_proba (a cheap pass once L is persisted), or "
    "{name}.compute_chunk_sizes()."
)


def dask_blocks(proba, covered):
    """``(proba_block, covered_block, offset)`` per row block, as delayed objects."""
    row_chunks = proba.chunks[0]
    if any(np.isnan(c) for c in row_chunks):
        raise ValueError(UNKNOWN_CHUNKS.format(name="proba"))
    pairs = row_blocks(
        proba, covered, caller="sample_training_rows", input_name="proba",
        aligned_name="covered",
    )
    offsets = np.concatenate([[0], np.cumsum(row_chunks)[:-1]]).astype(int).tolist()
    return [(part, mask, offset) for (part, mask), offset in zip(pairs, offsets)]
