"""Tests of lectlib.provenance: descriptions of estimators as JSON and back, hashes of
arrays, records of results and their replay.

The claims tested: a description read back from JSON builds an estimator whose
parameters equal the original's, values and types (tuples stay tuples, numpy scalars
and dtypes stay numpy's), for every lectlib estimator and for pipelines mixing lectlib
and scikit-learn steps; a replay reproduces a result bit for bit, in this process and
in a fresh one (across a restart); other data, an edited record, a class outside the
allow-list and a parameter that cannot be replayed are refused with messages that say
why; a record file is strict JSON and the same record gives the same bytes (but for
its time); lectlib's transformers are cache-friendly in a ``Pipeline(memory=...)``.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import math
import os
import pkgutil
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import lectlib
from helpers import FAST, REPO
from lectlib.crystallography import LearnedAtomDetector
from lectlib.datasets import make_lattice_phases, make_mixture
from lectlib.decomposition import CorrespondenceAnalysis, WeightedPCA
from lectlib.provenance import (
    DEFAULT_ALLOW,
    UnseededWarning,
    array_hash,
    build,
    describe,
    record,
    replay,
)
from lectlib.regression import KnownEndmemberRegression
from lectlib.sliding import SlidingFFT
from lectlib.unmixing import NFINDR, BayesianUnmixing

# ---------------------------------------------------------------------------- helpers


def same(a, b):
    """Equal values of the same types, recursively (arrays: dtype, shape, values;
    floats: NaN equals NaN and -0.0 differs from 0.0; estimators: their parameters)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind not in "fc":
            return bool(np.array_equal(a, b))
        # NaN equals NaN (its sign and payload are not kept); -0.0 is not 0.0
        signs = a.dtype.kind != "f" or np.array_equal(
            np.signbit(a) | np.isnan(a), np.signbit(b) | np.isnan(b)
        )
        return bool(np.array_equal(a, b, equal_nan=True) and signs)
    if isinstance(a, np.generic):
        return same(np.asarray(a), np.asarray(b))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.random.SeedSequence):
        names = ("entropy", "spawn_key", "pool_size", "n_children_spawned")
        return all(same(getattr(a, n), getattr(b, n)) for n in names)
    if isinstance(a, joblib.Memory):
        return a.location == b.location
    if hasattr(a, "get_params"):
        return same(a.get_params(deep=False), b.get_params(deep=False))
    return a == b


def through_json(description):
    """The description as another session reads it from a file."""
    text = json.dumps(description, allow_nan=False)
    return json.loads(text)


def round_trip(estimator):
    description = describe(estimator)
    rebuilt = build(through_json(description))
    return description, rebuilt


def strict_json(text):
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def lattice_stack():
    """Two 48 x 48 images of two lattice phases (the chapter's kind of data)."""
    return np.stack(
        [
            make_lattice_phases(shape=(48, 48), random_state=seed).image
            for seed in (0, 1)
        ]
    )


def eels_like():
    d = make_mixture(n_components=3, shape=(10, 12), n_channels=24, random_state=0)
    return d.cube.reshape(-1, d.cube.shape[-1]), d.endmembers


def pipelines():
    """The chapter's three kinds of pipeline, with their inputs and methods."""
    images = lattice_stack()
    X, E = eels_like()
    blobs = np.random.default_rng(3).normal(size=(80, 5))
    blobs[:40] += 4.0
    return {
        "fft-pca-kmeans": (
            make_pipeline(
                SlidingFFT(16, 8, crop=4),
                PCA(3, random_state=0),
                KMeans(2, n_init=2, random_state=0),
            ),
            images,
            "fit_predict",
        ),
        "regression-kmeans": (
            make_pipeline(
                KnownEndmemberRegression(E), KMeans(3, n_init=2, random_state=0)
            ),
            X,
            "fit_predict",
        ),
        "scaler-pca-gmm": (
            make_pipeline(
                StandardScaler(),
                PCA(2, random_state=0),
                GaussianMixture(2, random_state=0),
            ),
            blobs,
            "fit_predict",
        ),
    }


