"""Training-data formats: detect a file's format and convert it to canonical columns.

Three kinds of training data come out, named by the columns the trainer gets:

- ``retrieval``: ``anchor``, ``positive`` and optionally ``negative`` (str)
- ``scored``: ``sentence1``, ``sentence2``, ``score`` (float in [0, 1])
- ``nli``: ``premise``, ``hypothesis``, ``label`` (int: 0 entailment, 1 neutral, 2 contradiction)

Each input format is one small class in the `FORMATS` registry, whose order is the
detection order. The whole file is read and validated before anything is returned,
so training never starts on bad data.

Cleaning rules, the same for every format:

- a text that is not a string (a number, a list...) is always a `DataError`;
- a text that is None, empty or whitespace-only drops its row, counted in
  ``empty_dropped`` (with ``strict=True``: a `DataError` naming line and field).
  For ``nemo``, an empty document inside ``pos_doc``/``neg_doc`` is removed from its
  list (counted in ``other_dropped["empty documents in lists"]``); a record whose
  ``pos_doc`` is then empty is dropped like any empty row;
- an exact duplicate row (same values in every canonical column) is dropped, counted
  in ``duplicates_dropped`` (strict: a `DataError` naming both lines);
- a file that ends up with no rows at all is a `DataError`.

``rows_read`` counts input rows; ``rows_kept`` counts output rows, which can be more
than read (``nemo`` and ``labelled`` expand each record).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from densefit.data.beir import CORPUS, QRELS, QUERIES, IRSet, available_splits, is_beir_dir, load_beir
from densefit.data.readers import Problems, Record, read_records
from densefit.errors import DataError, UnknownNameError

if TYPE_CHECKING:
    import datasets

ANCHOR = ("anchor", "query", "question", "sentence1", "text1")
POSITIVE = ("positive", "pos", "positive_doc", "document", "doc", "passage", "answer", "sentence2", "text2")
NEGATIVE = ("negative", "neg", "hard_negative", "negative_doc")
NLI_LABELS = {"entailment": 0, "neutral": 1, "contradiction": 2}
TEXT_COLUMNS = ("anchor", "positive", "negative", "sentence1", "sentence2", "premise", "hypothesis")
SCORE_RANGE = "a number in [0, 5]: 0 to 1, or 0 to 5 for the whole file"
EMPTY_FIX = "fill in or remove the row (without --strict, such rows are dropped and counted)"


@dataclass
class LoadSummary:
    """What loading a file did: counts of rows read, kept and dropped, and notes."""

    path: str
    format: str
    kind: str
    rows_read: int = 0
    rows_kept: int = 0
    empty_dropped: int = 0
    duplicates_dropped: int = 0
    other_dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class TrainingData:
    """Canonical training columns of one kind, with the summary of how they were loaded."""

    format: str
    kind: str
    columns: dict[str, list]
    summary: LoadSummary

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def to_dataset(self) -> "datasets.Dataset":
        """The columns as a `datasets.Dataset`, in canonical column order."""
        import datasets

        return datasets.Dataset.from_dict(self.columns)


class Row(NamedTuple):
    """One canonical row and the input line it came from (None when there is no line)."""

    line: int | None
    values: dict[str, Any]


@dataclass
class _Context:
    """Per-load state: where errors point, strictness, the summary being filled, the RNG."""

    path: str
    strict: bool
    summary: LoadSummary
    rng: random.Random

    def drop(self, reason: str, count: int = 1) -> None:
        """Count rows dropped for a reason other than empty text or duplication."""
        self.summary.other_dropped[reason] = self.summary.other_dropped.get(reason, 0) + count

    def text(self, value: object, line: int | None, column: str, path: object = None,
             subject: str = "") -> str | None:
        """Validate one text: a string is returned; None, NaN or blank gives None (strict: an error)."""
        where = path if path is not None else self.path
        if isinstance(value, float) and math.isnan(value):
            value = None  # how pandas writes a missing text
        if value is not None and not isinstance(value, str):
            raise DataError(f"{subject}a value of type {type(value).__name__}, not text", path=where, line=line,
                            field=column, expected="a string", fix="store this column as text")
        if value is None or not value.strip():
            if self.strict:
                raise DataError(f"{subject}empty text", path=where, line=line, field=column,
                                expected="a non-empty string", fix=EMPTY_FIX)
            return None
        return value


def _missing_column(rec: Record, column: str, expected: str) -> DataError:
    """The error for a record that lacks a required column."""
    return DataError("missing column", path=rec.source, line=rec.line, field=column,
                     expected=f"columns {expected}", fix="give every row the same columns as the first row")


def _describe(canonical: str, aliases: tuple[str, ...]) -> str:
    """'anchor (or query, question)' for error messages."""
    others = [a for a in aliases if a != canonical]
    return f"{canonical} (or {', '.join(others)})" if others else canonical


class Format:
    """A training-data format: how to recognise it and how to load it."""

    name: ClassVar[str]
    kind: ClassVar[str]
    expected: ClassVar[str]

    def matches(self, keys: set[str]) -> bool:
        """True when a first record with these keys is in this format."""
        raise NotImplementedError

    def load(self, path: str | os.PathLike, *, strict: bool = False, seed: int = 0) -> TrainingData:
        """Read, validate, convert and clean the whole file."""
        raise NotImplementedError

    def _context(self, path: str | os.PathLike, strict: bool, seed: int) -> _Context:
        summary = LoadSummary(path=str(path), format=self.name, kind=self.kind)
        return _Context(str(path), strict, summary, random.Random(seed))


class RecordFormat(Format):
    """A format read row by row: `fields` maps each canonical input field to its accepted column names."""

    fields: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]]
    optional: ClassVar[tuple[str, ...]] = ()

    @property
    def expected(self) -> str:  # type: ignore[override]
        described = [_describe(name, aliases) for name, aliases in self.fields]
        return ", ".join(described + [f"optional {o}" for o in self.optional])

    def matches(self, keys: set[str]) -> bool:
        return all(any(a in keys for a in aliases) for _, aliases in self.fields)

    def resolve(self, first: Record) -> dict[str, str]:
        """Map each canonical field to the column the first record uses for it."""
        mapping: dict[str, str] = {}
        for name, aliases in self.fields:
            column = next((a for a in aliases if a in first.row), None)
            if column is None:
                raise _missing_column(first, name, self.expected)
            mapping[name] = column
        return mapping

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        """Canonical rows from one record; None when it is dropped for an empty text."""
        raise NotImplementedError

    def finish(self, rows: list[Row], ctx: _Context) -> list[Row]:
        """File-level conversion after every record is parsed (scaling, sampling)."""
        return rows

    def _parse_checked(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        missing = next((c for c in cols.values() if c not in rec.row), None)
        if missing is not None:
            raise _missing_column(rec, missing, ", ".join(cols.values()))
        return self.parse(rec, cols, ctx)

    def load(self, path: str | os.PathLike, *, strict: bool = False, seed: int = 0) -> TrainingData:
        """Read every record, check its columns, parse, finish, then drop duplicates."""
        ctx = self._context(path, strict, seed)
        records = list(read_records(path))
        if not records:
            raise DataError("the file has no rows", path=str(path), expected=f"rows with columns {self.expected}")
        cols = self.resolve(records[0])
        _note_columns(ctx, cols, set(records[0].row), self.optional)
        rows: list[Row] = []
        problems = Problems(str(path))  # every bad row of the file in one run (up to MAX_PROBLEMS)
        for rec in records:
            try:
                parsed = self._parse_checked(rec, cols, ctx)
            except DataError as err:
                problems.add(err)
                continue
            if parsed is None:
                ctx.summary.empty_dropped += 1
            else:
                rows.extend(parsed)
        problems.raise_any()
        ctx.summary.rows_read = len(records)
        return _finalise(self, dedupe(self.finish(rows, ctx), ctx), ctx)


def _note_columns(ctx: _Context, cols: dict[str, str], keys: set[str], optional: tuple[str, ...]) -> None:
    """Note aliases used in place of canonical names, and columns that are ignored."""
    for canonical, column in cols.items():
        if column != canonical:
            ctx.summary.notes.append(f"column '{column}' used as {canonical}")
    ignored = sorted(keys - set(cols.values()) - set(optional))
    if ignored:
        ctx.summary.notes.append(f"ignored columns: {', '.join(ignored)}")


def dedupe(rows: list[Row], ctx: _Context) -> list[Row]:
    """Drop exact duplicate rows (all canonical values equal); strict: error naming both lines."""
    first_line: dict[tuple, int | None] = {}
    kept: list[Row] = []
    for row in rows:
        key = tuple(row.values.items())
        if key not in first_line:
            first_line[key] = row.line
            kept.append(row)
        elif ctx.strict:
            first = first_line[key]
            reason = f"duplicate of line {first}" if first is not None else "duplicate row"
            raise DataError(reason, path=ctx.path, line=row.line, expected="unique rows",
                            fix="remove the duplicate rows (without --strict they are dropped and counted)")
        else:
            ctx.summary.duplicates_dropped += 1
    return kept


def _finalise(fmt: Format, rows: list[Row], ctx: _Context) -> TrainingData:
    """Turn rows into columns; no rows left is an error."""
    summary = ctx.summary
    if not rows:
        raise DataError(f"no usable rows ({summary.rows_read} read, {summary.empty_dropped} empty, "
                        f"{summary.duplicates_dropped} duplicates, {sum(summary.other_dropped.values())} other)",
                        path=ctx.path, expected=f"at least one complete row with {fmt.expected}")
    names = list(rows[0].values)
    columns = {name: [row.values[name] for row in rows] for name in names}
    summary.rows_kept = len(rows)
    return TrainingData(format=fmt.name, kind=fmt.kind, columns=columns, summary=summary)


def _texts(rec: Record, cols: dict[str, str], ctx: _Context, out: Iterable[str]) -> dict[str, str] | None:
    """Validate the named text fields of a record; None when any is empty (all are type-checked first)."""
    values = {name: ctx.text(rec.row[cols[name]], rec.line, cols[name]) for name in out}
    return None if any(v is None for v in values.values()) else values  # type: ignore[return-value]


def _doc_list(rec: Record, column: str, ctx: _Context) -> list[str]:
    """A NeMo document list (a plain string is a 1-list); empty documents are removed and counted."""
    value = rec.row.get(column)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise DataError(f"a value of type {type(value).__name__}", path=ctx.path, line=rec.line, field=column,
                        expected="a list of strings", fix="store the documents as a JSON array of strings")
    docs = [ctx.text(item, rec.line, column) for item in items]
    empty = sum(d is None for d in docs)
    if empty:
        ctx.drop("empty documents in lists", empty)
    return [d for d in docs if d is not None]


class NemoFormat(RecordFormat):
    """NeMo retriever style: `question`, `pos_doc` list, optional `neg_doc` list."""

    name, kind = "nemo", "retrieval"
    fields = (("question", ("question",)), ("pos_doc", ("pos_doc",)))
    optional = ("neg_doc",)

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        question = ctx.text(rec.row["question"], rec.line, "question")
        pos, neg = _doc_list(rec, "pos_doc", ctx), _doc_list(rec, "neg_doc", ctx)
        if not pos and ctx.strict:
            raise DataError("no documents", path=ctx.path, line=rec.line, field="pos_doc",
                            expected="at least one non-empty document", fix=EMPTY_FIX)
        if question is None or not pos:
            return None
        if not neg:
            return [Row(rec.line, {"anchor": question, "positive": p}) for p in pos]
        return [Row(rec.line, {"anchor": question, "positive": pos[i % len(pos)], "negative": neg[i % len(neg)]})
                for i in range(max(len(pos), len(neg)))]

    def finish(self, rows: list[Row], ctx: _Context) -> list[Row]:
        """Negatives must be on every row or none: when some records lack them, drop the column."""
        with_neg = sum("negative" in r.values for r in rows)
        if 0 < with_neg < len(rows):
            ctx.summary.notes.append(f"{len(rows) - with_neg} of {len(rows)} rows had no neg_doc, "
                                     "so the negative column was not used")
            return [Row(r.line, {"anchor": r.values["anchor"], "positive": r.values["positive"]}) for r in rows]
        return rows


def parse_nli_label(value: object, rec: Record, column: str) -> int:
    """0/1/2 (int or digit string) or entailment/neutral/contradiction, case-insensitive."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in NLI_LABELS:
            return NLI_LABELS[text]
        if text in ("0", "1", "2"):
            return int(text)
    raise DataError(f"label {value!r} is not an NLI label", path=rec.source, line=rec.line, field=column,
                    expected="one of entailment, neutral, contradiction or 0, 1, 2",
                    fix="map the labels to these values (and drop unlabelled rows, such as SNLI's -1)")


