"""``make bench``: every benchmark, ``bench/results.json`` and ``bench/RESULTS.md``.

Run from the repository root::

    .venv/bin/python -m bench.run [--only NAMES] [--smoke] [--out DIR]

Runs the benchmarks in ``SECTIONS`` one after the other (the machine's cores are shared:
nothing runs beside them), each returning its figures (``bench.records``) with baselines
measured in the same run. Writes ``results.json`` (the list of figures, each with its
``section``) and regenerates the block of ``RESULTS.md`` between ``BEGIN`` and ``END``;
everything outside that block is hand-written and kept as it is (without the markers,
the block goes right after the title).

Exit status: 0 when every floor holds; 1 when a floor fails (the failures are listed on
the last lines and in ``RESULTS.md``); 2 when a benchmark could not run (its error is
recorded in its section; the others still run). ``--smoke`` runs tiny sizes (the test
suite's check of the runner; its figures mean nothing); ``--only`` takes section names.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from bench import (
    bench_bulk,
    bench_bundle,
    bench_calls,
    bench_cold,
    bench_features,
    bench_load,
    bench_path,
    bench_rules,
    bench_ruleset,
    bench_score,
)
from bench.bench_handbook import QUALITY_FLOOR, record_name
from bench.records import Figure, Floor
from bench.service import ROOT
from fraudctl.training.presets import RECOMMENDED

BENCH = ROOT / "bench"
BEGIN = "<!-- bench.run: generated from here -->"
END = "<!-- bench.run: generated up to here -->"
COMMAND = "make bench  # .venv/bin/python -m bench.run"
HANDBOOK_TIMEOUT_SECONDS = 400


@dataclass(frozen=True)
class Section:
    """One benchmark: ``run(smoke)`` returns its figures."""

    name: str
    title: str
    method: str
    run: Callable[[bool], list[Figure]]


QUALITY_FLOORS = {  # issue 4's floor, on the chapter-3 split, for the recommended preset
    record_name("ch3", RECOMMENDED, metric): Floor(limit, better="higher")
    for metric, limit in QUALITY_FLOOR.items()
}


def handbook(smoke: bool) -> list[Figure]:
    """``bench/bench_handbook.py --json`` in a subprocess: its last line's records, the
    recommended preset's chapter-3 figures held to the quality floor."""
    command = [sys.executable, "-m", "bench.bench_handbook", "--json", "--jobs", "2"]
    if smoke:
        command += ["--models", "logistic", "--presets", "", "--folds", "1"]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANDBOOK_TIMEOUT_SECONDS,
        check=True,
    )
    records: list[Figure] = json.loads(done.stdout.strip().splitlines()[-1])
    return [_held_to(record, QUALITY_FLOORS.get(record["name"])) for record in records]


def _held_to(record: Figure, floor: Floor | None) -> Figure:
    if floor is None:
        return {**record, "better": "higher", "floor": None, "on": None, "passed": None}
    return {
        **record,
        "better": floor.better,
        "floor": floor.limit,
        "on": floor.on,
        "passed": floor.passes(record["value"]),
    }


SECTIONS = (
    Section(
        "path",
        "1. One transaction through the scoring path; the model alone",
        bench_path.__doc__ or "",
        lambda smoke: bench_path.measure(calls=30, customers=10) if smoke else bench_path.measure(),
    ),
    Section(
        "bulk",
        "2. Bulk: the SQS handler path, vectorised against row by row",
        bench_bulk.__doc__ or "",
        lambda smoke: (
            bench_bulk.measure(40, customers=10, batch_sizes=(10, 40))
            if smoke
            else bench_bulk.measure()
        ),
    ),
    Section(
        "cold",
        "3. Cold start: a fresh interpreter to its first answer",
        bench_cold.__doc__ or "",
        lambda smoke: bench_cold.measure(runs=1) if smoke else bench_cold.measure(),
    ),
    Section(
        "bundle",
        "4. Deployment bundle",
        bench_bundle.__doc__ or "",
        lambda smoke: bench_bundle.measure(),
    ),
    Section(
        "calls",
        "5. AWS calls per transaction",
        bench_calls.__doc__ or "",
        lambda smoke: bench_calls.measure(10) if smoke else bench_calls.measure(),
    ),
    Section(
        "load",
        "6. The local stack under load",
        bench_load.__doc__ or "",
        lambda smoke: bench_load.measure(5, 3) if smoke else bench_load.measure(),
    ),
    Section(
        "features",
        "7. Offline features on the Handbook data",
        bench_features.__doc__ or "",
        lambda smoke: bench_features.figures(baseline_rows=20_000, online_rows=5_000),
    ),
    Section(
        "score",
        "7. `fraudctl score` on the Handbook data",
        bench_score.__doc__ or "",
        lambda smoke: bench_score.measure(end="2018-04-02"),
    ),
    Section(
        "rules",
        "Rules: 100 rules against one transaction",
        bench_rules.__doc__ or "",
        lambda smoke: bench_rules.records(bench_rules.measure(200 if smoke else 5000, 7)),
    ),
    Section(
        "ruleset",
        "Rules on the scoring path: the compiled rule set",
        bench_ruleset.__doc__ or "",
        lambda smoke: bench_ruleset.records(bench_ruleset.measure(200 if smoke else 5000, 11)),
    ),
    Section(
        "handbook",
        "Model quality on the Handbook data (bench/bench_handbook.py --json)",
        "Figures of `bench/bench_handbook.py --json` (its defaults); the baseline is the "
        "Handbook's published random forest (chapter 3) or tuned figure (chapter 5, AP). "
        "The explanation of these figures is the hand-written section below.",
        handbook,
    ),
)


