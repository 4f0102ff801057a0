"""Query generators by name (lazy imports); an unknown name lists the valid ones.

Contract: an object with `generate(passages: list[str], n: int) -> list[list[str]]`, built by
`from_config(cfg)`. It returns up to `n` queries per passage, in passage order.
"""

from __future__ import annotations

from densefit.registry import Registry

GENERATORS = Registry("query generator", {
    "extractive": "densefit.methods.generators.extractive:ExtractiveGenerator",
    "seq2seq": "densefit.methods.generators.seq2seq:Seq2SeqGenerator",
    "openai": "densefit.methods.generators.openai_compat:OpenAIGenerator",
})


def get_generator_class(name: str):
    return GENERATORS.get(name)


def build_generator(cfg):
    """The generator named by `cfg.generator`, configured from the TrainConfig fields."""
    return get_generator_class(cfg.generator).from_config(cfg)
