"""BEIR folders: qrels lines that contradict each other or are not UTF-8 are errors with their line."""

from __future__ import annotations

import pytest

from densefit.data.beir import load_beir, write_beir
from densefit.errors import DataError


@pytest.fixture
def folder(tmp_path):
    return write_beir(tmp_path / "set", {"d9": {"text": "nine"}, "d10": {"text": "ten"}},
                      {"q10": "ten?"}, {"test": {"q10": {"d10": 1}}})


def test_a_pair_judged_twice_names_both_lines(folder):
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq10\td10\t1\nq10\td9\t0\nq10\td10\t0\n")
    with pytest.raises(DataError, match=r"test.tsv:4: query 'q10' and document 'd10' are judged twice, on lines "
                                        r"2 and 4.*Fix: keep one line"):
        load_beir(folder, "test")


def test_a_byte_that_is_not_utf8_names_its_line(folder):
    (folder / "qrels" / "test.tsv").write_bytes(b"query-id\tcorpus-id\tscore\nq10\td10\t1\nq10\td\xe99\t1\n")
    with pytest.raises(DataError, match=r"test.tsv:3: byte 0xe9 is not UTF-8.*Fix: save the file as UTF-8"):
        load_beir(folder, "test")
