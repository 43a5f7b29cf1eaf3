#!/usr/bin/env bash
# Build the HTML documentation, executing the example gallery.
#
#   bash doc/build.sh            # full build, warnings are errors
#   SKWEAK_E2E_DOCS_NO_GALLERY=1 bash doc/build.sh   # prose only, fast
#
# Needs the "docs" extra: pip install -e ".[docs]". Output: doc/_build/html.
set -euo pipefail
cd "$(dirname "$0")/.."

export MPLBACKEND=agg
# The examples are small; one BLAS/torch thread each avoids oversubscription.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"

# Start from a clean slate so that stale generated pages cannot hide errors.
rm -rf doc/_build doc/auto_examples doc/gen_modules doc/sg_execution_times.rst

python -m sphinx -W --keep-going -b html doc doc/_build/html "$@"
