"""align_rows: the one rule by which several inputs become the same row blocks."""

import numpy as np
import pytest
import scipy.sparse as sp

from skweak_e2e.utils._dask import align_rows

da = pytest.importorskip("dask.array")


def test_the_first_dask_array_leads_and_the_others_follow():
    L = da.from_array(np.arange(40).reshape(10, 4), chunks=((3, 3, 4), (2, 2)))
    X = np.arange(30.0).reshape(10, 3)
    S = sp.random(10, 5, density=0.3, format="csr", random_state=0)
    w = da.from_array(np.arange(10.0), chunks=5)
    rows, (X_al, none, L_al, S_al, w_al) = align_rows(
        [("X", X), ("y", None), ("L", L), ("S", S), ("w", w)], "Caller")
    assert rows == (3, 3, 4) and none is None
    for array in (X_al, L_al, S_al, w_al):
        assert array.chunks[0] == rows
        assert all(len(c) == 1 for c in array.chunks[1:])  # whole rows
    np.testing.assert_array_equal(X_al.compute(), X)
    np.testing.assert_array_equal(L_al.compute(), np.arange(40).reshape(10, 4))
    np.testing.assert_array_equal(w_al.compute(), np.arange(10.0))
    blocks = S_al.to_delayed().ravel()
    assert sp.issparse(blocks[1].compute())  # sparse rows stay sparse
    np.testing.assert_array_equal(blocks[1].compute().toarray(), S[3:6].toarray())


def test_refusals_name_the_input_and_the_way_out():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    L = da.from_array(np.zeros((10, 2)), chunks=5)
    frame = dd.from_pandas(pd.DataFrame(np.zeros((10, 2))), npartitions=2)
    # A dask DataFrame (votes as LFApplier writes them) is taken as its array.
    rows, (X_al, L_al) = align_rows([("X", frame), ("L", L)], "Caller")
    assert rows == (5, 5) and X_al.chunks[0] == (5, 5)
    np.testing.assert_array_equal(X_al.compute(), np.zeros((10, 2)))
    bag = pytest.importorskip("dask.bag").from_sequence(range(10), npartitions=2)
    with pytest.raises(TypeError, match=r"Caller takes a dask array or DataFrame as X, "
                                        r"not a dask Bag"):
        align_rows([("X", bag), ("L", L)], "Caller")
    with pytest.raises(ValueError, match=r"X has row chunks of unknown size.*"
                                         r"X\.compute_chunk_sizes\(\)"):
        align_rows([("X", frame.to_dask_array()), ("L", L)], "Caller")
    # Alone, with nothing to align, unknown row chunks are fine.
    rows, (X, none) = align_rows([("X", frame.to_dask_array()), ("L", None)], "Caller")
    assert np.isnan(rows).all() and none is None and X.shape[1] == 2
    with pytest.raises(ValueError, match="L has 10 rows but w has 9"):
        align_rows([("L", L), ("w", np.ones(9))], "Caller")
