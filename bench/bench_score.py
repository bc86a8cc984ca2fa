"""Item 7 (second half): ``fraudctl score`` on the Handbook data, transactions per second.

Run from the repository root: ``python -m bench.bench_score [--data F] [--end D]``.

Times what ``fraudctl score --model model_artifacts/default --data <Handbook> --from
2018-04-01 --to <end>`` does once the file is read: the replay of every row dated before
``end``, in time order, through the scoring service on the in-memory store (batches of
``MEMORY_BATCH``; labels fed back after 7 days). The baseline replays the same rows one
transaction per call, as ``fraudctl replay`` sends them to the API. The file's reading
is timed apart (it does not depend on ``end``).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.bench_features import handbook_path
from bench.records import Figure, command_line, figure
from bench.service import DEFAULT_MODEL, quiet_service
from fraudctl.data import read_transactions
from fraudctl.offline.replay import ServiceTarget, memory_service, replay

FIRST_DAY = "2018-04-01"


class SingleTarget(ServiceTarget):
    """The service scored one transaction per call (the baseline)."""

    batch_size = 1


def measure(data: Path | str = "", end: str = "2018-04-02") -> list[Figure]:
    """Item 7's replay figures on the rows before ``end`` (``data``: the Handbook file)."""
    started = time.perf_counter()
    frame = read_transactions(Path(data) if data else handbook_path())
    read_seconds = time.perf_counter() - started
    throughputs = []
    with quiet_service():
        for target in (ServiceTarget, SingleTarget):
            begun = time.perf_counter()
            result = replay(frame, target(memory_service(DEFAULT_MODEL)), FIRST_DAY, end)
            throughputs.append(result.rows / (time.perf_counter() - begun))
    return [
        figure("handbook_score_replay", throughputs[0], "tx/s", throughputs[1], better="higher"),
        figure("handbook_read_file", len(frame) / read_seconds, "tx/s", None, better="higher"),
    ]


def main() -> None:
    command_line(__doc__, measure, data="", end="2018-04-02")


if __name__ == "__main__":
    main()