# ---------------------------------------------- every lectlib estimator, described


def _lectlib_estimators():
    found = {}
    for _, name, _ in pkgutil.walk_packages(lectlib.__path__, "lectlib."):
        if any(part.startswith("_") for part in name.split(".")):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and obj.__module__ == name
            ):
                found[f"{name}.{attr}"] = obj
    return found


E_SMALL = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0]])

#: Examples of the estimators that need arguments or have parameters of several kinds
#: (arrays, numpy scalars, dtypes, nested estimators, tuples, seed sequences).
EXAMPLES = {
    "KnownEndmemberRegression": [
        KnownEndmemberRegression(E_SMALL),
        KnownEndmemberRegression(
            E_SMALL.astype(np.float32),
            method="ols",
            energy=np.linspace(0.0, 4.0, 5),
            window=(np.float64(0.5), 3.5),
        ),
    ],
    "SlidingFFT": [
        SlidingFFT(),
        SlidingFFT((16, 8), step=(4, 2), dtype=np.float32, crop=3, taper=None),
    ],
    "LearnedAtomDetector": [
        LearnedAtomDetector(),
        LearnedAtomDetector(
            classifier=MLPClassifier((8, 4), max_iter=50, random_state=0),
            random_state=1,
        ),
    ],
    "NFINDR": [NFINDR(3, init="random", random_state=7)],
    "BayesianUnmixing": [
        BayesianUnmixing(2, random_state=np.random.SeedSequence(42, spawn_key=(1,)))
    ],
    "WeightedPCA": [WeightedPCA(2, weighting=None, center=True)],
}


def test_the_examples_cover_every_lectlib_estimator():
    """An estimator that needs arguments must have an example here."""
    for path, cls in _lectlib_estimators().items():
        if cls.__name__ not in EXAMPLES:
            try:
                cls()
            except TypeError as exc:
                pytest.fail(f"add an example of {path} to EXAMPLES: {exc}")


@pytest.mark.parametrize("path", sorted(_lectlib_estimators()))
def test_every_lectlib_estimator_round_trips_through_json(path):
    cls = _lectlib_estimators()[path]
    examples = EXAMPLES[cls.__name__] if cls.__name__ in EXAMPLES else [cls()]
    for estimator in examples:
        description, rebuilt = round_trip(estimator)
        assert type(rebuilt) is cls
        assert description["class"] == path  # public modules have no private parts
        assert same(rebuilt.get_params(deep=False), estimator.get_params(deep=False))
        assert describe(rebuilt) == description


def test_tuples_lists_numpy_scalars_and_dtypes_keep_their_types():
    fft = SlidingFFT((16, 8), dtype=np.float32)
    _, rebuilt = round_trip(fft)
    assert rebuilt.window == (16, 8) and type(rebuilt.window) is tuple
    assert rebuilt.dtype is np.float32
    reg = EXAMPLES["KnownEndmemberRegression"][1]
    _, rebuilt = round_trip(reg)
    assert rebuilt.endmembers.dtype == np.float32
    assert type(rebuilt.window[0]) is np.float64 and type(rebuilt.window[1]) is float
    detector = EXAMPLES["LearnedAtomDetector"][1]
    _, rebuilt = round_trip(detector)
    assert rebuilt.classifier is not detector.classifier
    assert rebuilt.classifier.hidden_layer_sizes == (8, 4)
    pipe = make_pipeline(StandardScaler(), PCA(2))
    _, rebuilt = round_trip(pipe)
    assert type(rebuilt.steps) is list and type(rebuilt.steps[0]) is tuple
    assert [name for name, _ in rebuilt.steps] == ["standardscaler", "pca"]


