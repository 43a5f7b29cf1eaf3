"""Torch helpers shared by the layers that run networks: the reading of a
``device`` parameter, the batch size of whole-data-set passes and their
row slices. torch is imported on first use."""

from ._optional import import_optional

__all__ = ["TORCH_CHUNK", "resolve_device", "row_slices"]

#: Rows per batch when a network runs over a whole data set (prediction,
#: validation, influence's forward and JVP passes): bounds the activations,
#: and the dense copies of sparse rows, held at once.
TORCH_CHUNK = 4096


def resolve_device(device, caller="this estimator"):
    """The ``torch.device`` of a ``device`` parameter.

    None or ``"auto"`` picks the current CUDA device when CUDA is available,
    else the CPU. A CUDA device asked for by name must exist: a silent
    fallback to the CPU would let a training run many times slower than
    intended; ``"auto"`` is the portable choice. ``"cuda"`` without an
    index becomes the current CUDA device, so that the result names the
    device whose random state a fit seeds.

    Parameters
    ----------
    device : str, torch.device or None
    caller : str, default="this estimator"
        Named in the errors (torch missing, CUDA missing).

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        When ``device`` is not a torch device, or names a CUDA device that
        is not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    torch = import_optional("torch", caller)
    if device is None or (isinstance(device, str) and device == "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device={device!r} is not a torch device.") from exc
    if resolved.type != "cuda":
        return resolved
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n_cuda == 0 or (resolved.index is not None and resolved.index >= n_cuda):
        available = f"{n_cuda} CUDA device(s)" if n_cuda else "no CUDA device"
        raise ValueError(
            f"{caller} got device={str(device)!r}, but torch sees {available}; "
            'use device="cpu", or device="auto" to take CUDA only when present.'
        )
    if resolved.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return resolved


def row_slices(n_rows, chunk=TORCH_CHUNK):
    """Row slices of at most ``chunk`` rows covering ``0..n_rows``.

    The callers loop over them themselves (under ``torch.no_grad()``) rather
    than handing a function to this layer, so that the data never climbs back
    from ``utils`` into the estimator's layer through a callback.

    Parameters
    ----------
    n_rows : int
    chunk : int, default=TORCH_CHUNK

    Returns
    -------
    slices : list of slice
        In row order; empty when ``n_rows`` is 0.

    Examples
    --------
    >>> row_slices(5, chunk=2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    return [
        slice(start, min(start + chunk, n_rows)) for start in range(0, n_rows, chunk)
    ]
