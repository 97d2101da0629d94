"""Dynamic batching: concurrent requests are merged into model batches.

Each request's items wait in a queue; a single worker takes the first waiting request, then
keeps collecting for at most ``max_wait_ms`` or until ``max_batch_size`` items, runs one model
call in a worker thread (so the event loop keeps accepting requests), and hands every request
its own slice of the results, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from oneguard.schema import Result

ClassifyFn = Callable[[Sequence[Any]], list[Result]]


class DynamicBatcher:
    def __init__(
        self,
        classify: ClassifyFn,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._classify = classify
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._on_batch = on_batch
        self._queue: asyncio.Queue[tuple[Sequence[Any], asyncio.Future[list[Result]]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        # One thread: the model uses every core itself; two calls at once would only contend.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oneguard-model")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, items: Sequence[Any]) -> list[Result]:
        """Classify ``items`` (already validated) as part of whatever batch forms."""
        if self._queue is None:
            raise RuntimeError("batcher not started")
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        await self._queue.put((items, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            pending = [await self._queue.get()]
            size = len(pending[0][0])
            deadline = loop.time() + self.max_wait_s
            while size < self.max_batch_size:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
                pending.append(nxt)
                size += len(nxt[0])
            pending = [(items, fut) for items, fut in pending if not fut.cancelled()]
            if not pending:
                continue
            flat = [item for items, _ in pending for item in items]
            try:
                results = await loop.run_in_executor(self._executor, self._classify, flat)
            except Exception as exc:  # the error goes to every waiting request
                for _, fut in pending:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            if self._on_batch is not None:
                self._on_batch(len(flat))
            start = 0
            for items, fut in pending:
                if not fut.done():
                    fut.set_result(results[start : start + len(items)])
                start += len(items)
