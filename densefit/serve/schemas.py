"""Request and response bodies (they make the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt

TextInput = Union[str, list[str], list[int], list[list[int]]]


class EmbeddingsRequest(BaseModel):
    """OpenAI `POST /v1/embeddings`. Token-id inputs are refused (send strings)."""

    input: TextInput = Field(description="A string or a list of strings.")
    model: str | None = Field(None, description="A served model name (GET /v1/models); another name is a 404 "
                                                "model_not_found, as in OpenAI's API. Omit it for the main model.")
    encoding_format: Literal["float", "base64"] = Field("float", description="float lists or base64 float32.")
    dimensions: StrictInt | None = Field(None, ge=1,
                                         description="Keep the first N dimensions (Matryoshka), renormalised.")
    user: str | None = Field(None, description="Accepted and ignored, as in OpenAI's API.")
    input_type: Literal["query", "document"] | None = Field(
        None, description="query or document: put the model's prompt for that kind first (as /search does for "
                          "its query); omitted: the model's own default.")


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: Union[list[float], str]


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


class SearchRequest(BaseModel):
    """Strict: an unknown field (`top_k`), a string or boolean `k`, or an unknown model is a 422 naming it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(description="The query text.")
    k: int = Field(10, description="How many hits to return (1 to max_k).")
    filter: dict[str, Any] | None = Field(None, description="Metadata equality filter, passed to the store.")
    model: str | None = Field(None, description="Which served model (and its store) to search with.")
    rerank: bool = Field(True, description="Rerank with the cross-encoder when one is configured.")
    mode: Literal["dense", "lexical", "hybrid"] = Field(
        "dense", description="dense (the model), lexical (the store's BM25 index) or hybrid (both, fused).")
    fusion: Literal["rrf", "convex"] = Field("rrf", description="hybrid: reciprocal-rank or convex score fusion.")
    weight: float = Field(0.5, ge=0.0, le=1.0, description="hybrid convex: the dense share in [0, 1].")


class SearchHit(BaseModel):
    id: str
    score: float
    text: str
    metadata: dict[str, Any]
    retrieval_score: float | None = Field(None, description="The bi-encoder score, when the hit was reranked.")


class SearchResponse(BaseModel):
    model: str
    query: str
    k: int
    mode: str = Field("dense", description="The retrieval mode that answered: dense, lexical or hybrid.")
    reranked: bool
    hits: list[SearchHit]
    timings: dict[str, float] = Field(description="embed_ms, search_ms, rerank_ms of the batch; batch_texts.")


class InvocationsEmbedResponse(BaseModel):
    embeddings: list[list[float]]
    model: str
    usage: Usage


class Status(BaseModel):
    status: str
    reason: str | None = None
