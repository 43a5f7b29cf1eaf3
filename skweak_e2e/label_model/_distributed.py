"""Former name of ``label_model/_dask.py``, kept for ``_dawid_skene.py``.

``_dawid_skene.py`` is being rewritten on another branch; once it is merged
and imports from ``._dask``, this module goes (tests/test_layout.py lists
the dask modules by their one name).
"""

from ._dask import block_offsets, validated_block  # noqa: F401

__all__ = ["block_offsets", "validated_block"]
