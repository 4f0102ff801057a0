"""Queries from any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, Ollama...).

Base URL, model and key come from flags or the environment (DENSEFIT_GENERATOR_BASE_URL,
DENSEFIT_GENERATOR_MODEL, DENSEFIT_GENERATOR_API_KEY). The key is sent only in the
Authorization header and never printed or written to train.json.
"""

from __future__ import annotations

import os
import re
import time

from densefit.console import say
from densefit.errors import ConfigError, DensefitError

ENV_URL, ENV_MODEL, ENV_KEY = "DENSEFIT_GENERATOR_BASE_URL", "DENSEFIT_GENERATOR_MODEL", "DENSEFIT_GENERATOR_API_KEY"
PROMPT = ("Write {n} different short search queries that a user might type to find the passage below. "
          "Answer with one query per line and nothing else.\n\nPassage:\n{passage}")
NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
MAX_PASSAGE_CHARS = 2000


class GeneratorError(DensefitError):
    """The query-generation endpoint failed."""


class OpenAIGenerator:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, temperature: float = 0.7,
                 timeout: float = 60.0, retries: int = 2) -> None:
        self.base_url, self.model, self._key = base_url.rstrip("/"), model, api_key
        self.temperature, self.timeout, self.retries = temperature, timeout, retries

    @classmethod
    def from_config(cls, cfg) -> "OpenAIGenerator":
        url = cfg.generator_base_url or os.environ.get(ENV_URL)
        model = cfg.generator_model or os.environ.get(ENV_MODEL)
        if not url or not model:
            raise ConfigError(f"the openai generator needs --generator-base-url (or ${ENV_URL}) and "
                              f"--generator-model (or ${ENV_MODEL})")
        return cls(url, model, cfg.generator_api_key or os.environ.get(ENV_KEY))

    def describe(self) -> dict:  # no key here: this goes into train.json
        return {"name": self.name, "base_url": self.base_url, "model": self.model, "api_key_set": bool(self._key)}

    def generate(self, passages: list[str], n: int) -> list[list[str]]:
        import httpx

        say(f"generator: {self.model} at {self.base_url} ({len(passages)} passages)")
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        with httpx.Client(timeout=self.timeout, headers=headers) as client:
            return [parse_queries(self._complete(client, p, n), n) for p in passages]

    def _complete(self, client, passage: str, n: int) -> str:
        body = {"model": self.model, "temperature": self.temperature,
                "messages": [{"role": "user", "content": PROMPT.format(n=n, passage=passage[:MAX_PASSAGE_CHARS])}]}
        for attempt in range(self.retries + 1):
            try:
                response = client.post(f"{self.base_url}/chat/completions", json=body)
            except Exception as exc:  # noqa: BLE001 - connection errors of any kind
                error = f"cannot reach {self.base_url}: {type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return response.json()["choices"][0]["message"]["content"] or ""
                error = f"{self.base_url} answered HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code in (400, 401, 403, 404):
                    break
            time.sleep(min(2 ** attempt, 8) * 0.25)
        raise GeneratorError(error)


def parse_queries(content: str, n: int) -> list[str]:
    """One query per line, without list numbering or quotes; at most n."""
    lines = [NUMBERING.sub("", line).strip().strip('"').strip() for line in content.splitlines()]
    return list(dict.fromkeys(x for x in lines if x))[:n]
