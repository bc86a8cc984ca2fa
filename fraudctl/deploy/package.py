"""``make package``: a stage's deployment bundle and templates under ``dist/``.

Runs ``chalice package`` for the stage (Lambda runtime python3.12, the stage's
``lambda_architecture``), with ``FRAUD_SCORING_QUEUE`` naming the stage's queue and the
merge template rendered from ``infra/`` (``fraudctl.deploy.merge``). Chalice downloads
manylinux wheels of the Lambda platform for compiled dependencies (numpy), whatever this
machine is. The bundle then loses what the runtime provides (boto3 and its
dependencies), gains its modules' bytecode (``bundle.compile_bytecode``: Lambda's
``/var/task`` is read-only, so nothing compiled at a cold start is kept) and is checked
against its budgets and platform. Packagers of one checkout take turns on Chalice's
dependency cache (``chalice_cache.held``).

Writes to ``--out`` (default ``dist/``):

* ``deployment.zip``: the functions' code and dependencies;
* ``sam.json``: the functions' stack (SAM), Chalice's template merged with ``merge.json``;
* ``merge.json``: the rendered merge template (for review);
* ``resources.yaml``: the stateful resources' stack (a copy of ``infra/resources.yaml``).

Usage: ``python -m fraudctl.deploy.package --stage dev [--out dist]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from chalice.config import Config

from chalicelib import settings
from fraudctl.deploy import bundle, chalice_cache, merge, templates
from fraudctl.deploy.merge import PackagingError

ROOT = Path(__file__).resolve().parents[2]
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
DEPLOYED_STAGES = ("dev", "prod")


@dataclass(frozen=True)
class PackageSummary:
    """What ``package`` produced."""

    stage: str
    architecture: str
    out: Path
    zipped_bytes: int
    unzipped_bytes: int
    removed: list[str]
    compiled: int

    def describe(self) -> str:
        mib = 1024 * 1024
        return (
            f"Packaged stage {self.stage} (python3.12, {self.architecture}) into {self.out}/\n"
            f"  deployment.zip  {self.zipped_bytes / mib:.1f} MiB zipped "
            f"(budget {bundle.ZIP_BUDGET_BYTES // mib}), "
            f"{self.unzipped_bytes / mib:.1f} MiB unzipped "
            f"(budget {bundle.UNZIPPED_BUDGET_BYTES // mib})\n"
            f"  left to the Lambda runtime: {', '.join(self.removed) or 'nothing'}\n"
            f"  bytecode of {self.compiled} modules (CPython 3.12)\n"
            "  sam.json (functions, API), resources.yaml (tables, bucket, queues, topic), "
            "merge.json\n"
            "Deploy: docs/deploy.md"
        )


def stage_config(stage: str, function_name: str = merge.API_HANDLER) -> Config:
    """Chalice's configuration of ``function_name`` in a deployed ``stage``.

    Raises
    ------
    PackagingError
        ``stage`` is not a deployed stage of ``.chalice/config.json``.
    """
    on_disk = json.loads(CHALICE_CONFIG.read_text())
    if stage not in DEPLOYED_STAGES or stage not in on_disk["stages"]:
        raise PackagingError(f"unknown stage {stage!r}; one of {', '.join(DEPLOYED_STAGES)}")
    return Config(chalice_stage=stage, function_name=function_name, config_from_disk=on_disk)


def bundle_problems(path: Path, architecture: str) -> list[str]:
    """Why the bundle at ``path`` may not be deployed on ``architecture`` (empty: it may)."""
    problems = []
    zipped, unzipped = bundle.sizes(path)
    if zipped > bundle.ZIP_BUDGET_BYTES:
        problems.append(f"{zipped} bytes zipped, over {bundle.ZIP_BUDGET_BYTES}")
    if unzipped > bundle.UNZIPPED_BUDGET_BYTES:
        problems.append(f"{unzipped} bytes unzipped, over {bundle.UNZIPPED_BUDGET_BYTES}")
    with zipfile.ZipFile(path) as archive:
        installed = bundle.distributions(archive)
        machines = bundle.shared_objects(archive)
    problems += [f"{name} must not be bundled" for name in bundle.BANNED if name in installed]
    for dist in installed.values():
        if not any(bundle.tag_runs_on_lambda(tag, architecture) for tag in dist.tags):
            problems.append(f"{dist.name} {dist.version} is built for {dist.tags}")
    expected = bundle.ELF_MACHINE[architecture]
    problems += [
        f"{so} is not built for {architecture}" for so, m in machines.items() if m != expected
    ]
    return problems


def package(stage: str, out: Path) -> PackageSummary:
    """Package ``stage`` into ``out``.

    Raises
    ------
    PackagingError
        Unknown stage, functions and ``infra/policies.yaml`` disagree, the merge missed
        Chalice's resources, or the bundle breaks its budgets or platform.
    bundle.BytecodeError
        This interpreter is not CPython 3.12.
    subprocess.CalledProcessError
        ``chalice package`` failed (its output is on the terminal).
    """
    config = stage_config(stage)
    os.environ[settings.ENV_SCORING_QUEUE] = templates.scoring_queue_name(stage)
    sys.path.insert(0, str(ROOT))
    functions = merge.app_functions(importlib.import_module("app").app)
    out.mkdir(parents=True, exist_ok=True)
    merge_template = out / "merge.json"
    merge_template.write_text(json.dumps(merge.render(stage, functions), indent=2) + "\n")
    env = {**os.environ}
    env.setdefault("AWS_DEFAULT_REGION", settings.DEFAULT_REGION)  # Chalice wants one
    with tempfile.TemporaryDirectory(dir=out) as work:
        built = Path(work) / "package"
        command = [str(Path(sys.executable).with_name("chalice")), "--project-dir", str(ROOT)]
        command += ["package", "--stage", stage, "--merge-template", str(merge_template)]
        with chalice_cache.held(ROOT) as discarded:
            for name in discarded:
                print(f"Discarded a cached dependency zip that does not open: {name}")
            subprocess.run([*command, str(built)], env=env, check=True)  # noqa: S603
        merge.check_merged(json.loads((built / "sam.json").read_text()), functions)
        removed = bundle.strip_runtime_provided(built / "deployment.zip")
        compiled = bundle.compile_bytecode(built / "deployment.zip")
        if problems := bundle_problems(built / "deployment.zip", config.lambda_architecture):
            raise PackagingError("the bundle cannot be deployed: " + "; ".join(problems))
        for name in ("deployment.zip", "sam.json"):
            os.replace(built / name, out / name)
    shutil.copyfile(templates.RESOURCES_TEMPLATE, out / "resources.yaml")
    zipped, unzipped = bundle.sizes(out / "deployment.zip")
    return PackageSummary(
        stage, config.lambda_architecture, out, zipped, unzipped, removed, compiled
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fraudctl.deploy.package", description=__doc__)
    parser.add_argument("--stage", default="dev", choices=DEPLOYED_STAGES)
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        print(package(args.stage, args.out).describe())
    except (PackagingError, bundle.BytecodeError) as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"make package: chalice package failed (exit {exc.returncode})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
