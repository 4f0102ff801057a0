"""Attention dropout with a cheap mask, for CPU training with the model's own dropout (`--dropout model`).

With a non-zero attention-probability dropout, PyTorch's SDPA leaves its fused kernel and draws the mask
element by element from the CPU generator (about 90M elements/s on 2 cores here). A step of MiniLM at
batch 32 and 256 tokens needs ~150M of them per pass, so on CPU the mask costs more than the attention.
This implementation computes the same attention as transformers' eager path (scores, softmax, dropout,
values) with one change: the mask comes from 64-bit random words split into four 16-bit lanes, each
dropped when it is below the rate's threshold. Every element still drops independently at the model's rate
(to 1/65536) and the kept ones are scaled so the expectation is unchanged, so the regulariser is the same;
only the draw is about 5x cheaper. bench/speed.py measures the step.

The model's other dropouts (hidden states) draw the same cheap mask (CheapDropout).
The attention is registered as the implementation `densefit_sdpa` and used only while training on CPU with
attention dropout; otherwise (inference, dropout 0, CUDA, causal or biased attention) it hands the call to
transformers' SDPA unchanged. The model's saved config is never changed.
"""

from __future__ import annotations

import torch

NAME = "densefit_sdpa"
LANES = 65536  # the drop mask's resolution: a 16-bit lane per element


def drop_mask(shape: torch.Size, rate: float) -> tuple[torch.Tensor, float]:
    """A boolean mask with each element True (dropped) with probability `rate` (to 1/65536), from torch's
    own generator (so `torch.manual_seed` makes it reproducible), and the scale that keeps the expectation."""
    dropped = round(rate * LANES)
    n = shape.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
    lanes = words.view(torch.int16)[:n].view(shape)
    return lanes < -32768 + dropped, LANES / (LANES - dropped)


def cheap_dropout(x: torch.Tensor, rate: float) -> torch.Tensor:
    """`torch.nn.functional.dropout(x, rate, training=True)` with the cheap mask."""
    drop, scale = drop_mask(x.shape, rate)
    return x.masked_fill(drop, 0) * scale


def dropout_attention(query, key, value, attention_mask, scaling: float, rate: float) -> torch.Tensor:
    """Eager attention with the cheap dropout mask; returns (batch, length, heads, head_dim). The scale of the
    kept probabilities is applied to the values instead (the same product, on a tensor `length` times smaller)."""
    scores = torch.matmul(query, key.transpose(2, 3)).mul_(scaling)
    if attention_mask is not None and attention_mask.dtype == torch.bool:
        scores.masked_fill_(~attention_mask, torch.finfo(scores.dtype).min)
    elif attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1)
    drop, scale = drop_mask(probs.shape, rate)
    return torch.matmul(probs.masked_fill(drop, 0), value * scale).transpose(1, 2).contiguous()


def takes_fast_path(module, query, dropout: float, kwargs: dict) -> bool:
    return (module.training and dropout > 0 and query.device.type == "cpu" and not getattr(module, "is_causal", False)
            and kwargs.get("position_bias") is None and getattr(module, "num_key_value_groups", 1) == 1)


def attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
                      **kwargs):
    """The `densefit_sdpa` attention interface: the cheap-mask path where it applies, SDPA elsewhere."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if not takes_fast_path(module, query, dropout, kwargs):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    return dropout_attention(query, key, value, attention_mask, scaling, dropout), None


def register() -> None:
    """Make `densefit_sdpa` known to transformers: this attention, with SDPA's mask."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(NAME, attention_forward)
    AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])


class CheapDropout(torch.nn.Dropout):
    """nn.Dropout whose training-time mask on CPU is the cheap one; the class use_cheap_dropout gives the
    model's hidden-state dropouts (they hold no weights, so nothing saved changes)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.p > 0 and x.device.type == "cpu" and not self.inplace:
            return cheap_dropout(x, self.p)
        return super().forward(x)


def use_cheap_dropout(model: torch.nn.Module) -> int:
    """Draw every dropout of `model` with the cheap mask: transformers that run SDPA switch to `densefit_sdpa`
    (models that do not dispatch through transformers' attention interface, MPNet, ..., keep their own) and
    each plain nn.Dropout becomes a CheapDropout. Returns how many transformers switched."""
    from transformers import PreTrainedModel

    register()
    switched = 0
    for module in model.modules():
        if type(module) is torch.nn.Dropout:
            module.__class__ = CheapDropout
        if isinstance(module, PreTrainedModel) and _switchable(module):
            module.set_attn_implementation(NAME)
            switched += 1
    return switched


def restore_sdpa(model: torch.nn.Module) -> None:
    """Undo use_cheap_dropout (SDPA again, and plain nn.Dropout), so a model handed on after training is the
    stock one."""
    from transformers import PreTrainedModel

    for module in model.modules():
        if type(module) is CheapDropout:
            module.__class__ = torch.nn.Dropout
        if isinstance(module, PreTrainedModel) and module.config._attn_implementation == NAME:
            module.set_attn_implementation("sdpa")


def _switchable(module) -> bool:
    return module.config._attn_implementation == "sdpa" and module._can_set_attn_implementation()
