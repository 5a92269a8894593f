"""Console navigation: pages register themselves, so the menu shows only what exists."""

from dataclasses import dataclass

from riskops.auth.roles import Capability


@dataclass(frozen=True, slots=True)
class Page:
    label: str
    path: str
    capability: Capability = Capability.READ
    order: int = 100


_pages: dict[str, Page] = {}


def register(page: Page) -> None:
    """Add a page to the menu (other packages call this when their console pages exist)."""
    _pages[page.path] = page


def pages() -> list[Page]:
    return sorted(_pages.values(), key=lambda p: (p.order, p.label))
