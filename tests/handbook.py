"""Where the Fraud Detection Handbook's benchmark files are (read in place, never copied):
the folder ``bench.bench_handbook.handbook_file`` finds (``FRAUD_HANDBOOK_DIR``, else
``shared/data/handbook`` beside the repository, else ``/work/shared/data/handbook``).
"""

from __future__ import annotations

from pathlib import Path

from bench.bench_handbook import TRANSACTIONS, handbook_file

ORACLE = "features_2018-07-25_2018-08-14.csv.gz"
__all__ = ["ORACLE", "TRANSACTIONS", "handbook_dir"]


def handbook_dir() -> Path:
    """The Handbook data folder (``FileNotFoundError`` naming every place looked at)."""
    return handbook_file().parent
