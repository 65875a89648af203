"""Prometheus metrics shared by every service.

Web pods run several uvicorn workers: with PROMETHEUS_MULTIPROC_DIR set (the chart sets it for web
pods), every process writes its values to files there and /metrics sums them over the live and dead
workers (counters, histograms) or reads the live ones (gauges); see observability/views.py, ADR 0082.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "assay_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("assay_events_published_total", "Events published by the outbox relay", ["type"])
EVENTS_CONSUMED = Counter("assay_events_consumed_total", "Events applied by the consumer", ["type", "outcome"])
EVENTS_DEAD_LETTERED = Counter("assay_events_dead_lettered_total", "Events sent to the dead-letter queue", ["reason"])
# Set by whichever process answers the scrape: the most recent live value is the true one.
OUTBOX_BACKLOG = Gauge("assay_outbox_backlog", "Outbox events not yet published", multiprocess_mode="livemostrecent")
OUTBOX_OLDEST_SECONDS = Gauge("assay_outbox_oldest_pending_seconds", "Age of the oldest unpublished outbox event",
                              multiprocess_mode="livemostrecent")
CONSUMER_LAG_NOW = Gauge("assay_consumer_lag_now_seconds",
                         "Age of the oldest event this worker's queue holds unapplied (0 when the queue is empty)",
                         multiprocess_mode="livemax")
CONSUMER_QUEUE_DEPTH = Gauge("assay_consumer_queue_depth", "Messages ready in this service's queue",
                             multiprocess_mode="livemostrecent")
CONSUMER_BATCH = Histogram("assay_consumer_batch_events", "Messages handed to the processor at once",
                           buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
CONSUMER_BATCH_SPLIT = Counter("assay_consumer_batch_split_total",
                               "Batches that failed as a whole and were applied event by event")
CONSUMER_LAG = Histogram(
    "assay_consumer_lag_seconds", "Time from an event's occurrence to its consumption", ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RELAY_LAG = Histogram(
    "assay_outbox_relay_lag_seconds", "Time from outbox insert to broker confirm",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RATE_LIMITED = Counter("assay_rate_limited_total", "Requests refused with 429 by a tenant's rate limit (ADR 0085)")
ADMISSION_REFUSED = Counter("assay_admission_refused_total",
                            "Next-task requests refused because a downstream service lags beyond the bound")
