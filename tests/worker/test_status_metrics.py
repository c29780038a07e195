"""The worker's metrics: Prometheus text and the count of retried hub calls."""

import logging

from koji_adjutant.worker import status


def sample(text, prefix):
    values = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(prefix + " ")]
    assert len(values) == 1, (prefix, text)
    return float(values[0])


def test_render_counts_tasks_durations_and_pickup():
    metrics = status.WorkerMetrics()
    metrics.task_taken("buildArch", 0.4)
    metrics.task_taken("buildArch", 3.0)
    metrics.task_finished("buildArch", "closed", 42.0)
    metrics.task_finished("buildArch", "failed", 4.0)
    metrics.task_finished("newRepo", "canceled", 0.5)
    metrics.cache_lookup(True)
    metrics.cache_lookup(False)
    metrics.cache_lookup(True)
    text = metrics.render([("koji_adjutant_ready", "ready", True),
                           ("koji_adjutant_task_load", "load", 1.5)])
    assert sample(text, "koji_adjutant_ready") == 1
    assert sample(text, "koji_adjutant_task_load") == 1.5
    assert sample(text, 'koji_adjutant_tasks_taken_total{method="buildArch"}') == 2
    assert sample(text, 'koji_adjutant_tasks_total{method="buildArch",outcome="closed"}') == 1
    assert sample(text, 'koji_adjutant_tasks_total{method="newRepo",outcome="canceled"}') == 1
    # cumulative buckets: 4 s and 42 s are both <= 60, only 4 s is <= 5
    assert sample(text, 'koji_adjutant_task_duration_seconds_bucket{method="buildArch",le="5"}') == 1
    assert sample(text, 'koji_adjutant_task_duration_seconds_bucket{method="buildArch",le="60"}') == 2
    assert sample(text, 'koji_adjutant_task_duration_seconds_bucket{method="buildArch",le="+Inf"}') == 2
    assert sample(text, 'koji_adjutant_task_duration_seconds_sum{method="buildArch"}') == 46
    assert sample(text, 'koji_adjutant_task_pickup_latency_seconds_bucket{le="0.5"}') == 1
    assert sample(text, "koji_adjutant_task_pickup_latency_seconds_count") == 2
    assert sample(text, 'koji_adjutant_buildroot_cache_lookups_total{result="hit"}') == 2
    assert sample(text, 'koji_adjutant_buildroot_cache_lookups_total{result="miss"}') == 1
    assert "# TYPE koji_adjutant_tasks_total counter" in text


def test_label_values_are_escaped():
    metrics = status.WorkerMetrics()
    metrics.task_finished('we"ird\\method', "closed", 1.0)
    assert 'method="we\\"ird\\\\method"' in metrics.render([])


def test_retried_hub_calls_are_counted_from_kojis_log():
    metrics = status.WorkerMetrics()
    handler = status.HubRetryCounter.install(metrics)
    try:
        logger = logging.getLogger("koji")
        logger.info("Try #%s for call %s (%s) failed: %s", 1, 7, "host.updateHost",
                    ConnectionError("refused"))
        logger.info("an unrelated message")
    finally:
        logging.getLogger("koji").removeHandler(handler)
    text = metrics.render([])
    assert sample(text, 'koji_adjutant_hub_call_errors_total{kind="ConnectionError"}') == 1
