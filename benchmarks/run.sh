#!/usr/bin/env bash
# Run the benchmarks and write benchmarks/results/*.json (see benchmarks/README.md).
#
#   bash benchmarks/run.sh        (or `make bench` from the repository root)
#
# 1. Creates the HyperSpy peer venv, benchmarks/.venv-hyperspy, from requirements-hyperspy.txt
#    when it is missing or older than that file (it is recreated from scratch then).
# 2. Runs bench_regression.py and bench_poisson_scaling.py with the course's venv (.venv, made by
#    `make venv`); the second one runs HyperSpy in the peer venv on the same arrays.
# BLAS/OpenMP are limited to one thread. Overrides: PYTHON (base interpreter for the peer venv,
# default python3), MAIN_PYTHON (default .venv/bin/python), PEER_VENV, REPEATS.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BASE_PYTHON="${PYTHON:-python3}"
MAIN_PYTHON="${MAIN_PYTHON:-$ROOT/.venv/bin/python}"
PEER_VENV="${PEER_VENV:-$HERE/.venv-hyperspy}"
PEER_REQS="$HERE/requirements-hyperspy.txt"
PEER_STAMP="$PEER_VENV/.installed"
REPEATS="${REPEATS:-7}"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg

if [ ! -x "$MAIN_PYTHON" ]; then
  echo "error: no course venv at $MAIN_PYTHON; run 'make venv' first (make bench does)" >&2
  exit 1
fi

if [ ! -f "$PEER_STAMP" ] || [ "$PEER_REQS" -nt "$PEER_STAMP" ]; then
  version="$("$BASE_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [ "$version" != "3.11" ]; then
    echo "warning: requirements-hyperspy.txt was resolved on Python 3.11; $BASE_PYTHON is $version" >&2
  fi
  echo "Creating the HyperSpy peer venv in $PEER_VENV ..."
  rm -rf "$PEER_VENV"
  "$BASE_PYTHON" -m venv "$PEER_VENV"
  "$PEER_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$PEER_VENV/bin/python" -m pip install --quiet -r "$PEER_REQS"
  touch "$PEER_STAMP"
fi

mkdir -p "$HERE/results"
echo
echo "== lectlib.regression (non-negative fit) vs scipy.optimize.nnls per pixel"
"$MAIN_PYTHON" "$HERE/bench_regression.py" --repeats "$REPEATS" \
  --out "$HERE/results/regression.json"
echo
echo "== lectlib.decomposition.poisson_normalize vs HyperSpy normalize_poissonian_noise"
"$MAIN_PYTHON" "$HERE/bench_poisson_scaling.py" --repeats "$REPEATS" \
  --peer-python "$PEER_VENV/bin/python" --out "$HERE/results/poisson_scaling.json"
