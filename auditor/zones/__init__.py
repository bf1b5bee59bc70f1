"""Zones: targets scanned by Celery workers inside their own network, evaluated by the coordinator.

A worker (worker.py) only collects: it runs the normal transports through a RecordingTransport into memory
(collect.py) and ships the records, each with its SHA-256 (wire.py). The coordinator (dispatch.py) publishes
one task per zoned target and answers the runner's `open_target` from the verified shipped records, so the
runner, plan, checks and evidence store are those of a local scan. docs/zones.md says how to run it.
"""
