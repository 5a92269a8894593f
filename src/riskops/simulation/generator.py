"""The one synthetic payment generator: `riskops simulate`, `riskops demo` and the first
champion's training history (`riskops.ml.synthetic`) all draw from it.

A deterministic stream of synthetic payments that follows the seed data contract.

Contract (seed 002): ULID event ids, user ids `user-N`, amounts in USD up to 5,000, countries
US CA GB DE FR IN BR, devices ios / android / web, event time, and a fraud label known only
later. On top of everyday spending it plays the scenarios that fraud teams see: card-testing
bursts, account takeover (new device and country, large amounts), compromised merchants and
amount spikes. The same seed and start give the same payments, ids included.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr
from ulid import ULID

from riskops.core.payment import Channel
from riskops.decisions.cards import with_check_digit
from riskops.decisions.requests import TransactionCreate

COUNTRIES = ("US", "CA", "GB", "DE", "FR", "IN", "BR")
DEVICES = ("ios", "android", "web")
MAX_AMOUNT_MINOR = 500_000  # USD 5,000
EVERYDAY_MCC = ("5411", "5812", "5541", "5912", "5999", "4121", "5311")
# Share of scenario starts per payment slot; the rest is everyday spending.
SCENARIOS = (
    ("card_testing", 0.006),
    ("account_takeover", 0.006),
    ("compromised_merchant", 0.01),
    ("amount_spike", 0.008),
)


@dataclass(frozen=True, slots=True)
class SimulatedPayment:
    event_id: str  # ULID; the idempotency key (HTTP) or the CloudEvent id (stream)
    user_id: str
    request: TransactionCreate
    scenario: str
    label: int  # the truth, revealed after `label_delay` seconds
    label_delay: float
    device: str  # the contract's device category


@dataclass(slots=True)
class _User:
    user_id: str
    account_id: str
    card: str
    country: str
    device: str
    device_id: str
    typical_minor: float


class Simulator:
    def __init__(self, seed: int, start: datetime, rate: float, users: int = 500) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        self.start = start
        self.step = timedelta(seconds=1 / rate)
        self.users = [self._user(i) for i in range(users)]
        self.merchants = [f"m-{c.lower()}-{i}" for c in COUNTRIES for i in range(40)]
        self.compromised = set(self.rng.sample(self.merchants, 4))
        self.slot = 0
        self._pending: list[tuple[str, _User, dict[str, object]]] = []

    def _user(self, index: int) -> _User:
        rng = self.rng
        device = rng.choice(DEVICES)
        return _User(
            user_id=f"user-{index}",
            account_id=f"acct-u{index}",
            card=with_check_digit(rng.choice("45") + "".join(rng.choices("0123456789", k=14))),
            country=rng.choice(COUNTRIES),
            device=device,
            device_id=f"{device}-{rng.getrandbits(32):08x}",
            typical_minor=min(rng.lognormvariate(8.3, 0.7), MAX_AMOUNT_MINOR / 10),
        )

    def __iter__(self) -> Iterator[SimulatedPayment]:
        while True:
            yield self.next()

    def next(self) -> SimulatedPayment:
        if not self._pending:
            self._pending = self._scenario()
        scenario, user, fields = self._pending.pop(0)
        at = self.start + self.step * self.slot
        self.slot += 1
        label = int(bool(fields.pop("fraud")))
        # Chargebacks take days in life; here seconds, so a live run sees them arrive.
        delay = self.rng.uniform(2.0, 30.0) if label else self.rng.uniform(5.0, 60.0)
        event_id = str(
            ULID.from_bytes(int(at.timestamp() * 1000).to_bytes(6, "big") + self.rng.randbytes(10))
        )
        usual: dict[str, object] = {
            "account_id": user.account_id,
            "user_id": user.user_id,
            "currency": "USD",
            "card_number": SecretStr(user.card),
            "merchant_country": user.country,
            "channel": Channel.ECOM if user.device == "web" else Channel.POS,
            "device_id": user.device_id,
            "occurred_at": at,
        }
        request = TransactionCreate.model_validate(usual | fields)
        device = str(fields.get("device_id", user.device_id)).split("-")[0]
        return SimulatedPayment(event_id, user.user_id, request, scenario, label, delay, device)

    def _scenario(self) -> list[tuple[str, _User, dict[str, object]]]:
        rng = self.rng
        user = rng.choice(self.users)
        roll = rng.random()
        for name, share in SCENARIOS:
            if roll < share:
                return getattr(self, f"_{name}")(user)  # type: ignore[no-any-return]
            roll -= share
        merchant = rng.choice(self.merchants)
        amount = int(rng.lognormvariate(0, 0.45) * user.typical_minor)
        # A compromised merchant's card data turns into fraud for a share of its customers.
        fraud = (merchant in self.compromised and rng.random() < 0.3) or rng.random() < 0.001
        return [("everyday", user, self._spend(merchant, amount, fraud=fraud))]

    def _spend(self, merchant: str, amount: int, **extra: object) -> dict[str, object]:
        return {
            "merchant_id": merchant,
            "merchant_category": self.rng.choice(EVERYDAY_MCC),
            "amount_minor": max(100, min(amount, MAX_AMOUNT_MINOR)),
            **extra,
        }

    def _card_testing(self, user: _User) -> list[tuple[str, _User, dict[str, object]]]:
        # Tiny online charges at many merchants, back to back, to see which ones pass.
        return [
            (
                "card_testing",
                user,
                {
                    "merchant_id": f"m-online-{self.rng.randint(1, 400)}",
                    "merchant_category": "5967",
                    "amount_minor": self.rng.randint(50, 300),
                    "channel": Channel.ECOM,
                    "fraud": True,
                },
            )
            for _ in range(self.rng.randint(5, 12))
        ]

    def _account_takeover(self, user: _User) -> list[tuple[str, _User, dict[str, object]]]:
        device = self.rng.choice([d for d in DEVICES if d != user.device])
        country = self.rng.choice([c for c in COUNTRIES if c != user.country])
        new_device = f"{device}-{self.rng.getrandbits(32):08x}"
        return [
            (
                "account_takeover",
                user,
                {
                    "merchant_id": f"m-electronics-{self.rng.randint(1, 20)}",
                    "merchant_category": "5732",
                    "amount_minor": min(
                        int(user.typical_minor * self.rng.uniform(6, 15)), MAX_AMOUNT_MINOR
                    ),
                    "merchant_country": country,
                    "device_id": new_device,
                    "channel": Channel.ECOM,
                    "fraud": True,
                },
            )
            for _ in range(self.rng.randint(1, 3))
        ]

    def _compromised_merchant(self, user: _User) -> list[tuple[str, _User, dict[str, object]]]:
        merchant = self.rng.choice(sorted(self.compromised))
        amount = int(user.typical_minor * self.rng.uniform(0.5, 2))
        return [("compromised_merchant", user, self._spend(merchant, amount, fraud=True))]

    def _amount_spike(self, user: _User) -> list[tuple[str, _User, dict[str, object]]]:
        amount = int(user.typical_minor * self.rng.uniform(10, 25))
        fraud = self.rng.random() < 0.7
        return [
            (
                "amount_spike",
                user,
                self._spend(self.rng.choice(self.merchants), amount, fraud=fraud),
            )
        ]