def test_composite_estimators_round_trip():
    union = FeatureUnion(
        [("scaled", StandardScaler()), ("log", FunctionTransformer(np.log1p))],
        transformer_weights={"scaled": 2.0, "log": 0.5},
    )
    columns = ColumnTransformer(
        [
            ("first", "passthrough", slice(0, 2)),
            ("rest", StandardScaler(), [2, 3]),
            ("mask", "drop", np.array([False, False, False, False, True])),
        ],
        remainder=PCA(1, random_state=0),
    )
    functions = FunctionTransformer(
        lectlib.decomposition.poisson_normalize, inverse_func=None, validate=True
    )
    for estimator in (union, columns, functions, Pipeline([("u", union), ("c", None)])):
        description, rebuilt = round_trip(estimator)
        assert same(rebuilt.get_params(deep=False), estimator.get_params(deep=False))
        assert describe(rebuilt) == description
    assert describe(functions)["params"]["func"] == {
        "type": "import",
        "path": "lectlib.decomposition.poisson_normalize",
    }


def test_a_memory_parameter_round_trips(tmp_path):
    pipe = Pipeline([("pca", PCA(2))], memory=joblib.Memory(tmp_path, verbose=0))
    description, rebuilt = round_trip(pipe)
    assert rebuilt.memory.location == str(tmp_path)
    assert describe(rebuilt) == description


# values of every kind a parameter may hold, nested
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.sampled_from([np.float32, np.int64, float, int, complex, bool]),
    st.sampled_from(["float32", "<i8", ">f8", "bool", "complex64"]).map(np.dtype),
    st.floats(width=32).map(np.float32),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.booleans().map(np.bool_),
    hnp.arrays(
        st.sampled_from(
            ["float64", "float32", ">f8", "int8", "uint64", "bool", "complex128", "<U3"]
        ),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(
            st.one_of(st.text(max_size=3), st.integers()), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


@FAST
@given(value=_VALUES)
def test_any_parameter_value_round_trips_exactly(value):
    estimator = WeightedPCA(n_components=value, weighting=KMeans(n_clusters=value))
    description, rebuilt = round_trip(estimator)
    assert same(rebuilt.n_components, value)
    assert same(rebuilt.weighting.n_clusters, value)
    assert describe(rebuilt) == description
    strict_json(json.dumps(description))


# ------------------------------------------------------------ what cannot be recorded


def _in_main(x):
    return x


_in_main.__module__ = "__main__"


@pytest.mark.parametrize(
    "estimator, message",
    [
        (
            FunctionTransformer(lambda x: x),
            r"estimator\.func is <lambda>.*not replayable",
        ),
        (FunctionTransformer(_in_main), r"defined in __main__.*not replayable"),
        (
            KMeans(random_state=np.random.default_rng(0)),
            r"estimator\.random_state is a numpy Generator.*int seed",
        ),
        (
            make_pipeline(PCA(random_state=np.random.RandomState(0))),
            r"steps\[0\]\[1\]\.random_state is a numpy RandomState",
        ),
        (WeightedPCA(n_components=object()), r"estimator\.n_components is a builtins"),
        (
            WeightedPCA(n_components=np.array([{}], dtype=object)),
            r"array of dtype object",
        ),
    ],
)
def test_what_cannot_be_replayed_is_refused_by_name(estimator, message):
    with pytest.raises(ValueError, match=message):
        describe(estimator)
    with pytest.raises(ValueError, match=message):
        record(estimator, np.ones((3, 2)), np.ones(3))


def test_describe_needs_an_estimator_instance():
    with pytest.raises(
        TypeError, match=r"got the class KMeans \(call it: KMeans\(\)\)"
    ):
        describe(KMeans)
    with pytest.raises(TypeError, match=r"must be an estimator .* got dict"):
        describe({"n_clusters": 3})


# ---------------------------------------------------------------------- the allow-list


def test_classes_outside_the_allow_list_are_refused():
    description = describe(make_pipeline(StandardScaler(), KMeans(2)))
    for path in ("os.system", "subprocess.Popen", "builtins.eval", "pickle.loads"):
        forged = copy.deepcopy(description)
        forged["params"]["steps"][1]["items"][1]["class"] = path
        with pytest.raises(ValueError, match=r"outside the allowed packages"):
            build(forged)
    # an allowed package's attribute that is another package's object
    forged = copy.deepcopy(description)
    forged["params"]["steps"][1]["items"][1]["class"] = "sklearn.base.copy.deepcopy"
    with pytest.raises(ValueError, match=r"copy's, outside the allowed packages"):
        build(forged)
    forged["params"]["steps"][1]["items"][1]["class"] = "sklearn.base.copy"
    with pytest.raises(ValueError, match=r"a module"):
        build(forged)
    # the caller's list replaces the default one
    lectlib_only = describe(make_pipeline(SlidingFFT(8, 4)))
    with pytest.raises(ValueError, match=r"'sklearn\.pipeline\.Pipeline', outside"):
        build(lectlib_only, allow=["lectlib"])
    assert isinstance(
        build(lectlib_only, allow=["lectlib", "sklearn", "numpy"]), Pipeline
    )
    # a prefix is a package, not the start of a name
    with pytest.raises(ValueError, match=r"outside the allowed"):
        build(describe(KMeans()), allow=["sk"])
    assert set(DEFAULT_ALLOW) == {"lectlib", "sklearn", "numpy", "scipy"}


def test_functions_in_parameters_obey_the_allow_list():
    description = describe(FunctionTransformer(np.log1p))
    description["params"]["func"]["path"] = "os.remove"
    with pytest.raises(ValueError, match=r"estimator\.func is 'os\.remove', outside"):
        build(description)
    with pytest.raises(ValueError, match=r"outside"):
        build(describe(FunctionTransformer(np.log1p)), allow=["sklearn"])


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("params"), r"estimator lacks \['params'\]"),
        (lambda d: d.update(type="pickle"), r"type must be 'estimator'"),
        (lambda d: d.update(params=[1]), r"params must be a JSON object"),
        (
            lambda d: d["params"].update(n_clusters={"type": "lambda", "code": "1"}),
            r"estimator\.n_clusters has an unknown type 'lambda'",
        ),
        (
            lambda d: d["params"].update(
                n_clusters={"type": "ndarray", "dtype": "f8", "shape": [3], "data": [1]}
            ),
            r"must be a list of 3 values",
        ),
        (
            lambda d: d["params"].update(
                n_clusters={"type": "ndarray", "dtype": "O", "shape": [1], "data": [1]}
            ),
            r"dtype object cannot be recorded",
        ),
        (
            lambda d: d["params"].update(unknown=1),
            r"does not take these parameters here .*another version",
        ),
        (
            lambda d: d.update({"class": "sklearn.cluster.NoSuchThing"}),
            r"cannot be imported here",
        ),
        (lambda d: d.update({"class": "numpy.mean"}), r"is not an estimator"),
    ],
)
def test_malformed_descriptions_are_refused_with_their_path(edit, message):
    description = describe(KMeans(3))
    edit(description)
    with pytest.raises(ValueError, match=message):
        build(description)


