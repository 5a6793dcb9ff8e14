"""The testbed's evaluation channel as the xApp process tests read it (ground truth; the xApps never see it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from nextric.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc


@asynccontextmanager
async def run_to_step(port: int, end_step: int, deadline_s: float) -> AsyncIterator[evaluation_pb2_grpc.EvaluationStub]:
    """Wait until the testbed on ``port`` has run ``end_step`` sub-steps (within ``deadline_s`` wall seconds),
    then hand out its evaluation stub for the truths of the run."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = evaluation_pb2_grpc.EvaluationStub(ch)
        loop = asyncio.get_running_loop()
        t_end = loop.time() + deadline_s
        while True:
            now = await stub.GetCellThroughput(evaluation_pb2.CellThroughputRequest(from_sim_time_ms=0))
            if now.at.step_index >= end_step:
                break
            assert loop.time() < t_end, f"testbed at step {now.at.step_index} after {deadline_s} s"
            await asyncio.sleep(0.5)
        yield stub


async def served_mbps(stub: evaluation_pb2_grpc.EvaluationStub, from_step: int, to_step: int) -> list[float]:
    """Per-cell served throughput over sub-steps (from_step, to_step] (1 s sub-steps)."""
    res = await stub.GetCellThroughput(evaluation_pb2.CellThroughputRequest(
        from_sim_time_ms=from_step * 1000, to_sim_time_ms=to_step * 1000))
    return [c.served_mbps for c in res.cells]
