"""Check training data before training: counts, token lengths and leakage.

Powers `densefit data check FILE... [--eval DIR]`. Loading uses the same code as
training (`load_training_data`), so the counts shown are what training would get.
No model is loaded here: the caller passes `count_tokens` (for example a tokenizer
call that counts special tokens the way the model truncates).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from densefit.data.beir import IRSet, available_splits, is_beir_dir, load_beir
from densefit.data.formats import TEXT_COLUMNS, LoadSummary, TrainingData, load_training_data

TokenCounter = Callable[[list[str]], list[int]]
PathLike = str | os.PathLike
# Which column plays "query" and which "positive" for each kind of training data.
LEAK_COLUMNS = {"retrieval": ("anchor", "positive"), "scored": ("sentence1", "sentence2"),
                "nli": ("premise", "hypothesis")}
MAX_EXAMPLES = 3
TRUNCATION_WARN = 0.10


@dataclass
class LengthStats:
    """Token-length distribution of one text column; `over_limit` texts will be truncated."""

    column: str
    count: int
    min: int
    p50: float
    p90: float
    p99: float
    max: int
    over_limit: int
    limit: int | None


@dataclass
class FileAudit:
    """One file's load summary and per-column token lengths (empty without a token counter)."""

    summary: LoadSummary
    lengths: list[LengthStats]


@dataclass
class Leakage:
    """Texts shared by two data sets: queries/anchors and positives (whitespace-normalised)."""

    left: str
    right: str
    shared_queries: int
    shared_positives: int
    examples: list[str]

    @property
    def total(self) -> int:
        return self.shared_queries + self.shared_positives


