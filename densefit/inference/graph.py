"""The whole embedding as one torch module: transformer, pooling and L2 normalisation.

Exports trace this module, so the exported graph returns the same normalised
vectors as `Encoder.encode` and needs no pooling code at run time.
"""

from __future__ import annotations

POOLING_MODES = ("mean", "cls", "max")
EXPORTABLE_MODULES = ("Transformer", "Pooling", "Normalize")


def pooling_mode(model) -> str:
    """The pooling of a SentenceTransformer (mean, cls or max); others are refused."""
    from densefit.errors import ConfigError

    for module in model:
        if type(module).__name__ == "Pooling":
            name = module.get_config_dict().get("pooling_mode", "mean")
            name = name[0] if isinstance(name, (list, tuple)) and len(name) == 1 else name
            if name in POOLING_MODES:
                return name
            raise ConfigError(f"cannot export pooling '{name}'; exportable poolings: {', '.join(POOLING_MODES)}")
    return "mean"


def pool(hidden, mask, mode: str):
    """Pool token states (batch, seq, dim) under an attention mask (batch, seq) and L2-normalise."""
    import torch

    if mode == "cls":
        emb = hidden[:, 0]
    elif mode == "max":
        emb = hidden.masked_fill(mask.unsqueeze(-1) == 0, -1e9).max(dim=1).values
    else:
        m = mask.unsqueeze(-1).to(hidden.dtype)
        emb = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(emb.float(), dim=-1)


def embedding_module(model):
    """A torch module (input_ids, attention_mask) -> normalised embeddings for `model`."""
    import torch

    class Embedding(torch.nn.Module):
        def __init__(self, backbone, mode: str) -> None:
            super().__init__()
            self.backbone, self.mode = backbone, mode

        def forward(self, input_ids, attention_mask):
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return pool(hidden, attention_mask, self.mode)

    from densefit.errors import ConfigError

    extra = [type(m).__name__ for m in model if type(m).__name__ not in EXPORTABLE_MODULES]
    if extra:
        raise ConfigError(f"cannot export modules {extra}; exportable: {', '.join(EXPORTABLE_MODULES)}. "
                          "Fix: use backend torch for this model")
    return Embedding(model[0].auto_model, pooling_mode(model)).eval()
