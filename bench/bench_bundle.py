"""Item 4: the deployment bundle's size, zipped and unzipped, against one with scikit-learn.

Run from the repository root: ``python -m bench.bench_bundle``.

Builds the dev stage's bundle as ``make package`` does (``fraudctl.deploy.package``, in a
temporary directory), then the baseline: the same bundle plus scikit-learn and the
distributions it requires that the bundle lacks (scipy, joblib, threadpoolctl), taken
from this environment's installed wheels (x86_64 manylinux, the dev stage's platform),
deflated as Chalice deflates the bundle and given their bytecode as ``make package``
gives the bundle's modules theirs.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from bench.records import Figure, command_line, figure
from bench.stage import environment
from fraudctl.deploy import bundle
from fraudctl.deploy.package import package

STAGE = "dev"
BASELINE_LIBRARY = "scikit-learn"
MIB = 1024 * 1024


def requirement_closure(name: str, present: set[str]) -> list[str]:
    """``name`` and what it requires (recursively, no extras), minus ``present``: canonical
    names of installed distributions."""
    wanted, seen = [bundle.canonical_name(name)], set(present)
    closure = []
    while wanted:
        current = wanted.pop()
        if current in seen:
            continue
        seen.add(current)
        closure.append(current)
        for requirement in metadata.distribution(current).requires or []:
            if "extra ==" not in requirement:
                wanted.append(bundle.canonical_name(re.split(r"[ ;<>=!~\[(]", requirement)[0]))
    return closure


def add_distributions(archive: Path, names: list[str]) -> None:
    """Append the installed files of distributions ``names`` to the zip ``archive``."""
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as out:
        for name in names:
            dist = metadata.distribution(name)
            for file in dist.files or []:
                source = Path(str(dist.locate_file(file)))
                if source.is_file() and "__pycache__" not in file.parts:
                    out.write(source, file.as_posix())


def measure() -> list[Figure]:
    """Item 4's figures, in MiB."""
    with tempfile.TemporaryDirectory() as scratch, environment({}):
        built = package(STAGE, Path(scratch) / "dist").out / "deployment.zip"
        with zipfile.ZipFile(built) as archive:
            present = set(bundle.distributions(archive))
        baseline = Path(scratch) / "with-sklearn.zip"
        shutil.copyfile(built, baseline)
        add_distributions(baseline, requirement_closure(BASELINE_LIBRARY, present))
        bundle.compile_bytecode(baseline)
        (zipped, unzipped), (base_zipped, base_unzipped) = (
            bundle.sizes(built),
            bundle.sizes(baseline),
        )
    return [
        figure("bundle_zipped", zipped / MIB, "MiB", base_zipped / MIB),
        figure("bundle_unzipped", unzipped / MIB, "MiB", base_unzipped / MIB),
    ]


def main() -> None:
    command_line(__doc__, measure)


if __name__ == "__main__":
    main()
