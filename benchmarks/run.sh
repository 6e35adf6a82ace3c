#!/usr/bin/env bash
# Run the benchmarks, write benchmarks/results/*.json and put their tables into the book's appendix
# (chapters/appendix_benchmarks.md). See benchmarks/README.md.
#
#   bash benchmarks/run.sh        (or `make bench` from the repository root)
#
# 1. Creates the peer venvs, each from its pinned requirements file, when it is missing or older
#    than that file (it is recreated from scratch then):
#      benchmarks/.venv-hyperspy    from requirements-hyperspy.txt    (HyperSpy 2.5)
#      benchmarks/.venv-pysptools   from requirements-pysptools.txt   (pysptools 0.15, numpy 1.23)
#      benchmarks/.venv-minvol      from requirements-minvol.txt      (SPICE-HSI 1.4)
#      benchmarks/.venv-atomap      from requirements-atomap.txt      (atomap 0.4.2, HyperSpy 2.5)
#      benchmarks/.venv-deeptime    from requirements-deeptime.txt    (deeptime 0.4.5)
#      benchmarks/.venv-pycroscopy  from requirements-pycroscopy.txt  (pycroscopy 0.63, torch)
#      benchmarks/.venv-atomai      from requirements-atomai.txt      (atomai 0.8, torch)
#    The last two are optional: if pip fails (or takes longer than PEER_INSTALL_TIMEOUT), the
#    reason goes to benchmarks/.venv-NAME.install-error.txt, bench_sliding.py reports the peer
#    as not installed, and the run goes on. A failed install is tried again only once the
#    requirements file is newer than that error file (or the file is deleted).
# 2. Runs bench_regression.py, bench_poisson_scaling.py, bench_unmixing.py, bench_sliding.py,
#    bench_crystallography.py and bench_markov.py with the course's venv (.venv, made by
#    `make venv`); all but the first run their peers' modules (poisson_scaling_peer.py,
#    unmixing_peer.py, sliding_peers.py, crystallography_peer.py, markov_peer.py) in the peers'
#    venvs on the same arrays. bench_outofcore.py writes a 1 GiB cube to a temporary folder
#    (OUTOFCORE_TMPDIR, default the system's; deleted at the end) and runs lectlib.lazy on it,
#    out of core, in memory and on a dask.distributed LocalCluster of 1 and 2 worker processes.
#    Then bench_runtimes.py executes every chapter in a fresh kernel with the thread variables
#    unset (quiet, one core busy), pinned, and with them set to the core count.
# 3. Runs report.py, which renders the tables of every results/*.json into the appendix page.
# BLAS/OpenMP are limited to one thread. Overrides: PYTHON (base interpreter for the peer venvs,
# default python3), MAIN_PYTHON (default .venv/bin/python), PEER_VENV (the HyperSpy venv),
# PYSPTOOLS_VENV, PYCROSCOPY_VENV, ATOMAI_VENV, ATOMAP_VENV, DEEPTIME_VENV, REPEATS (lectlib,
# HyperSpy and deeptime; the timing rounds of the sliding FFT), RUNTIME_REPEATS (chapter runs per condition, default 3), PEER_REPEATS (scipy loop, pysptools, NMF/ICA, atomap's finding and centre of mass), SLIDING_PEER_REPEATS
# (pycroscopy and atomai, default 1), ATOMAP_GAUSSIAN_REPEATS (atomap's 2-D Gaussian refinement,
# default 1), SLIDING_PEERS (default "pycroscopy atomai"; leave a name
# out to skip that peer and its 6-7 GB venv), PEER_INSTALL_TIMEOUT (seconds, default 1200),
# OUTOFCORE_TMPDIR (where the out-of-core benchmark's 1 GiB cube goes, default the system's
# temporary folder), RESULTS_DIR (default benchmarks/results) and APPENDIX_PAGE (default
# chapters/appendix_benchmarks.md), e.g. to try a run without touching the committed files.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BASE_PYTHON="${PYTHON:-python3}"
MAIN_PYTHON="${MAIN_PYTHON:-$ROOT/.venv/bin/python}"
PEER_VENV="${PEER_VENV:-$HERE/.venv-hyperspy}"
PYSPTOOLS_VENV="${PYSPTOOLS_VENV:-$HERE/.venv-pysptools}"
MINVOL_VENV="${MINVOL_VENV:-$HERE/.venv-minvol}"
PYCROSCOPY_VENV="${PYCROSCOPY_VENV:-$HERE/.venv-pycroscopy}"
ATOMAI_VENV="${ATOMAI_VENV:-$HERE/.venv-atomai}"
ATOMAP_VENV="${ATOMAP_VENV:-$HERE/.venv-atomap}"
DEEPTIME_VENV="${DEEPTIME_VENV:-$HERE/.venv-deeptime}"
REPEATS="${REPEATS:-7}"
PEER_REPEATS="${PEER_REPEATS:-3}"
SLIDING_PEER_REPEATS="${SLIDING_PEER_REPEATS:-1}"
ATOMAP_GAUSSIAN_REPEATS="${ATOMAP_GAUSSIAN_REPEATS:-1}"
RUNTIME_REPEATS="${RUNTIME_REPEATS:-3}"
SLIDING_PEERS="${SLIDING_PEERS-pycroscopy atomai}"
PEER_INSTALL_TIMEOUT="${PEER_INSTALL_TIMEOUT:-1200}"
RESULTS_DIR="${RESULTS_DIR:-$HERE/results}"
OUTOFCORE_TMPDIR="${OUTOFCORE_TMPDIR:-}"
APPENDIX_PAGE="${APPENDIX_PAGE:-$ROOT/chapters/appendix_benchmarks.md}"

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

