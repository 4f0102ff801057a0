"""The automatic method choice: a table of situations and the method each must get."""

from __future__ import annotations

import pytest

from densefit.config import TrainConfig
from densefit.errors import ConfigError, UnknownNameError
from densefit.methods.auto import Facts, choose, inspect_inputs
from densefit.methods.registry import get_method

from ..conftest import write_jsonl

TABLE = [
    # facts                                                                               method       overrides
    (Facts("parallel", "parallel", rows=5000), "distill", {}),
    (Facts("sts", "scored", rows=800), "supervised", {}),
    (Facts("nli", "nli", rows=800), "supervised", {}),
    (Facts("triplets", "retrieval", rows=50, has_negatives=True, corpus_docs=900), "supervised", {}),
    (Facts("pairs", "retrieval", rows=200, corpus_docs=1000), "augsbert", {}),
    (Facts("pairs", "retrieval", rows=5000, corpus_docs=1000), "supervised", {}),  # the recipe plans mining
    (Facts("pairs", "retrieval", rows=200), "supervised", {}),
    (Facts(corpus_docs=1000, query_words=5, doc_words=300), "gpl", {}),
    (Facts(corpus_docs=1000, query_words=12, doc_words=14), "tsdae", {}),
    (Facts(corpus_docs=1000, doc_words=15), "tsdae", {}),
    (Facts(corpus_docs=1000, doc_words=200), "gpl", {}),
]


@pytest.mark.parametrize("facts, method, overrides", TABLE)
def test_rules_table(facts, method, overrides):
    choice = choose(facts)
    assert (choice.method, choice.overrides) == (method, overrides)
    assert choice.reason and {name for name, _ in choice.rejected} == {
        "supervised", "augsbert", "genq", "gpl", "tsdae", "mlm", "distill"} - {method}


def test_nothing_given_is_an_error():
    with pytest.raises(ConfigError, match="--train FILE"):
        choose(Facts())


def test_inspects_real_files(tmp_path, pairs_file, ir_set):
    facts = inspect_inputs(TrainConfig(train=str(pairs_file), corpus=str(ir_set)))
    assert (facts.train_format, facts.kind, facts.rows, facts.corpus_docs) == ("pairs", "retrieval", 64, 40)
    assert choose(facts).method == "augsbert"
    parallel = write_jsonl(tmp_path / "par.jsonl", [{"source": "the house", "target": "la casa"}] * 3)
    assert choose(inspect_inputs(TrainConfig(train=str(parallel)))).method == "distill"
    sts = write_jsonl(tmp_path / "sts.jsonl", [{"sentence1": f"a {i}", "sentence2": "b", "score": 0.5} for i in range(4)])
    assert choose(inspect_inputs(TrainConfig(train=str(sts)))).method == "supervised"
    only_docs = inspect_inputs(TrainConfig(corpus=str(ir_set), eval=str(ir_set)))
    assert only_docs.kind is None and only_docs.length_ratio == pytest.approx(4 / 12)
    assert choose(only_docs).method == "gpl"


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="augsbert, auto, distill, genq, gpl, mlm, supervised, tsdae"):
        get_method("simcse")


def test_every_method_but_auto_has_a_why_not_line_and_every_line_a_method():
    from densefit.methods.auto import WHY_NOT
    from densefit.methods.registry import METHODS

    assert set(WHY_NOT) == set(METHODS) - {"auto"}
