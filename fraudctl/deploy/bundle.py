"""The Lambda deployment bundle (``deployment.zip``): what is in it and for which platform.

Chalice installs the runtime requirements' wheels at the root of the zip. The python3.12
Lambda runtime already provides boto3 and its dependencies; aws-xray-sdk (powertools'
tracer) pulls botocore in, so ``strip_runtime_provided`` removes those distributions,
by the files their ``RECORD`` lists, and the functions use the runtime's boto3 with the
runtime's botocore. ``compile_bytecode`` then adds the modules' bytecode: Lambda unzips
the bundle into a read-only ``/var/task``, where Python can neither write nor find a
``__pycache__`` unless the zip carries one.
"""

from __future__ import annotations

import compileall
import csv
import importlib.metadata
import importlib.util
import io
import py_compile
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fraudctl.errors import CommandError

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
LAMBDA_PYTHON_VERSION = (3, 12)
UNCHECKED_HASH_FLAGS = 0b01
"""A pyc's flags word (PEP 552): hash-based, not checked against its source at import."""
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
    _remove_entries(path, doomed)
    return removed


def _remove_entries(path: Path, doomed: set[str]) -> None:
    """Rewrite the zip at ``path`` without the entries named in ``doomed`` (untouched when
    none is there); the others are copied with their metadata."""
    with zipfile.ZipFile(path) as bundle:
        if not doomed.intersection(bundle.namelist()):
            return
        kept = [
            (info, bundle.read(info)) for info in bundle.infolist() if info.filename not in doomed
        ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info, data in kept:
            rewritten.writestr(info, data)


class BytecodeError(CommandError):
    """The bundle's bytecode cannot be made by this interpreter."""


def _unchecked_pyc_of(pyc: bytes, source: bytes) -> bool:
    """Whether ``pyc`` is this interpreter's unchecked-hash bytecode of ``source``."""
    header = importlib.util.MAGIC_NUMBER + UNCHECKED_HASH_FLAGS.to_bytes(4, "little")
    return pyc[:8] == header and pyc[8:16] == importlib.util.source_hash(source)


def _bytecode_sources(bundle: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The modules that get bytecode, by the name of their pyc: every ``.py`` outside a
    ``tests`` directory."""
    return {
        importlib.util.cache_from_source(info.filename): info
        for info in bundle.infolist()
        if info.filename.endswith(".py") and "tests" not in PurePosixPath(info.filename).parts
    }


def _foreign_bytecode(path: Path) -> set[str]:
    """The ``__pycache__`` entries of the zip at ``path`` that ``compile_bytecode`` would
    not have written: another pyc flavour or version (a developer's timestamp pycs, which
    Chalice copies with the app's files and which never validate against the unzipped
    sources), a stale source hash, or no source in the bundle."""
    with zipfile.ZipFile(path) as bundle:
        sources = _bytecode_sources(bundle)
        cached = [n for n in bundle.namelist() if "__pycache__" in PurePosixPath(n).parts]
        return {
            name
            for name in cached
            if name not in sources
            or not _unchecked_pyc_of(bundle.read(name), bundle.read(sources[name]))
        }


def compile_bytecode(path: Path) -> int:
    """Give the zip at ``path`` the bytecode of its Python modules; returns how many pycs
    it wrote.

    Each ``pkg/mod.py`` gets ``pkg/__pycache__/mod.cpython-312.pyc``, an unchecked-hash
    pyc (PEP 552): the interpreter loads it without comparing the source's timestamp, which
    a zip keeps only to two seconds and without a time zone. The bundle never changes once
    built, so the check would buy nothing. Modules under a ``tests`` directory are left
    out (the functions never import them). ``__pycache__`` entries this function would not
    have written are removed first (``_foreign_bytecode``), and current ones are kept, so a
    second pass writes nothing. A file that does not compile (none should) is left to fail
    at import, as it would without bytecode.

    Raises
    ------
    BytecodeError
        This interpreter is not the Lambda runtime's Python (bytecode is per version).
    """
    if sys.implementation.name != "cpython" or sys.version_info[:2] != LAMBDA_PYTHON_VERSION:
        wanted = ".".join(map(str, LAMBDA_PYTHON_VERSION))
        raise BytecodeError(f"the bundle's bytecode must be compiled by CPython {wanted}")
    _remove_entries(path, _foreign_bytecode(path))
    compiled = 0
    with (
        tempfile.TemporaryDirectory() as scratch,
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as bundle,
    ):
        present = set(bundle.namelist())
        for cached, info in _bytecode_sources(bundle).items():
            if cached in present:
                continue
            source = bundle.extract(info, scratch)
            written = Path(scratch, cached)
            try:
                py_compile.compile(
                    source,
                    cfile=str(written),
                    dfile=info.filename,
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                continue
            entry = zipfile.ZipInfo(cached, info.date_time)
            entry.external_attr = 0o644 << 16
            bundle.writestr(entry, written.read_bytes(), zipfile.ZIP_DEFLATED)
            compiled += 1
    return compiled


def distribution_copy(directory: Path, names: tuple[str, ...]) -> Path:
    """Copies of the installed distributions ``names`` in ``directory`` (returned), with
    their bytecode: for ``LAMBDA_RUNTIME_PROVIDED``, boto3 and its dependencies as the
    python3.12 runtime provides them beside the bundle (``/var/runtime``)."""
    for name in names:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            if file.parts[0] == ".." or file.suffix == ".pyc":
                continue
            target = directory / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(str(dist.locate_file(file)), target)
    compileall.compile_dir(directory, quiet=2)
    return directory


def lambda_environment(task: Path, runtime: Path, function_name: str) -> dict[str, str]:
    """The variables the python3.12 runtime sets for ``function_name`` with active
    tracing, its bundle unzipped in ``task`` and its boto3 in ``runtime``; the X-Ray
    daemon's address is a loopback port that nothing need listen on (UDP)."""
    return {
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]0123456789abcdef",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "_X_AMZN_TRACE_ID": f"Root=1-6740c1a0-5e0c1d2a3b4c5d6e7f809a1b;Parent={'0' * 16};Sampled=1",
    }
