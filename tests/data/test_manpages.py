"""The man-page IR set builder: roff -> text, NAME parsing, grouping/splits, the real build."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from densefit.data.beir import load_beir
from densefit.data.builders.manpages import (
    BuildSummary,
    Page,
    build_ir_data,
    build_manpages,
    cache_root,
    parse_page,
    roff_to_text,
    split_args,
)
from densefit.errors import DensefitError

STAT_PAGE = r""".\" Copyright and licence lines are comments
.TH stat 2 2023-02-05 "Linux man-pages 6.03"
.SH NAME
stat, fstat, lstat, fstatat \- get file status
.SH SYNOPSIS
.nf
.B #include <sys/stat.h>
.PP
.BI "int stat(const char *restrict " pathname ,
.BI "         struct stat *restrict " statbuf );
.fi
.SH DESCRIPTION
These functions return information about a file, in the buffer pointed to by
.IR statbuf .
.TP
.B EACCES
Search permission is denied.
"""


# --------------------------------------------------------------------------- roff -> text


def test_font_macros_join_alternating_args_without_space() -> None:
    assert roff_to_text(".BR stat (2),") == "stat(2),"
    assert roff_to_text('.BI "int fstat(int " fd ", struct stat *" statbuf );') == \
        "int fstat(int fd, struct stat *statbuf);"
    assert roff_to_text(".B two words") == "two words"
    assert roff_to_text('.I "one arg"  next') == "one arg next"
    assert roff_to_text(".SM SMALL caps") == "SMALL caps"


def test_split_args_keeps_quoted_args_and_escaped_spaces() -> None:
    assert split_args(r'"a b" c\ d') == ["a b", r"c\ d"]
    assert split_args('"say ""hi""" x') == ['say "hi"', "x"]
    assert split_args('"" tail') == ["", "tail"]


@pytest.mark.parametrize(("roff", "text"), [
    (r"a \- b", "a - b"),
    (r"\fBbold\fR and \fIitalic\fP and \f(CWcode\fP and \f[B]x\f[]", "bold and italic and code and x"),
    (r"one\(emtwo\[em]three \(en four", "one—two—three – four"),
    (r"\(aqq\(aq \[aq]r\[aq] \(lqs\(rq \*(lqt\*(rq \[lq]u\[rq]", "'q' 'r' \"s\" \"t\" \"u\""),
    (r"C:\e path\eto", "C:\\ path\\to"),
    (r"\&.hidden \%no\:break", ".hidden nobreak"),
    (r"a\ b\~c", "a b c"),
    (r"\(bu item \[bu] item", "• item • item"),
    (r"x\(zzy \[unknown]z", "xy z"),
    (r"\s-1SMALL\s0 \w'abc'width", "SMALL width"),
])
def test_escapes(roff: str, text: str) -> None:
    assert roff_to_text(roff) == text


def test_layout_macros_comments_and_paragraphs() -> None:
    roff = "\n".join([
        r'.\" a comment line', ".TH x 1", ".SH DESCRIPTION", "First line", "continues here. \\\" trailing comment",
        ".PP", ".RS 4", ".in +4n", "Second paragraph.", ".RE", ".sp", ".ad l", ".na", ".ft B", "Third.",
    ])
    assert roff_to_text(roff) == "DESCRIPTION\nFirst line continues here.\nSecond paragraph.\nThird."


def test_headings_tags_and_indented_paragraphs() -> None:
    roff = ".SS Sub heading\n.TP\n.B \\-v\nbe verbose\nstill the same paragraph\n.IP \\(bu 2\nbullet text"
    assert roff_to_text(roff) == "Sub heading\n-v\nbe verbose still the same paragraph\n•\nbullet text"


def test_no_fill_and_examples_keep_lines() -> None:
    roff = ".nf\nint   x;\nint y;\n.fi\nfilled\ntext\n.EX\nmain()\n{\n}\n.EE"
    assert roff_to_text(roff) == "int x;\nint y;\nfilled text\nmain()\n{\n}"


