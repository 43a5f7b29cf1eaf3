"""Packaging for skweak_e2e."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "skweak_e2e" / "_version.py").read_text()
).group(1)

setup(
    name="skweak_e2e",
    version=VERSION,
    description=(
        "Programmatic weak supervision native to scikit-learn: label models, "
        "end-to-end WeaSEL training and source-aware influence functions."
    ),
    long_description=(HERE / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_packages(include=["skweak_e2e", "skweak_e2e.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "joblib>=1.3",
        "threadpoolctl>=3.1",  # also a scikit-learn dependency; imported directly
        "torch>=2.13",
        "skorch>=1.2",
    ],
    extras_require={
        "pandas": ["pandas>=1.5"],
        "plot": ["matplotlib>=3.6"],
        # Out-of-core label models, LF application and two-stage training.
        "dask": ["dask[array,dataframe]>=2025.1", "distributed>=2025.1"],
        "tests": [
            "pytest>=8.0",
            "hypothesis>=6.80",
            "pandas>=1.5",
            "matplotlib>=3.6",
            "numpydoc>=1.9",
        ],
        "docs": [
            "sphinx>=7.2",
            "numpydoc>=1.9",
            "sphinx-gallery>=0.17",
            "pydata-sphinx-theme>=0.15",
            "sphinx-copybutton>=0.5",
            "matplotlib>=3.6",
            "pandas>=1.5",
            "dask[array,dataframe]>=2025.1",  # the scaling-out example
        ],
    },
    entry_points={"console_scripts": ["skweak-e2e=skweak_e2e.__main__:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