@dataclass
class AuditReport:
    """Everything `densefit data check` found."""

    files: list[FileAudit]
    leakage: list[Leakage]

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def _percentile(sorted_values: list[int], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of sorted values."""
    pos = (len(sorted_values) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low))


def length_stats(column: str, texts: list[str], count_tokens: TokenCounter, limit: int | None) -> LengthStats:
    """Token-length stats of `texts`; each distinct text is counted once, then mapped back."""
    unique = list(dict.fromkeys(texts))
    counts = dict(zip(unique, count_tokens(unique)))
    lengths = sorted(counts[t] for t in texts)
    over = sum(n > limit for n in lengths) if limit is not None else 0
    return LengthStats(column=column, count=len(lengths), min=lengths[0], p50=_percentile(lengths, 50),
                       p90=_percentile(lengths, 90), p99=_percentile(lengths, 99), max=lengths[-1],
                       over_limit=over, limit=limit)


def audit_file(data: TrainingData, count_tokens: TokenCounter | None, limit: int | None) -> FileAudit:
    """The summary of a loaded file, plus token lengths of its text columns when a counter is given."""
    lengths = []
    if count_tokens is not None:
        lengths = [length_stats(name, values, count_tokens, limit)
                   for name, values in data.columns.items() if name in TEXT_COLUMNS and values]
    return FileAudit(summary=data.summary, lengths=lengths)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _sides(data: TrainingData | IRSet) -> tuple[set[str], set[str]]:
    """(queries, positives) of a data set, whitespace-normalised.

    Training data: the anchor and positive columns (sentence1/sentence2 for scored
    pairs, premise/hypothesis for NLI). An IR set: its judged queries and the
    documents judged relevant (grade > 0).
    """
    if isinstance(data, IRSet):
        queries = data.judged_queries().values()
        positives = {data.corpus[d] for rel in data.qrels.values() for d, g in rel.items() if g > 0}
    else:
        query_col, positive_col = LEAK_COLUMNS[data.kind]
        queries, positives = data.columns[query_col], set(data.columns[positive_col])
    return {_normalise(q) for q in queries}, {_normalise(p) for p in positives}


def _example(kind: str, text: str) -> str:
    short = text if len(text) <= 80 else text[:77] + "..."
    return f"{kind}: {short}"


def find_leakage(left: TrainingData | IRSet, right: TrainingData | IRSet, left_name: str,
                 right_name: str) -> Leakage:
    """Texts that appear in both sets: same query/anchor, or same positive (case-sensitive)."""
    (left_q, left_p), (right_q, right_p) = _sides(left), _sides(right)
    queries, positives = sorted(left_q & right_q), sorted(left_p & right_p)
    examples = [_example("query", q) for q in queries[:MAX_EXAMPLES]]
    examples += [_example("positive", p) for p in positives[:MAX_EXAMPLES - len(examples)]]
    return Leakage(left=left_name, right=right_name, shared_queries=len(queries),
                   shared_positives=len(positives), examples=examples)


def _load_eval(path: PathLike) -> TrainingData | IRSet:
    """An evaluation set: a BEIR folder's test (else dev) split, or a training-data file."""
    return load_beir(path) if is_beir_dir(path) else load_training_data(path)


def _eval_split(path: PathLike) -> str | None:
    """The split `load_beir` evaluates on by default, if the folder has one."""
    splits = available_splits(path)
    return next((s for s in ("test", "dev", "validation") if s in splits), None)


def _beir_leaks(path: PathLike, train: TrainingData) -> list[Leakage]:
    """For a BEIR folder used as training data: its train split against its evaluation split."""
    split = _eval_split(path)
    if split is None:
        return []
    return [find_leakage(train, load_beir(path, split), f"{path} (train)", f"{path} ({split})")]


def audit(paths: PathLike | Sequence[PathLike], *, eval_path: PathLike | None = None,
          count_tokens: TokenCounter | None = None, max_seq_length: int | None = None,
          format: str | None = None) -> AuditReport:
    """Load every file as training would, measure lengths, and look for leakage.

    Leakage is checked between every pair of files, between each file and
    `eval_path`, and inside a BEIR folder between its train and test/dev splits.
    """
    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    loaded = [(str(p), load_training_data(p, format)) for p in path_list]
    files = [audit_file(data, count_tokens, max_seq_length) for _, data in loaded]
    leaks = [find_leakage(a, b, na, nb) for i, (na, a) in enumerate(loaded) for nb, b in loaded[i + 1:]]
    for name, data in loaded:
        if data.format == "beir":
            leaks += _beir_leaks(name, data)
    if eval_path is not None:
        evaluation = _load_eval(eval_path)
        leaks += [find_leakage(data, evaluation, name, str(eval_path)) for name, data in loaded]
    return AuditReport(files=files, leakage=leaks)


def _files_table(report: AuditReport) -> Table:
    table = Table(title="Training data")
    for header in ("File", "Format", "Kind", "Read", "Kept", "Empty", "Duplicates", "Other dropped"):
        numeric = header not in ("File", "Format", "Kind", "Other dropped")
        table.add_column(header, justify="right" if numeric else "left")
    for f in report.files:
        s = f.summary
        other = ", ".join(f"{k}: {v}" for k, v in s.other_dropped.items()) or "-"
        table.add_row(escape(s.path), s.format, s.kind, str(s.rows_read), str(s.rows_kept),
                      str(s.empty_dropped), str(s.duplicates_dropped), escape(other))
    return table


def _lengths_table(f: FileAudit) -> Table:
    limit = f.lengths[0].limit
    table = Table(title=f"Token lengths: {escape(f.summary.path)}")
    over_header = f"Over {limit}" if limit is not None else "Over limit"
    for header in ("Column", "Texts", "Min", "p50", "p90", "p99", "Max", over_header):
        table.add_column(header, justify="left" if header == "Column" else "right")
    for s in f.lengths:
        over = f"{s.over_limit} ({s.over_limit / s.count:.0%})" if s.limit is not None else "-"
        table.add_row(s.column, str(s.count), str(s.min), f"{s.p50:g}", f"{s.p90:g}", f"{s.p99:g}",
                      str(s.max), over)
    return table


def _leakage_table(report: AuditReport) -> Table:
    table = Table(title="Leakage (texts found in both)")
    for header in ("Left", "Right", "Shared queries", "Shared positives", "Examples"):
        table.add_column(header, justify="right" if header.startswith("Shared") else "left")
    for leak in report.leakage:
        table.add_row(escape(leak.left), escape(leak.right), str(leak.shared_queries),
                      str(leak.shared_positives), escape("\n".join(leak.examples)) or "-")
    return table


def warnings(report: AuditReport) -> list[str]:
    """Plain-text warnings: any leakage, and columns where over 10% of texts will be truncated."""
    out = [f"leakage: {leak.left} and {leak.right} share {leak.shared_queries} queries and "
           f"{leak.shared_positives} positives" for leak in report.leakage if leak.total > 0]
    for f in report.files:
        for s in f.lengths:
            if s.limit is not None and s.count and s.over_limit / s.count > TRUNCATION_WARN:
                out.append(f"{s.over_limit / s.count:.0%} of '{s.column}' texts in {f.summary.path} are longer "
                           f"than {s.limit} tokens and will be truncated")
    return out


def render_audit(report: AuditReport, console: Console) -> None:
    """Print the audit as rich tables, then one warning line per problem found."""
    console.print(_files_table(report))
    for f in report.files:
        for note in f.summary.notes:
            console.print(f"  [dim]{escape(f.summary.path)}: {escape(note)}[/dim]")
        if f.lengths:
            console.print(_lengths_table(f))
    if report.leakage:
        console.print(_leakage_table(report))
    for line in warnings(report):
        console.print(f"[bold yellow]Warning:[/bold yellow] {escape(line)}")


WORDS_SAMPLE = 2000  # texts looked at: enough for a stable median, cheap on any data size


def median_words(texts, sample: int = WORDS_SAMPLE) -> float | None:
    """The median whitespace word count of the first `sample` texts (None when there are none)."""
    import statistics

    texts = [t for t in texts if isinstance(t, str)][:sample]
    return float(statistics.median(len(t.split()) for t in texts)) if texts else None