def test_tables_keep_cell_text_and_drop_format_lines() -> None:
    roff = "\n".join([
        ".TS", "allbox;", "lb lb", "l l.", "Interface\tValue", "T{", ".BR hcreate (),", ".BR hdestroy ()",
        "T}\tMT-Safe", "_", ".TE", ".TS", "tab(:);", "l l.", "a:b", ".TE", "after",
    ])
    assert roff_to_text(roff) == "Interface Value\nhcreate(), hdestroy() MT-Safe\na b\nafter"


def test_macro_definitions_are_skipped() -> None:
    roff = '.de q\n\\\\*(lq\\\\$1\\\\*(rq\\\\$2\n..\nThe magic\n.q "TZif" ,\nstring'
    assert roff_to_text(roff) == 'The magic "TZif", string'


def test_continuation_escape_joins_lines() -> None:
    assert roff_to_text(".RB [ \\-C\\~\\c\n.IR file ]") == "[-C file]"


# --------------------------------------------------------------------------- parse_page


def test_parse_page_splits_name_description_from_body() -> None:
    parsed = parse_page(STAT_PAGE)
    assert parsed is not None
    description, body = parsed
    assert description == "get file status"
    assert body.splitlines() == [
        "SYNOPSIS", "#include <sys/stat.h>", "int stat(const char *restrict pathname,",
        "struct stat *restrict statbuf);", "DESCRIPTION",
        "These functions return information about a file, in the buffer pointed to by statbuf.",
        "EACCES", "Search permission is denied.",
    ]
    assert "NAME" not in body and "fstatat" not in body


def test_parse_page_multi_line_and_quoted_name() -> None:
    page = '.SH "NAME"\nmemcpy \\- copy\nmemory \\fIarea\\fP\n.SH SYNOPSIS\nbody'
    assert parse_page(page) == ("copy memory area", "SYNOPSIS\nbody")


@pytest.mark.parametrize("page", [
    ".so man7/string_copying.7\n",
    '.\\" comment first\n\n.so man2/ioctl_tty.2\n',
    ".TH x 1\n.SH DESCRIPTION\nno name section here\n",
    ".TH x 1\n.SH NAME\nx without a description\n.SH DESCRIPTION\ntext\n",
    ".TH x 1\n.SH NAME\nx \\- a description but no body\n",
])
def test_parse_page_rejects_redirects_and_pages_without_name(page: str) -> None:
    assert parse_page(page) is None


# --------------------------------------------------------------------------- grouping and splits


def synthetic_pages(n: int = 60) -> list[Page]:
    pages = [Page(f"fn{i}.3", f"do thing number {i}", f"body of fn{i}") for i in range(n)]
    pages += [Page("memcpy.3", "copy memory area", "memcpy body"),
              Page("memmove.3", "copy  memory\narea", "memmove body"),
              Page("bcopy.3", "copy memory area", "bcopy body")]
    return pages


def test_grouping_and_split_are_deterministic_and_disjoint() -> None:
    pages = synthetic_pages()
    data = build_ir_data(pages, test_queries=20, dev_queries=5)
    again = build_ir_data(list(reversed(pages)), test_queries=20, dev_queries=5)
    assert data == again
    assert data.split_sizes() == {"train": 36, "dev": 5, "test": 20}
    assert len(data.queries) == 61 and len(data.corpus) == 63
    assert list(data.queries) == [f"q{i:04d}" for i in range(1, 62)]
    assert list(data.queries.values()) == sorted(data.queries.values())
    split_ids = [set(rel) for rel in data.qrels.values()]
    assert set().union(*split_ids) == set(data.queries)
    assert sum(map(len, split_ids)) == len(data.queries)
    docs = {d for rel in data.qrels.values() for judged in rel.values() for d in judged}
    assert docs == set(data.corpus)


