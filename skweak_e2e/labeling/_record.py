"""The light record that a labeling function receives for a DataFrame row."""

from collections import namedtuple

__all__ = ["record_type"]


def record_type(columns):
    """A namedtuple type for DataFrame rows that also takes column-name keys.

    ``row.text``, ``row["text"]``, ``row.get("text")`` and ``row[0]`` all
    work, as on a pandas Series, at a fraction of the cost of building a
    Series per row. Column names that are not identifiers are reachable by
    key only. The columns are read-only, but a preprocessor may add fields
    (``row.n_words = 3``), which are then readable the same ways.
    """
    columns = list(columns)
    base = namedtuple("Record", [str(c) for c in columns], rename=True)
    index = {c: i for i, c in enumerate(columns) if isinstance(c, str)}

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                key = index[key]
            except KeyError:
                try:  # a field added by a preprocessor
                    return self.__dict__[key]
                except KeyError:
                    raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def get(self, key, default=None):
        try:
            return self[key]
        except (KeyError, IndexError):
            return default

    def keys(self):
        return list(columns) + list(self.__dict__)

    # No __slots__: instances get a (lazily allocated) __dict__ for the
    # fields that preprocessors add.
    namespace = {"__getitem__": __getitem__, "get": get, "keys": keys}
    return type("Record", (base,), namespace)
