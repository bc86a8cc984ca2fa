"""The deployment bundle of each stage: within budgets, free of training libraries, built
for the Lambda platform of the stage's architecture (python3.12, manylinux)."""

from __future__ import annotations

import importlib.util
import re
import zipfile

from fraudctl.deploy import bundle

TRAINING_PACKAGES = ("sklearn", "scipy", "pandas", "pyarrow")


def test_bundle_fits_the_direct_upload_and_unzipped_budgets(packaged):
    zipped, unzipped = bundle.sizes(packaged.bundle)

    assert zipped <= 50 * 1024 * 1024
    assert unzipped <= 120 * 1024 * 1024


def test_bundle_carries_no_training_library(packaged):
    with zipfile.ZipFile(packaged.bundle) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        installed = bundle.distributions(archive)

    assert not tops & set(TRAINING_PACKAGES)
    assert not set(installed) & {"scikit-learn", "scipy", "pandas", "pyarrow"}
    assert {"numpy", "joblib", "aws-lambda-powertools", "aws-xray-sdk"} <= set(installed)
    assert {"app.py", "chalicelib"} <= tops


def test_boto3_and_its_dependencies_are_left_to_the_lambda_runtime(packaged):
    with zipfile.ZipFile(packaged.bundle) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        installed = bundle.distributions(archive)

    assert not set(installed) & set(bundle.LAMBDA_RUNTIME_PROVIDED)
    assert not tops & {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "dateutil",
        "urllib3",
        "six.py",
    }


def test_every_compiled_library_is_an_elf_for_the_stage_architecture(packaged):
    machine = {"x86_64": 62, "arm64": 183}[packaged.architecture]
    triplet = {"x86_64": "x86_64", "arm64": "aarch64"}[packaged.architecture]

    with zipfile.ZipFile(packaged.bundle) as archive:
        libraries = bundle.shared_objects(archive)

    assert f"numpy/_core/_multiarray_umath.cpython-312-{triplet}-linux-gnu.so" in libraries
    assert set(libraries.values()) == {machine}
    extensions = [name for name in libraries if ".cpython-" in name]
    assert all(f".cpython-312-{triplet}-linux-gnu.so" in name for name in extensions)


def test_numpy_is_the_manylinux_cp312_wheel_of_the_stage_architecture(packaged):
    triplet = {"x86_64": "x86_64", "arm64": "aarch64"}[packaged.architecture]

    with zipfile.ZipFile(packaged.bundle) as archive:
        numpy = bundle.distributions(archive)["numpy"]

    assert numpy.tags
    for tag in numpy.tags:
        assert re.fullmatch(rf"cp312-cp312-manylinux_2_(\d+)_{triplet}", tag)
        assert int(tag.split("_")[2]) <= 34  # glibc of the python3.12 runtime


def test_every_distribution_has_a_wheel_tag_the_lambda_runtime_runs(packaged):
    with zipfile.ZipFile(packaged.bundle) as archive:
        installed = bundle.distributions(archive)

    unfit = {
        name: dist.tags
        for name, dist in installed.items()
        if not any(bundle.tag_runs_on_lambda(tag, packaged.architecture) for tag in dist.tags)
    }
    assert unfit == {}


def test_every_module_the_functions_import_carries_its_python312_bytecode(packaged):
    with zipfile.ZipFile(packaged.bundle) as archive:
        names = set(archive.namelist())
        sources = [n for n in names if n.endswith(".py") and "tests" not in n.split("/")]
        pycs = {s: archive.read(importlib.util.cache_from_source(s)) for s in sources}
        source_bytes = {source: archive.read(source) for source in sources}

    assert {"app.py", "chalicelib/scoring.py", "numpy/__init__.py", "joblib/__init__.py"} <= set(
        sources
    )
    for source, pyc in pycs.items():
        assert pyc[:4] == importlib.util.MAGIC_NUMBER, source
        # PEP 552: flags 0b01 = hash-based, not checked against the source at import
        assert int.from_bytes(pyc[4:8], "little") == 0b01, source
        assert pyc[8:16] == importlib.util.source_hash(source_bytes[source]), source
    assert not any("/tests/" in n and n.endswith(".pyc") for n in names)
