"""The records of a chunk, row by row or one field at a time.

The applier hands per-record labeling functions one Python object per record
(:func:`chunk_rows`). Labeling functions that read one field of the record
and label a whole column at once (``keyword_lf`` and ``regex_lf``) get that
field's values for the whole chunk instead (:class:`ChunkFields`): read once
per chunk and field, with vectorised reads where the container allows them.
"""

import sys
from numbers import Integral
from operator import itemgetter

import numpy as np

from ._helpers import get_field
from ._labeling_function import column_labeler
from ._record import record_type

__all__ = ["ChunkFields", "chunk_rows"]


def chunk_rows(chunk, kind, row_type):
    """The records of a chunk, one Python object per record."""
    if kind == "frame":
        if row_type == "record":
            make = record_type(chunk.columns)._make
            return [make(t) for t in chunk.itertuples(index=False, name=None)]
        if row_type == "series":
            return [row for _, row in chunk.iterrows()]
        return chunk.to_dict("records")
    if kind == "series":
        return chunk.tolist()
    if kind == "array":
        return list(chunk)
    return chunk


def _array_values(values):
    # Strings and objects as they are (tolist is fastest); other dtypes as
    # the numpy scalars that indexing one record gives (tolist would turn a
    # float32 0.1 into the float 0.10000000149011612, with another str).
    if values.dtype.kind in "OU":
        return values.tolist()
    return list(values)


def _frame_column(chunk, row_type, field):
    """The column ``field`` of a DataFrame chunk as the rows would give it.

    None where a vectorised read could differ from reading the rows: a
    field that is not a unique column name, or ``row_type="series"`` on a
    column that ``iterrows`` may cast to the frame's common dtype (numbers
    would read as floats).
    """
    if not isinstance(field, str):
        return None  # positions and other keys: each row type reads them its own way
    try:
        loc = chunk.columns.get_loc(field)
    except (KeyError, TypeError):
        return None
    if not isinstance(loc, Integral):  # duplicated name, MultiIndex level
        return None
    column = chunk.iloc[:, loc]
    if row_type == "series":
        pd = sys.modules["pandas"]
        if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            return None
    # The values the rows hold: itertuples and to_dict box them the same
    # way as tolist (Python scalars; to_dict turns pd.NA into None, which
    # the text labeling functions treat alike).
    return column.tolist()


def _vectorised(chunk, kind, row_type, field):
    """``field`` of every record of the chunk, read at once, or None."""
    if kind == "frame":
        return _frame_column(chunk, row_type, field)
    if field is None:
        if kind == "series":
            return chunk.tolist()
        if kind == "array" and chunk.ndim == 1 and chunk.dtype.names is None:
            return _array_values(chunk)
        if kind == "list":
            return chunk
        return None
    if kind == "array":
        names = chunk.dtype.names
        if names is not None and isinstance(field, str) and field in names:
            return _array_values(chunk[field])
        if (
            names is None
            and chunk.ndim == 2
            and isinstance(field, Integral)
            and not isinstance(field, (bool, np.bool_))
            and -chunk.shape[1] <= field < chunk.shape[1]
        ):
            return _array_values(chunk[:, field])
    return None


class ChunkFields:
    """The records of one chunk, as rows or as the values of a field.

    ``rows()`` builds the per-record objects once; ``values(field)`` is
    ``[get_field(record, field) for record in rows()]``, computed once per
    (hashable) field and vectorised where the container allows it.
    ``values`` raises what reading a record raises (a missing key...); the
    caller then labels record by record, which reports the error with the
    record's position.
    """

    def __init__(self, chunk, kind, row_type):
        self.chunk = chunk
        self.kind = kind
        self.row_type = row_type
        self._rows = None
        self._values = {}

    def rows(self):
        if self._rows is None:
            self._rows = chunk_rows(self.chunk, self.kind, self.row_type)
        return self._rows

    def values(self, field):
        if callable(field):
            # The user's function, called once per record and labeling
            # function, like on the record path.
            return [field(record) for record in self.rows()]
        key = (type(field), field)  # 1 and True, 1 and 1.0 read differently
        try:
            return self._values[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable field: read, not kept
            return self._read(field)
        values = self._values[key] = self._read(field)
        return values

    def votes(self, lf):
        """``lf``'s votes on the chunk from one column of it, or None.

        None when ``lf`` cannot label a column (it has preprocessors...) or
        when reading the field or labeling it failed: the record path then
        labels record by record and reports the error with the record's
        position, exactly as for any labeling function.
        """
        labeler = column_labeler(lf)
        if labeler is None:
            return None
        field, column = labeler
        try:
            return column(self.values(field))
        except Exception:
            return None

    def _read(self, field):
        values = _vectorised(self.chunk, self.kind, self.row_type, field)
        return self._read_rows(field) if values is None else values

    def _read_rows(self, field):
        rows = self.rows()
        if field is None:
            return rows
        try:  # dicts and keyed rows: one C-level loop
            return list(map(itemgetter(field), rows))
        except Exception:
            # get_field falls back to attributes, or raises
            return [get_field(record, field) for record in rows]
