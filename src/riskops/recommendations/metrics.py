"""Prometheus series of the continuous scan."""

from prometheus_client import Counter, Histogram

SCAN_DURATION = Histogram(
    "riskops_recommendation_scan_seconds",
    "Duration of one recommendation scan",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SCAN_FAILURES = Counter(
    "riskops_recommendation_detector_failures_total",
    "Recommendation detectors that failed during a scan",
    ["detector"],
)
SCAN_WRITTEN = Counter(
    "riskops_recommendations_created_total", "Recommendation queue entries created by scans"
)
