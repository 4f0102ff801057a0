"""The recipe behind `--method auto` on query-document pairs: plan from the data and the budget, then run.

1. `plan(facts, given)` is pure: rows, token lengths, corpus size and the budget decide the epochs,
   the learning rate, mining and the dev split. Whatever the user set explicitly is kept. Each
   choice carries its reason, printed in a few lines and written to train.json and the report.
2. `run` carves the dev split (unless --eval has one), mines hard negatives from the user's
   documents, trains with the checkpoint picked on dev, then ships the best on dev of the base,
   the tuned and (when the tuned model does not win) the merged model: never worse than the base.

Costs are counted in token-forward passes (a training token costs about BACKWARD forward ones), so
the default budget is a multiple of what one plain epoch of the same data costs, on any machine.
`--budget 10m` converts seconds to passes with a throughput measured on this machine.

Which data chose each constant is written in docs/benchmarks.md (QUALITY): they were picked on the
dev splits of some domains and checked on the others, never on a test split.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import time
from dataclasses import dataclass, field

from densefit.config import TrainConfig, parse_duration
from densefit.console import say

LEARNING_RATE = 1e-4
BATCH_SIZE = 32
NEGATIVES = 1
MAX_EPOCHS = 3.0
MIN_EPOCHS = 0.1              # a tight --budget trains on part of the pairs rather than overrun
MINE_MIN_EPOCHS = 2.0         # mining is worth its cost only when this many epochs still fit beside it
DEFAULT_BUDGET = 3.0          # in plain epochs: one plain MNR epoch of the same pairs costs 1.0
BACKWARD = 3.0                # a trained token costs about three forward passes (forward + backward)
TOKENS_PER_WORD = 1.4         # word-piece tokens per whitespace word (MiniLM vocabulary, English prose)
SPECIAL_TOKENS = 2
DEV_FRACTION, DEV_MIN, DEV_MAX = 0.1, 30, 200
MIN_QUERIES_FOR_DEV = 150     # below this, a dev split takes too much of the training data
DEV_DISTRACTORS = 300         # dev corpus: the dev positives plus this many other documents
EVAL_POINTS = 2               # checkpoints scored on dev during training (the last one included)
MERGE_WEIGHT = 0.5            # WiSE-FT weight of the tuned model when it does not beat the base
RATE_BATCHES = 2              # random training batches timed for --budget (one long text pads a whole batch)
COPY_MIN_WORDS = 3            # a query this long found verbatim in its document is a copy of it
DEV_CONTEXT_WORDS = 5         # words a dev document must keep once its query is cut out of it
MIN_DEV_CANDIDATES = 50       # fewer queries fit for dev than this: carve from all of them and say so
SHIP_MARGIN = 0.0             # the tuned model must beat the base on dev by more than this


@dataclass
class RecipeFacts:
    """What the plan looks at."""

    rows: int                     # training pairs
    queries: int                  # unique training queries
    query_tokens: float           # median, capped at max_seq_length
    doc_tokens: float
    corpus_docs: int              # documents mining searches
    max_seq_length: int
    dev_given: bool = False       # --eval has a dev split
    budget_s: float | None = None
    forward_tokens_per_s: float | None = None   # measured while training, only needed with budget_s


@dataclass
class Plan:
    epochs: float
    learning_rate: float
    batch_size: int
    mine: bool
    dev_queries: int
    eval_steps_fraction: float            # evaluate every this fraction of the training steps
    budget: float                         # token-forward passes allowed
    cost: dict[str, float]                # planned passes by part
    reasons: list[str] = field(default_factory=list)

    def settings(self) -> dict:
        return {"epochs": self.epochs, "learning_rate": self.learning_rate, "batch_size": self.batch_size,
                "mine": self.mine}

    def to_dict(self) -> dict:
        return {**self.settings(), "dev_queries": self.dev_queries, "budget": round(self.budget),
                "cost": {k: round(v) for k, v in self.cost.items()}, "reasons": self.reasons}


# --------------------------------------------------------------------------- the plan (pure)


def plain_epoch_cost(f: RecipeFacts) -> float:
    return f.rows * (f.query_tokens + f.doc_tokens) * BACKWARD


def epoch_cost(f: RecipeFacts, rows: int, mine: bool) -> float:
    return rows * (f.query_tokens + (1 + NEGATIVES * mine) * f.doc_tokens) * BACKWARD


def mining_cost(f: RecipeFacts) -> float:
    return f.corpus_docs * f.doc_tokens + f.queries * f.query_tokens


def eval_cost(f: RecipeFacts, dev_queries: int) -> float:
    return (dev_queries + DEV_DISTRACTORS) * f.doc_tokens + dev_queries * f.query_tokens


def budget_passes(f: RecipeFacts) -> tuple[float, str]:
    if f.budget_s is not None and f.forward_tokens_per_s:
        return f.budget_s * f.forward_tokens_per_s, (f"budget {f.budget_s:.0f}s at a measured "
                                                     f"{f.forward_tokens_per_s / BACKWARD:.0f} trained tokens/s "
                                                     "(median-length tokens, padding included)")
    return DEFAULT_BUDGET * plain_epoch_cost(f), f"budget {DEFAULT_BUDGET}x one plain epoch (no --budget given)"


def dev_size(f: RecipeFacts, given: int | None) -> tuple[int, str]:
    if f.dev_given:
        return 0, "dev: the dev split of --eval picks the checkpoint and the shipped model"
    if given is not None:
        return given, f"dev: {given} training queries held out (as requested)"
    if f.queries < MIN_QUERIES_FOR_DEV:
        return 0, (f"dev: none, only {f.queries} training queries (< {MIN_QUERIES_FOR_DEV}); "
                   "the tuned model is shipped without a check")
    n = int(min(DEV_MAX, max(DEV_MIN, round(DEV_FRACTION * f.queries))))
    return n, f"dev: {n} of {f.queries} training queries held out to pick the checkpoint and the shipped model"


def _fit_epochs(left: float, per_epoch: float) -> float:
    """The most half-epochs that fit in `left` (tenths below one epoch), within [MIN_EPOCHS, MAX_EPOCHS]."""
    fit = left / max(per_epoch, 1.0)
    step = 0.5 if fit >= 1 else 0.1
    return min(MAX_EPOCHS, max(MIN_EPOCHS, round(math.floor(fit / step + 1e-9) * step, 1)))


def plan(f: RecipeFacts, given: dict) -> Plan:
    """The settings for these facts; `given` holds the values the user set (None: left to the plan)."""
    budget, why_budget = budget_passes(f)
    n_dev, why_dev = dev_size(f, given.get("dev_queries"))
    rows = max(1, round(f.rows * (1 - n_dev / max(f.queries, 1))))
    evals = (EVAL_POINTS + 1) * eval_cost(f, n_dev) if (n_dev or f.dev_given) else 0.0  # base + each point
    reasons = [why_budget, why_dev]
    mine = given.get("mine")
    if mine is None:  # epochs first: mine only when MINE_MIN_EPOCHS with the negative still fit
        with_negatives = (budget - evals - mining_cost(f)) / epoch_cost(f, rows, True)
        mine = with_negatives >= MINE_MIN_EPOCHS
        reasons.append(f"mining: {'on' if mine else 'off'}, one hard negative per query from {f.corpus_docs} "
                       f"documents leaves room for {max(with_negatives, 0):.1f} epochs (on from "
                       f"{MINE_MIN_EPOCHS:g}: on dev, more epochs beat one epoch with negatives)")
    else:
        reasons.append(f"mining: {'on' if mine else 'off'} (as requested)")
    left = budget - evals - (mining_cost(f) if mine else 0.0)
    epochs = given.get("epochs")
    if epochs is None:
        epochs = _fit_epochs(left, epoch_cost(f, rows, mine))
        reasons.append(f"epochs: {epochs:g}, the most half-epochs (tenths below one) of {rows} pairs that fit "
                       f"the budget (at most {MAX_EPOCHS:g})")
    lr = given.get("learning_rate") or LEARNING_RATE
    reasons.append(f"learning rate: {lr:g}" + (" (as requested)" if given.get("learning_rate") else
                                               ", the recipe's default (docs/benchmarks.md says where it comes from)"))
    batch = given.get("batch_size") or BATCH_SIZE
    reasons.append(f"batch: {batch} pairs, MNR with in-batch negatives" +
                   (" (as requested)" if given.get("batch_size") else
                    f"; a larger cached batch would give {rows // (4 * batch)} steps per epoch, too few"))
    own = (f", the model's own (median document about {f.doc_tokens:.0f}, median query {f.query_tokens:.0f}): "
           "truncating further loses text")
    reasons.append(f"max_seq_length: {f.max_seq_length} tokens" + (" (as requested)" if given.get("max_seq_length")
                                                                     else own))
    cost = {"mining": mining_cost(f) if mine else 0.0, "training": epochs * epoch_cost(f, rows, mine),
            "dev_evaluation": evals}
    return Plan(epochs=float(epochs), learning_rate=float(lr), batch_size=int(batch), mine=bool(mine),
                dev_queries=n_dev, eval_steps_fraction=1 / EVAL_POINTS, budget=budget, cost=cost, reasons=reasons)


# --------------------------------------------------------------------------- facts


def _median_tokens(texts, cap: int) -> float:
    from densefit.data.audit import median_words

    words = median_words(texts) or 0.0
    return min(cap, words * TOKENS_PER_WORD + SPECIAL_TOKENS)


def measure_forward_rate(model, columns: dict[str, list], batch_size: int, precision: str,
                         tokens_per_row: float) -> float:
    """What this machine affords while *training*, in the plan's units (for --budget).

    Times forward and backward of real training batches (queries and documents padded as the trainer
    pads them, at the run's precision) and returns `tokens_per_row` (the plan's median-based count)
    times BACKWARD per second of them: seconds then convert to passes at the rate training really
    runs, padding and long tails included. An inference rate, or the batch's real token count,
    overrates training several times where a few long texts make every batch pad (measured on
    chatterbot: median answer 10 tokens, 3x over a 5-minute budget)."""
    import torch

    from densefit.inference.encoder import autocast_context
    from densefit.inference.precision import resolve_precision

    device = str(model.device)
    chosen = resolve_precision(precision, device.split(":")[0] if device.startswith("cpu") else device)
    rng = random.Random(0)
    n = len(columns["anchor"])
    batches = [rng.sample(range(n), min(batch_size, n)) for _ in range(RATE_BATCHES)]
    was_training = model.training
    model.train()

    def step(rows: list[int]) -> None:
        with autocast_context(chosen, device):
            for column in ("anchor", "positive"):
                features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v
                            for k, v in model.preprocess([columns[column][i] for i in rows]).items()}
                model(features)["sentence_embedding"].float().pow(2).sum().backward()
    try:
        step(batches[0][:4])  # warm-up
        start = time.perf_counter()
        for rows in batches:
            step(rows)
        elapsed = time.perf_counter() - start
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return sum(len(b) for b in batches) * tokens_per_row * BACKWARD / max(elapsed, 1e-6)


def gather_facts(cfg: TrainConfig, model, columns: dict[str, list], corpus_docs: int,
                 dev_given: bool) -> RecipeFacts:
    cap = model.max_seq_length
    facts = RecipeFacts(rows=len(columns["anchor"]), queries=len(set(columns["anchor"])),
                        query_tokens=_median_tokens(columns["anchor"], cap),
                        doc_tokens=_median_tokens(columns["positive"], cap), corpus_docs=corpus_docs,
                        max_seq_length=cap, dev_given=dev_given)
    if cfg.budget:
        from densefit.train.dropout import apply_dropout

        facts.budget_s = parse_duration(cfg.budget, "budget")
        apply_dropout(model, cfg.dropout)  # timed as it will train: the fused attention runs only without it
        facts.forward_tokens_per_s = measure_forward_rate(model, columns, cfg.batch_size or BATCH_SIZE,
                                                           cfg.precision, facts.query_tokens + facts.doc_tokens)
    return facts


# --------------------------------------------------------------------------- the dev split


def cut_query(doc: str, query: str) -> str:
    """`doc` without the verbatim copies of `query` in it (case and spacing ignored). A query of fewer than
    COPY_MIN_WORDS words is left in: sharing a keyword with its document is what real queries do."""
    words = query.split()
    if len(words) < COPY_MIN_WORDS:
        return doc
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)[.,;:!?]*"
    return " ".join(re.sub(pattern, " ", doc, flags=re.IGNORECASE).split())


def dev_candidates(columns: dict[str, list]) -> list[str]:
    """Queries fit for dev: each document holds no copy of the query, or DEV_CONTEXT_WORDS words beside it.

    A query copied from its document (an extractive generator's sentence, a title repeated in the text)
    scores near 1.0 for any model that matches words, so a dev split of such pairs rewards copying and
    would ship a tuned model that real queries find worse."""
    docs: dict[str, list[str]] = {}
    for a, p in zip(columns["anchor"], columns["positive"]):
        docs.setdefault(a, []).append(p)
    return sorted(q for q, ps in docs.items() if all(_keeps_context(p, q) for p in ps))


def _keeps_context(doc: str, query: str) -> bool:
    left = len(cut_query(doc, query).split())
    return left == len(doc.split()) or left >= DEV_CONTEXT_WORDS  # nothing copied, or enough besides the copy


def carve_dev(columns: dict[str, list], n_dev: int, pool: list[str], seed: int):
    """Hold out `n_dev` queries: (training columns without them or their documents, dev IRSet).

    Dev queries come from `dev_candidates`, and each dev document has its dev queries cut out of it, so
    the split scores what a query adds beyond copying its document's words. Where too few queries are fit,
    the split is carved from all of them and the run says the dev scores may overrate tuning."""
    from densefit.data.beir import IRSet

    rng = random.Random(seed)
    queries = dev_candidates(columns)
    split = "dev (held out from the training pairs; each query cut out of its documents)"
    cutting = len(queries) >= min(n_dev, MIN_DEV_CANDIDATES)
    if not cutting:
        say(f"recipe: only {len(queries)} of {len(set(columns['anchor']))} queries are more than a copy of "
            f"their document's words; the dev split uses all queries and may overrate the tuned model")
        queries, split = sorted(set(columns["anchor"])), "dev (held out from the training pairs)"
    dev = set(rng.sample(queries, min(n_dev, len(queries))))
    dev_docs = {p for a, p in zip(columns["anchor"], columns["positive"]) if a in dev}
    keep = [i for i, (a, p) in enumerate(zip(columns["anchor"], columns["positive"]))
            if a not in dev and p not in dev_docs]
    train = {k: [v[i] for i in keep] for k, v in columns.items()}
    others = sorted(set(pool) - dev_docs)
    texts = sorted(dev_docs) + rng.sample(others, min(DEV_DISTRACTORS, len(others)))
    doc_id = {t: f"d{i}" for i, t in enumerate(texts)}
    q_id = {q: f"q{i}" for i, q in enumerate(sorted(dev))}
    qrels: dict[str, dict[str, int]] = {}
    cut: dict[str, str] = {}
    for a, p in zip(columns["anchor"], columns["positive"]):
        if a in dev:
            qrels.setdefault(q_id[a], {})[doc_id[p]] = 1
            cut[p] = cut_query(cut.get(p, p), a) if cutting else p
    irset = IRSet(corpus={i: cut.get(t, t) for t, i in doc_id.items()}, queries={i: q for q, i in q_id.items()},
                  qrels=qrels, split=split)
    return train, irset


def dev_target(cfg: TrainConfig, columns: dict[str, list], n_dev: int, pool: list[str]):
    """(training columns, dev IRSet or None): --eval's dev split, else a carved one, else none."""
    from densefit.data.beir import load_beir

    if _eval_has_dev(cfg):
        return columns, load_beir(cfg.eval, "dev")
    if n_dev <= 0:
        return columns, None
    return carve_dev(columns, n_dev, pool, cfg.seed)


# --------------------------------------------------------------------------- shipping


def dev_per_query(model, irset, precision: str) -> dict[str, float]:
    """nDCG@10 of every dev query."""
    from densefit.evaluation.metrics import per_query_metrics
    from densefit.evaluation.retrieval import dense_run
    from densefit.inference.select import as_encoder

    run = dense_run(as_encoder(model, precision=precision), irset, k=10)
    return per_query_metrics(run, irset.qrels, ks=(10,))["ndcg@10"]


def gain_ci(base: dict[str, float], other: dict[str, float]) -> tuple[float, float]:
    """95% paired bootstrap CI of other - base over the dev queries."""
    from densefit.report.stats import compare_paired

    paired = compare_paired("ndcg@10", dict(sorted(base.items())), other)  # queries in a fixed order
    return paired.ci_low, paired.ci_high


def choose_shipped(scores: dict[str, float], cis: dict | None = None) -> str:
    """The best on dev; ties go to the simplest model (base, then merged, then tuned). Given the dev gains'
    CIs (--ship confident), a model whose CI is not above zero is not eligible."""
    order = ["base", "merged", "tuned"]
    eligible = [n for n in order if n in scores and (n == "base" or cis is None or n not in cis or cis[n][0] > 0)]
    return max(eligible, key=lambda n: (round(scores[n], 6), -order.index(n)))


def best_dev_score(log_history: list[dict], key: str) -> float | None:
    """The best checkpoint's dev score, as the trainer logged it (the trainer loaded that checkpoint)."""
    values = [e[key] for e in log_history if key in e]
    return max(values) if values else None


def ship(cfg: TrainConfig, base_path: str, tuned, irset, base: dict[str, float],
         tuned_score: float | None) -> tuple[object, dict]:
    """Pick base, merged or tuned on dev; the chosen one replaces OUT/model. Returns (model, record).

    `base` holds the base model's per-query dev scores. With --ship confident a model other than the base
    is eligible only when its dev gain's 95% CI lies above zero (for dev queries that overrate tuning)."""
    from pathlib import Path

    from densefit.methods.common import load_base_model
    from densefit.methods.merge import interpolate
    from densefit.train.run import MODEL, save_model_atomic

    confident = cfg.ship == "confident"
    per_query = {"base": base}
    if confident or tuned_score is None:
        per_query["tuned"] = dev_per_query(tuned, irset, cfg.precision)
        tuned_score = _mean(per_query["tuned"])
    scores = {"base": _mean(base), "tuned": tuned_score}
    models = {"tuned": tuned}
    cis = {"tuned": gain_ci(base, per_query["tuned"])} if confident else {}
    if cfg.ship != "tuned" and not _beats_base(scores, cis, "tuned"):
        base_model = load_base_model(dataclasses.replace(cfg, model=base_path))  # the run's prompts, like tuned
        models["merged"], models["base"] = interpolate(base_model, tuned, MERGE_WEIGHT), base_model
        per_query["merged"] = dev_per_query(models["merged"], irset, cfg.precision)
        scores["merged"] = _mean(per_query["merged"])
        if confident:
            cis["merged"] = gain_ci(base, per_query["merged"])
    shipped = "tuned" if cfg.ship == "tuned" else choose_shipped(scores, cis)
    if shipped != "tuned":
        save_model_atomic(models[shipped], Path(cfg.out) / MODEL)
    word = _why(shipped, scores, cis)
    say("recipe: dev nDCG@10 " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()) + f"; shipping {word}")
    record = {"dev_ndcg@10": scores, "shipped": shipped, "why": word}
    if cis:
        record["dev_gain_ci"] = {k: list(v) for k, v in cis.items()}
    return models[shipped], record


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / max(len(values), 1)


