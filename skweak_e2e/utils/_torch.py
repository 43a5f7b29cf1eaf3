"""Torch helpers shared by the layers that run networks: device choice and
gradient-free inference in row chunks. torch is imported on first use."""

from ._optional import import_optional

__all__ = ["TORCH_CHUNK", "map_row_chunks", "resolve_device"]

#: Rows per gradient-free forward pass: bounds the activations held at once.
TORCH_CHUNK = 4096


def resolve_device(device, caller="this estimator"):
    """``torch.device`` for ``device``; None or ``"auto"`` picks CUDA when present.

    Parameters
    ----------
    device : str, torch.device or None
    caller : str, default="this estimator"
        Named in the error when torch is missing.

    Returns
    -------
    device : torch.device

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    torch = import_optional("torch", caller)
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def map_row_chunks(function, n_rows, chunk=TORCH_CHUNK):
    """``[function(rows) for rows in row slices]`` under ``torch.no_grad()``.

    Parameters
    ----------
    function : callable
        Called with a ``slice`` of at most ``chunk`` rows; it cuts its inputs
        (features, votes) with it, runs the network and returns the output
        moved off the device.
    n_rows : int
    chunk : int, default=TORCH_CHUNK

    Returns
    -------
    outputs : list
        One output per chunk, in row order (empty when ``n_rows`` is 0).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(5.0)
    >>> [out.tolist() for out in map_row_chunks(lambda rows: X[rows] * 2, 5, chunk=2)]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    torch = import_optional("torch", "Chunked inference")
    with torch.no_grad():
        return [
            function(slice(start, start + chunk))
            for start in range(0, n_rows, chunk)
        ]
