"""Run the stages of `densefit build` in order; OUT/build.json records each finished stage, so a killed or
repeated build goes on from where it stopped (see densefit/build/__init__.py for the stages)."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import time
from pathlib import Path

from densefit.build.config import BuildConfig
from densefit.build.manifest import INDEX, INDEX_BASE, STATE, TRAIN, load_state, serve_block
from densefit.config import parse_duration
from densefit.console import say
from densefit.errors import ConfigError, DataError
from densefit.io import write_json_atomic

MAX_CHUNK_TOKENS = 256
COUNTS_KEPT = 1 << 16   # token counts remembered while chunking (pieces and titles; a few MB)
SYNCED = ".indexed-ids.json"   # beside each index: the ids that may be in it (for deleting removed chunks)
# --time-target: what training may take is the target less the stages so far, the built model's index pass
# (estimated from the base pass's rate) and RESERVE_S. 90 s covers what the man-page folder build spent beyond
# its training budget (48 s), evaluating (7 s) and starting the server (12 s), with room (docs/benchmarks.md, BUILD).
RESERVE_S, MIN_TRAIN_S, MIN_RATE_ROWS = 90.0, 120.0, 100


def _start(cfg: BuildConfig) -> tuple[Path, Path, dict]:
    root, out = Path(cfg.folder).expanduser(), Path(cfg.out).expanduser()
    if not root.is_dir():
        raise DataError("no such folder", path=root, expected="a folder of documents",
                        fix="give the folder that holds your files: densefit build ./docs --out my-search")
    state = load_state(out)
    if state and not cfg.resume:
        raise ConfigError(f"'{out}' already holds a build. Fix: add --resume to update it (changed files only), "
                          "or choose another --out")
    if not state and out.exists() and any(out.iterdir()) and not cfg.resume:
        raise ConfigError(f"'{out}' exists and is not empty. Fix: choose a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    state = state or {"version": 1, "stages": {}}
    state["config"] = dataclasses.asdict(cfg)
    return root, out, state


def _save(out: Path, state: dict) -> None:
    write_json_atomic(out / STATE, state)


def _done(state: dict, name: str, cfg: BuildConfig) -> bool:
    return bool(state["stages"].get(name, {}).get("done")) and not (cfg.retrain and name in ("queries", "train"))


def _finish(out: Path, state: dict, name: str, started: float, **info) -> None:
    state["stages"][name] = {"done": True, "seconds": round(time.perf_counter() - started, 1), **info}
    _save(out, state)


def _token_counter(encoder):
    """Tokens of a text, remembered: the chunker counts each piece when it splits and again when it packs."""
    tokenizer = encoder.tokenizer

    @functools.lru_cache(maxsize=COUNTS_KEPT)
    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])
    return count


def stage_chunks(cfg: BuildConfig, root: Path, out: Path, state: dict) -> list[dict]:
    from densefit.build.chunks import chunk_folder
    from densefit.inference.select import load_encoder

    t = time.perf_counter()
    encoder = load_encoder(cfg.model)
    budget = cfg.chunk_tokens or min(encoder.max_length, MAX_CHUNK_TOKENS)
    result = chunk_folder(root, out, budget, cfg.chunk_overlap, _token_counter(encoder), cfg.max_file_mb * 10**6,
                          cfg.model)
    if not result.rows:
        shown = "; ".join(f"{s.path}: {s.reason}" for s in result.skipped[:5]) or "the folder is empty"
        raise DataError(f"no readable documents ({len(result.skipped)} files skipped: {shown})", path=root,
                        fix="add .txt, .md, .rst, .html, .pdf, .json(l) files or man pages")
    _finish(out, state, "chunks", t, budget_tokens=budget, **result.summary())
    return result.rows


def stage_queries(cfg: BuildConfig, root: Path, out: Path, state: dict, rows: list[dict]) -> None:
    from densefit.build.queries import build_queries, split_chunks, write_data
    from densefit.build.real import beir_test_queries, read_real_queries
    from densefit.config import TrainConfig
    from densefit.data.beir import is_beir_dir
    from densefit.methods.generators.registry import build_generator

    t = time.perf_counter()
    real, real_info = (read_real_queries(cfg.queries, rows) if cfg.queries else
                       beir_test_queries(root, rows) if is_beir_dir(root) else ([], {}))
    targets = {"train": cfg.max_train_pairs, "test": cfg.test_queries}
    held = {"test": 0 if len(real) >= cfg.min_real_test else -(-cfg.test_queries // cfg.queries_per_chunk)}
    splits = split_chunks(rows, held, cfg.seed)
    generator = build_generator(TrainConfig(generator=cfg.generator, generator_model=cfg.generator_model,
                                            generator_base_url=cfg.generator_base_url, seed=cfg.seed))
    qs = build_queries(generator, splits, real, cfg.queries_per_chunk, targets, cfg.min_real_test, cfg.seed)
    qs.real = real_info
    if not qs.qrels["train"]:
        raise DataError(f"no training queries could be made from {len(rows)} chunks", path=root,
                        fix="add more documents (a few dozen paragraphs at least)")
    write_data(out, rows, qs)
    _finish(out, state, "queries", t, generator=generator.describe(), **qs.summary())


def stage_train(cfg: BuildConfig, out: Path, state: dict) -> None:
    from densefit.api import run_training
    from densefit.build.queries import DATA
    from densefit.config import TrainConfig

    t = time.perf_counter()
    run_dir = out / TRAIN
    if cfg.retrain and run_dir.exists():
        shutil.rmtree(run_dir)
    # no --eval: the evaluate stage scores both models through their indexes, so none embeds the corpus twice
    budget, capped = fitted_budget(cfg, state)
    train_cfg = TrainConfig(model=cfg.model, train=str(out / DATA), out=str(run_dir),
                            precision=cfg.precision, budget=budget, seed=cfg.seed,
                            dev_queries=cfg.dev_queries, ship="confident",  # its dev queries are generated
                            resume=run_dir.exists())
    fit = run_training(train_cfg)
    recipe = fit.summary.get("recipe", {})
    _finish(out, state, "train", t, model=str(fit.model_path), shipped=recipe.get("shipped", "tuned"),
            why=recipe.get("why"), dev=recipe.get("dev_ndcg@10"), budget=budget, budget_capped=capped)


def fitted_budget(cfg: BuildConfig, state: dict) -> tuple[str | None, str | None]:
    """The recipe's --budget, shortened to what --time-target leaves; and why it was shortened (None: it was not)."""
    budget, stages = cfg.train_budget(), state["stages"]
    base = stages.get(INDEX_BASE, {})
    if budget is None or cfg.time_target == "none" or base.get("written", 0) < MIN_RATE_ROWS:
        return budget, None  # full epochs asked for, no target, or too few rows encoded to know the index rate
    index_pass = base["seconds"] / base["written"] * base["rows"]
    spent = sum(stages[n]["seconds"] for n in ("chunks", "queries", INDEX_BASE) if n in stages)
    left = parse_duration(cfg.time_target, "time-target") - spent - index_pass - RESERVE_S
    if left >= parse_duration(budget, "budget"):
        return budget, None
    seconds = max(left, MIN_TRAIN_S)
    why = (f"training budget {seconds:.0f} s instead of {budget}: the --time-target of {cfg.time_target} less "
           f"{spent:.0f} s so far, about {index_pass:.0f} s for the built model's index pass and {RESERVE_S:.0f} s "
           "for the rest" + (f" (leaves {left:.0f} s, so the target will be missed; the least training is "
                             f"{MIN_TRAIN_S:.0f} s)" if left < MIN_TRAIN_S else ""))
    say(why)
    return f"{seconds:.0f}s", why


