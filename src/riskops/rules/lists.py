"""Named value lists (blocked cards, trusted merchants, ...) as rules see them: O(1) membership.

Rules ask `in_list("blocked_cards", card_token)`. A `ListSnapshot` is immutable; whoever
keeps lists current (the list poller) swaps in a new snapshot through `ListSource`, so one
decision reads one consistent set of lists and the hot path takes no lock.
"""

import functools
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class ListKind(StrEnum):
    CARD = "card"  # entries are card tokens (given as card numbers, tokenised on entry)
    BIN = "bin"
    ACCOUNT = "account"
    DEVICE = "device"
    IP = "ip"  # addresses or CIDR networks
    MERCHANT = "merchant"
    COUNTRY = "country"
    EMAIL = "email"


class ListPurpose(StrEnum):
    BLOCK = "block"
    ALLOW = "allow"
    WATCH = "watch"


@dataclass(frozen=True, slots=True)
class ShippedList:
    name: str
    kind: ListKind
    purpose: ListPurpose
    description: str


# Created (empty) by the lists migration; the shipped ruleset reads them.
SHIPPED_LISTS: Final = (
    ShippedList("blocked_cards", ListKind.CARD, ListPurpose.BLOCK, "Cards always declined"),
    ShippedList("blocked_devices", ListKind.DEVICE, ListPurpose.BLOCK, "Devices always declined"),
    ShippedList("blocked_ips", ListKind.IP, ListPurpose.BLOCK, "IPs and networks declined"),
    ShippedList(
        "trusted_merchants",
        ListKind.MERCHANT,
        ListPurpose.ALLOW,
        "Merchants exempt from the velocity reviews",
    ),
)


class UnknownList(LookupError):
    """A rule named a list that does not exist (validation refuses this up front)."""


@functools.lru_cache(maxsize=8192)
def _address(text: str) -> tuple[int, int] | None:
    """(bits, integer) of an IP; cached because every IP rule of a decision asks again."""
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    return (32 if parsed.version == 4 else 128), int(parsed)


@dataclass(frozen=True, slots=True)
class _Networks:
    """CIDR membership: per prefix length, the set of network addresses as integers.

    A lookup masks the address once per distinct prefix length present (at most 33 for
    IPv4, 129 for IPv6, in practice a handful), so its cost does not grow with entries.
    """

    v4: Mapping[int, frozenset[int]]
    v6: Mapping[int, frozenset[int]]

    @classmethod
    def of(cls, values: Iterable[str]) -> "_Networks":
        v4: dict[int, set[int]] = {}
        v6: dict[int, set[int]] = {}
        for value in values:
            network = ipaddress.ip_network(value, strict=False)
            by_length = v4 if network.version == 4 else v6
            by_length.setdefault(network.prefixlen, set()).add(int(network.network_address))
        return cls(
            {k: frozenset(v) for k, v in v4.items()}, {k: frozenset(v) for k, v in v6.items()}
        )

    def contains(self, address: str) -> bool:
        if not self.v4 and not self.v6:
            return False
        parsed = _address(address)
        if parsed is None:
            return False  # an absent ("") or malformed IP is on no list
        bits, number = parsed
        by_length = self.v4 if bits == 32 else self.v6
        for length, networks in by_length.items():
            if (number >> (bits - length)) << (bits - length) in networks:
                return True
        return False


@dataclass(frozen=True, slots=True)
class _Members:
    kind: ListKind
    values: frozenset[str]
    contains: Callable[[str], bool]  # the kind's membership test, bound once

    @classmethod
    def of(cls, kind: ListKind, values: frozenset[str]) -> "_Members":
        contains: Callable[[str], bool]
        if kind is ListKind.IP:
            contains = _Networks.of(values).contains
        elif kind is ListKind.EMAIL:
            contains = lambda value: value.lower() in values  # noqa: E731
        elif kind is ListKind.COUNTRY:
            contains = lambda value: value.upper() in values  # noqa: E731
        else:
            contains = values.__contains__  # a C call: the hot path's common case
        return cls(kind, values, contains)


@dataclass(frozen=True, slots=True)
class ListSnapshot:
    """Every list's current (unexpired) values at one moment."""

    lists: Mapping[str, _Members]
    version: str = ""  # what the poller compares to know whether to rebuild

    @classmethod
    def build(
        cls, lists: Mapping[str, tuple[ListKind, Iterable[str]]], version: str = ""
    ) -> "ListSnapshot":
        members = {name: _Members.of(kind, frozenset(vs)) for name, (kind, vs) in lists.items()}
        return cls(members, version)

    @classmethod
    def shipped_empty(cls) -> "ListSnapshot":
        """The shipped lists, empty: what a fresh database holds."""
        return cls.build({s.name: (s.kind, ()) for s in SHIPPED_LISTS})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.lists)

    def contains(self, name: str, value: str) -> bool:
        try:
            members = self.lists[name]
        except KeyError:
            raise UnknownList(f"unknown list '{name}'") from None
        return members.contains(value)


class ListSource:
    """The current snapshot, replaced whole by the poller; readers never see a half update."""

    def __init__(self, snapshot: ListSnapshot | None = None) -> None:
        self.current = snapshot if snapshot is not None else ListSnapshot.shipped_empty()

    def replace(self, snapshot: ListSnapshot) -> None:
        self.current = snapshot  # one reference assignment: atomic for readers

    def contains(self, name: str, value: str) -> bool:
        return self.current.contains(name, value)
