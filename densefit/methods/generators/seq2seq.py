"""Queries from any Hugging Face seq2seq model (e.g. a doc2query T5), by folder or hub id."""

from __future__ import annotations

from densefit.console import say
from densefit.errors import ConfigError, ModelLoadError


class Seq2SeqGenerator:
    name = "seq2seq"

    def __init__(self, model: str, *, max_input_tokens: int = 384, max_new_tokens: int = 32, batch_size: int = 16,
                 sample: bool = True, seed: int = 0, trust_remote_code: bool = False) -> None:
        self.model_name, self.seed = model, seed
        self.max_input_tokens, self.max_new_tokens, self.batch_size = max_input_tokens, max_new_tokens, batch_size
        self.sample = sample
        self.tokenizer, self.model = _load(model, trust_remote_code)

    @classmethod
    def from_config(cls, cfg) -> "Seq2SeqGenerator":
        if not cfg.generator_model:
            raise ConfigError("the seq2seq generator needs --generator-model (a HF seq2seq folder or hub id, "
                              "e.g. a doc2query T5)")
        return cls(cfg.generator_model, seed=cfg.seed, trust_remote_code=cfg.trust_remote_code)

    def describe(self) -> dict:
        return {"name": self.name, "model": self.model_name, "sample": self.sample}

    def generate(self, passages: list[str], n: int) -> list[list[str]]:
        import torch

        torch.manual_seed(self.seed)
        out: list[list[str]] = []
        for start in range(0, len(passages), self.batch_size):
            out += self._batch(passages[start:start + self.batch_size], n)
        return out

    def _batch(self, passages: list[str], n: int) -> list[list[str]]:
        import torch

        enc = self.tokenizer(passages, truncation=True, max_length=self.max_input_tokens, padding=True,
                             return_tensors="pt")
        kwargs = dict(do_sample=True, top_p=0.95, top_k=10) if self.sample else dict(num_beams=max(n, 1))
        with torch.inference_mode():
            ids = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                     max_new_tokens=self.max_new_tokens, num_return_sequences=n, **kwargs)
        texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [_unique(texts[i * n:(i + 1) * n]) for i in range(len(passages))]


def _unique(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def _load(model: str, trust_remote_code: bool):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    say(f"generator: seq2seq model {model}")
    try:
        tok = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        m = AutoModelForSeq2SeqLM.from_pretrained(model, use_safetensors=True, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise ModelLoadError(f"cannot load seq2seq generator '{model}': {exc}") from None
    return tok, m.eval()