def _sync_index(store: Path, model: str, chunks: Path, rows: list[dict]) -> dict:
    """Delete the chunks gone since the last sync, add the new ones; ids already there are skipped."""
    import json

    from densefit.index.build import index_corpus

    synced = store.parent / f"{store.name}{SYNCED}"
    previous = set(json.loads(synced.read_text())) if synced.exists() else set()
    current = {r["_id"] for r in rows}
    write_json_atomic(synced, sorted(previous | current), indent=None)  # a kill from here on still knows every id
    report = index_corpus(str(store), chunks, model=model, delete=sorted(previous - current) or None)
    write_json_atomic(synced, sorted(current), indent=None)
    return {"written": report.written, "deleted": report.deleted, "rows": report.count}


def stage_index(out: Path, state: dict, rows: list[dict], name: str, model: str, fresh: bool,
                copy_of: str | None = None) -> None:
    """Bring OUT/NAME in step with the chunks (`fresh`: start it again, the model changed). `copy_of`: a store
    of the same weights (the base, when the base ships) to start from instead of embedding every chunk again."""
    from densefit.build.chunks import CHUNKS
    from densefit.index.local import copy_store

    t = time.perf_counter()
    if fresh and (out / name).exists():
        shutil.rmtree(out / name)
        (out / f"{name}{SYNCED}").unlink(missing_ok=True)
    if copy_of and not (out / name).exists():
        say(f"index: {name} starts as a copy of {copy_of}, the shipped model's weights are the base's")
        copy_store(out / copy_of, out / name)  # the sync below then finds every chunk already there
    say(f"index: {name} with {model}")
    info = _sync_index(out / name, model, out / CHUNKS, rows)
    _finish(out, state, name, t, **info, **({"copy_of": copy_of} if copy_of else {}))