# make_optional_peer_venv VENV REQUIREMENTS NAME: as make_peer_venv, but a failed or too long
# install is recorded in VENV.install-error.txt (and the venv removed) instead of stopping the run.
make_optional_peer_venv() {
  local venv="$1" reqs="$2" name="$3" error="$1.install-error.txt" log status
  if [ -f "$venv/.installed" ] && [ ! "$reqs" -nt "$venv/.installed" ]; then
    return 0
  fi
  if [ -f "$error" ] && [ ! "$reqs" -nt "$error" ]; then
    echo "note: the $name venv did not install last time (see $error); not trying again" >&2
    return 0
  fi
  echo "Creating the $name peer venv in $venv (about 2 minutes and 6-7 GB: torch from PyPI) ..."
  rm -rf "$venv" "$error"
  log="$(mktemp)"
  status=0
  { "$BASE_PYTHON" -m venv "$venv" \
      && "$venv/bin/python" -m pip install --quiet --upgrade pip \
      && timeout "$PEER_INSTALL_TIMEOUT" "$venv/bin/python" -m pip install --quiet -r "$reqs"
  } >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    touch "$venv/.installed"
  else
    {
      if [ "$status" -eq 124 ]; then
        echo "pip install -r $(basename "$reqs") timed out after $PEER_INSTALL_TIMEOUT s"
      else
        echo "pip install -r $(basename "$reqs") failed (exit $status):"
      fi
      grep -v "^WARNING: Location 'file:" "$log" | tail -n 15
    } >"$error"
    rm -rf "$venv"
    echo "warning: the $name venv did not install; see $error" >&2
  fi
  rm -f "$log"
}

make_peer_venv "$PEER_VENV" "$HERE/requirements-hyperspy.txt" HyperSpy
make_peer_venv "$PYSPTOOLS_VENV" "$HERE/requirements-pysptools.txt" pysptools
make_peer_venv "$MINVOL_VENV" "$HERE/requirements-minvol.txt" SPICE-HSI
make_peer_venv "$ATOMAP_VENV" "$HERE/requirements-atomap.txt" atomap
make_peer_venv "$DEEPTIME_VENV" "$HERE/requirements-deeptime.txt" deeptime
SKIP_SLIDING=()
for peer in pycroscopy atomai; do
  case " $SLIDING_PEERS " in
    *" $peer "*)
      if [ "$peer" = pycroscopy ]; then venv="$PYCROSCOPY_VENV"; else venv="$ATOMAI_VENV"; fi
      make_optional_peer_venv "$venv" "$HERE/requirements-$peer.txt" "$peer" ;;
    *) SKIP_SLIDING+=(--skip-peer "$peer") ;;
  esac