def _beats_base(scores: dict[str, float], cis: dict, name: str) -> bool:
    return scores[name] > scores["base"] + SHIP_MARGIN and (name not in cis or cis[name][0] > 0)


def _why(shipped: str, scores: dict[str, float], cis: dict) -> str:
    if shipped == "base" and cis:
        gain, (low, high) = scores["tuned"] - scores["base"], cis["tuned"]
        return (f"the base model: tuning's dev gain {gain:+.4f} [{low:+.4f}, {high:+.4f}] is not above zero "
                f"with 95% confidence")
    if shipped == "merged" and cis:
        low, high = cis["merged"]
        return (f"the merged model (weight {MERGE_WEIGHT} tuned): its dev gain's CI [{low:+.4f}, {high:+.4f}] "
                f"is above zero")
    return {"base": "the base model: tuning did not beat it on dev",
            "merged": f"the merged model (weight {MERGE_WEIGHT} tuned): it beat both on dev",
            "tuned": "the tuned model"}[shipped]


# --------------------------------------------------------------------------- the run


def given_settings(cfg: TrainConfig) -> dict:
    return {"epochs": cfg.epochs, "learning_rate": cfg.learning_rate, "batch_size": cfg.batch_size,
            "mine": cfg.mine, "dev_queries": cfg.dev_queries, "max_seq_length": cfg.max_seq_length}


