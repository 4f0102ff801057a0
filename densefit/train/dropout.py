"""Dropout while training (`--dropout`): the model's own, without attention dropout, or none.

PyTorch's fused attention kernel (flash attention for CPU, used through SDPA) runs only when the
attention-probability dropout is zero. With BERT-family models' own 0.1, every training step falls back
to the unfused path, which builds the full batch x heads x length x length probability tensor, draws a
random mask for it and keeps both for backward. bench/speed.py measures what each choice costs.

Only modules change (`Dropout.p`), never the model's config: the saved model is the model's own, and
inference never uses dropout anyway. Every dropout that stays (all of them with the default, `model`) is
drawn on CPU with the cheap mask of densefit.train.attention, at the same rate.
"""

from __future__ import annotations

import torch


def is_attention_dropout(parent: torch.nn.Module) -> bool:
    """A dropout on the attention probabilities: one held by a self-attention module (BertSelfAttention,
    RobertaSelfAttention, MPNetSelfAttention, DistilBERT's MultiHeadSelfAttention, ...). The dropouts of
    BertSelfOutput or MPNetAttention act on hidden states and stay."""
    return "selfattention" in type(parent).__name__.lower()


def dropout_modules(model: torch.nn.Module, choice: str) -> list[torch.nn.Dropout]:
    if choice == "model":
        return []
    found = []
    for parent in model.modules():
        for child in parent.children():
            if isinstance(child, torch.nn.Dropout) and (choice == "off" or is_attention_dropout(parent)):
                found.append(child)
    return found


def apply_dropout(model: torch.nn.Module, choice: str) -> int:
    """Zero the dropouts `choice` names and draw every dropout that stays with the cheap mask;
    returns how many dropouts had a non-zero rate before. restore_sdpa undoes the second part."""
    from densefit.train.attention import use_cheap_dropout

    changed = 0
    for module in dropout_modules(model, choice):
        changed += module.p > 0
        module.p = 0.0
    use_cheap_dropout(model)
    return changed
