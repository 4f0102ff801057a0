"""Query generators for GenQ and GPL: `generate(passages: list[str], n: int) -> list[list[str]]`.

How to add a generator: write `NAME.py` with a class that has that `generate` method and a
`from_config(cfg: TrainConfig)` classmethod, and add one line to GENERATORS in registry.py.
"""
