"""Query generators: extractive (offline), a tiny random T5, and a real local OpenAI-style HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from densefit.config import TrainConfig
from densefit.errors import ConfigError, UnknownNameError
from densefit.methods.generators.extractive import ExtractiveGenerator, is_prose
from densefit.methods.generators.openai_compat import GeneratorError, OpenAIGenerator, parse_queries
from densefit.methods.generators.registry import build_generator, get_generator_class

PASSAGES = [
    "File status\nThe stat function returns information about a file. It fills a buffer with the size and owner. "
    "int stat(const char *path, struct stat *buf);",
    "Sockets\nA socket is an endpoint for communication between two processes over a network connection. "
    "Packets are queued in buffers until the reader consumes them.",
]
SECRET = "sk-test-never-print-this"


def test_extractive_titles_sentences_keyphrases_and_cloze():
    out = ExtractiveGenerator(seed=1).generate(PASSAGES, 4)
    assert [len(q) for q in out] == [4, 4]
    assert out[0][0] == "File status" and out[1][0] == "Sockets"
    assert out[0][1].startswith("The stat function returns information about a file")
    assert all(len(q.split()) <= 12 for qs in out for q in qs)
    assert not any("const char" in q for qs in out for q in qs)  # code is never a query
    assert ExtractiveGenerator(seed=1).generate(PASSAGES, 4) == out  # deterministic


def test_is_prose_rejects_code():
    assert is_prose("The stat function returns information about a file")
    assert not is_prose("int stat(const char *path, struct stat *buf);")


def test_registry_unknown_and_missing_settings():
    with pytest.raises(UnknownNameError, match="extractive, openai, seq2seq"):
        get_generator_class("gpt")
    with pytest.raises(ConfigError, match="--generator-model"):
        build_generator(TrainConfig(generator="seq2seq"))
    with pytest.raises(ConfigError, match="DENSEFIT_GENERATOR_BASE_URL"):
        build_generator(TrainConfig(generator="openai"))


def _tiny_t5(folder):
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from densefit.models import bundled_model_dir

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(bundled_model_dir())
    config = T5Config(vocab_size=tok.vocab_size, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id,
                      decoder_start_token_id=tok.pad_token_id)
    T5ForConditionalGeneration(config).save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return str(folder)


def test_seq2seq_generator_with_a_tiny_random_t5(tmp_path):
    cfg = TrainConfig(generator="seq2seq", generator_model=_tiny_t5(tmp_path / "t5"))
    gen = build_generator(cfg)
    out = gen.generate(PASSAGES, 3)
    assert len(out) == 2 and all(1 <= len(qs) <= 3 and all(isinstance(q, str) and q for q in qs) for qs in out)
    assert gen.describe()["model"] == cfg.generator_model


class _ChatHandler(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _ChatHandler.seen.append((self.path, self.headers.get("Authorization"), body))
        if body["model"] == "broken":
            self.send_response(500), self.end_headers(), self.wfile.write(b"boom")
            return
        passage = body["messages"][0]["content"].split("Passage:\n", 1)[1]
        content = f"1. what is {passage.split()[0].lower()}\n2) \"{passage.split()[1]} meaning\"\n- third query\n"
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    server = HTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _ChatHandler.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_generator_against_a_local_server(chat_server, monkeypatch, capsys):
    monkeypatch.setenv("DENSEFIT_GENERATOR_API_KEY", SECRET)
    gen = build_generator(TrainConfig(generator="openai", generator_base_url=chat_server, generator_model="tiny-llm"))
    out = gen.generate(PASSAGES, 2)
    assert out == [["what is file", "status meaning"], ["what is sockets", "A meaning"]]
    path, auth, body = _ChatHandler.seen[0]
    assert path == "/v1/chat/completions" and auth == f"Bearer {SECRET}" and body["model"] == "tiny-llm"
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err and SECRET not in json.dumps(gen.describe())


def test_openai_generator_errors_name_the_endpoint_not_the_key(chat_server):
    gen = OpenAIGenerator(chat_server, "broken", SECRET, retries=1)
    with pytest.raises(GeneratorError, match="HTTP 500") as err:
        gen.generate(["x y z"], 1)
    assert SECRET not in str(err.value)


def test_parse_queries_strips_numbering():
    assert parse_queries("1. a\n2) b\n\n- c\n* a", 5) == ["a", "b", "c"]
