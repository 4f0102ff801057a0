"""Real-time serving: OpenAI-compatible embeddings, search, health, metrics, SageMaker, and a search page."""

from densefit.serve.config import ServeConfig

__all__ = ["ServeConfig", "ServeError", "create_app", "serve"]


def __getattr__(name: str):
    if name == "ServeError":  # imported lazily: errors.py pulls in FastAPI
        from densefit.serve.errors import ServeError

        return ServeError
    raise AttributeError(name)


def create_app(cfg: ServeConfig):
    from densefit.serve.app import create_app as _create

    return _create(cfg)


def serve(cfg: ServeConfig) -> None:
    from densefit.serve.server import serve as _serve

    _serve(cfg)
