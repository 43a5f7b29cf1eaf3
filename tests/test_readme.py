"""The examples in README.rst run and print what they claim."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.rst"


def test_readme_examples():
    result = doctest.testfile(
        str(README),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 5
    assert result.failed == 0
