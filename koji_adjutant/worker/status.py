"""The worker's status HTTP server and its metrics.

Read-only endpoints (``[adjutant] monitoring_enabled``, bound to
``monitoring_bind``, 127.0.0.1:8080 by default):

- ``/api/v1/status``: ready or not and why, load, capacity, running tasks with
  their current step and elapsed time;
- ``/api/v1/containers``: this worker's task containers (podman labels);
- ``/api/v1/tasks/<id>``: a running (or recently finished) task, its steps;
- ``/api/v1/tasks/<id>/logs`` (the log names) and ``…/logs/<name>`` (the log,
  live while the task runs);
- ``/metrics``: Prometheus text format.
"""

import collections
import http.server
import json
import logging
import os
import re
import socket
import threading
import time

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers

LOG = logging.getLogger("koji_adjutant.worker.status")

# histogram buckets (seconds)
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
PICKUP_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900)
# how many finished tasks /api/v1/tasks/<id> still knows
FINISHED_KEPT = 50
LOG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Histogram(object):
    def __init__(self, buckets):
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value):
        self.total += 1
        self.sum += value
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1


class WorkerMetrics(object):
    """Counters and histograms of one worker process, rendered for Prometheus."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.time()
        self.tasks = collections.Counter()          # (method, outcome) -> n
        self.durations = {}                         # method -> Histogram
        self.pickup = Histogram(PICKUP_BUCKETS)
        self.hub_errors = collections.Counter()     # kind -> n
        self.cache = collections.Counter()          # hit|miss -> n
        self.taken = collections.Counter()          # method -> n

    def task_taken(self, method, latency):
        with self.lock:
            self.taken[method] += 1
            if latency is not None and latency >= 0:
                self.pickup.observe(latency)

    def task_finished(self, method, outcome, seconds):
        with self.lock:
            self.tasks[(method, outcome)] += 1
            self.durations.setdefault(method, Histogram(DURATION_BUCKETS)).observe(seconds)

    def hub_error(self, kind):
        with self.lock:
            self.hub_errors[kind] += 1

    def cache_lookup(self, hit):
        with self.lock:
            self.cache["hit" if hit else "miss"] += 1

    def render(self, gauges):
        """Prometheus exposition text; ``gauges`` are (name, help, value) of the moment."""
        out = []

        def family(name, kind, text):
            out.append("# HELP %s %s" % (name, text))
            out.append("# TYPE %s %s" % (name, kind))

        def histogram(name, hist, labels):
            prefix = ",".join('%s="%s"' % (k, _escape(v)) for k, v in labels)
            sep = "," if prefix else ""
            for bound, count in zip(hist.buckets, hist.counts):
                out.append('%s_bucket{%s%sle="%s"} %d' % (name, prefix, sep, bound, count))
            out.append('%s_bucket{%s%sle="+Inf"} %d' % (name, prefix, sep, hist.total))
            braces = "{%s}" % prefix if prefix else ""
            out.append("%s_sum%s %.3f" % (name, braces, hist.sum))
            out.append("%s_count%s %d" % (name, braces, hist.total))

        with self.lock:
            for name, text, value in gauges:
                family(name, "gauge", text)
                out.append("%s %s" % (name, _number(value)))
            family("koji_adjutant_tasks_taken_total", "counter", "Tasks this worker opened.")
            for method, count in sorted(self.taken.items()):
                out.append('koji_adjutant_tasks_taken_total{method="%s"} %d'
                           % (_escape(method), count))
            family("koji_adjutant_tasks_total", "counter",
                   "Tasks finished, by method and outcome (closed, failed, canceled, freed).")
            for (method, outcome), count in sorted(self.tasks.items()):
                out.append('koji_adjutant_tasks_total{method="%s",outcome="%s"} %d'
                           % (_escape(method), _escape(outcome), count))
            family("koji_adjutant_task_duration_seconds", "histogram",
                   "Wall time of finished tasks, from opening to the end of the playbook.")
            for method in sorted(self.durations):
                histogram("koji_adjutant_task_duration_seconds", self.durations[method],
                          [("method", method)])
            family("koji_adjutant_task_pickup_latency_seconds", "histogram",
                   "From the task's creation on the hub to this worker opening it.")
            histogram("koji_adjutant_task_pickup_latency_seconds", self.pickup, [])
            family("koji_adjutant_hub_call_errors_total", "counter",
                   "Failed hub calls of the daemon (retried ones included), by error class.")
            for kind, count in sorted(self.hub_errors.items()):
                out.append('koji_adjutant_hub_call_errors_total{kind="%s"} %d'
                           % (_escape(kind), count))
            family("koji_adjutant_buildroot_cache_lookups_total", "counter",
                   "Buildroot cache lookups of rpm tasks, by result (hit, miss).")
            for result in ("hit", "miss"):
                out.append('koji_adjutant_buildroot_cache_lookups_total{result="%s"} %d'
                           % (result, self.cache[result]))
        return "\n".join(out) + "\n"


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(float(value)) if isinstance(value, float) else str(int(value or 0))


class HubRetryCounter(logging.Handler):
    """Counts the hub calls koji.ClientSession retried (its "Try #N … failed" records)."""

    def __init__(self, metrics):
        super(HubRetryCounter, self).__init__(logging.INFO)
        self.metrics = metrics

    def emit(self, record):
        if isinstance(record.msg, str) and record.msg.startswith("Try #"):
            error = record.args[-1] if isinstance(record.args, tuple) and record.args else None
            self.metrics.hub_error(type(error).__name__ if error is not None else "unknown")

    @classmethod
    def install(cls, metrics):
        """Attach a counter to koji's logger (which must pass INFO records for it to count)."""
        logger = logging.getLogger("koji")
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        handler = cls(metrics)
        logger.addHandler(handler)
        return handler


