"""The FastAPI app: routes only; the logic is in service.py, the errors in errors.py.

Routes: POST /v1/embeddings (OpenAI), GET /v1/models, POST /search, GET /healthz,
GET /readyz, GET /metrics, SageMaker's GET /ping and POST /invocations, GET /info
(for the page), the page itself at / (static files), and /docs.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from densefit.serve.auth import KeyCheck
from densefit.serve.config import ServeConfig
from densefit.serve.engine import Engine
from densefit.serve.errors import ServeError, from_validation, install_handlers
from densefit.serve.metrics import CONTENT_TYPE, ServeMetrics
from densefit.serve.middleware import Gate
from densefit.serve.schemas import (EmbeddingsRequest, EmbeddingsResponse, InvocationsEmbedResponse,
                                    SearchRequest, SearchResponse, Status)
from densefit.serve.service import Service

STATIC = Path(__file__).parent / "static"
NOT_READY = {503: {"model": Status, "description": "model not loaded yet, or the last forward pass failed"}}


def create_app(cfg: ServeConfig) -> FastAPI:
    """A ready-to-run app; the model loads in the background once it starts (watch /readyz)."""
    from densefit import __version__

    metrics = ServeMetrics()
    service = Service(cfg, Engine(cfg), metrics)
    key = KeyCheck(cfg.api_key()) if cfg.api_key_env else None

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await service.start()
        loading = asyncio.create_task(service.load())
        yield
        await service.stop()
        loading.cancel()

    app = FastAPI(title="densefit serve", version=__version__, lifespan=lifespan,
                  description="Embeddings (OpenAI-compatible), search, health and metrics for a densefit model.")
    app.state.service = service
    app.state.metrics = metrics
    install_handlers(app)
    app.add_middleware(Gate, metrics=metrics, max_body_bytes=cfg.max_body_bytes, key=key,
                       shed=lambda in_flight: service.batcher.admit(1, in_flight=in_flight),
                       allowed_hosts=cfg.hosts())
    _api_routes(app, service)
    _ops_routes(app, service, metrics)
    _page_routes(app)
    return app


def _json(body: dict) -> Response:
    """Serialise once with json.dumps (FastAPI's encoder is slow on long float lists)."""
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def _api_routes(app: FastAPI, service: Service) -> None:
    @app.post("/v1/embeddings", response_model=EmbeddingsResponse, responses=NOT_READY, tags=["embeddings"])
    async def embeddings(req: EmbeddingsRequest):
        """OpenAI-compatible embeddings: works with the `openai` client and OpenAI-compatible wrappers."""
        return _json(await service.openai_embeddings(req))

    @app.get("/v1/models", tags=["embeddings"])
    async def models():
        """The served model names (OpenAI format)."""
        data = [{"id": name, "object": "model", "owned_by": "densefit"} for name in service.engine.slots]
        return {"object": "list", "data": data}

    @app.post("/search", response_model=SearchResponse, responses=NOT_READY, tags=["search"])
    async def search(req: SearchRequest):
        """Embed the query, search the store, rerank when a cross-encoder is configured."""
        return _json(await service.search(req.query, req.k, req.filter, req.model, req.rerank, req.mode, req.fusion,
                                          req.weight))

    @app.post("/invocations", responses={200: {"model": InvocationsEmbedResponse}, **NOT_READY},
              tags=["sagemaker"])
    async def invocations(request: Request):
        """SageMaker: `{"inputs": [...]}` embeds; `{"query": ..., "k": ...}` searches the attached store."""
        return _json(await _invoke(service, await _read_json(request)))


async def _read_json(request: Request):
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServeError("invalid_json", f"body is not valid JSON: {exc}") from None


async def _invoke(service: Service, body) -> dict:
    if isinstance(body, dict) and "inputs" in body:
        name, vectors, tokens = await service.embed(body["inputs"], body.get("model"))
        return {"embeddings": vectors.tolist(), "model": name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    if isinstance(body, dict) and "query" in body:
        try:
            req = SearchRequest.model_validate(body)
        except ValidationError as exc:
            raise from_validation(RequestValidationError(exc.errors())) from None
        return await service.search(req.query, req.k, req.filter, req.model, req.rerank, req.mode, req.fusion,
                                    req.weight)
    raise ServeError("invalid", 'expected {"inputs": [texts]} to embed or {"query": text, "k": n} to search')


def _ops_routes(app: FastAPI, service: Service, metrics: ServeMetrics) -> None:
    def readiness() -> JSONResponse:
        state = service.state
        body = {"status": state.status, "reason": state.reason} if not state.ready else {"status": "ready"}
        return JSONResponse(body, status_code=200 if state.ready else 503)

    @app.get("/healthz", response_model=Status, tags=["ops"])
    async def healthz():
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Status, responses=NOT_READY, tags=["ops"])
    async def readyz():
        """Readiness: 200 once the model is loaded and warmed up, 503 while loading or after a failed pass."""
        return readiness()

    @app.get("/ping", response_model=Status, responses=NOT_READY, tags=["sagemaker"])
    async def ping():
        """SageMaker health check (same as /readyz)."""
        return readiness()

    @app.get("/metrics", tags=["ops"])
    async def prometheus():
        """Prometheus text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/info", tags=["ops"])
    async def info():
        """Served models, which have a store, reranker and auth: what the page needs."""
        return service.info()


def _page_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
