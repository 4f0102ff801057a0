"""Property-based fuzzing of the readers: random bytes, random JSON and random CSV quoting. Every outcome is
a clean load or a DataError that names the file; never another exception. Bounded to stay fast."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from densefit.data.corpus import load_corpus
from densefit.data.formats import load_training_data
from densefit.data.readers import read_records
from densefit.errors import DataError
from densefit.index.corpus import check_corpus

FUZZ = settings(max_examples=int(__import__("os").environ.get("DENSEFIT_FUZZ_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)  # lone surrogates included
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=12)
COLUMNS = st.sampled_from(["anchor", "positive", "negative", "query", "text", "id", "_id", "score", "label",
                           "sentence1", "sentence2", "title", "x"])
ROW = st.dictionaries(COLUMNS, JSON, max_size=5)
CELL = st.text(alphabet=st.sampled_from(list('ab ,"\t\n\r\'\\é\ud83d\x00')), max_size=12)


def outcome(path: Path) -> None:
    """Every reader path over one file: rows, training data, corpus and index corpus."""
    for load in (lambda p: list(read_records(p)), load_training_data, load_corpus, check_corpus):
        try:
            load(path)
        except DataError as err:
            assert err.path is not None and str(path.name) in str(err), err


def written(suffix: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = folder / f"data{suffix}"
    path.write_bytes(data)
    return path


@FUZZ
@given(suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".txt"]), data=st.binary(max_size=400))
def test_random_bytes(suffix, data):
    outcome(written(suffix, data))


@FUZZ
@given(rows=st.lists(ROW | JSON, max_size=8), as_array=st.booleans())
def test_random_json_rows(rows, as_array):
    text = json.dumps(rows) if as_array else "".join(json.dumps(r) + "\n" for r in rows)
    outcome(written(".json" if as_array else ".jsonl", text.encode()))


@FUZZ
@given(header=st.lists(COLUMNS, min_size=1, max_size=4), cells=st.lists(st.lists(CELL, max_size=5), max_size=6),
       sep=st.sampled_from([",", "\t"]))
def test_random_delimited_quoting(header, cells, sep):
    lines = [sep.join(header)] + [sep.join(row) for row in cells]
    outcome(written(".csv" if sep == "," else ".tsv", "\n".join(lines).encode("utf-8", "surrogatepass")))