class StatusHandler(http.server.BaseHTTPRequestHandler):
    """GET-only JSON/text handler; ``self.server.worker`` is the Worker."""

    server_version = "koji-adjutant"

    def log_message(self, fmt, *args):  # pylint: disable=arguments-differ
        LOG.debug("%s %s", self.address_string(), fmt % args)

    def do_GET(self):  # pylint: disable=invalid-name
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        worker = self.server.worker
        try:
            if path == "/metrics":
                return self._send(200, worker.metrics_text(), "text/plain; version=0.0.4")
            if path in ("/", "/api/v1"):
                return self._json(200, {"endpoints": ["/api/v1/status", "/api/v1/containers",
                                                      "/api/v1/tasks/<id>",
                                                      "/api/v1/tasks/<id>/logs", "/metrics"]})
            if path == "/api/v1/status":
                return self._json(200, worker.status_report())
            if path == "/api/v1/containers":
                return self._json(200, worker.containers_report())
            match = re.match(r"^/api/v1/tasks/(\d+)(/logs(?:/([^/]+))?)?$", path)
            if match:
                return self._task(worker, int(match.group(1)), match.group(2), match.group(3))
            return self._json(404, {"error": "no such endpoint: %s" % path})
        except Exception as exc:  # pylint: disable=broad-except
            LOG.exception("status request %s failed", path)
            return self._json(500, {"error": str(exc)})

    def _task(self, worker, task_id, logs, log_name):
        report = worker.task_report(task_id)
        if report is None:
            message = ("task %d is not running on this worker and did not finish here recently"
                       % task_id)
            return self._json(404, {"error": message})
        if not logs:
            return self._json(200, report)
        log_dir = report.get("log_dir")
        names = sorted(os.listdir(log_dir)) if log_dir and os.path.isdir(log_dir) else []
        if log_name is None:
            return self._json(200, {"task_id": task_id, "logs": names})
        if not LOG_NAME.match(log_name) or log_name not in names:
            return self._json(404, {"error": "task %d has no log %r" % (task_id, log_name)})
        with open(os.path.join(log_dir, log_name), "rb") as handle:
            return self._send(200, handle.read(), "text/plain; charset=utf-8")

    def do_POST(self):  # pylint: disable=invalid-name
        self._json(405, {"error": "the status server is read-only"})

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _json(self, code, data):
        self._send(code, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n",
                   "application/json")

    def _send(self, code, body, content_type):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StatusServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, worker):
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super(StatusServer, self).__init__(address, StatusHandler)
        self.worker = worker
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, name="status-server",
                                       daemon=True)
        self.thread.start()
        LOG.info("status server on http://%s:%d/api/v1/status", self.server_address[0],
                 self.server_address[1])
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


def task_containers_report(worker_name, runs):
    """This worker's task containers, each with the task it belongs to."""
    result = []
    for entry in containers.task_containers(worker_name):
        run = runs.get(entry["task_id"])
        entry["running_task"] = run is not None
        if run is not None:
            entry["step"] = run.step
        result.append(entry)
    return result
