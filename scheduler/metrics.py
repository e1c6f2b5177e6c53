"""Prometheus metrics for the daemon, served on 127.0.0.1 unless configured otherwise."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

logger = logging.getLogger(__name__)


class Metrics:
    """The daemon's counters; each daemon owns one registry (no global state)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.crawl_runs = Counter("mediawatch_crawl_runs", "Crawl runs by source and outcome", ["source", "status"],
                                  registry=self.registry)
        self.articles_stored = Counter("mediawatch_articles_stored", "Articles stored by source", ["source"],
                                       registry=self.registry)
        self.page_failures = Counter("mediawatch_page_failures", "Article pages that failed, by source", ["source"],
                                     registry=self.registry)
        self.last_success = Gauge("mediawatch_last_success_timestamp_seconds", "Last successful crawl, by source",
                                  ["source"], registry=self.registry)
        self.digest_jobs = Counter("mediawatch_digest_jobs", "Digest job runs by outcome", ["status"],
                                   registry=self.registry)
        self.digests_sent = Counter("mediawatch_digests_sent", "Digests accepted by the SMTP server", ["topic"],
                                    registry=self.registry)

    def observe_run(self, result: Any) -> None:
        self.crawl_runs.labels(result.source, result.status).inc()
        self.articles_stored.labels(result.source).inc(result.tally.new)
        self.page_failures.labels(result.source).inc(result.tally.failed)
        if result.succeeded and result.status != "skipped":
            self.last_success.labels(result.source).set_to_current_time()

    def observe_digest_job(self, status: str, outcomes: Any) -> None:
        self.digest_jobs.labels(status).inc()
        for outcome in outcomes if isinstance(outcomes, list | tuple) else []:
            if getattr(outcome, "sent", False):
                self.digests_sent.labels(getattr(outcome, "topic", "?")).inc()

    def serve(self, host: str, port: int) -> Any:
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        logger.info("metrics served on http://%s:%d/metrics", host, server.server_port)
        return server