def test_build_checks_its_arguments():
    with pytest.raises(TypeError, match=r"description must be a dict"):
        build("KMeans(3)")
    with pytest.raises(TypeError, match=r"allow must be a list"):
        build(describe(KMeans()), allow="sklearn")
    with pytest.raises(TypeError, match=r"allow must hold package names"):
        build(describe(KMeans()), allow=["sklearn", 3])


# ------------------------------------------------------------------------ array_hash


@FAST
@given(
    X=hnp.arrays(
        st.sampled_from(["float64", "float32", "int64", "bool", "complex128"]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_the_hash_ignores_memory_layout_and_sees_every_value(X):
    digest = array_hash(X)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert array_hash(np.array(X, order="F")) == digest
    assert array_hash(X.astype(X.dtype.newbyteorder(">"))) == digest
    read_only = X.copy()
    read_only.setflags(write=False)
    assert array_hash(read_only) == digest
    if X.ndim >= 1:
        strided = np.repeat(X, 2, axis=-1)[..., ::2]  # equal values, not contiguous
        assert array_hash(strided) == digest
        assert array_hash(X.reshape(-1)) != digest or X.ndim == 1
    if X.size:
        changed = X.copy()
        changed.reshape(-1).view(np.uint8)[-1] ^= 1  # one bit of the last value
        assert array_hash(changed) != digest


def test_the_hash_includes_dtype_and_shape_and_orders_sequences():
    X = np.arange(6.0).reshape(2, 3)
    assert array_hash(X) == array_hash(X.tolist()) == array_hash(X.astype(object))
    assert array_hash(X) != array_hash(X.astype(np.float32))
    assert array_hash(X) != array_hash(X.astype(np.int64))
    assert array_hash(X) != array_hash(X.T.copy()) != array_hash(X.reshape(3, 2))
    big = np.array([2**53, 2**53 + 1], dtype=np.int64)
    assert array_hash(big[:1]) != array_hash(big[1:])  # float64 would merge them
    a, b = np.ones(2), np.zeros(3)
    assert array_hash([a, b]) == array_hash((a, b)) != array_hash([b, a])
    assert array_hash([a, b]) != array_hash(np.concatenate([a, b]))


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.array(["1.0", "2.0"]), TypeError, r"must hold real numbers, got strings"),
        ("abc", TypeError, r"must be a numeric array, got str"),
        (np.array([np.datetime64("2024-01-01")]), TypeError, r"must hold numbers"),
        (KMeans(), TypeError, r"got an estimator \(KMeans\)"),
        ([[1.0, 2.0], [3.0]], ValueError, r"could not be converted"),
    ],
)
def test_array_hash_refuses_what_is_not_numbers(bad, error, message):
    with pytest.raises(error, match=message):
        array_hash(bad)