class NliFormat(RecordFormat):
    """Natural language inference: `premise`, `hypothesis`, `label`."""

    name, kind = "nli", "nli"
    fields = (("premise", ("premise",)), ("hypothesis", ("hypothesis",)), ("label", ("label",)))

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        label = parse_nli_label(rec.row[cols["label"]], rec, cols["label"])
        texts = _texts(rec, cols, ctx, ("premise", "hypothesis"))
        return None if texts is None else [Row(rec.line, {**texts, "label": label})]


def parse_score(value: object, rec: Record, column: str) -> float:
    """A similarity score: a finite number (or numeric string) in [0, 5]."""
    score: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        score = float(value)
    elif isinstance(value, str):
        try:
            score = float(value.strip())
        except ValueError:
            score = None
    if score is None or not math.isfinite(score):
        shown = "an empty value" if value is None or value == "" else repr(value)
        raise DataError(f"score {shown} is not a number", path=rec.source, line=rec.line, field=column,
                        expected=SCORE_RANGE, fix="fix the score, or drop the row")
    if not 0.0 <= score <= 5.0:
        raise DataError(f"score {value!r} is out of range", path=rec.source, line=rec.line, field=column,
                        expected=SCORE_RANGE, fix="rescale the scores to 0-1 or 0-5")
    return score


