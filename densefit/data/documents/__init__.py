"""Documents from a folder of files: one reader per file type, each returning titled sections.

Contract: a reader is `read(raw: bytes, path: Path) -> list[Document]`; it raises `Unreadable(reason)` for
a file it cannot use (an encrypted PDF, no text layer), which the folder walk records as skipped.
"""
