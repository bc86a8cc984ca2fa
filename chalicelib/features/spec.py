"""What the velocity features are: entities, their windows, and the feature list.

One definition serves online scoring (DynamoDB state) and offline computation (a file):
both read ``FeatureConfig`` and ``FEATURES``; ``tests/`` prove they agree.

Window semantics (the Fraud Detection Handbook's): for a transaction at event time ``t``
(whole seconds) an entity window of ``w`` days with lag ``l`` days covers the entity's
transactions with ``t - (l + w) days < ts <= t - l days``; with ``l = 0`` the current
transaction is included. Ties within one second count in processing order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SECONDS_PER_DAY = 86_400

StoreKind = Literal["ledger", "counters"]


@dataclass(frozen=True)
class EntitySpec:
    """An entity whose history feeds features.

    Attributes
    ----------
    name:
        Entity name used in feature names and state keys (``customer``).
    key_field:
        Transaction field identifying the entity (``customer_id``).
    kind:
        ``ledger``: every event kept (exact windows, distinct counts; for entities with a
        modest rate such as customers, cards, devices). ``counters``: exact per-second
        counters in a day/hour/minute hierarchy (for busy entities such as terminals).
    windows_days:
        Window lengths in days.
    lag_days:
        Windows end this many days before the transaction (labels arrive late).
    attributes:
        Ledger only: transaction fields kept per event (for distinct counts).
    """

    name: str
    key_field: str
    kind: StoreKind
    windows_days: tuple[int, ...]
    lag_days: int = 0
    attributes: tuple[str, ...] = ()

    @property
    def retention_seconds(self) -> int:
        """How far back state must reach: the longest window plus the lag, plus one day."""
        return (max(self.windows_days) + self.lag_days + 1) * SECONDS_PER_DAY


@dataclass(frozen=True)
class FeatureConfig:
    """The entities of a deployment and the state limits protecting DynamoDB.

    Attributes
    ----------
    entities:
        Entities in feature order.
    max_ledger_events:
        Cap on events kept per ledger entity (oldest dropped first); bounds item size.
    hot_shards:
        Number of write shards a counters entity spreads over once it is hot.
    hot_minute_count:
        A counters entity is hot when its first shard saw this many events in the
        current minute (per-partition write limit protection).
    """

    entities: tuple[EntitySpec, ...]
    max_ledger_events: int = 2_000
    hot_shards: int = 8
    hot_minute_count: int = 1_200

    def entity(self, name: str) -> EntitySpec:
        """The entity called ``name`` (``KeyError`` when unknown)."""
        for spec in self.entities:
            if spec.name == name:
                return spec
        raise KeyError(name)


CUSTOMER = EntitySpec(
    name="customer",
    key_field="customer_id",
    kind="ledger",
    windows_days=(1, 7, 30),
    attributes=("terminal_id", "country", "device_id"),
)
TERMINAL = EntitySpec(
    name="terminal", key_field="terminal_id", kind="counters", windows_days=(1, 7, 30), lag_days=7
)

DEFAULT_CONFIG = FeatureConfig(entities=(CUSTOMER, TERMINAL))


@dataclass(frozen=True)
class WindowRef:
    """A window of one entity: ``(t - (lag + days), t - lag]`` in days."""

    entity: str
    days: int
    lag_days: int

    @property
    def suffix(self) -> str:
        return f"{self.days}d"


@dataclass(frozen=True)
class FeatureDef:
    """One model input.

    ``statistic`` names how the value comes from a window (see ``features.compute``):
    ``count``, ``mean_amount``, ``fraud_rate``, ``distinct:<attribute>``; or, for
    transaction-level features (``window is None``), ``amount``, ``is_weekend``, ``is_night``.
    """

    name: str
    statistic: str
    window: WindowRef | None = None
    description: str = field(default="", compare=False)


def _window_features(config: FeatureConfig) -> list[FeatureDef]:
    defs: list[FeatureDef] = []
    for spec in config.entities:
        if spec.kind == "ledger":
            statistics = (("nb_tx", "count"), ("avg_amount", "mean_amount"))
        else:
            statistics = (("nb_tx", "count"), ("risk", "fraud_rate"))
        for prefix, statistic in statistics:
            for days in spec.windows_days:
                window = WindowRef(spec.name, days, spec.lag_days)
                defs.append(
                    FeatureDef(
                        name=f"{spec.name}_{prefix}_{window.suffix}",
                        statistic=statistic,
                        window=window,
                    )
                )
    return defs


def feature_definitions(config: FeatureConfig = DEFAULT_CONFIG) -> tuple[FeatureDef, ...]:
    """Every feature of ``config`` in a stable order (transaction-level first)."""
    base = [
        FeatureDef("amount", "amount"),
        FeatureDef("is_weekend", "is_weekend"),
        FeatureDef("is_night", "is_night"),
    ]
    return tuple(base + _window_features(config))


HANDBOOK_FEATURES: tuple[str, ...] = (
    "amount",
    "is_weekend",
    "is_night",
    "customer_nb_tx_1d",
    "customer_nb_tx_7d",
    "customer_nb_tx_30d",
    "customer_avg_amount_1d",
    "customer_avg_amount_7d",
    "customer_avg_amount_30d",
    "terminal_nb_tx_1d",
    "terminal_nb_tx_7d",
    "terminal_nb_tx_30d",
    "terminal_risk_1d",
    "terminal_risk_7d",
    "terminal_risk_30d",
)