class StsFormat(RecordFormat):
    """Scored pairs: `sentence1`, `sentence2` and `score` (or `similarity`), on a 0-1 or 0-5 scale."""

    name, kind = "sts", "scored"
    fields = (("sentence1", ("sentence1",)), ("sentence2", ("sentence2",)), ("score", ("score", "similarity")))

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        score = parse_score(rec.row[cols["score"]], rec, cols["score"])
        texts = _texts(rec, cols, ctx, ("sentence1", "sentence2"))
        return None if texts is None else [Row(rec.line, {**texts, "score": score})]

    def finish(self, rows: list[Row], ctx: _Context) -> list[Row]:
        """If any score is above 1 the file is on a 0-5 scale: divide every score by 5."""
        if not any(r.values["score"] > 1.0 for r in rows):
            return rows
        ctx.summary.notes.append("scores on a 0-5 scale were divided by 5")
        return [Row(r.line, {**r.values, "score": r.values["score"] / 5.0}) for r in rows]


class TripletsFormat(RecordFormat):
    """Retrieval triplets: an anchor, a positive and a negative column (aliases accepted)."""

    name, kind = "triplets", "retrieval"
    fields = (("anchor", ANCHOR), ("positive", POSITIVE), ("negative", NEGATIVE))

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        texts = _texts(rec, cols, ctx, ("anchor", "positive", "negative"))
        return None if texts is None else [Row(rec.line, texts)]


