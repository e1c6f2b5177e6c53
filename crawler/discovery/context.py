"""What discovery needs during one crawl: its settings, the listed outlets, and the per-run budget.

Built once per crawl by the runner and shared by every source's spider, so the
outlink budget and the "already tried" set hold across sources.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crawler.config import DiscoveryConfig, SourceConfig
from crawler.discovery.outlets import host_matches, outlet_of


@dataclass(frozen=True)
class DiscoverySettings:
    """`[discovery]` plus the outlets the configuration lists (its feed, listing and sitemap sources)."""

    config: DiscoveryConfig
    listed_outlets: frozenset[str]

    @classmethod
    def from_config(cls, config: DiscoveryConfig, sources: Iterable[SourceConfig]) -> DiscoverySettings:
        listed = frozenset(outlet_of(s.url) for s in sources if s.discovery_path == "listed")
        return cls(config=config, listed_outlets=listed)

    def outlink_allowed(self, url: str) -> bool:
        """A cited link may be fetched: its host is allowed (or listed, by default) and not denied."""
        outlet = outlet_of(url)
        if not outlet or host_matches(outlet, self.config.outlink_deny):
            return False
        allowed: Sequence[str] = self.config.outlink_hosts or sorted(self.listed_outlets)
        return host_matches(outlet, allowed)


@dataclass
class DiscoveryRun:
    """One crawl's discovery state: how many cited pages are left to fetch, and which were tried."""

    settings: DiscoverySettings
    remaining: int = 0
    tried: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, settings: DiscoverySettings) -> DiscoveryRun:
        return cls(settings=settings, remaining=settings.config.max_outlinks_per_run)

    def take(self, canonical_url: str) -> bool:
        """Claim one fetch of the budget for this URL; False when spent or already tried this run."""
        with self._lock:
            if self.remaining <= 0 or canonical_url in self.tried:
                return False
            self.tried.add(canonical_url)
            self.remaining -= 1
            return True