def stage_evaluate(out: Path, state: dict) -> None:
    from densefit.build.evaluate import compare
    from densefit.build.queries import DATA

    t = time.perf_counter()
    result = compare(out / INDEX_BASE, out / INDEX, out / DATA)
    ci = result["paired"]["mrr@10"]
    say(f"evaluate: MRR@10 base {result['before']['mrr@10']:.4f} -> built {result['after']['mrr@10']:.4f} "
        f"({ci['delta']:+.4f}, 95% CI [{ci['ci_low']:+.4f}, {ci['ci_high']:+.4f}]) on {result['queries']} "
        f"{state['stages']['queries']['test']} test queries")
    _finish(out, state, "evaluate", t, **result)


def run_build(cfg: BuildConfig) -> dict:
    """The whole build (or up to --until); returns the state written to OUT/build.json."""
    start = time.perf_counter()
    root, out, state = _start(cfg)
    for name in _stages(cfg, root, out, state):
        if name == cfg.until:
            say(f"stopped after {name} (--until); add --resume to go on")
            state.pop("serve", None)  # later stages may not match the chunks now: nothing to serve until done
            break
    else:
        state["serve"] = serve_block(cfg, state)
    state["seconds"] = round(time.perf_counter() - start, 1)
    _save(out, state)
    return state


def _stages(cfg: BuildConfig, root: Path, out: Path, state: dict):
    """Run the stages in order, yielding each one's name once it is done."""
    rows = stage_chunks(cfg, root, out, state)
    yield "chunks"
    retrain = not _done(state, "train", cfg)
    if not _done(state, "queries", cfg):
        stage_queries(cfg, root, out, state, rows)
    yield "queries"
    stage_index(out, state, rows, INDEX_BASE, cfg.model, fresh=False)
    yield INDEX_BASE
    if retrain:
        stage_train(cfg, out, state)
    yield "train"
    trained = state["stages"]["train"]
    stage_index(out, state, rows, INDEX, trained["model"], fresh=retrain and cfg.retrain,
                copy_of=INDEX_BASE if trained.get("shipped") == "base" else None)
    yield INDEX
    stage_evaluate(out, state)
    yield "evaluate"
