"""Keep what a process built while starting out of the cyclic garbage collector's way.

What a process makes as it starts (modules, the ORM's tables, Celery's app, Kafka's
clients' classes, compiled templates) lives as long as the process. Python's collector
still walks every one of those objects at each full (generation 2) collection, holding
the GIL, so every thread of the process stops meanwhile. In the Celery worker at 100
orders/s that was a pause of 93-134 ms every 15 s or so, and 78 ms in the pipeline
consumer (gc.callbacks; docs/PERFORMANCE.md, "Eighth round"). gc.freeze() moves them to a
generation the collector never walks, so a full collection only looks at what the
process made since; the worker's then took 2.5-9 ms. What the process makes later is
collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect what starting left as garbage, then freeze the rest; call it once the
    process has built its long-lived objects (and, in a server that forks, before the
    fork, so the children share those pages instead of the collector touching them).
    Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