def say_plan(p: Plan) -> None:
    say(f"[bold]recipe[/bold]: {p.epochs:g} epochs, lr {p.learning_rate:g}, batch {p.batch_size}, "
        f"mining {'on' if p.mine else 'off'}")
    for reason in p.reasons:
        say(f"  - {reason}")


def run(cfg: TrainConfig, callbacks: list | None = None):
    """Plan, carve dev, mine, train with dev selection, ship the best of base/merged/tuned."""
    from densefit.evaluation.evaluator import RetrievalEvaluator
    from densefit.methods.common import Stages, evaluate_before, finish_run, load_base_model, train_columns
    from densefit.methods.mining import corpus_texts
    from densefit.methods.supervised import add_mined_negatives, load_data

    stages = Stages()
    with stages.stage("load") as info:
        data = load_data(cfg)
        model = load_base_model(cfg)
        pool, pool_source = corpus_texts(cfg, data.columns["positive"])
        info.update(rows=len(data), format=data.format, corpus=pool_source)
    has_eval_dev = _eval_has_dev(cfg)
    p = plan(gather_facts(cfg, model, data.columns, len(pool), has_eval_dev), given_settings(cfg))
    say_plan(p)
    columns, dev = dev_target(cfg, data.columns, p.dev_queries, pool)
    run_cfg = _run_config(cfg, p, columns, dev)
    data.columns = columns  # mining and training see the pairs without the dev queries
    extra, mined = {}, None
    if run_cfg.mine:
        columns, extra, mined = add_mined_negatives(run_cfg, model, data, stages)
    target, before = evaluate_before(run_cfg, model)
    base_dev = dev_per_query(model, dev, run_cfg.precision) if dev is not None else None
    # named "ir" like every other in-training evaluator, so the logged keys (eval_ir_ndcg@10) stay the same
    evaluator = RetrievalEvaluator(dev, precision=run_cfg.precision) if dev is not None else None
    outcome, loss_info = train_columns(run_cfg, model, columns, kind=data.kind, stages=stages, callbacks=callbacks,
                                       evaluator=evaluator, extra_columns=extra)
    record = {"plan": p.to_dict(), "dev": _dev_info(dev), "shipped": "tuned"}
    if dev is not None:
        with stages.stage("ship") as info:
            logged = best_dev_score(outcome.log_history, f"eval_{evaluator.metric_key}")
            model, shipped = ship(run_cfg, cfg.model, model, dev, base_dev, logged)
            record.update(shipped)
            info.update(shipped=shipped["shipped"])
    summary = dataclasses.asdict(data.summary)
    if mined is not None:
        summary["mined"] = mined
    return finish_run(run_cfg, model, outcome, stages, target=target, before=before, data=summary, loss=loss_info,
                      recipe=record)


def _eval_has_dev(cfg: TrainConfig) -> bool:
    from densefit.data.beir import available_splits, is_beir_dir

    return bool(cfg.eval) and is_beir_dir(cfg.eval) and "dev" in available_splits(cfg.eval)


def _dev_info(dev) -> dict:
    if dev is None:
        return {}
    return {"split": dev.split, "queries": len(dev.judged_queries()), "documents": len(dev.corpus)}


def _run_config(cfg: TrainConfig, p: Plan, columns: dict[str, list], dev) -> TrainConfig:
    """The planned settings, with dev evaluation at EVAL_POINTS evenly spaced steps."""
    settled = cfg.settled(**p.settings())
    if dev is None or cfg.eval_steps:
        return settled
    steps = max(1, math.ceil(len(columns["anchor"]) / settled.batch_size * settled.epochs))
    every = max(1, math.ceil(steps * p.eval_steps_fraction))
    return dataclasses.replace(settled, eval_steps=every, save_steps=every, save_total_limit=1)