# -------------------------------------------------------------- record and replay


@pytest.fixture(scope="module")
def runs():
    """Each pipeline run once: (estimator, X, method, result, record)."""
    out = {}
    for name, (pipe, X, method) in pipelines().items():
        result = getattr(pipe, method)(X)
        out[name] = (pipe, X, method, result, record(pipe, X, result, method=method))
    return out


@pytest.mark.parametrize("name", sorted(pipelines()))
def test_a_replay_reproduces_the_result_bit_for_bit(runs, name):
    pipe, X, method, result, rec = runs[name]
    again = replay(rec, X)
    assert again.matches and not again.edited and again.differences == {}
    assert again.result.dtype == result.dtype and np.array_equal(again.result, result)
    assert again.estimator is not pipe
    assert describe(again.estimator) == rec["estimator"]
    assert len(np.unique(result)) > 1  # a result that could differ


def test_the_record_holds_what_produced_the_result(runs):
    pipe, X, method, result, rec = runs["fft-pca-kmeans"]
    assert list(rec) == [
        "format",
        "created",
        "note",
        "method",
        "estimator",
        "estimator_sha256",
        "random_states",
        "input",
        "output",
        "versions",
        "threadpools",
    ]
    assert rec["format"] == 1 and rec["method"] == "fit_predict"
    assert rec["random_states"] == {"pca__random_state": 0, "kmeans__random_state": 0}
    assert rec["input"] == {
        "sha256": array_hash(X),
        "shape": list(X.shape),
        "dtype": "float64",
    }
    assert rec["output"]["sha256"] == array_hash(result)
    assert rec["output"]["shape"] == [result.shape[0]]
    import scipy
    import sklearn

    assert rec["versions"]["numpy"] == np.__version__
    assert rec["versions"]["scipy"] == scipy.__version__
    assert rec["versions"]["scikit-learn"] == sklearn.__version__
    assert rec["versions"]["lectlib"] == lectlib.__version__
    assert {"python", "platform", "machine", "joblib"} <= set(rec["versions"])
    assert all("num_threads" in pool for pool in rec["threadpools"])
    steps = rec["estimator"]["params"]["steps"]
    assert [s["items"][0] for s in steps] == ["slidingfft", "pca", "kmeans"]


def test_nested_random_states_are_found_by_their_parameter_path():
    detector = LearnedAtomDetector(
        classifier=MLPClassifier((4,), random_state=3), random_state=None
    )
    pipe = Pipeline([("detect", detector), ("same", FunctionTransformer())])
    images = np.zeros((1, 8, 8))
    with pytest.warns(UnseededWarning) as caught:
        rec = record(pipe, images, np.zeros(3), method="fit_transform")
    assert rec["random_states"] == {
        "detect__classifier__random_state": 3,
        "detect__random_state": None,
    }
    assert caught[0].message.paths == ["detect__random_state"]


