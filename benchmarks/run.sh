#!/usr/bin/env bash
# Run the benchmarks, write benchmarks/results/*.json and put their tables into the book's appendix
# (chapters/appendix_benchmarks.md). See benchmarks/README.md.
#
#   bash benchmarks/run.sh        (or `make bench` from the repository root)
#
# 1. Creates the peer venvs, each from its pinned requirements file, when it is missing or older
#    than that file (it is recreated from scratch then):
#      benchmarks/.venv-hyperspy   from requirements-hyperspy.txt   (HyperSpy 2.5)
#      benchmarks/.venv-pysptools  from requirements-pysptools.txt  (pysptools 0.15, numpy 1.23)
# 2. Runs bench_regression.py, bench_poisson_scaling.py and bench_unmixing.py with the course's
#    venv (.venv, made by `make venv`); the last two run their peer in its venv on the same arrays.
# 3. Runs report.py, which renders the tables of every results/*.json into the appendix page.
# BLAS/OpenMP are limited to one thread. Overrides: PYTHON (base interpreter for the peer venvs,
# default python3), MAIN_PYTHON (default .venv/bin/python), PEER_VENV (the HyperSpy venv),
# PYSPTOOLS_VENV, REPEATS (lectlib and HyperSpy), PEER_REPEATS (scipy loop, pysptools, NMF/ICA).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BASE_PYTHON="${PYTHON:-python3}"
MAIN_PYTHON="${MAIN_PYTHON:-$ROOT/.venv/bin/python}"
PEER_VENV="${PEER_VENV:-$HERE/.venv-hyperspy}"
PYSPTOOLS_VENV="${PYSPTOOLS_VENV:-$HERE/.venv-pysptools}"
REPEATS="${REPEATS:-7}"
PEER_REPEATS="${PEER_REPEATS:-3}"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg

if [ ! -x "$MAIN_PYTHON" ]; then
  echo "error: no course venv at $MAIN_PYTHON; run 'make venv' first (make bench does)" >&2
  exit 1
fi

# make_peer_venv VENV REQUIREMENTS NAME: (re)create VENV from REQUIREMENTS when it is missing or
# older than the file.
make_peer_venv() {
  local venv="$1" reqs="$2" name="$3" version
  if [ -f "$venv/.installed" ] && [ ! "$reqs" -nt "$venv/.installed" ]; then
    return 0
  fi
  version="$("$BASE_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [ "$version" != "3.11" ]; then
    echo "warning: $(basename "$reqs") was resolved on Python 3.11; $BASE_PYTHON is $version" >&2
  fi
  echo "Creating the $name peer venv in $venv ..."
  rm -rf "$venv"
  "$BASE_PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$reqs"
  touch "$venv/.installed"
}

make_peer_venv "$PEER_VENV" "$HERE/requirements-hyperspy.txt" HyperSpy
make_peer_venv "$PYSPTOOLS_VENV" "$HERE/requirements-pysptools.txt" pysptools

mkdir -p "$HERE/results"
echo
echo "== lectlib.regression (non-negative fit) vs scipy.optimize.nnls per pixel"
"$MAIN_PYTHON" "$HERE/bench_regression.py" --repeats "$REPEATS" --peer-repeats "$PEER_REPEATS" \
  --out "$HERE/results/regression.json"
echo
echo "== lectlib.decomposition.poisson_normalize vs HyperSpy normalize_poissonian_noise"
"$MAIN_PYTHON" "$HERE/bench_poisson_scaling.py" --repeats "$REPEATS" \
  --peer-python "$PEER_VENV/bin/python" --out "$HERE/results/poisson_scaling.json"
echo
echo "== lectlib.unmixing (NFINDR, fcls) vs pysptools; sklearn NMF and FastICA as references"
"$MAIN_PYTHON" "$HERE/bench_unmixing.py" --repeats "$REPEATS" --peer-repeats "$PEER_REPEATS" \
  --ref-repeats "$PEER_REPEATS" --peer-python "$PYSPTOOLS_VENV/bin/python" \
  --out "$HERE/results/unmixing.json"
echo
echo "== the tables of chapters/appendix_benchmarks.md"
"$MAIN_PYTHON" "$HERE/report.py"
