"""The chaos harness (issue 4, item 6).

Drives traffic through the public API (customers placing and cancelling, restaurants
accepting, rejecting and progressing orders, declined and flaky cards) while killing and
restarting the app processes and the services, waits for quiescence, then checks the
invariants from PostgreSQL and Kafka and prints a table of faults and checks.

    .venv/bin/python -m tests.chaos [--short] [--minutes M] [--orders N] [--brokers 3] [--seed S]

It works on whatever stack the environment names (``COMANDA_STATE_DIR`` and the port
variables, as ``python -m stack`` reads them). Modules: ``stackctl`` (the stack under test),
``api`` (HTTP client), ``ledger`` (what the harness did and was answered), ``traffic``
(tenants, customers, restaurants), ``faults`` (what gets killed and restarted),
``kafka_io``, ``quiesce``, ``invariants``, ``report``, ``runner``.
"""