def test_a_list_of_arrays_is_an_input_too():
    frames = [np.ones((4, 2)), np.zeros((3, 2))]
    pipe = FunctionTransformer(np.concatenate)
    result = pipe.fit_transform(frames)
    rec = record(pipe, frames, result)
    assert rec["input"]["shape"] == [[4, 2], [3, 2]]
    assert rec["input"]["dtype"] == ["float64", "float64"]
    assert replay(rec, frames).matches


def test_other_data_are_refused_with_both_hashes(runs):
    pipe, X, method, result, rec = runs["regression-kmeans"]
    changed = X.copy()
    changed[0, 0] += 1e-12
    recorded, given_hash = rec["input"]["sha256"], array_hash(changed)
    with pytest.raises(ValueError) as info:
        replay(rec, changed)
    message = str(info.value)
    assert "X is not the recorded input" in message
    assert recorded in message and given_hash in message
    with pytest.raises(ValueError, match=r"X is not the recorded input"):
        replay(rec, X.astype(np.float32), check=False)  # refused even unchecked


def test_an_edited_parameter_is_caught(runs):
    pipe, X, method, result, rec = runs["regression-kmeans"]
    edited = copy.deepcopy(rec)
    kmeans = edited["estimator"]["params"]["steps"][1]["items"][1]
    kmeans["params"]["n_clusters"] = 2
    with pytest.raises(ValueError, match=r"record\.estimator was edited .*check=False"):
        replay(edited, X)
    unchecked = replay(edited, X, check=False)
    assert unchecked.edited and not unchecked.matches
    assert unchecked.estimator.steps[1][1].n_clusters == 2
    # a record without the description's hash (written by hand): the result tells
    del edited["estimator_sha256"]
    with pytest.raises(
        ValueError,
        match=r"replayed output differs from the recorded one: sha256 \w{64} "
        r"recorded, \w{64} now .*versions and thread pools are the recorded ones",
    ):
        replay(edited, X)
    assert not replay(edited, X, check=False).matches


def test_a_mismatch_names_the_versions_and_unseeded_states_that_differ():
    X = np.random.default_rng(0).normal(size=(30, 3))
    kmeans = KMeans(2, n_init=1)
    labels = kmeans.fit_predict(X)
    with pytest.warns(
        UnseededWarning, match=r"random_state is None at \['random_state'\]"
    ):
        rec = record(kmeans, X, labels, method="fit_predict")
    forged = copy.deepcopy(rec)
    forged["versions"]["scikit-learn"] = "0.1"
    forged["output"]["sha256"] = "0" * 64
    with pytest.raises(
        ValueError,
        match=r"scikit-learn: 0\.1 recorded, \d[\w.]* now.*"
        r"unseeded random states: \['random_state'\]",
    ):
        replay(forged, X)
    replayed = replay(forged, X, check=False)
    assert not replayed.matches
    assert replayed.differences["scikit-learn"][0] == "0.1"
    # other threads for the recorded BLAS
    forged = copy.deepcopy(rec)
    blas = [p for p in forged["threadpools"] if p["user_api"] == "blas"]
    assert blas, forged["threadpools"]
    blas[0]["num_threads"] += 3
    forged["output"]["sha256"] = "0" * 64
    with pytest.raises(ValueError, match=r"the BLAS/OpenMP thread pools differ"):
        replay(forged, X)
    assert "threadpools" in replay(forged, X, check=False).differences
    # an OpenMP library not loaded yet is no difference; a recorded BLAS missing is
    forged = copy.deepcopy(rec)
    forged["threadpools"].append(dict(user_api="openmp", internal_api="other"))
    assert "threadpools" not in replay(forged, X, check=False).differences
    forged["threadpools"].append(dict(user_api="blas", internal_api="mkl"))
    assert "threadpools" in replay(forged, X, check=False).differences