def machine() -> dict[str, Any]:
    """The facts the figures depend on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dataclass
class Outcome:
    """What one section produced."""

    section: Section
    figures: list[Figure]
    seconds: float
    error: str | None = None


def run_section(section: Section, smoke: bool) -> Outcome:
    """Run ``section``; an exception becomes the outcome's ``error``."""
    print(f"== {section.name}: {section.title}", flush=True)
    started = time.perf_counter()
    try:
        figures = [{**f, "section": section.name} for f in section.run(smoke)]
    except Exception:
        error = traceback.format_exc()
        print(error, file=sys.stderr, flush=True)
        return Outcome(section, [], time.perf_counter() - started, error.strip().splitlines()[-1])
    seconds = time.perf_counter() - started
    for f in figures:
        print(f"   {f['name']}: {f['value']} {f['unit']} (baseline {f['baseline']})", flush=True)
    print(f"   {seconds:.0f} s", flush=True)
    return Outcome(section, figures, seconds)


def cell(value: Any) -> str:
    """A number as the tables show it (``-`` for none)."""
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def floor_cell(f: Figure) -> str:
    if f["floor"] is None:
        return "-"
    return f"{f['on']} {'<=' if f['better'] == 'lower' else '>='} {cell(f['floor'])}"


def verdict(f: Figure) -> str:
    return "-" if f["passed"] is None else ("pass" if f["passed"] else "**FAIL**")


def method_text(doc: str) -> str:
    """A module docstring without its title paragraph, in Markdown's code spans."""
    body = doc.strip().partition("\n\n")[2]
    return body.replace("``", "`").replace("::\n", ":\n").strip()


def render(outcomes: list[Outcome], facts: dict[str, Any], seconds: float) -> str:
    """The generated block of ``RESULTS.md``."""
    failures = [f for o in outcomes for f in o.figures if f["passed"] is False]
    errors = [o for o in outcomes if o.error]
    lines = [
        BEGIN,
        "",
        "## Latest run",
        "",
        f"Command: `{COMMAND}` ({seconds / 60:.1f} min). Figures in `bench/results.json`.",
        "",
        f"Machine: {facts['cpu']}, {facts['cores']} cores (shared and noisy: load average "
        f"{facts['load_average_1min']} at the start), {facts['platform']}; Python "
        f"{facts['python']}, numpy {facts['numpy']}, scikit-learn {facts['scikit-learn']}; "
        f"commit {facts['commit']}; {facts['date']}.",
        "",
        "Each figure sits beside a baseline measured in the same run (the same quantity "
        "measured the other way); ratio = value / baseline. Compare ratios and figures of one "
        "run: absolute times move with the machine's load.",
        "",
        (
            "Floors: all hold."
            if not failures
            else f"Floors failing ({len(failures)}): "
            + "; ".join(
                f"`{f['name']}` {cell(f['value'])} {f['unit']} ({floor_cell(f)})" for f in failures
            )
            + "."
        ),
        "",
    ]
    if errors:
        lines += [
            "Did not run: " + "; ".join(f"{o.section.name} ({o.error})" for o in errors),
            "",
        ]
    for outcome in outcomes:
        section = outcome.section
        lines += [f"### {section.title}", "", method_text(section.method), ""]
        if outcome.error:
            lines += [f"Not measured in this run: `{outcome.error}`.", ""]
            continue
        lines += [
            f"{outcome.seconds:.0f} s.",
            "",
            "| figure | value | unit | baseline | ratio | floor | result |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| `{f['name']}` | {cell(f['value'])} | {f['unit']} | {cell(f['baseline'])} "
            f"| {cell(f['ratio'])} | {floor_cell(f)} | {verdict(f)} |"
            for f in outcome.figures
        ]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def merge(existing: str, block: str) -> str:
    """``existing`` with its generated block replaced by ``block`` (the hand-written text
    around it kept); without one, ``block`` goes after the first paragraph (the title)."""
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    if not existing.strip():
        return f"# Benchmark results\n\n{block}\n"
    title, _, rest = existing.partition("\n\n")
    return f"{title}\n\n{block}\n\n{rest}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--only", help="comma-separated sections: " + ",".join(s.name for s in SECTIONS)
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--out", type=Path, default=BENCH, help="where the results go")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else [s.name for s in SECTIONS]
    unknown = set(chosen) - {s.name for s in SECTIONS}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    facts = machine()
    started = time.perf_counter()
    outcomes = [run_section(s, args.smoke) for s in SECTIONS if s.name in chosen]
    seconds = time.perf_counter() - started
    figures = [f for o in outcomes for f in o.figures]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(figures, indent=1) + "\n")
    results_md = args.out / "RESULTS.md"
    existing = results_md.read_text() if results_md.is_file() else ""
    results_md.write_text(merge(existing, render(outcomes, facts, seconds)))
    failures = [f for f in figures if f["passed"] is False]
    print(
        f"\n{len(figures)} figures in {seconds / 60:.1f} min -> {args.out}/results.json, "
        f"{args.out}/RESULTS.md"
    )
    for f in failures:
        print(f"FLOOR FAILS: {f['name']} = {f['value']} {f['unit']} ({floor_cell(f)})")
    if any(o.error for o in outcomes):
        print("NOT RUN: " + ", ".join(o.section.name for o in outcomes if o.error))
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
