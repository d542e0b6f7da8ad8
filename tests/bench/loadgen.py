"""The load generator: one asyncio loop (aiohttp), never a thread per request.

``burst`` is a closed loop (C clients, each sending its next order when the last one was
answered): the most the server takes. ``steady`` is open loop: order i is due at
t0 + i / rate whether or not earlier ones were answered, and its latency counts from when
it was due, so a slow server cannot slow the arrivals down (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp


@dataclass
class Sample:
    at: float  # seconds since the phase began, when it was due (steady) or sent (burst)
    ms: float
    status: int
    order_id: int | None


def ssl_context(ca_file: str | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca_file) if ca_file else False


class Client:
    def __init__(
        self, url: str, tokens: list[str], body: dict | list[dict], ca_file: str | None = None
    ):
        """``body``: one order body, or a sequence (tests/bench/rush.py) that order n takes
        the n-th of, round and round. Encoded once here, not per request."""
        self.url = url.rstrip("/") + "/api/v1/orders"
        self.use_tokens(tokens)
        self.bodies = [json.dumps(b).encode() for b in (body if isinstance(body, list) else [body])]
        self.ca_file = ca_file
        self.in_flight = 0  # POSTs sent and not answered yet (an open loop's queue)

    def use_tokens(self, tokens: list[str]) -> None:
        self.headers = [
            {"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for t in tokens
        ]

    def _session(self, limit: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limit, ssl=ssl_context(self.ca_file))
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))

    async def _post(self, http, n: int, due: float, t0: float) -> Sample:
        status, order_id = 0, None
        self.in_flight += 1
        try:
            async with http.post(
                self.url,
                data=self.bodies[n % len(self.bodies)],
                headers=self.headers[n % len(self.headers)],
            ) as reply:
                status = reply.status
                if status == 202:
                    order_id = (await reply.json())["id"]
                else:
                    await reply.read()
        except (TimeoutError, aiohttp.ClientError):
            status = -1
        finally:
            self.in_flight -= 1
        return Sample(due - t0, (time.perf_counter() - due) * 1000, status, order_id)

    async def _burst(self, clients: int, seconds: float, tick: Callable) -> list[Sample]:
        samples: list[Sample] = []
        async with self._session(clients) as http:
            t0 = time.perf_counter()
            end = t0 + seconds

            async def one_client(c: int) -> None:
                n = c
                while time.perf_counter() < end:
                    samples.append(await self._post(http, n, time.perf_counter(), t0))
                    n += clients

            ticker = asyncio.create_task(_ticker(tick, t0, seconds))
            await asyncio.gather(*(one_client(c) for c in range(clients)))
            ticker.cancel()
        return samples

    async def _steady(
        self, rate: float, seconds: float, tick: Callable, stop: Callable[[], bool]
    ) -> list[Sample]:
        total = int(rate * seconds)
        async with self._session(512) as http:
            t0 = time.perf_counter()
            ticker = asyncio.create_task(_ticker(tick, t0, seconds))
            tasks = []
            for n in range(total):
                due = t0 + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if n % max(1, int(rate / 2)) == 0 and stop():  # checked twice a second
                    break
                tasks.append(asyncio.create_task(self._post(http, n, due, t0)))
            samples = await asyncio.gather(*tasks)
            ticker.cancel()
        return list(samples)

    def burst(self, clients: int, seconds: float, tick: Callable = lambda _: None):
        return asyncio.run(self._burst(clients, seconds, tick))

    def steady(
        self,
        rate: float,
        seconds: float,
        tick: Callable = lambda _: None,
        stop: Callable[[], bool] = lambda: False,
    ) -> list[Sample]:
        """Open loop at ``rate`` for ``seconds``; ``stop()`` (asked twice a second) ends the
        arrivals early, e.g. when the backlog shows the rate cannot hold."""
        return asyncio.run(self._steady(rate, seconds, tick, stop))


async def _ticker(tick: Callable[[float], None], t0: float, seconds: float) -> None:
    while True:
        tick(min(1.0, (time.perf_counter() - t0) / seconds))
        await asyncio.sleep(0.5)