def test_record_without_a_seed_warns_and_strict_mode_refuses():
    X = np.random.default_rng(1).normal(size=(40, 4))
    pca = PCA(2)  # random_state None; the full SVD does not use it
    scores = pca.fit_transform(X)
    with pytest.warns(UnseededWarning) as caught:
        rec = record(pca, X, scores)
    assert caught[0].message.paths == ["random_state"]
    assert rec["random_states"] == {"random_state": None}
    assert replay(rec, X).matches  # deterministic all the same: that is why it warns
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseededWarning)
        with pytest.raises(UnseededWarning):
            record(pca, X, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record(PCA(2, random_state=0), X, scores)  # seeded: no warning


def test_the_record_file_is_strict_json_and_stable(tmp_path, runs):
    pipe, X, method, result, _ = runs["fft-pca-kmeans"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    rec = record(pipe, X, result, method=method, path=first, note="phases, 2 images")
    record(
        clone(pipe),
        X.copy(),
        result.copy(),
        method=method,
        path=second,
        note="phases, 2 images",
    )
    text = first.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n "format": 1,\n')
    assert strict_json(text) == rec

    def without_time(path):
        return [
            line
            for line in path.read_bytes().splitlines()
            if not line.lstrip().startswith(b'"created"')
        ]

    assert without_time(first) == without_time(second)
    assert replay(first, X).matches  # a path is read as the record
    # non-finite parameters are written as strict JSON too
    odd = FunctionTransformer(np.log1p, kw_args={"x": math.nan, "y": -math.inf})
    out = tmp_path / "odd.json"
    record(odd, np.ones((2, 2)), np.log1p(np.ones((2, 2))), path=out)
    params = strict_json(out.read_text())["estimator"]["params"]["kw_args"]
    assert params["items"][0][1] == {"type": "float", "value": "nan"}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(method="transform"), ValueError, r"fit_\* method of Pipeline"),
        (
            dict(method="fit_predict_proba"),
            ValueError,
            r"\['fit_transform', 'fit_predict'\], got 'fit_predict_proba'",
        ),
        (dict(method=3), TypeError, r"method must be a string"),
        (dict(note=3), TypeError, r"note must be a string"),
        (dict(path=3), TypeError, r"path must be a file path"),
        (dict(path=""), ValueError, r"path is empty"),
    ],
)
def test_record_checks_its_arguments(runs, kwargs, error, message):
    pipe, X, method, result, _ = runs["regression-kmeans"]
    kwargs = {"method": "fit_predict", **kwargs}
    with pytest.raises(error, match=message):
        record(pipe, X, result, **kwargs)


def test_record_refuses_a_folder_and_a_fitted_estimator_as_result(runs, tmp_path):
    pipe, X, method, result, _ = runs["regression-kmeans"]
    with pytest.raises(ValueError, match=r"is a folder"):
        record(pipe, X, result, method=method, path=tmp_path)
    with pytest.raises(TypeError, match=r"result must be an array, got an estimator"):
        record(pipe, X, pipe, method=method)


def test_replay_refuses_malformed_records(runs, tmp_path):
    pipe, X, method, result, rec = runs["regression-kmeans"]
    with pytest.raises(TypeError, match=r"record must be a dict"):
        replay(3, X)
    with pytest.raises(ValueError, match=r"format 2; this lectlib reads format 1"):
        replay({**rec, "format": 2}, X)
    with pytest.raises(ValueError, match=r"record lacks \['output'\]"):
        replay({k: v for k, v in rec.items() if k != "output"}, X)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"is not JSON"):
        replay(broken, X)
    with pytest.raises(FileNotFoundError):
        replay(tmp_path / "missing.json", X)
    with pytest.raises(TypeError, match=r"check must be True or False"):
        replay(rec, X, check="yes")


