"""Control plane: the emulator's metrics, in Prometheus's text format."""

from __future__ import annotations

from fastapi import APIRouter, Response

from emulator.deps import MetricsDep
from emulator.services.metrics import CONTENT_TYPE

__all__ = ["router"]

router = APIRouter()


@router.get("/metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Requests by route, status and code; callback attempts and delivery latency; Generic
    Pay Connector latency; sessions and callbacks by state; open connections and streams."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)