class PairsFormat(RecordFormat):
    """Retrieval pairs: an anchor and a positive column (aliases accepted)."""

    name, kind = "pairs", "retrieval"
    fields = (("anchor", ANCHOR), ("positive", POSITIVE))

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        texts = _texts(rec, cols, ctx, ("anchor", "positive"))
        return None if texts is None else [Row(rec.line, texts)]


def _label_key(value: object, rec: Record, column: str) -> object:
    """A group label: a string or integer (None or empty → None, i.e. an empty row)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    raise DataError(f"a label of type {type(value).__name__}", path=rec.source, line=rec.line, field=column,
                    expected="a string or integer label", fix="store one label per row")


class LabelledFormat(RecordFormat):
    """Finetuner / Quora style: `text` + `label`; texts sharing a label are duplicates of each other.

    Converted to retrieval triplets with `random.Random(seed)`: every text in a label
    group of two or more becomes an anchor, with another text of its group as the
    positive and a text of any other label (singletons included) as the negative.
    """

    name, kind = "labelled", "retrieval"
    fields = (("text", ("text",)), ("label", ("label",)))

    def parse(self, rec: Record, cols: dict[str, str], ctx: _Context) -> list[Row] | None:
        text = ctx.text(rec.row[cols["text"]], rec.line, cols["text"])
        label = _label_key(rec.row[cols["label"]], rec, cols["label"])
        if label is None and ctx.strict:
            raise DataError("empty label", path=ctx.path, line=rec.line, field=cols["label"],
                            expected="a string or integer label", fix=EMPTY_FIX)
        return None if text is None or label is None else [Row(rec.line, {"text": text, "label": label})]

    def finish(self, rows: list[Row], ctx: _Context) -> list[Row]:
        groups: dict[object, list[Row]] = {}
        for row in dedupe(rows, ctx):
            groups.setdefault(row.values["label"], []).append(row)
        singletons = sum(len(g) == 1 for g in groups.values())
        if singletons:
            ctx.drop("singleton labels", singletons)
        if singletons == len(groups):
            raise DataError(f"no label is shared by two texts ({len(groups)} labels, each used once)",
                            path=ctx.path, field="label", expected="at least two texts sharing a label",
                            fix="labelled documents need at least two texts with the same label to form pairs")
        if len(groups) == 1:
            ctx.summary.notes.append("only one label, so there are no negatives")
        return _sample_triplets(list(groups.values()), ctx.rng)


def _sample_triplets(groups: list[list[Row]], rng: random.Random) -> list[Row]:
    """Anchor = each text of a group of 2+, positive = another of its group, negative = another label's."""
    pool = [row for group in groups for row in group]  # contiguous by label
    out: list[Row] = []
    start = 0  # where the current group begins in `pool`
    for group in groups:
        size = len(group)
        for i, row in enumerate(group if size >= 2 else ()):
            j = rng.randrange(size - 1)  # any other member: skip index i
            values = {"anchor": row.values["text"], "positive": group[j + (j >= i)].values["text"]}
            if size < len(pool):
                k = rng.randrange(len(pool) - size)  # any text outside the group: skip its block
                values["negative"] = pool[k + size * (k >= start)].values["text"]
            out.append(Row(row.line, values))
        start += size
    return out


