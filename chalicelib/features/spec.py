"""What the velocity features are: entities, their windows, and the feature list.

One definition serves online scoring (DynamoDB state) and offline computation (a file):
both read ``FeatureConfig`` and ``feature_definitions``; ``tests/`` prove they agree.

Window semantics (the Fraud Detection Handbook's): for a transaction at event time ``t``
(whole seconds) a window of ``w`` seconds with lag ``l`` covers the entity's transactions
with ``t - (l + w) < ts <= t - l``; with ``l = 0`` the current transaction is included.
Ties within one second count in processing order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600
SECONDS_PER_MINUTE = 60

SMALL_AMOUNT = 5.0
"""Card-testing probes: amounts at or below this (in the transaction's currency)."""
BURST_SECONDS = 600
"""Card-testing bursts: small amounts counted over the last 10 minutes."""

StoreKind = Literal["ledger", "counters"]

# Plural nouns of the attributes whose distinct values are counted (feature names).
ATTRIBUTE_NOUNS = {
    "terminal_id": "terminals",
    "merchant_id": "merchants",
    "card_id": "cards",
    "device_id": "devices",
    "country": "countries",
    "ip_address": "ip_addresses",
    "customer_id": "customers",
}


def duration_suffix(seconds: int) -> str:
    """Short name of a window length: ``1d``, ``6h``, ``10m``, ``45s``.

    >>> duration_suffix(86_400), duration_suffix(600), duration_suffix(7_200)
    ('1d', '10m', '2h')
    """
    for unit, size in (("d", SECONDS_PER_DAY), ("h", SECONDS_PER_HOUR), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
        Windows (days) of the transaction count and of the mean amount (ledger) or fraud
        rate (counters).
    lag_days:
        Those windows end this many days before the transaction (labels arrive late).
    attributes:
        Ledger only: transaction fields kept per event (for distinct counts).
    distinct_windows_days:
        Ledger only: windows (days) over which the distinct values of each attribute are
        counted (``customer_nb_terminals_7d``).
    profile_days:
        Ledger only: window (days, ending at the transaction whatever the lag) of the
        amount profile (ratio and z-score of the amount against the previous
        transactions) and of the time since the previous transaction; ``None`` for none.
    burst_seconds:
        Ledger only: window (seconds, ending at the transaction) counting amounts at or
        below ``small_amount`` (card testing); ``None`` for none.
    small_amount:
        Threshold of a small amount (inclusive).
    """

    name: str
    key_field: str
    kind: StoreKind
    windows_days: tuple[int, ...]
    lag_days: int = 0
    attributes: tuple[str, ...] = ()
    distinct_windows_days: tuple[int, ...] = ()
    profile_days: int | None = None
    burst_seconds: int | None = None
    small_amount: float = SMALL_AMOUNT

    def __post_init__(self) -> None:
        ledger_only = (
            self.attributes,
            self.distinct_windows_days,
            self.profile_days,
            self.burst_seconds,
        )
        if self.kind == "counters" and any(ledger_only):
            raise ValueError(f"{self.name}: counters entities have count and risk windows only")
        if self.distinct_windows_days and not self.attributes:
            raise ValueError(f"{self.name}: distinct windows need attributes")

    @property
    def lag_seconds(self) -> int:
        return self.lag_days * SECONDS_PER_DAY

    @property
    def longest_window_seconds(self) -> int:
        """The longest window of any feature of this entity (seconds, lag excluded)."""
        days = [*self.windows_days, *self.distinct_windows_days, self.profile_days or 0]
        return max(max(days) * SECONDS_PER_DAY, self.burst_seconds or 0)

    @property
    def retention_seconds(self) -> int:
        """How far back state must reach: the longest window plus the lag, plus one day.

        The extra day keeps windows exact for transactions arriving up to a day late.
        """
        return self.longest_window_seconds + self.lag_seconds + SECONDS_PER_DAY


class FeatureConfig(NamedTuple):
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
        A counters entity is hot when its first shard saw this many events (times the
        shards in use) in the current minute...
    hot_second_count:
        ...or this many in the current second (a sudden burst). Below both, one shard
        takes every write.
    """

    entities: tuple[EntitySpec, ...]
    max_ledger_events: int = 2_000
    hot_shards: int = 8
    hot_minute_count: int = 1_200
    hot_second_count: int = 40

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
    distinct_windows_days=(1, 7),
    profile_days=30,
    burst_seconds=BURST_SECONDS,
)
TERMINAL = EntitySpec(
    name="terminal", key_field="terminal_id", kind="counters", windows_days=(1, 7, 30), lag_days=7
)
CARD = EntitySpec(
    name="card",
    key_field="card_id",
    kind="ledger",
    windows_days=(1,),
    attributes=("terminal_id",),
    distinct_windows_days=(1,),
    burst_seconds=BURST_SECONDS,
)
"""A card ledger (not in the default configuration: in this data a card belongs to one
customer, whose ledger already sees its bursts); add it where cards are shared."""

DEFAULT_CONFIG = FeatureConfig(entities=(CUSTOMER, TERMINAL))


class WindowRef(NamedTuple):
    """A window of one entity: ``(t - (lag + seconds), t - lag]``."""

    entity: str
    seconds: int
    lag_seconds: int = 0

    @property
    def suffix(self) -> str:
        return duration_suffix(self.seconds)

    def bounds(self, event_time: int) -> tuple[int, int]:
        """``(lo, hi)``: the window holds event times ``lo < ts <= hi``."""
        hi = event_time - self.lag_seconds
        return hi - self.seconds, hi


@dataclass(frozen=True)
class FeatureDef:
    """One model input.

    ``statistic`` names how the value comes from the window's events (a class of
    ``features.statistics``): ``count``, ``mean_amount``, ``fraud_rate``, ``distinct``,
    ``amount_ratio``, ``amount_zscore``, ``since_previous``, ``small_count``; or, for
    transaction-level features (``window is None``), ``amount``, ``is_weekend``,
    ``is_night``. ``argument`` parameterises it (the attribute of ``distinct``, the
    threshold of ``small_count``).
    """

    name: str
    statistic: str
    window: WindowRef | None = None
    argument: str | float | None = None
    description: str = field(default="", compare=False)


def _day_window(spec: EntitySpec, days: int) -> WindowRef:
    return WindowRef(spec.name, days * SECONDS_PER_DAY, spec.lag_seconds)


def _window_features(spec: EntitySpec) -> list[FeatureDef]:
    """The count and mean-amount / fraud-rate windows (the Handbook's features)."""
    second = ("avg_amount", "mean_amount") if spec.kind == "ledger" else ("risk", "fraud_rate")
    defs = []
    for prefix, statistic in (("nb_tx", "count"), second):
        for days in spec.windows_days:
            window = _day_window(spec, days)
            defs.append(FeatureDef(f"{spec.name}_{prefix}_{window.suffix}", statistic, window))
    return defs


def _ledger_features(spec: EntitySpec) -> list[FeatureDef]:
    """Distinct counts, amount profile, time since previous, card-testing bursts."""
    defs = []
    for attribute in spec.attributes if spec.distinct_windows_days else ():
        noun = ATTRIBUTE_NOUNS.get(attribute, f"{attribute}s")
        for days in spec.distinct_windows_days:
            window = _day_window(spec, days)
            name = f"{spec.name}_nb_{noun}_{window.suffix}"
            defs.append(FeatureDef(name, "distinct", window, attribute))
    if spec.profile_days:
        window = WindowRef(spec.name, spec.profile_days * SECONDS_PER_DAY)
        for prefix, statistic in (
            ("amount_ratio", "amount_ratio"),
            ("amount_zscore", "amount_zscore"),
            ("seconds_since_prev", "since_previous"),
        ):
            defs.append(FeatureDef(f"{spec.name}_{prefix}_{window.suffix}", statistic, window))
    if spec.burst_seconds:
        window = WindowRef(spec.name, spec.burst_seconds)
        name = f"{spec.name}_nb_small_tx_{window.suffix}"
        defs.append(FeatureDef(name, "small_count", window, spec.small_amount))
    return defs


def feature_definitions(config: FeatureConfig = DEFAULT_CONFIG) -> tuple[FeatureDef, ...]:
    """Every feature of ``config`` in a stable order.

    Transaction-level features first, then per entity its count and mean / risk windows
    (the Handbook's 15 for the default entities, in the Handbook's order), then the
    other features of every entity.
    """
    defs = [
        FeatureDef("amount", "amount"),
        FeatureDef("is_weekend", "is_weekend"),
        FeatureDef("is_night", "is_night"),
    ]
    for spec in config.entities:
        defs += _window_features(spec)
    for spec in config.entities:
        defs += _ledger_features(spec)
    return tuple(defs)


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
