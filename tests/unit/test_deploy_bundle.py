"""Checks of a Lambda bundle (fraudctl.deploy.bundle) on small made-up inputs."""

from __future__ import annotations

import importlib.util
import py_compile
import subprocess
import sys
import zipfile

import pytest

from fraudctl.deploy import bundle


def elf_header(machine: int, elf_class: int = 2, endianness: int = 1) -> bytes:
    ident = b"\x7fELF" + bytes([elf_class, endianness, 1]) + bytes(9)
    return ident + (3).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44)


@pytest.mark.parametrize(
    ("header", "machine"),
    [
        (elf_header(62), 62),
        (elf_header(183), 183),
        (elf_header(62, elf_class=1), None),
        (elf_header(62, endianness=2), None),
        (b"\xcf\xfa\xed\xfe" + bytes(40), None),  # Mach-O
        (b"\x7fEL", None),
    ],
)
def test_elf_machine_reads_64_bit_little_endian_headers_only(header, machine):
    assert bundle.elf_machine(header) == machine


@pytest.mark.parametrize(
    ("tag", "architecture", "runs"),
    [
        ("py3-none-any", "arm64", True),
        ("cp312-cp312-manylinux_2_17_x86_64", "x86_64", True),
        ("cp312-cp312-manylinux2014_aarch64", "arm64", True),
        ("cp312-cp312-manylinux_2_34_aarch64", "arm64", True),
        ("cp312-cp312-manylinux_2_35_x86_64", "x86_64", False),  # newer glibc than Lambda's
        ("cp312-cp312-manylinux_2_28_aarch64", "x86_64", False),
        ("cp312-cp312-musllinux_1_2_x86_64", "x86_64", False),
        ("cp312-cp312-linux_x86_64", "x86_64", False),  # built on some machine
        ("cp311-cp311-manylinux_2_17_x86_64", "x86_64", False),
        ("cp38-abi3-manylinux_2_17_x86_64", "x86_64", True),
        ("cp313-abi3-manylinux_2_17_x86_64", "x86_64", False),
        ("cp312-cp312-macosx_14_0_arm64", "arm64", False),
        ("cp312-cp312-win_amd64", "x86_64", False),
    ],
)
def test_tag_runs_on_lambda_python312(tag, architecture, runs):
    assert bundle.tag_runs_on_lambda(tag, architecture) is runs


def add_distribution(archive: zipfile.ZipFile, name: str, version: str, files: dict[str, bytes]):
    dist_info = f"{name}-{version}.dist-info"
    for path, data in files.items():
        archive.writestr(path, data)
    archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
    record = [*files, f"{dist_info}/WHEEL", f"{dist_info}/RECORD"]
    archive.writestr(f"{dist_info}/RECORD", "".join(f"{p},,\n" for p in record))


def test_strip_removes_exactly_the_files_of_the_named_distributions(tmp_path):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "import app")
        add_distribution(
            archive, "botocore", "1.0", {"botocore/__init__.py": b"", "botocore/data/x.json": b"{}"}
        )
        add_distribution(archive, "python_dateutil", "2.9", {"dateutil/__init__.py": b""})
        add_distribution(archive, "numpy", "2.5", {"numpy/__init__.py": b"x" * 100})

    removed = bundle.strip_runtime_provided(path)

    assert removed == ["botocore", "python-dateutil"]
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "app.py",
            "numpy-2.5.dist-info/RECORD",
            "numpy-2.5.dist-info/WHEEL",
            "numpy/__init__.py",
        ]
        assert archive.read("numpy/__init__.py") == b"x" * 100
        assert set(bundle.distributions(archive)) == {"numpy"}


def test_strip_leaves_a_bundle_without_runtime_distributions_untouched(tmp_path):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        add_distribution(archive, "joblib", "1.6", {"joblib/__init__.py": b""})
    before = path.read_bytes()

    assert bundle.strip_runtime_provided(path) == []
    assert path.read_bytes() == before


def test_bytecode_is_added_for_every_module_but_tests_and_runs_without_its_source(tmp_path):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "from pkg.mod import VALUE\n")
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/mod.py", "VALUE = sum(range(5))\n")
        archive.writestr("pkg/tests/test_mod.py", "assert True\n")
        archive.writestr("pkg/data.json", "{}")

    assert bundle.compile_bytecode(path) == 3
    assert bundle.compile_bytecode(path) == 0  # a second pass writes nothing

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "task")
    assert sorted(n for n in names if n.endswith(".pyc")) == [
        "__pycache__/app.cpython-312.pyc",
        "pkg/__pycache__/__init__.cpython-312.pyc",
        "pkg/__pycache__/mod.cpython-312.pyc",
    ]
    assert len(names) == len(set(names))
    # Unchecked-hash bytecode is used as is: a changed source is not read.
    (tmp_path / "task" / "pkg" / "mod.py").write_text("VALUE = -1\n")
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            "import sys; sys.path[:0] = ['.']; import app; print(app.VALUE)",
        ],
        cwd=tmp_path / "task",
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "10"


def test_bytecode_from_a_developers_tree_is_replaced_and_stale_bytecode_dropped(tmp_path):
    """Chalice copies the app's files with their ``__pycache__``: a developer's timestamp
    pycs never validate against the unzipped sources, so each import would compile again."""
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "mod.py").write_text("VALUE = 1\n")
    timestamp_pyc = tree / "pkg.mod.pyc"
    py_compile.compile(str(tree / "pkg" / "mod.py"), cfile=str(timestamp_pyc), doraise=True)
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/mod.py", "VALUE = 1\n")
        archive.writestr("pkg/__pycache__/mod.cpython-312.pyc", timestamp_pyc.read_bytes())
        archive.writestr("pkg/__pycache__/gone.cpython-312.pyc", timestamp_pyc.read_bytes())
        archive.writestr("pkg/tests/__pycache__/test_mod.cpython-312.pyc", b"\0" * 16)

    assert bundle.compile_bytecode(path) == 2
    assert bundle.compile_bytecode(path) == 0

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pyc = archive.read("pkg/__pycache__/mod.cpython-312.pyc")
    assert sorted(n for n in names if n.endswith(".pyc")) == [
        "pkg/__pycache__/__init__.cpython-312.pyc",
        "pkg/__pycache__/mod.cpython-312.pyc",
    ]
    assert len(names) == len(set(names))
    assert int.from_bytes(pyc[4:8], "little") == bundle.UNCHECKED_HASH_FLAGS
    assert pyc[8:16] == importlib.util.source_hash(b"VALUE = 1\n")


def test_bytecode_needs_the_runtimes_python(tmp_path, monkeypatch):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "")
    monkeypatch.setattr(bundle, "LAMBDA_PYTHON_VERSION", (3, 13))

    with pytest.raises(bundle.BytecodeError, match=r"CPython 3\.13"):
        bundle.compile_bytecode(path)
