"""Plain document collections, for corpus-only methods (GenQ, GPL, TSDAE, MLM) and mining.

A corpus is any of:
- a BEIR folder (its `corpus.jsonl`, titles joined to texts like `load_beir` does);
- a `.txt` file: one document per non-empty line;
- a JSONL / JSON / CSV / TSV / Parquet file or `datasets` folder with a text column
  (`text`, `document`, `passage`, `content`, `body`, `positive`, `doc`), optional `title` and `_id`/`id`.
Empty documents are skipped; exact duplicate texts are kept once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from densefit.data.beir import CORPUS, is_beir_dir
from densefit.errors import DataError

TEXT_COLUMNS = ("text", "document", "passage", "content", "body", "positive", "doc")
ID_COLUMNS = ("_id", "id", "doc_id", "docid")


@dataclass
class Corpus:
    ids: list[str]
    texts: list[str]
    path: str
    titles: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def summary(self) -> dict:
        lengths = sorted(len(t.split()) for t in self.texts) or [0]
        return {"path": self.path, "documents": len(self.texts), "skipped": self.skipped,
                "median_words": lengths[len(lengths) // 2]}


def _text_column(row: dict, path: str, line: int) -> str:
    for name in TEXT_COLUMNS:
        if name in row:
            return name
    raise DataError(f"no text column among {sorted(row)}", path=path, line=line,
                    expected=f"one of the columns {', '.join(TEXT_COLUMNS)}",
                    fix="rename the document column to 'text'")


def _from_records(path: Path) -> tuple[list[str], list[str], dict[str, str]]:
    from densefit.data.readers import read_records

    ids, texts, titles, column = [], [], {}, None
    for rec in read_records(path):
        column = column or _text_column(rec.row, str(path), rec.line)
        text, title = rec.row.get(column), rec.row.get("title")
        if text is not None and not isinstance(text, str):
            raise DataError(f"a value of type {type(text).__name__}, not text", path=path, line=rec.line,
                            field=column, expected="a string")
        doc_id = next((str(rec.row[c]) for c in ID_COLUMNS if rec.row.get(c) is not None), str(rec.line))
        joined = f"{title.strip()} {text}" if isinstance(title, str) and title.strip() and text else text
        ids.append(doc_id)
        texts.append(joined or "")
        if isinstance(title, str) and title.strip():
            titles[doc_id] = title.strip()
    return ids, texts, titles


def _from_txt(path: Path) -> tuple[list[str], list[str], dict[str, str]]:
    from densefit.data.readers import read_text_lines

    lines = [text for _, text in read_text_lines(path)]
    return [str(i) for i in range(1, len(lines) + 1)], lines, {}


def _clean(ids: list[str], texts: list[str]) -> tuple[list[str], list[str], dict[str, int]]:
    seen: set[str] = set()
    keep_ids, keep_texts, skipped = [], [], {"empty": 0, "duplicate": 0}
    for doc_id, text in zip(ids, texts):
        if not text or not text.strip():
            skipped["empty"] += 1
        elif text in seen:
            skipped["duplicate"] += 1
        else:
            seen.add(text)
            keep_ids.append(doc_id)
            keep_texts.append(text)
    return keep_ids, keep_texts, skipped


def load_corpus(path: str | Path) -> Corpus:
    """Read documents from a BEIR folder, a .txt file or any table with a text column."""
    p = Path(path)
    if not p.exists():
        raise DataError("no such file or folder", path=p, expected="a corpus file or BEIR folder")
    if is_beir_dir(p):
        ids, texts, titles = _from_records(p / CORPUS)
    elif p.suffix == ".txt":
        ids, texts, titles = _from_txt(p)
    else:
        ids, texts, titles = _from_records(p)
    ids, texts, skipped = _clean(ids, texts)
    if not texts:
        raise DataError("the corpus has no non-empty documents", path=p, expected="at least one document")
    return Corpus(ids, texts, str(p), titles, skipped)
