"""Optional dependencies: one helper imports them and words the error."""

import importlib

__all__ = ["import_optional"]

# Module name -> what ``pip install`` needs, where the two differ.
_PIP_NAMES = {"matplotlib.pyplot": "matplotlib"}


def import_optional(name, caller, *, required=True):
    """Import the module ``name``, or explain how to install it.

    Parameters
    ----------
    name : str
        Module to import, e.g. ``"pandas"`` or ``"matplotlib.pyplot"``.
    caller : str
        What needs it, for the error message (e.g. ``"plot_source_summary"``).
    required : bool, default=True
        When False, a missing module returns None instead of raising.

    Returns
    -------
    module : module or None

    Raises
    ------
    ImportError
        When the module is missing and ``required`` is True; the message
        names ``caller`` and the ``pip install`` command.

    Examples
    --------
    >>> import_optional("math", "this example").sqrt(4.0)
    2.0
    >>> import_optional("no_such_module_xyz", "this example", required=False) is None
    True
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if not required:
            return None
        package = _PIP_NAMES.get(name, name.split(".")[0])
        raise ImportError(
            f"{caller} needs {package}, an optional dependency of skweak_e2e; "
            f"install it with `pip install {package}`."
        ) from exc