@pytest.mark.parametrize(
    "estimator, X",
    [
        (WeightedPCA(2), np.random.default_rng(0).poisson(5.0, (30, 6)).astype(float)),
        (
            CorrespondenceAnalysis(2),
            np.random.default_rng(1).poisson(5.0, (30, 6)).astype(float),
        ),
        (NFINDR(3, random_state=0), eels_like()[0]),
        (
            BayesianUnmixing(3, n_samples=20, burn_in=10, random_state=0),
            eels_like()[0][:40],
        ),
        (SlidingFFT(16, 8, dtype=np.float32), lattice_stack()[0]),
    ],
    ids=lambda v: type(v).__name__ if hasattr(v, "get_params") else "X",
)
def test_lectlib_transformers_replay_bit_for_bit(estimator, X):
    result = estimator.fit_transform(X)
    rec = record(estimator, X, result)
    again = replay(rec, X)
    assert again.matches and np.array_equal(again.result, result)
    assert again.result.dtype == result.dtype


# ----------------------------------------------------- across a restart, and caching

_FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import joblib
    import numpy as np
    from sklearn.base import clone
    from lectlib.provenance import replay
    from lectlib.regression import KnownEndmemberRegression
    from lectlib.sliding import SlidingFFT

    folder = sys.argv[1]
    out = {}
    for name in json.load(open(f"{folder}/names.json")):
        X = np.load(f"{folder}/{name}.npy")
        again = replay(f"{folder}/{name}.json", X)
        out[name] = [again.matches, sorted(again.differences)]
    E = np.load(f"{folder}/E.npy")
    estimators = [SlidingFFT(16, 8, dtype=np.float32), KnownEndmemberRegression(E)]
    out["hashes"] = [joblib.hash(clone(e)) for e in estimators]
    print(json.dumps(out))
    """
)


def test_a_replay_in_a_fresh_process_reproduces_every_result(tmp_path, runs):
    for name, (pipe, X, method, result, rec) in runs.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(rec, allow_nan=False))
        np.save(tmp_path / f"{name}.npy", X)
    (tmp_path / "names.json").write_text(json.dumps(sorted(runs)))
    _, E = eels_like()
    np.save(tmp_path / "E.npy", E)
    completed = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "random"},
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    for name in runs:
        assert out[name] == [True, []], (name, out[name])
    here = [SlidingFFT(16, 8, dtype=np.float32), KnownEndmemberRegression(E)]
    assert out["hashes"] == [joblib.hash(e) for e in here]  # the same in every process


@pytest.mark.parametrize(
    "estimator",
    [
        SlidingFFT(16, 8, dtype=np.float32),
        KnownEndmemberRegression(eels_like()[1], window=(1.0, 20.0)),
    ],
    ids=["SlidingFFT", "KnownEndmemberRegression"],
)
def test_lectlib_transformers_hash_the_same_when_cloned(estimator):
    assert joblib.hash(clone(estimator)) == joblib.hash(estimator)
    assert joblib.hash(clone(clone(estimator))) == joblib.hash(estimator)


def test_a_cached_pipeline_gives_the_identical_result_from_its_cache(tmp_path):
    images = lattice_stack()
    X, E = eels_like()
    cases = [
        (
            [SlidingFFT(16, 8, crop=4), PCA(3, random_state=0)],
            KMeans(2, n_init=2, random_state=0),
            images,
        ),
        ([KnownEndmemberRegression(E)], KMeans(3, n_init=2, random_state=0), X),
    ]
    for i, (transformers, final, data) in enumerate(cases):
        memory = joblib.Memory(tmp_path / str(i), verbose=0)
        steps = [(f"s{j}", t) for j, t in enumerate(transformers)] + [("final", final)]
        first = Pipeline(steps, memory=memory).fit_predict(data)
        cached = sorted(p for p in (tmp_path / str(i)).rglob("output.pkl"))
        assert len(cached) == len(transformers)
        stamps = [p.stat().st_mtime_ns for p in cached]
        # a fresh pipeline (new clones of every step) finds every step in the cache
        fresh = [(name, clone(step)) for name, step in steps]
        second = Pipeline(fresh, memory=memory).fit_predict(data)
        assert np.array_equal(first, second) and first.dtype == second.dtype
        again = sorted(p for p in (tmp_path / str(i)).rglob("output.pkl"))
        assert again == cached and [p.stat().st_mtime_ns for p in again] == stamps
