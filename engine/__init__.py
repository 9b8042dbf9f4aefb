"""The engine's machinery around the flows: outbox delivery, the worker that runs case runs
in-process, the in-process executor, the Python ingestion API and serving the scheduled flows."""
