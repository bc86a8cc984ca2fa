"""The Lambda deployment bundle (``deployment.zip``): what is in it and for which platform.

Chalice installs the runtime requirements' wheels at the root of the zip. The python3.12
Lambda runtime already provides boto3 and its dependencies; aws-xray-sdk (powertools'
tracer) pulls botocore in, so ``strip_runtime_provided`` removes those distributions,
by the files their ``RECORD`` lists, and the functions use the runtime's boto3 with the
runtime's botocore.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Distributions the python3.12 Lambda runtime provides (boto3 and its dependencies).
LAMBDA_RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
# Training-only libraries that must never reach the functions.
BANNED = ("scikit-learn", "scipy", "pandas", "pyarrow")

LAMBDA_PYTHON = "cp312"
# glibc of the python3.12 runtime (Amazon Linux 2023): the newest manylinux it runs.
LAMBDA_GLIBC = (2, 34)
# Lambda architecture -> machine in wheel tags and ELF ``e_machine``.
WHEEL_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
ELF_MACHINE = {"x86_64": 62, "arm64": 183}

ZIP_BUDGET_BYTES = 50 * 1024 * 1024  # direct upload limit of a Lambda zip
UNZIPPED_BUDGET_BYTES = 120 * 1024 * 1024  # ours; Lambda's hard limit is 250 MB

_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def canonical_name(name: str) -> str:
    """A distribution name normalised as in PEP 503 (``Python_DateUtil`` -> ``python-dateutil``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One installed distribution in the bundle.

    Attributes
    ----------
    name:
        Canonical name.
    version:
        Its version.
    dist_info:
        The ``<name>-<version>.dist-info`` directory in the zip.
    tags:
        Wheel tags from its ``WHEEL`` file (``cp312-cp312-manylinux_2_28_x86_64``).
    """

    name: str
    version: str
    dist_info: str
    tags: tuple[str, ...]


def distributions(bundle: zipfile.ZipFile) -> dict[str, Distribution]:
    """The distributions installed in ``bundle``, by canonical name."""
    found = {}
    for path in bundle.namelist():
        match = re.fullmatch(r"([^/]+)-([^-/]+)\.dist-info/WHEEL", path)
        if match:
            text = bundle.read(path).decode()
            tags = tuple(
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.startswith("Tag:")
            )
            dist = Distribution(canonical_name(match[1]), match[2], path.rsplit("/", 1)[0], tags)
            found[dist.name] = dist
    return found


def sizes(path: Path) -> tuple[int, int]:
    """``(zipped, unzipped)`` bytes of the zip at ``path``."""
    with zipfile.ZipFile(path) as bundle:
        unzipped = sum(info.file_size for info in bundle.infolist())
    return path.stat().st_size, unzipped


def elf_machine(header: bytes) -> int | None:
    """``e_machine`` of a 64-bit little-endian ELF file's first bytes; ``None`` if not one."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
        return None
    return int.from_bytes(header[18:20], "little")


def shared_objects(bundle: zipfile.ZipFile) -> dict[str, int | None]:
    """Every compiled library (``.so``) in ``bundle`` -> its ELF machine (``None``: no ELF64 LE)."""
    machines = {}
    for info in bundle.infolist():
        if re.search(r"\.so(\.[0-9]+)*$", info.filename):
            with bundle.open(info) as handle:
                machines[info.filename] = elf_machine(handle.read(20))
    return machines


def tag_runs_on_lambda(tag: str, architecture: str) -> bool:
    """Whether a wheel tag (``interpreter-abi-platform``) runs on python3.12 Lambda.

    Pure wheels (``py3-none-any``) run anywhere; compiled ones need CPython 3.12 (or the
    stable ABI) and a manylinux platform of the architecture's machine no newer than the
    runtime's glibc.

    >>> tag_runs_on_lambda("cp312-cp312-manylinux_2_28_x86_64", "x86_64")
    True
    >>> tag_runs_on_lambda("cp312-cp312-manylinux_2_28_x86_64", "arm64")
    False
    >>> tag_runs_on_lambda("cp312-cp312-macosx_14_0_arm64", "arm64")
    False
    """
    interpreter, abi, platform = tag.split("-")
    if platform == "any":
        return abi == "none" and interpreter in ("py3", "py2.py3", LAMBDA_PYTHON)
    if abi == "abi3":
        minor = re.fullmatch(r"cp3(\d+)", interpreter)
        if not minor or int(minor[1]) > int(LAMBDA_PYTHON[3:]):
            return False
    elif (interpreter, abi) != (LAMBDA_PYTHON, LAMBDA_PYTHON):
        return False
    machine = WHEEL_MACHINE[architecture]
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform)
    if match:
        glibc, arch = (int(match[1]), int(match[2])), match[3]
    else:
        legacy, _, arch = platform.partition("_")
        if legacy not in _LEGACY_MANYLINUX:
            return False
        glibc = _LEGACY_MANYLINUX[legacy]
    return arch == machine and glibc <= LAMBDA_GLIBC


def strip_runtime_provided(
    path: Path, names: tuple[str, ...] = LAMBDA_RUNTIME_PROVIDED
) -> list[str]:
    """Rewrite the zip at ``path`` without the distributions ``names``; returns those removed.

    The files removed are those each distribution's ``RECORD`` lists (its packages,
    modules and ``.dist-info``); everything else is copied with its metadata.
    """
    with zipfile.ZipFile(path) as bundle:
        installed = distributions(bundle)
        removed = sorted(n for n in map(canonical_name, names) if n in installed)
        doomed: set[str] = set()
        for name in removed:
            record = bundle.read(f"{installed[name].dist_info}/RECORD").decode()
            doomed |= {row[0] for row in csv.reader(io.StringIO(record)) if row}
        if not doomed:
            return []
        kept = [
            (info, bundle.read(info)) for info in bundle.infolist() if info.filename not in doomed
        ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info, data in kept:
            rewritten.writestr(info, data)
    return removed