done

mkdir -p "$RESULTS_DIR"
echo
echo "== lectlib.regression (non-negative fit) vs scipy.optimize.nnls per pixel"
"$MAIN_PYTHON" "$HERE/bench_regression.py" --repeats "$REPEATS" --peer-repeats "$PEER_REPEATS" \
  --out "$RESULTS_DIR/regression.json"
echo
echo "== lectlib.decomposition.poisson_normalize vs HyperSpy normalize_poissonian_noise"
"$MAIN_PYTHON" "$HERE/bench_poisson_scaling.py" --repeats "$REPEATS" \
  --peer-python "$PEER_VENV/bin/python" --out "$RESULTS_DIR/poisson_scaling.json"
echo
echo "== lectlib.unmixing (NFINDR, fcls) vs pysptools; sklearn NMF and FastICA as references"
"$MAIN_PYTHON" "$HERE/bench_unmixing.py" --repeats "$REPEATS" --peer-repeats "$PEER_REPEATS" \
  --ref-repeats "$PEER_REPEATS" --peer-python "$PYSPTOOLS_VENV/bin/python" \
  --out "$RESULTS_DIR/unmixing.json"
echo
echo "== lectlib.unmixing.MinimumVolume without pure pixels vs NFINDR and SPICE-HSI (ICE)"
"$MAIN_PYTHON" "$HERE/bench_minvol.py" --repeats "$REPEATS" \
  --peer-python "$MINVOL_VENV/bin/python" --out "$RESULTS_DIR/minvol.json"
echo
echo "== lectlib.sliding.SlidingFFT vs the batched rfft2 floor; pycroscopy and atomai"
"$MAIN_PYTHON" "$HERE/bench_sliding.py" --repeats "$REPEATS" \
  --peer-repeats "$SLIDING_PEER_REPEATS" --pycroscopy-python "$PYCROSCOPY_VENV/bin/python" \
  --atomai-python "$ATOMAI_VENV/bin/python" ${SKIP_SLIDING[@]+"${SKIP_SLIDING[@]}"} \
  --out "$RESULTS_DIR/sliding.json"
echo
echo "== lectlib.crystallography (find_atoms, refine_positions) vs atomap; the Cramér–Rao bound"
"$MAIN_PYTHON" "$HERE/bench_crystallography.py" --repeats "$REPEATS" \
  --peer-repeats "$PEER_REPEATS" --gaussian-repeats "$ATOMAP_GAUSSIAN_REPEATS" \
  --peer-python "$ATOMAP_VENV/bin/python" --out "$RESULTS_DIR/crystallography.json"
echo
echo "== lectlib.markov (counts, maximum-likelihood and reversible T, posterior) vs deeptime"
"$MAIN_PYTHON" "$HERE/bench_markov.py" --repeats "$REPEATS" \
  --peer-python "$DEEPTIME_VENV/bin/python" --out "$RESULTS_DIR/markov.json"
echo
echo "== lectlib.lazy out of core on a 1 GiB cube on disk: in memory, by size, 1 and 2 workers"
"$MAIN_PYTHON" "$HERE/bench_outofcore.py" ${OUTOFCORE_TMPDIR:+--tmpdir "$OUTOFCORE_TMPDIR"} \
  --out "$RESULTS_DIR/outofcore.json"
echo
echo "== each chapter's run time in a fresh kernel without thread variables"
"$MAIN_PYTHON" "$HERE/bench_runtimes.py" --repeats "$RUNTIME_REPEATS" --without-limit \
  --out "$RESULTS_DIR/runtimes.json" || echo "warning: a chapter is over its run-time budget" >&2
echo
echo "== the tables of chapters/appendix_benchmarks.md"
"$MAIN_PYTHON" "$HERE/report.py" --results "$RESULTS_DIR" --page "$APPENDIX_PAGE"