class BeirFormat(Format):
    """A BEIR folder used for training: (query, relevant document) pairs from `qrels/train.tsv`."""

    name, kind = "beir", "retrieval"
    expected = f"a folder with {CORPUS}, {QUERIES} and {QRELS}/train.tsv"

    def matches(self, keys: set[str]) -> bool:
        return False  # recognised by its folder layout, not by columns

    def load(self, path: str | os.PathLike, *, strict: bool = False, seed: int = 0) -> TrainingData:
        if not is_beir_dir(path):
            raise DataError("not a BEIR-style IR set", path=str(path), expected=self.expected)
        splits = available_splits(path)
        if "train" not in splits:
            raise DataError(f"no train split; found {', '.join(splits) or 'none'}", path=Path(path) / QRELS,
                            expected="qrels/train.tsv",
                            fix="add qrels/train.tsv, or use this folder for evaluation (--eval)")
        ir = load_beir(path, "train")
        ctx = self._context(path, strict, seed)
        rows = [row for qid, rel in ir.qrels.items() for row in self._pairs(ir, qid, rel, ctx)]
        ctx.summary.rows_read = sum(len(rel) for rel in ir.qrels.values())
        ctx.summary.notes.append(f"pairs from {QRELS}/train.tsv: {len(ir.qrels)} queries")
        return _finalise(self, dedupe(rows, ctx), ctx)

    def _pairs(self, ir: IRSet, qid: str, rel: dict[str, int], ctx: _Context) -> list[Row]:
        """The (query, document) rows of one query; grade <= 0 and empty texts are counted."""
        root = Path(ir.path)
        query = ctx.text(ir.queries[qid], None, "text", root / QUERIES, f"query '{qid}': ")
        rows: list[Row] = []
        for did, grade in rel.items():
            if grade <= 0:
                ctx.drop("non-relevant judgements (grade <= 0)")
                continue
            doc = ctx.text(ir.corpus[did], None, "text", root / CORPUS, f"document '{did}': ")
            if query is None or doc is None:
                ctx.summary.empty_dropped += 1
            else:
                rows.append(Row(None, {"anchor": query, "positive": doc}))
        return rows


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (BeirFormat(), NemoFormat(), NliFormat(), StsFormat(), TripletsFormat(), PairsFormat(),
                LabelledFormat())
}


def get_format(name: str) -> Format:
    """The registered format called `name`; an unknown name lists the valid ones."""
    if name not in FORMATS:
        raise UnknownNameError("format", name, list(FORMATS))
    return FORMATS[name]


def _undetected(path: str | os.PathLike, keys: set[str], line: int | None) -> DataError:
    """The error for columns that match no format: lists every format's expected columns."""
    listing = "; ".join(f"{name}: {fmt.expected}" for name, fmt in FORMATS.items())
    return DataError(f"cannot tell the format from the columns {', '.join(sorted(keys)) or '(none)'}",
                     path=str(path), line=line, expected=f"one of these formats - {listing}",
                     fix=f"rename the columns or pass --format NAME (one of {', '.join(FORMATS)})")


def detect_format(path: str | os.PathLike, keys: set[str] | None = None) -> str:
    """The format name for a BEIR folder, or from `keys` (default: the first record's keys)."""
    if is_beir_dir(path):
        return "beir"
    line = None
    if keys is None:
        first = next(iter(read_records(path)), None)
        if first is None:
            raise DataError("the file has no rows", path=str(path), expected="at least one row")
        keys, line = set(first.row), first.line
    for name, fmt in FORMATS.items():
        if fmt.matches(keys):
            return name
    raise _undetected(path, keys, line)


def load_training_data(path: str | os.PathLike, format: str | None = None, *, strict: bool = False,
                       seed: int = 0) -> TrainingData:
    """Load a training file (or BEIR folder) into canonical columns, fully validated.

    `format` overrides detection; the columns are still checked. `seed` drives the
    sampling of the `labelled` format.
    """
    name = detect_format(path) if format is None else get_format(format).name
    return FORMATS[name].load(path, strict=strict, seed=seed)
