"""Offline features equal the Fraud Detection Handbook's own features (its oracle file)."""

from __future__ import annotations

import numpy as np
import pyarrow.csv as pacsv

from chalicelib.features.spec import HANDBOOK_FEATURES, feature_definitions
from fraudctl.data import read_transactions
from fraudctl.offline.features import compute_features
from tests.handbook import ORACLE, TRANSACTIONS, handbook_dir

ORACLE_COLUMNS = {
    "amount": "TX_AMOUNT",
    "is_weekend": "TX_DURING_WEEKEND",
    "is_night": "TX_DURING_NIGHT",
    **{
        f"customer_{ours}_{days}d": f"CUSTOMER_ID_{theirs}_{days}DAY_WINDOW"
        for ours, theirs in (("nb_tx", "NB_TX"), ("avg_amount", "AVG_AMOUNT"))
        for days in (1, 7, 30)
    },
    **{
        f"terminal_{ours}_{days}d": f"TERMINAL_ID_{theirs}_{days}DAY_WINDOW"
        for ours, theirs in (("nb_tx", "NB_TX"), ("risk", "RISK"))
        for days in (1, 7, 30)
    },
}
RTOL = 1e-9
ATOL = 1e-12


def test_offline_features_equal_the_handbook_oracle_on_every_transaction_of_21_days():
    """Every one of the 201,295 oracle rows, all 15 features, history from the full file.

    The oracle stores about 10 significant digits (``30.14180952``), so values are
    compared with a relative tolerance of 1e-9 (counts and flags must match exactly,
    which a relative tolerance of 1e-9 implies for integers below 1e9). Where the true
    value is 0 the oracle may hold a residue of its rolling sums (``8.881784197e-15`` as
    the mean of a single zero amount, two rows): an absolute 1e-12 absorbs those.
    """
    folder = handbook_dir()
    frame = read_transactions(folder / TRANSACTIONS)
    wanted = [d for d in feature_definitions() if d.name in HANDBOOK_FEATURES]
    ours = compute_features(frame, definitions=wanted)
    oracle = pacsv.read_csv(
        folder / ORACLE,
        convert_options=pacsv.ConvertOptions(column_types={"TRANSACTION_ID": "string"}),
    ).to_pandas()

    assert sorted(ORACLE_COLUMNS) == sorted(HANDBOOK_FEATURES)
    assert len(oracle) == 201_295
    ours = ours.set_index("transaction_id").loc[oracle["TRANSACTION_ID"]]
    for name, column in ORACLE_COLUMNS.items():
        got = ours[name].to_numpy(np.float64)
        expected = oracle[column].to_numpy(np.float64)
        mismatched = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
        assert not mismatched.any(), (
            name,
            int(mismatched.sum()),
            oracle["TRANSACTION_ID"][mismatched].head(3).tolist(),
        )