def test_identical_descriptions_become_one_multi_relevant_query() -> None:
    data = build_ir_data(synthetic_pages(), test_queries=20, dev_queries=5)
    qid = next(q for q, text in data.queries.items() if text == "copy memory area")
    judged = [rel[qid] for rel in data.qrels.values() if qid in rel]
    assert judged == [{"bcopy.3": 1, "memcpy.3": 1, "memmove.3": 1}]
    assert data.corpus["memmove.3"] == {"text": "memmove body", "page": "memmove(3)", "section": "3"}
    assert "title" not in data.corpus["memmove.3"]


def test_split_needs_some_training_queries() -> None:
    with pytest.raises(DensefitError, match="fewer"):
        build_ir_data(synthetic_pages(10), test_queries=8, dev_queries=3)


# --------------------------------------------------------------------------- cache and tools


def test_cache_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DENSEFIT_CACHE", str(tmp_path / "dc"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "dc"
    monkeypatch.delenv("DENSEFIT_CACHE")
    assert cache_root() == tmp_path / "xdg" / "densefit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "densefit"


def test_missing_apt_get_says_to_use_your_own_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(DensefitError, match="apt-get") as info:
        build_manpages(tmp_path / "out", cache_dir=tmp_path / "cache")
    assert "your own data" in str(info.value) and "--train" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_apt_failure_retries_with_private_lists_and_reports_stderr(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool, script in {"apt-get": f'echo "$@" >> {log}\necho "E: Unable to locate package manpages" >&2\n'
                                    'case "$*" in *update*) exit 0;; esac\nexit 100\n',
                         "dpkg-deb": "exit 0\n"}.items():
        (bin_dir / tool).write_text("#!/bin/sh\n" + script)
        (bin_dir / tool).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DensefitError, match="Unable to locate package manpages"):
        build_manpages(tmp_path / "out", cache_dir=tmp_path / "cache")
    lists = tmp_path / "cache" / "apt-lists"
    assert log.read_text().splitlines() == [
        "download manpages manpages-dev",
        f"-o Dir::State::Lists={lists} update",
        f"-o Dir::State::Lists={lists} download manpages manpages-dev",
    ]
    assert (lists / "partial").is_dir()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["apt-lists"]  # no half-built tree left


def test_too_few_test_queries_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DensefitError, match="at least 300"):
        build_manpages(tmp_path / "out", cache_dir=tmp_path / "cache", test_queries=100)


# --------------------------------------------------------------------------- the real build


@pytest.mark.slow
def test_real_build_from_debian_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DENSEFIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "manpages"
    summary = build_manpages(out)
    assert isinstance(summary, BuildSummary) and summary.out_dir == out
    # ~2,550 .gz files, but ~1,430 are symlinked aliases (fstat.2 -> stat.2) and a dozen `.so` redirects.
    assert summary.pages > 1000
    assert summary.split_sizes["test"] == 500 and summary.split_sizes["dev"] == 50
    assert summary.split_sizes["train"] > 0 and sum(summary.split_sizes.values()) == summary.queries
    assert summary.skipped.get("symlink", 0) > 1000
    assert (tmp_path / "cache" / "manpages" / "tree" / ".densefit-complete").is_file()

    corpus = {row["_id"]: row for row in map(json.loads, (out / "corpus.jsonl").read_text().splitlines())}
    assert len(corpus) == summary.pages
    assert corpus["stat.2"]["page"] == "stat(2)" and corpus["stat.2"]["section"] == "2"
    assert "title" not in corpus["stat.2"] and corpus["stat.2"]["text"].startswith("LIBRARY")
    seen: dict[str, str] = {}
    for split in ("train", "dev", "test"):
        ir = load_beir(out, split)
        assert ir.corpus.keys() == corpus.keys()
        for qid, rel in ir.qrels.items():
            assert seen.setdefault(qid, split) == split, f"{qid} in {seen[qid]} and {split}"
            assert rel and set(rel) <= corpus.keys()
    test = load_beir(out, "test")
    assert len(test.judged_queries()) >= 500
    assert "get file status" in test.queries.values()

    again = build_manpages(tmp_path / "again")  # from the cache: same output, byte for byte
    assert again.pages == summary.pages and again.split_sizes == summary.split_sizes
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()
