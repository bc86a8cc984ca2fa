"""``make run``: the whole service on this machine, against a local AWS (moto).

Starts, in order: a moto server; the stage's resources from ``infra/resources.yaml``;
the default model published and activated; a queue subscribed to the alerts topic (for
``fraudctl alerts --follow``); ``chalice local`` serving the API; the SQS worker. Writes
``.local/stack.json`` and prints where everything is. Ctrl-C (or SIGTERM) stops every
process it started; if one of them dies, the stack stops. The default rules
(``rules/default.json``) are loaded right after the model.

Ports and the state directory can be moved with ``FRAUD_LOCAL_MOTO_PORT``,
``FRAUD_LOCAL_API_PORT`` and ``FRAUD_LOCAL_DIR`` (the end-to-end test does).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from chalicelib.model.artifact import MANIFEST, MODEL_FILE
from chalicelib.model.registry import ModelRegistry
from chalicelib.settings import ENV_ID_HASH_KEY
from fraudctl.local.provision import StackResources, provision
from fraudctl.rulefiles import DEFAULT_PACK, load_pack
from fraudctl.stackinfo import LOCAL_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "model_artifacts" / "default"
HOST = "127.0.0.1"
STAGE = "local"
REGION = "eu-west-1"
FAKE_CREDENTIALS = {name.upper(): value for name, value in LOCAL_CREDENTIALS.items()}
START_TIMEOUT_SECONDS = 60
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """The local stack cannot start."""


@dataclass
class LocalConfig:
    """Where the local stack listens and keeps its files."""

    moto_port: int = 5000
    api_port: int = 8000
    state_dir: Path = ROOT / ".local"

    @classmethod
    def from_environ(cls) -> LocalConfig:
        return cls(
            moto_port=int(os.environ.get("FRAUD_LOCAL_MOTO_PORT", "5000")),
            api_port=int(os.environ.get("FRAUD_LOCAL_API_PORT", "8000")),
            state_dir=Path(os.environ.get("FRAUD_LOCAL_DIR", ROOT / ".local")),
        )

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.json"


def _die_with_parent() -> None:
    """Child processes receive SIGTERM if the stack process dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Processes:
    """The child processes of the stack, stopped together."""

    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        handle = log.open("ab")
        # Commands are built from this module's constants, never from user input.
        self.children[name] = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def dead(self) -> str | None:
        for name, process in self.children.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for process in reversed(self.children.values()):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _wait_http(url: str, processes: Processes, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if processes.children[name].poll() is not None:
            raise StackError(f"{name} exited during start-up; see its log in .local/")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise StackError(f"{name} did not answer at {url} within {START_TIMEOUT_SECONDS}s")


def _alerts_watch_queue(session: Any, endpoint: str, topic_arn: str) -> str:
    sqs = session.client("sqs", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName=f"fraud-{STAGE}-alerts-watch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    session.client("sns", endpoint_url=endpoint).subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return url


def _publish_default_model(session: Any, endpoint: str, resources: StackResources) -> str:
    if not (DEFAULT_MODEL / MANIFEST).is_file():
        raise StackError(f"no default model in {DEFAULT_MODEL}; see README (training)")
    registry = ModelRegistry(
        session.client("s3", endpoint_url=endpoint), resources.bucket, f"models/{STAGE}"
    )
    files = {name: (DEFAULT_MODEL / name).read_bytes() for name in (MANIFEST, MODEL_FILE)}
    version = registry.publish(files)
    registry.activate(version)
    return version


def stack_description(
    config: LocalConfig, resources: StackResources, extra: dict[str, Any]
) -> dict[str, Any]:
    """The content of ``.local/stack.json`` (contract fields first)."""
    return {
        "region": resources.region,
        "endpoint_url": config.endpoint_url,
        "api_url": config.api_url,
        "scoring_queue_url": resources.scoring_queue_url,
        "dead_letter_queue_url": resources.dead_letter_queue_url,
        "alerts_topic_arn": resources.alerts_topic_arn,
        "bucket": resources.bucket,
        "tables": resources.tables,
        "stage": STAGE,
        **extra,
    }


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a stack started in the background inherits SIGINT as ignored.
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(config: LocalConfig) -> int:
    """Start the stack and block until interrupted; returns the exit code."""
    for port in (config.moto_port, config.api_port):
        if not _port_free(port):
            raise StackError(f"port {port} on {HOST} is in use (another `make run`?)")
    config.state_dir.mkdir(parents=True, exist_ok=True)
    config.stack_file.unlink(missing_ok=True)
    processes = Processes()
    base_env = {**os.environ, **FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}
    with _signals_as_interrupt():
        try:
            processes.start(
                "moto",
                [
                    sys.executable,
                    "-m",
                    "fraudctl.local.motoserver",
                    "-H",
                    HOST,
                    "-p",
                    str(config.moto_port),
                ],
                base_env,
                config.state_dir / "moto.log",
            )
            _wait_http(f"{config.endpoint_url}/moto-api/", processes, "moto")
            session = boto3.session.Session(region_name=REGION, **LOCAL_CREDENTIALS)
            resources = provision(session, STAGE, config.endpoint_url)
            version = _publish_default_model(session, config.endpoint_url, resources)
            rules_version = load_pack(
                session.client("dynamodb", endpoint_url=config.endpoint_url),
                resources.config_table,
                DEFAULT_PACK,
                author="make run (rules/default.json)",
            )
            alerts_queue = _alerts_watch_queue(
                session, config.endpoint_url, resources.alerts_topic_arn
            )
            app_env = {
                **base_env,
                **resources.environment(config.endpoint_url),
                ENV_ID_HASH_KEY: secrets.token_hex(32),
                "POWERTOOLS_SERVICE_NAME": "fraud-detection",
            }
            chalice = Path(sys.executable).with_name("chalice")
            processes.start(
                "api",
                [
                    str(chalice),
                    "local",
                    "--host",
                    HOST,
                    "--port",
                    str(config.api_port),
                    "--stage",
                    STAGE,
                    "--no-autoreload",
                ],
                app_env,
                config.state_dir / "api.log",
            )
            processes.start(
                "worker",
                [
                    sys.executable,
                    "-m",
                    "fraudctl.local.worker",
                    "--queue-url",
                    resources.scoring_queue_url,
                ],
                app_env,
                config.state_dir / "worker.log",
            )
            _wait_http(f"{config.api_url}/v1/health", processes, "api")
            description = stack_description(
                config,
                resources,
                {
                    "alerts_queue_url": alerts_queue,
                    "model_version": version,
                    "rules_version": rules_version,
                    "logs": str(config.state_dir),
                    "pids": {name: p.pid for name, p in processes.children.items()},
                },
            )
            config.stack_file.write_text(json.dumps(description, indent=2) + "\n")
            _print_banner(description)
            while (dead := processes.dead()) is None:
                time.sleep(0.5)
            print(f"\n{dead} stopped unexpectedly; stopping the stack (logs in {config.state_dir})")
            return 1
        except KeyboardInterrupt:
            print("\nstopping the local stack...")
            return 0
        finally:
            processes.stop()
            config.stack_file.unlink(missing_ok=True)


def _print_banner(stack: dict[str, Any]) -> None:
    example = json.dumps(
        {
            "transaction_id": "demo-1",
            "timestamp": "2025-03-14T12:30:00",
            "amount": 42.5,
            "customer_id": "C-1",
            "terminal_id": "T-1",
        }
    )
    print(
        f"""
Fraud detection is running locally (stage {stack["stage"]}, model {stack["model_version"]},
rules version {stack["rules_version"]} from rules/default.json).

  API            {stack["api_url"]}   (GET /v1/health, POST /v1/score, ...)
  local AWS      {stack["endpoint_url"]}   (moto; region {stack["region"]})
  scoring queue  {stack["scoring_queue_url"]}
  dead letters   {stack["dead_letter_queue_url"]}
  alerts topic   {stack["alerts_topic_arn"]}
  bucket         {stack["bucket"]}
  tables         {", ".join(f"{k}={v}" for k, v in stack["tables"].items())}
  described in   .local/stack.json; logs in {stack["logs"]}/

Try it:
  curl -s -X POST {stack["api_url"]}/v1/score -H 'Content-Type: application/json' \\
       -d '{example}'
  .venv/bin/fraudctl alerts --follow      # watch alerts as they are published

Ctrl-C stops everything.
""",
        flush=True,
    )


def main() -> int:
    try:
        return run(LocalConfig.from_environ())
    except StackError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
