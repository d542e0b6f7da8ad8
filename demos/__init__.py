"""One command per distributed-systems concept: ``python -m demos <concept>``
(``make demo-<concept>``).

Each demo drives the running stack the way any client or operator would (the public API, the
Kafka topic, the project's own supervisor and stack commands), prints a before/after table,
writes a PNG chart under ``<state dir>/demos/`` and says what a student should notice.
Details: docs/DEMOS.md.
"""
