"""Skip the plotting doctests when matplotlib is not installed."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("matplotlib") else ["*.py"]
