"""Where the Fraud Detection Handbook's benchmark files are (read in place, never copied).

``FRAUD_HANDBOOK_DIR`` names the folder; by default ``<repo>/../shared/data/handbook``,
and ``/work/shared/data/handbook`` when the repository is a worktree elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FALLBACK = Path("/work/shared/data/handbook")
TRANSACTIONS = "transactions.csv.gz"
ORACLE = "features_2018-07-25_2018-08-14.csv.gz"


def handbook_dir() -> Path:
    """The Handbook data folder (``FileNotFoundError`` naming every place looked at)."""
    candidates = [ROOT.parent / "shared" / "data" / "handbook", FALLBACK]
    if os.environ.get("FRAUD_HANDBOOK_DIR"):
        candidates.insert(0, Path(os.environ["FRAUD_HANDBOOK_DIR"]))
    for candidate in candidates:
        if (candidate / TRANSACTIONS).is_file():
            return candidate
    raise FileNotFoundError(f"no Handbook data ({TRANSACTIONS}) in any of {candidates}")
