"""Synthetic labelled payment transactions: the data the default model is trained on.

A richer cousin of the Fraud Detection Handbook's generator. Customers and card-present
terminals sit on a 100 x 100 grid split between three countries; customers pay mostly at
nearby terminals and at a few favourite web shops, by day more than by night and more at
the end of the week, with amounts drawn from a per-customer profile scaled by the
merchant category. Legitimate noise (travel abroad, new phones, night owls, legitimate
gambling, big purchases, new accounts) keeps every fraud pattern learnable but not
trivially separable. Seven fraud patterns are then applied, each at its own rate (see
``FraudRates``) and named in the ``fraud_scenario`` column.

Everything is drawn from ``numpy.random.Generator(PCG64(...))`` streams derived from the
seed and a fixed stream name, so the same configuration always yields the same rows, and
changing one fraud rate leaves the legitimate traffic and the other patterns unchanged.

>>> frame = simulate(SimulationConfig(customers=20, days=3, seed=7))
>>> tuple(frame.columns) == COLUMNS, bool(frame["timestamp"].is_monotonic_increasing)
(True, True)
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import KDTree

from chalicelib.transaction import ISO_4217_CODES

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

COLUMNS = (
    "transaction_id",
    "timestamp",
    "amount",
    "currency",
    "customer_id",
    "terminal_id",
    "card_id",
    "merchant_id",
    "merchant_category",
    "channel",
    "country",
    "ip_address",
    "device_id",
    "email",
    "is_fraud",
    "fraud_scenario",
)
SECONDS_PER_DAY = 86_400
MAX_CUSTOMERS = 10_000_000
MAX_DAYS = 3_660
MIN_TERMINALS = 20
MAX_SEED = 2**32 - 1  # keeps transaction ids far from 13 digits
GZIP_LEVEL = 6

# --- Geography: the grid holds three countries; the others are reached by travel or fraud.
GRID_SIZE = 100.0
BORDER_X = 85.0  # FR west of it; BE (north) and DE (south) east of it
COUNTRIES = ("FR", "BE", "DE", "ES", "IT", "PT", "NL", "GB", "CH", "US", "MA", "TR", "TH")
TRAVEL_WEIGHTS = (0.22, 0.18, 0.08, 0.10, 0.10, 0.08, 0.08, 0.06, 0.05, 0.05)  # ES .. TH

# --- Channels and merchant categories (ISO 18245).
CHANNELS = ("pos", "ecom", "atm")
POS, ECOM, ATM = range(len(CHANNELS))
ECOM_TERMINAL_SHARE = 0.20
ATM_TERMINAL_SHARE = 0.05
ABROAD_TERMINAL_SHARE = 0.04  # card-present terminals in travel countries
MERCHANT_CHAIN_SHARE = 0.35  # chance that a terminal belongs to the previous one's merchant


@dataclass(frozen=True)
class MerchantCategory:
    """A merchant category as the simulator uses it.

    ``share`` is the category's share of its channel's terminals and ``amount_factor``
    multiplies the customer's mean amount. ``visits`` weighs how often a customer pays at
    one of their terminals of this category, ``popularity`` how likely a web shop of this
    category is to be among a customer's favourites. Amounts are multiples of ``step``.
    """

    code: str
    channel: int
    share: float
    amount_factor: float
    visits: float = 1.0
    popularity: float = 1.0
    step: float = 0.01


CATEGORIES = (
    MerchantCategory("5411", POS, 0.26, 1.0, visits=3.0),  # grocery stores
    MerchantCategory("5812", POS, 0.14, 1.3, visits=1.2),  # restaurants
    MerchantCategory("5814", POS, 0.14, 0.3, visits=1.5),  # fast food
    MerchantCategory("5541", POS, 0.10, 1.1),  # service stations
    MerchantCategory("5912", POS, 0.08, 0.6),  # drug stores
    MerchantCategory("5651", POS, 0.08, 1.5, visits=0.5),  # clothing
    MerchantCategory("5732", POS, 0.04, 1.8, visits=0.3),  # electronics
    MerchantCategory("5944", POS, 0.02, 2.0, visits=0.1),  # jewellery
    MerchantCategory("5999", POS, 0.14, 0.8),  # miscellaneous retail
    MerchantCategory("5815", ECOM, 0.20, 0.3, visits=1.5),  # digital goods
    MerchantCategory("5999", ECOM, 0.18, 0.9),
    MerchantCategory("5311", ECOM, 0.14, 1.3, visits=0.7),  # department stores
    MerchantCategory("5732", ECOM, 0.12, 1.8, visits=0.3),
    MerchantCategory("4121", ECOM, 0.10, 0.5, visits=1.5),  # taxis and ride hailing
    MerchantCategory("8398", ECOM, 0.06, 0.6, visits=0.2, popularity=0.3),  # charities
    MerchantCategory("4829", ECOM, 0.06, 1.5, visits=0.5, popularity=0.2),  # money transfer
    MerchantCategory("7995", ECOM, 0.08, 0.8, popularity=0.2),  # gambling
    MerchantCategory("6051", ECOM, 0.06, 1.5, visits=0.5, popularity=0.15),  # crypto
    MerchantCategory("6011", ATM, 1.00, 1.5, step=10.0),  # cash withdrawal
)
TESTING_CATEGORIES = ("5815", "8398", "5999")  # where card testers probe cards
CASH_OUT_CATEGORIES = ("5732", "5311", "4829", "6051")  # resellable goods, transfers
HIGH_RISK_CATEGORIES = ("7995", "4829", "6051")
HIGH_VALUE_POS_CATEGORIES = ("5732", "5944", "5651")
AMOUNT_FACTOR = np.array([c.amount_factor for c in CATEGORIES])
AMOUNT_STEP = np.array([c.step for c in CATEGORIES])
VISITS = np.array([c.visits for c in CATEGORIES])
MCC = np.array([int(c.code) for c in CATEGORIES])

# --- Legitimate behaviour.
WEEKDAY_FACTOR = np.array([0.90, 0.95, 0.95, 1.00, 1.15, 1.20, 0.85])  # Monday first
DIURNAL = np.array(
    [0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.0, 2.6, 3.0, 3.6,
     4.5, 4.2, 3.2, 3.0, 3.2, 3.9, 4.4, 4.0, 3.0, 2.2, 1.4, 0.8]
)  # fmt: skip
NIGHT_OWL = np.array(
    [2.0, 1.8, 1.6, 1.4, 1.2, 1.0, 0.8, 0.8, 1.0, 1.0, 1.0, 1.2,
     1.4, 1.4, 1.4, 1.4, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.4, 2.2]
)  # fmt: skip
NEAR_POS_TERMINALS = 25  # card-present terminals a customer uses, by distance
NEAR_ATMS = 3
FAVOURITE_WEB_SHOPS = 12
FAVOURITE_DECAY = 0.8  # weight of the k-th nearest / favourite terminal: 1 / k**decay
LATE_JOINER_SHARE = 0.10  # customers whose account opens during the simulation
ATM_USE = 0.05  # share of a customer's payments that are cash withdrawals
ROAMING_IP_SHARE = 0.15  # online payments from an IP other than the device's home IP
HOTEL_IP_SHARE = 0.7  # online payments from the hotel's IP while travelling
MISSING_DEVICE_SHARE = 0.04  # online payments without device fingerprint
SECOND_CARD_SHARE = 0.3  # payments with the second card, for customers holding two
SECOND_DEVICE_SHARE = 0.5  # online payments from the second device, once it is in use
TRIPS_PER_DAY = 0.004  # chance per simulated day that a customer makes (one) trip
MAX_TRAVELLER_SHARE = 0.9
TRIP_DAYS = (2, 10)
TOKEN_SPACE = 2**40  # device and e-mail tokens, rendered as 10 hex digits


@dataclass(frozen=True)
class _Profile:
    """Ranges (uniform) and probabilities from which customers are drawn."""

    mean_amount: tuple[float, float]
    tx_per_day: tuple[float, float]
    ecom_share: tuple[float, float]
    two_cards: float
    two_devices: float
    new_phone: float  # a second device appears on a random day
    email: float
    night_owl: float


GENUINE = _Profile((5.0, 100.0), (0.2, 4.0), (0.05, 0.45), 0.3, 0.35, 0.15, 0.85, 0.08)
BUST_OUT_ACCOUNT = _Profile((10.0, 40.0), (1.0, 3.0), (0.3, 0.6), 0.0, 0.0, 0.0, 1.0, 0.0)

# --- Fraud patterns (rates in FraudRates; shapes here).
CARD_TESTS = (3, 10)  # probes per burst
CARD_TEST_AMOUNT = (0.5, 5.0)
CARD_TEST_GAP = (3.0, 45.0)  # minimum and mean seconds between probes
CARD_TEST_CASH_OUT = 0.35  # bursts followed by a large purchase
CARD_TEST_ABROAD = 0.5  # share of testers paying from another country
CASH_OUT_DELAY = (60, 3_600)  # seconds after the last probe
CASH_OUT_AMOUNT = (150.0, 1_500.0)
TAKEOVER_PAYMENTS = (2, 6)
TAKEOVER_GAP = (120.0, 2_700.0)
TAKEOVER_AMOUNT_FACTOR = (3.0, 10.0)  # x the customer's mean amount
TERMINAL_COMPROMISE_DAYS = 28
TERMINAL_COMPROMISE_SHARE = 0.5  # of the compromised terminal's payments
CUSTOMER_COMPROMISE_DAYS = 14
CUSTOMER_COMPROMISE_SHARE = 1 / 3
CUSTOMER_COMPROMISE_FACTOR = 5.0
HIGH_AMOUNT_RANGE = (1.01, 6.0)  # x the threshold
HIGH_AMOUNT_POS_SHARE = 0.5
HIGH_AMOUNT_ABROAD = 0.2
NIGHT_PAYMENTS = (3, 8)
NIGHT_HOURS = 4  # bursts start between midnight and 04:00
NIGHT_GAP = (30.0, 420.0)
NIGHT_AMOUNT = (20.0, 400.0)
NIGHT_ABROAD = 0.5
BUST_OUT_BUILD_UP_DAYS = (10, 40)
BUST_OUT_PAYMENTS = (5, 15)
BUST_OUT_GAP = (60.0, 2_400.0)
BUST_OUT_POS_SHARE = 0.5
FRAUDSTER_EMAIL_SHARE = 0.6  # stolen-card web payments with the fraudster's e-mail


class SimulationConfigError(ValueError):
    """A simulation setting is out of range; the message names the setting."""


@dataclass(frozen=True)
class FraudRates:
    """Expected fraud incidents per entity-day, one field per pattern.

    The entity is a genuine customer's active day, except for ``compromised_terminal``
    (a domestic card-present terminal's day) and ``bust_out`` (new bust-out accounts per
    genuine customer-day). The defaults give about 1 % fraudulent rows.
    """

    compromised_terminal: float = 2e-4
    compromised_customer: float = 4e-4
    card_testing: float = 4e-4
    account_takeover: float = 5e-4
    high_amount: float = 2e-3
    night_high_risk_burst: float = 3e-4
    bust_out: float = 3e-4


SCENARIOS = tuple(f.name for f in dataclasses.fields(FraudRates))
"""Fraud pattern names, in the order they are applied; ``fraud_scenario`` holds one."""


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate.

    Parameters
    ----------
    customers:
        Genuine customers (bust-out accounts come on top).
    days:
        Length of the simulation, from ``start_date`` 00:00 UTC.
    seed:
        0 .. 2**32 - 1; the same configuration always yields the same rows.
    terminals:
        Terminals of every channel; default twice the customers (at least 20).
    start_date, currency:
        First day; ISO-4217 currency of every amount.
    rates:
        Fraud incidents per pattern, see ``FraudRates``.
    high_amount_threshold:
        The ``high_amount`` pattern's payments lie between 1.01 and 6 times this amount.

    Raises
    ------
    SimulationConfigError
        When a setting is out of range.
    """

    customers: int = 5_000
    days: int = 90
    seed: int = 0
    terminals: int | None = None
    start_date: date = date(2025, 1, 1)
    currency: str = "EUR"
    rates: FraudRates = field(default_factory=FraudRates)
    high_amount_threshold: float = 220.0

    def __post_init__(self) -> None:
        checks = (
            ("customers", 1 <= self.customers <= MAX_CUSTOMERS, f"1 .. {MAX_CUSTOMERS}"),
            ("days", 1 <= self.days <= MAX_DAYS, f"1 .. {MAX_DAYS}"),
            ("seed", 0 <= self.seed <= MAX_SEED, f"0 .. {MAX_SEED}"),
            ("terminals", self.n_terminals >= MIN_TERMINALS, f"at least {MIN_TERMINALS}"),
            ("currency", self.currency in ISO_4217_CODES, "an ISO-4217 code"),
            ("high_amount_threshold", self.high_amount_threshold > 0, "> 0"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise SimulationConfigError(f"{name} must be {expected}")
        for name in SCENARIOS:
            rate = getattr(self.rates, name)
            if not (math.isfinite(rate) and 0 <= rate <= 1):
                raise SimulationConfigError(f"rates.{name} must be between 0 and 1")

    @property
    def n_terminals(self) -> int:
        """Number of terminals (``terminals`` or twice the customers, at least 20)."""
        return self.terminals if self.terminals is not None else max(2 * self.customers, 20)


def simulate(config: SimulationConfig) -> pd.DataFrame:
    """Simulate labelled transactions.

    Returns
    -------
    pandas.DataFrame
        ``COLUMNS`` in order, sorted by timestamp (ties in generation order); the
        identifier and code columns are categorical. Absent optional values are missing
        (``NaN``), and so is ``fraud_scenario`` on legitimate rows. Deterministic: the
        same ``config`` gives an identical frame.
    """
    terminals = _terminals(_stream(config.seed, "terminals"), config)
    genuine = _genuine_customers(_stream(config.seed, "customers"), terminals, config)
    accounts = _bust_out_accounts(
        _stream(config.seed, "bust_out.accounts"), terminals, genuine, config
    )
    world = _World(config, terminals, genuine.concat(accounts), config.customers)
    rows = _legit_rows(_stream(config.seed, "legit"), world)
    for code, name in enumerate(SCENARIOS, start=1):
        rows = _PATTERNS[name](_stream(config.seed, name), world, rows, code)
    return _frame(world, rows.take(rows.time < config.days * SECONDS_PER_DAY))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as UTF-8 CSV (amounts with 2 decimals), gzipped when ``path`` ends in .gz.

    The gzip header carries no file name and no time, so equal frames give equal bytes.
    """
    with path.open("wb") as raw:
        binary: BinaryIO | gzip.GzipFile = raw
        if path.suffix == ".gz":
            binary = gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL
            )
        with io.TextIOWrapper(binary, encoding="utf-8", newline="") as text:
            frame.to_csv(text, index=False, float_format="%.2f", lineterminator="\n")


# --------------------------------------------------------------------------- entities


class _Columns:
    """Mixin for frozen dataclasses whose fields are arrays with one entry per item."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def take(self, index: IntArray | BoolArray) -> Self:
        """The items selected by ``index`` (positions or a mask)."""
        names = [f.name for f in dataclasses.fields(self)]
        return dataclasses.replace(self, **{name: getattr(self, name)[index] for name in names})

    def concat(self, *others: Self) -> Self:
        """These items followed by those of ``others``."""
        names = [f.name for f in dataclasses.fields(self)]
        parts = (self, *others)
        return dataclasses.replace(
            self, **{name: np.concatenate([getattr(p, name) for p in parts]) for name in names}
        )


@dataclass(frozen=True)
class _Terminals(_Columns):
    """Every terminal: web shops, ATMs and card-present terminals at home and abroad."""

    channel: IntArray
    category: IntArray  # index into CATEGORIES
    country: IntArray  # index into COUNTRIES (grid country for web shops, unused)
    abroad: BoolArray
    xy: FloatArray  # (n, 2) grid position
    merchant: IntArray

    def select(
        self, channel: int, codes: tuple[str, ...] = (), *, abroad: bool = False
    ) -> IntArray:
        """Indices of the channel's terminals; only those of ``codes`` when there are any.

        Small worlds may lack a category: the whole channel then stands in for it.
        """
        base = (self.channel == channel) & (self.abroad == abroad)
        if codes:
            in_codes = [i for i, c in enumerate(CATEGORIES) if c.code in codes]
            chosen = np.flatnonzero(base & np.isin(self.category, in_codes))
            if chosen.size:
                return chosen
        return np.flatnonzero(base)


@dataclass(frozen=True)
class _Customers(_Columns):
    """Customers and their cards, devices, habits and usual terminals."""

    home: IntArray  # country index
    first_day: IntArray  # first active day
    last_day: IntArray  # first day no longer active (legitimately)
    mean_amount: FloatArray
    tx_per_day: FloatArray
    ecom_share: FloatArray
    night_owl: BoolArray
    cards: IntArray  # 1 or 2
    device: IntArray  # (n, 2) tokens
    home_ip: IntArray  # (n, 2) IPv4 of each device's home network
    second_device_day: IntArray  # first day the second device is used (>= last_day: never)
    email: IntArray  # token, -1 when none
    near_pos: IntArray  # (n, NEAR_POS_TERMINALS) nearest first
    near_atm: IntArray  # (n, NEAR_ATMS)
    web_shops: IntArray  # (n, FAVOURITE_WEB_SHOPS) favourite first


@dataclass(frozen=True)
class _World:
    """What every pattern may read."""

    config: SimulationConfig
    terminals: _Terminals
    customers: _Customers  # genuine first, then bust-out accounts
    n_genuine: int


@dataclass(frozen=True)
class _Rows(_Columns):
    """Payments, entities as indices and absent optional values as -1."""

    time: IntArray  # seconds since start_date 00:00
    amount: FloatArray
    customer: IntArray
    terminal: IntArray
    card: IntArray  # 0 or 1
    country: IntArray
    device: IntArray  # -1 when absent
    ip: IntArray
    email: IntArray
    scenario: IntArray  # 0 legitimate, else 1 + index into SCENARIOS

    def relabel(self, hit: BoolArray, code: int, amount: FloatArray | None = None) -> _Rows:
        """Mark the ``hit`` rows as fraud ``code`` (optionally with new amounts)."""
        return dataclasses.replace(
            self,
            scenario=np.where(hit, code, self.scenario),
            amount=self.amount if amount is None else np.where(hit, amount, self.amount),
        )


def _stream(seed: int, name: str) -> np.random.Generator:
    """The random stream ``name`` of ``seed``, independent of every other stream."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=tuple(name.encode())))
    )


def _grid_country(xy: FloatArray) -> IntArray:
    east = xy[:, 0] >= BORDER_X
    return np.where(east, np.where(xy[:, 1] >= GRID_SIZE / 2, 1, 2), 0).astype(np.int64)


def _random_ips(rng: np.random.Generator, n: int) -> IntArray:
    """Addresses in 10.0.0.0/8 (private, never routable)."""
    return (10 << 24) | rng.integers(1, 2**24 - 1, n)


def _rank_weights(k: int) -> FloatArray:
    weights = 1.0 / np.arange(1, k + 1) ** FAVOURITE_DECAY
    return weights / weights.sum()


def _terminals(rng: np.random.Generator, config: SimulationConfig) -> _Terminals:
    n = config.n_terminals
    n_ecom = round(n * ECOM_TERMINAL_SHARE)
    n_atm = max(1, round(n * ATM_TERMINAL_SHARE))
    n_abroad = max(1, round(n * ABROAD_TERMINAL_SHARE))
    counts = [n - n_ecom - n_atm - n_abroad, n_abroad, n_ecom, n_atm]
    channel = np.repeat([POS, POS, ECOM, ATM], counts)
    abroad = np.repeat([False, True, False, False], counts)
    category = np.zeros(n, dtype=np.int64)
    for code in (POS, ECOM, ATM):
        members = [i for i, c in enumerate(CATEGORIES) if c.channel == code]
        shares = np.array([CATEGORIES[i].share for i in members])
        of_channel = channel == code
        category[of_channel] = rng.choice(members, int(of_channel.sum()), p=shares / shares.sum())
    xy = rng.uniform(0.0, GRID_SIZE, (n, 2))
    travel = rng.choice(np.arange(3, len(COUNTRIES)), n, p=TRAVEL_WEIGHTS)
    country = np.where(abroad, travel, _grid_country(xy))
    order = rng.permutation(n)  # terminal ids reveal nothing about the channel
    channel, category, country = channel[order], category[order], country[order]
    abroad, xy = abroad[order], xy[order]
    by_kind = np.lexsort((np.arange(n), category, channel))
    same_kind = (np.diff(channel[by_kind]) == 0) & (np.diff(category[by_kind]) == 0)
    new_merchant = np.ones(n, dtype=bool)
    new_merchant[1:] = ~(same_kind & (rng.random(n - 1) < MERCHANT_CHAIN_SHARE))
    merchant = np.empty(n, dtype=np.int64)
    merchant[by_kind] = np.cumsum(new_merchant) - 1
    merchant = rng.permutation(int(new_merchant.sum()))[merchant]
    return _Terminals(channel, category, country, abroad, xy, merchant)


def _customers(
    rng: np.random.Generator,
    terminals: _Terminals,
    first_day: IntArray,
    last_day: IntArray,
    profile: _Profile,
) -> _Customers:
    """Customers active on days [first_day, last_day), drawn from ``profile``."""
    n = first_day.size
    xy = rng.uniform(0.0, GRID_SIZE, (n, 2))
    owns_two = rng.random(n) < profile.two_devices
    gets_new_phone = ~owns_two & (rng.random(n) < profile.new_phone)
    phone_day = first_day + (rng.random(n) * (last_day - first_day)).astype(np.int64)
    web = terminals.select(ECOM)
    popularity = np.array([CATEGORIES[c].popularity for c in terminals.category[web]])
    return _Customers(
        home=_grid_country(xy),
        first_day=first_day,
        last_day=last_day,
        mean_amount=rng.uniform(*profile.mean_amount, n),
        tx_per_day=rng.uniform(*profile.tx_per_day, n),
        ecom_share=rng.uniform(*profile.ecom_share, n),
        night_owl=rng.random(n) < profile.night_owl,
        cards=1 + (rng.random(n) < profile.two_cards).astype(np.int64),
        device=rng.integers(TOKEN_SPACE, size=(n, 2)),
        home_ip=_random_ips(rng, 2 * n).reshape(n, 2),
        second_device_day=np.where(
            owns_two, first_day, np.where(gets_new_phone, phone_day, last_day)
        ),
        email=np.where(rng.random(n) < profile.email, rng.integers(TOKEN_SPACE, size=n), -1),
        near_pos=_nearest(terminals, terminals.select(POS), xy, NEAR_POS_TERMINALS),
        near_atm=_nearest(terminals, terminals.select(ATM), xy, NEAR_ATMS),
        web_shops=rng.choice(web, (n, FAVOURITE_WEB_SHOPS), p=popularity / popularity.sum()),
    )


def _nearest(terminals: _Terminals, candidates: IntArray, xy: FloatArray, k: int) -> IntArray:
    """For each point, the ``k`` nearest ``candidates`` (terminal indices), nearest first."""
    k = min(k, candidates.size)
    if not len(xy):
        return np.zeros((0, k), dtype=np.int64)
    _, index = KDTree(terminals.xy[candidates]).query(xy, k=k)
    return candidates[np.asarray(index).reshape(len(xy), k)]


def _active_days(customers: _Customers) -> IntArray:
    return customers.last_day - customers.first_day


def _genuine_customers(
    rng: np.random.Generator, terminals: _Terminals, config: SimulationConfig
) -> _Customers:
    """Ordinary customers, most active from day 0, some opening their account later."""
    first_day = np.zeros(config.customers, dtype=np.int64)
    joiners = rng.random(config.customers) < LATE_JOINER_SHARE
    first_day[joiners] = rng.integers(0, config.days, int(joiners.sum()))
    return _customers(rng, terminals, first_day, np.full_like(first_day, config.days), GENUINE)


def _bust_out_accounts(
    rng: np.random.Generator, terminals: _Terminals, genuine: _Customers, config: SimulationConfig
) -> _Customers:
    """Accounts opened to bust out: ordinary use for a few weeks, then the bust on ``last_day``."""
    n = rng.poisson(config.rates.bust_out * _active_days(genuine).sum())
    opened = rng.integers(0, config.days, n)
    return _customers(
        rng, terminals, opened, opened + _between(rng, BUST_OUT_BUILD_UP_DAYS, n), BUST_OUT_ACCOUNT
    )


# ------------------------------------------------------------------- legitimate traffic


def _between(rng: np.random.Generator, bounds: tuple[int, int], n: int) -> IntArray:
    """``n`` integers uniform in ``bounds``, both ends included."""
    return rng.integers(bounds[0], bounds[1] + 1, n)


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> FloatArray:
    return np.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]), n))


def _seconds_of_day(rng: np.random.Generator, n: int, hourly: FloatArray) -> IntArray:
    """Seconds after midnight, the hour drawn with weights ``hourly``."""
    hours = rng.choice(24, n, p=hourly / hourly.sum())
    return hours * 3_600 + rng.integers(0, 3_600, n)


def _favourite(
    rng: np.random.Generator, terminals: _Terminals, table: IntArray, customer: IntArray
) -> IntArray:
    """A terminal from each customer's row of ``table``.

    Earlier columns (nearer, more favourite) are chosen more often, and so are categories
    with more ``visits``.
    """
    n_customers, k = table.shape
    weights = _rank_weights(k) * VISITS[terminals.category[table]]
    cumulative = np.cumsum(weights, axis=1)
    # Customer c's choices occupy [c, c + 1) of one increasing axis: one search for all rows.
    bounds = (cumulative / cumulative[:, -1:] + np.arange(n_customers)[:, None]).ravel()
    position = np.searchsorted(bounds, customer + rng.random(customer.size), side="right")
    slot = np.minimum(position - customer * k, k - 1)
    return table[customer, slot]


def _abroad_terminal(
    rng: np.random.Generator, terminals: _Terminals, country: IntArray
) -> IntArray:
    """A random card-present terminal abroad in each ``country`` (each must have one)."""
    abroad = terminals.select(POS, abroad=True)
    abroad = abroad[np.argsort(terminals.country[abroad], kind="stable")]
    countries = terminals.country[abroad]
    low = np.searchsorted(countries, country, side="left")
    high = np.searchsorted(countries, country, side="right")
    return abroad[low + (rng.random(country.size) * (high - low)).astype(np.int64)]


def _channel_fields(
    terminals: _Terminals,
    terminal: IntArray,
    online_country: IntArray,
    device: IntArray,
    ip: IntArray,
    email: IntArray,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Country, device, IP and e-mail as the merchant sees them.

    Card-present payments (pos, atm) carry the terminal's country and no device, IP or
    e-mail; web payments carry the payer's country (IP geolocation), device, IP, e-mail.
    """
    online = terminals.channel[terminal] == ECOM
    return (
        np.where(online, online_country, terminals.country[terminal]),
        np.where(online, device, -1),
        np.where(online, ip, -1),
        np.where(online, email, -1),
    )


def _legit_rows(rng: np.random.Generator, world: _World) -> _Rows:
    """Every customer's ordinary payments (bust-out accounts' build-up included)."""
    config, customers, terminals = world.config, world.customers, world.terminals
    all_days = np.arange(config.days)
    active = (all_days >= customers.first_day[:, None]) & (all_days < customers.last_day[:, None])
    weekly = WEEKDAY_FACTOR[(all_days + config.start_date.weekday()) % 7]
    counts = rng.poisson(np.where(active, customers.tx_per_day[:, None] * weekly, 0.0))
    who, when = np.nonzero(counts)
    customer = np.repeat(who, counts[who, when]).astype(np.int64)
    day = np.repeat(when, counts[who, when]).astype(np.int64)
    n = customer.size

    seconds = np.where(
        customers.night_owl[customer],
        _seconds_of_day(rng, n, NIGHT_OWL),
        _seconds_of_day(rng, n, DIURNAL),
    )
    draw = rng.random(n)
    ecom_share = customers.ecom_share[customer]
    terminal = np.select(
        [draw < ecom_share, draw < ecom_share + ATM_USE],
        [
            _favourite(rng, terminals, customers.web_shops, customer),
            _favourite(rng, terminals, customers.near_atm, customer),
        ],
        _favourite(rng, terminals, customers.near_pos, customer),
    )

    trips = _trips(rng, world)
    travelling = (day >= trips.start[customer]) & (day < trips.end[customer])
    away = travelling & (terminals.channel[terminal] != ECOM)
    terminal[away] = _abroad_terminal(rng, terminals, trips.destination[customer[away]])

    in_use = day >= customers.second_device_day[customer]
    second = (in_use & (rng.random(n) < SECOND_DEVICE_SHARE)).astype(np.int64)
    ip = np.where(
        rng.random(n) < ROAMING_IP_SHARE, _random_ips(rng, n), customers.home_ip[customer, second]
    )
    ip = np.where(travelling & (rng.random(n) < HOTEL_IP_SHARE), trips.hotel_ip[customer], ip)
    fingerprinted = rng.random(n) >= MISSING_DEVICE_SHARE
    country, device, ip, email = _channel_fields(
        terminals,
        terminal,
        np.where(travelling, trips.destination[customer], customers.home[customer]),
        np.where(fingerprinted, customers.device[customer, second], -1),
        np.where(fingerprinted, ip, -1),
        customers.email[customer],
    )
    card = (customers.cards[customer] == 2) & (rng.random(n) < SECOND_CARD_SHARE)
    return _Rows(
        time=day * SECONDS_PER_DAY + seconds,
        amount=_usual_amounts(rng, world, customer, terminal),
        customer=customer,
        terminal=terminal,
        card=card.astype(np.int64),
        country=country,
        device=device,
        ip=ip,
        email=email,
        scenario=np.zeros(n, dtype=np.int64),
    )


@dataclass(frozen=True)
class _Trips:
    """One trip per customer: days [start, end) in ``destination`` (end == start: none)."""

    start: IntArray
    end: IntArray
    destination: IntArray
    hotel_ip: IntArray


def _trips(rng: np.random.Generator, world: _World) -> _Trips:
    """A trip abroad for some genuine customers, to a country with terminals there."""
    customers, terminals = world.customers, world.terminals
    n = customers.home.size
    share = min(MAX_TRAVELLER_SHARE, TRIPS_PER_DAY * world.config.days)
    travels = (np.arange(n) < world.n_genuine) & (rng.random(n) < share)
    start = customers.first_day + (rng.random(n) * _active_days(customers)).astype(np.int64)
    return _Trips(
        start=start,
        end=np.where(travels, start + _between(rng, TRIP_DAYS, n), start),
        destination=terminals.country[rng.choice(terminals.select(POS, abroad=True), n)],
        hotel_ip=_random_ips(rng, n),
    )


def _usual_amounts(
    rng: np.random.Generator, world: _World, customer: IntArray, terminal: IntArray
) -> FloatArray:
    """Amounts from the customer's profile: |normal(m, m / 2)|, m = mean x category factor."""
    category = world.terminals.category[terminal]
    typical = world.customers.mean_amount[customer] * AMOUNT_FACTOR[category]
    step = AMOUNT_STEP[category]
    amount = np.maximum(np.round(np.abs(rng.normal(typical, typical / 2)) / step) * step, step)
    return np.round(amount, 2)


# ------------------------------------------------------------------------ fraud patterns


@dataclass(frozen=True)
class _Payer(_Columns):
    """Who pays in each fraud incident: whose card, from which country, device, IP, e-mail."""

    customer: IntArray
    card: IntArray
    country: IntArray
    device: IntArray
    ip: IntArray
    email: IntArray

    def rows(
        self,
        world: _World,
        code: int,
        incident: IntArray,
        time: IntArray,
        amount: FloatArray,
        terminal: IntArray,
    ) -> _Rows:
        """Payments of scenario ``code``, row ``i`` made by the payer of ``incident[i]``."""
        payer = self.take(incident)
        country, device, ip, email = _channel_fields(
            world.terminals, terminal, payer.country, payer.device, payer.ip, payer.email
        )
        return _Rows(
            time=time,
            amount=np.round(amount, 2),
            customer=payer.customer,
            terminal=terminal,
            card=payer.card,
            country=country,
            device=device,
            ip=ip,
            email=email,
            scenario=np.full(time.size, code, dtype=np.int64),
        )


def _victims(
    rng: np.random.Generator, world: _World, rate: float, *, distinct: bool = False
) -> tuple[IntArray, IntArray]:
    """Genuine customers struck at ``rate`` per active day, and the day each is struck."""
    span = _active_days(world.customers)[: world.n_genuine]
    n = rng.poisson(rate * span.sum())
    if distinct:
        n = min(n, world.n_genuine)
    customer = rng.choice(world.n_genuine, n, replace=not distinct, p=span / span.sum())
    day = world.customers.first_day[customer] + (rng.random(n) * span[customer]).astype(np.int64)
    return customer, day


def _foreign(rng: np.random.Generator, home: IntArray) -> IntArray:
    """A country other than ``home``, uniformly."""
    pick = rng.integers(0, len(COUNTRIES) - 1, home.size)
    return pick + (pick >= home)


def _stolen_card(
    rng: np.random.Generator, world: _World, customer: IntArray, foreign_share: float
) -> _Payer:
    """Fraudsters using the customers' cards: their own devices, IPs and e-mails, from
    another country with probability ``foreign_share``."""
    n = customer.size
    home = world.customers.home[customer]
    return _Payer(
        customer=customer,
        card=rng.integers(0, world.customers.cards[customer]),
        country=np.where(rng.random(n) < foreign_share, _foreign(rng, home), home),
        device=rng.integers(TOKEN_SPACE, size=n),
        ip=_random_ips(rng, n),
        email=np.where(
            rng.random(n) < FRAUDSTER_EMAIL_SHARE, rng.integers(TOKEN_SPACE, size=n), -1
        ),
    )


def _burst(
    rng: np.random.Generator,
    day: IntArray,
    first_second: IntArray,
    sizes: IntArray,
    gap: tuple[float, float],
) -> tuple[IntArray, IntArray]:
    """Rows of bursts of ``sizes`` payments: (incident of each row, its second).

    Each burst starts at ``first_second`` of ``day``; successive payments are separated
    by ``gap[0]`` plus an exponential delay, ``gap[1]`` seconds apart on average.
    """
    incident = np.repeat(np.arange(sizes.size), sizes)
    first_row = np.cumsum(sizes) - sizes
    gaps = gap[0] + rng.exponential(gap[1] - gap[0], incident.size)
    gaps[first_row] = 0.0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[first_row][incident]
    start = day * SECONDS_PER_DAY + first_second
    return incident, start[incident] + elapsed.astype(np.int64)


def _compromised(
    rng: np.random.Generator,
    rows: _Rows,
    key: IntArray,
    n_keys: int,
    victims: IntArray,
    day: IntArray,
    window_days: int,
    share: float,
) -> BoolArray:
    """Legitimate rows whose ``key`` (one of ``n_keys``) is a victim compromised on ``day``
    (at a random second), within ``window_days`` of that moment, each with probability
    ``share``."""
    window = window_days * SECONDS_PER_DAY
    since = np.full(n_keys, -window - 1, dtype=np.int64)
    since[victims] = day * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, victims.size)
    start = since[key]
    in_window = (rows.time >= start) & (rows.time < start + window)
    return (rows.scenario == 0) & in_window & (rng.random(key.size) < share)


def _compromised_terminal(rng: np.random.Generator, world: _World, rows: _Rows, code: int) -> _Rows:
    """Handbook scenario 2: a skimmed card-present terminal; half its next 28 days' payments."""
    candidates = world.terminals.select(POS)
    expected = world.config.rates.compromised_terminal * candidates.size * world.config.days
    victims = rng.choice(candidates, min(rng.poisson(expected), candidates.size), replace=False)
    day = rng.integers(0, world.config.days, victims.size)
    hit = _compromised(
        rng,
        rows,
        rows.terminal,
        world.terminals.channel.size,
        victims,
        day,
        TERMINAL_COMPROMISE_DAYS,
        TERMINAL_COMPROMISE_SHARE,
    )
    return rows.relabel(hit, code)


def _compromised_customer(rng: np.random.Generator, world: _World, rows: _Rows, code: int) -> _Rows:
    """Handbook scenario 3: leaked credentials; a third of the next 14 days' payments, x5."""
    victims, day = _victims(rng, world, world.config.rates.compromised_customer, distinct=True)
    hit = _compromised(
        rng,
        rows,
        rows.customer,
        world.customers.home.size,
        victims,
        day,
        CUSTOMER_COMPROMISE_DAYS,
        CUSTOMER_COMPROMISE_SHARE,
    )
    return rows.relabel(hit, code, amount=np.round(rows.amount * CUSTOMER_COMPROMISE_FACTOR, 2))


def _card_testing(rng: np.random.Generator, world: _World, rows: _Rows, code: int) -> _Rows:
    """Bursts of tiny web payments at one shop, minutes apart, sometimes then a big purchase."""
    customer, day = _victims(rng, world, world.config.rates.card_testing)
    n = customer.size
    payer = _stolen_card(rng, world, customer, CARD_TEST_ABROAD)
    sizes = _between(rng, CARD_TESTS, n)
    incident, time = _burst(rng, day, rng.integers(0, SECONDS_PER_DAY, n), sizes, CARD_TEST_GAP)
    shop = rng.choice(world.terminals.select(ECOM, TESTING_CATEGORIES), n)
    probes = payer.rows(
        world, code, incident, time, rng.uniform(*CARD_TEST_AMOUNT, incident.size), shop[incident]
    )
    cashing = np.flatnonzero(rng.random(n) < CARD_TEST_CASH_OUT)
    last_probe = time[np.cumsum(sizes) - 1]
    purchases = payer.rows(
        world,
        code,
        cashing,
        last_probe[cashing] + rng.integers(*CASH_OUT_DELAY, cashing.size),
        _log_uniform(rng, CASH_OUT_AMOUNT, cashing.size),
        rng.choice(world.terminals.select(ECOM, CASH_OUT_CATEGORIES), cashing.size),
    )
    return rows.concat(probes, purchases)


def _account_takeover(rng: np.random.Generator, world: _World, rows: _Rows, code: int) -> _Rows:
    """Web purchases well above habit from a new device, a new IP and another country."""
    customer, day = _victims(rng, world, world.config.rates.account_takeover)
    n = customer.size
    payer = _Payer(
        customer=customer,
        card=np.zeros(n, dtype=np.int64),
        country=_foreign(rng, world.customers.home[customer]),
        device=rng.integers(TOKEN_SPACE, size=n),
        ip=_random_ips(rng, n),
        email=world.customers.email[customer],
    )
    sizes = _between(rng, TAKEOVER_PAYMENTS, n)
    incident, time = _burst(rng, day, rng.integers(0, SECONDS_PER_DAY, n), sizes, TAKEOVER_GAP)
    habit = world.customers.mean_amount[customer[incident]]
    amount = habit * rng.uniform(*TAKEOVER_AMOUNT_FACTOR, incident.size)
    shops = rng.choice(world.terminals.select(ECOM, CASH_OUT_CATEGORIES), incident.size)
    return rows.concat(payer.rows(world, code, incident, time, amount, shops))


def _high_amount(rng: np.random.Generator, world: _World, rows: _Rows, code: int) -> _Rows:
    """Handbook scenario 1: single stolen-card purchases above ``high_amount_threshold``."""
    customer, day = _victims(rng, world, world.config.rates.high_amount)
    n = customer.size
    payer = _stolen_card(rng, world, customer, HIGH_AMOUNT_ABROAD)
    terminal = np.where(
        rng.random(n) < HIGH_AMOUNT_POS_SHARE,
        rng.choice(world.terminals.select(POS, HIGH_VALUE_POS_CATEGORIES), n),
        rng.choice(world.terminals.select(ECOM, CASH_OUT_CATEGORIES), n),
    )
    time = day * SECONDS_PER_DAY + _seconds_of_day(rng, n, DIURNAL)
    amount = world.config.high_amount_threshold * _log_uniform(rng, HIGH_AMOUNT_RANGE, n)
    return rows.concat(payer.rows(world, code, np.arange(n), time, amount, terminal))


def _night_high_risk_burst(
    rng: np.random.Generator, world: _World, rows: _Rows, code: int
) -> _Rows:
    """A stolen card emptied at night at one gambling, money-transfer or crypto site."""
    customer, day = _victims(rng, world, world.config.rates.night_high_risk_burst)
    n = customer.size
    payer = _stolen_card(rng, world, customer, NIGHT_ABROAD)
    sizes = _between(rng, NIGHT_PAYMENTS, n)
    first_second = rng.integers(0, NIGHT_HOURS * 3_600, n)
    incident, time = _burst(rng, day, first_second, sizes, NIGHT_GAP)
    site = rng.choice(world.terminals.select(ECOM, HIGH_RISK_CATEGORIES), n)
    amount = _log_uniform(rng, NIGHT_AMOUNT, incident.size)
    return rows.concat(payer.rows(world, code, incident, time, amount, site[incident]))


def _bust_out(rng: np.random.Generator, world: _World, rows: _Rows, code: int) -> _Rows:
    """The bust-out accounts' last day(s): many large purchases on the usual device."""
    customers = world.customers
    account = np.arange(world.n_genuine, customers.home.size)
    n = account.size
    payer = _Payer(
        customer=account,
        card=np.zeros(n, dtype=np.int64),
        country=customers.home[account],
        device=customers.device[account, 0],
        ip=customers.home_ip[account, 0],
        email=customers.email[account],
    )
    sizes = _between(rng, BUST_OUT_PAYMENTS, n)
    first_second = _seconds_of_day(rng, n, DIURNAL)
    incident, time = _burst(rng, customers.last_day[account], first_second, sizes, BUST_OUT_GAP)
    terminal = np.where(
        rng.random(incident.size) < BUST_OUT_POS_SHARE,
        _favourite(rng, world.terminals, customers.near_pos, account[incident]),
        rng.choice(world.terminals.select(ECOM, CASH_OUT_CATEGORIES), incident.size),
    )
    amount = _log_uniform(rng, CASH_OUT_AMOUNT, incident.size)
    return rows.concat(payer.rows(world, code, incident, time, amount, terminal))


_Pattern = Callable[[np.random.Generator, _World, _Rows, int], _Rows]
_PATTERNS: dict[str, _Pattern] = {
    "compromised_terminal": _compromised_terminal,
    "compromised_customer": _compromised_customer,
    "card_testing": _card_testing,
    "account_takeover": _account_takeover,
    "high_amount": _high_amount,
    "night_high_risk_burst": _night_high_risk_burst,
    "bust_out": _bust_out,
}


# ------------------------------------------------------------------------------ output


def _categorical(values: IntArray, render: Callable[[int], str]) -> pd.Categorical:
    """``render`` of each value, each distinct value rendered once; missing where negative."""
    present = values >= 0
    distinct, inverse = np.unique(values[present], return_inverse=True)
    codes = np.full(values.size, -1, dtype=np.int64)
    codes[present] = inverse
    return pd.Categorical.from_codes(codes, categories=[render(v) for v in distinct.tolist()])


def _ipv4(value: int) -> str:
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _frame(world: _World, rows: _Rows) -> pd.DataFrame:
    rows = rows.take(np.argsort(rows.time, kind="stable"))
    config, terminals = world.config, world.terminals
    n = rows.time.size
    width = max(5, len(str(world.customers.home.size - 1)))
    terminal_width = max(5, len(str(terminals.channel.size - 1)))
    start = np.datetime64(config.start_date.isoformat(), "s")
    category = terminals.category[rows.terminal]
    columns = {
        "transaction_id": [f"tx_{config.seed}_{i:09d}" for i in range(n)],
        "timestamp": np.datetime_as_string(start + rows.time.astype("timedelta64[s]"), unit="s"),
        "amount": rows.amount,
        "currency": _categorical(np.zeros(n, dtype=np.int64), lambda _: config.currency),
        "customer_id": _categorical(rows.customer, lambda i: f"cust_{i:0{width}d}"),
        "terminal_id": _categorical(rows.terminal, lambda i: f"term_{i:0{terminal_width}d}"),
        "card_id": _categorical(
            rows.customer * 2 + rows.card, lambda i: f"card_{i // 2:0{width}d}_{i % 2 + 1}"
        ),
        "merchant_id": _categorical(
            terminals.merchant[rows.terminal], lambda i: f"merch_{i:0{terminal_width}d}"
        ),
        "merchant_category": _categorical(MCC[category], lambda code: f"{code:04d}"),
        "channel": _categorical(terminals.channel[rows.terminal], CHANNELS.__getitem__),
        "country": _categorical(rows.country, COUNTRIES.__getitem__),
        "ip_address": _categorical(rows.ip, _ipv4),
        "device_id": _categorical(rows.device, lambda i: f"dev_{i:010x}"),
        "email": _categorical(rows.email, lambda i: f"u{i:010x}@example.com"),
        "is_fraud": (rows.scenario > 0).astype(np.int8),
        "fraud_scenario": _categorical(rows.scenario - 1, SCENARIOS.__getitem__),
    }
    return pd.DataFrame(columns)
