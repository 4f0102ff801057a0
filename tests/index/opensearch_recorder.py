"""A local HTTP stand-in for an OpenSearch cluster, for the OpenSearch backend's tests.

It keeps every request (so tests can check the bodies densefit sends against the k-NN
plugin's documented API) and answers with the documented response shapes. Searches are
answered for real: an exact inner-product k-NN over the stored vectors, the `term`
filters applied, scores transformed as the innerproduct space does (dot + 1, or
1 / (1 - dot) below zero). `state["closed"]` and `state["blocked"]` make the index
answer as a closed or a read-only (flood-stage) index does.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

CLOSED = {"type": "index_closed_exception", "reason": "closed", "index": "{name}"}
BLOCKED = {"type": "cluster_block_exception",
           "reason": "index [{name}] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, "
                     "index has read-only-allow-delete block];"}


def _fill(template: dict, name: str) -> dict:
    return {k: v.replace("{name}", name) for k, v in template.items()}


def _matches(metadata: dict, flt: dict | None) -> bool:
    terms = [next(iter(t["term"].items())) for t in (flt or {}).get("bool", {}).get("filter", [])]
    return all(metadata.get(field.split(".", 1)[1]) == value for field, value in terms)


def _score(dot: float) -> float:
    return dot + 1.0 if dot >= 0 else 1.0 / (1.0 - dot)


class Recorder(BaseHTTPRequestHandler):
    server_version = "recorder"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _body(self):
        size = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(size).decode() if size else ""

    def _reply(self, status: int, payload=None):
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, template: dict, name: str):
        cause = _fill(template, name)
        return self._reply(status, {"error": {"root_cause": [cause], **cause}, "status": status})

    def _handle(self):
        state = self.server.state
        path = self.path.split("?")[0]
        body = self._body()
        with state["lock"]:
            state["requests"].append({"method": self.command, "path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization")})
            name = path.strip("/").split("/")[0]
            if state["closed"] and path.endswith(("/_search", "/_count", "/_mget", "/_bulk")):
                return self._error(400, CLOSED, state.get("name", name))
            if path == "/_bulk":
                return self._bulk(body)
            if path.endswith("/_mget"):
                ids = json.loads(body)["ids"]
                return self._reply(200, {"docs": [{"_id": i, "found": i in state["docs"]} for i in ids]})
            if path.endswith("/_count"):
                return self._reply(200, {"count": len(state["docs"])})
            if path.endswith("/_search"):
                return self._reply(200, {"hits": {"hits": self._knn(json.loads(body))}})
            if path.endswith("/_mapping"):
                if self.command == "PUT":
                    state["meta"].update(json.loads(body)["_meta"])
                    return self._reply(200, {"acknowledged": True})
                return self._reply(200, {name: {"mappings": {"_meta": state["meta"]}}})
            if self.command == "HEAD":
                return self._reply(200 if state["created"] else 404)
            if self.command == "PUT":
                state.update(created=True, name=name, meta=json.loads(body)["mappings"]["_meta"])
                return self._reply(200, {"acknowledged": True, "index": name})
            return self._reply(404, {"error": "unexpected request"})

    def _knn(self, body: dict) -> list[dict]:
        (field, knn), = body["query"]["knn"].items()
        query = np.asarray(knn["vector"], dtype=np.float64)
        docs = [(i, d) for i, d in self.server.state["docs"].items() if _matches(d["metadata"], knn.get("filter"))]
        ranked = sorted(docs, key=lambda item: -float(np.dot(query, item[1][field])))[: knn["k"]]
        return [{"_id": i, "_score": _score(float(np.dot(query, d[field]))),
                 "_source": {"text": d["text"], "metadata": d["metadata"]}} for i, d in ranked]

    def _bulk(self, body: str):
        state = self.server.state
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        items, i = [], 0
        while i < len(lines):
            (op, target), = lines[i].items()
            step = 1 if op == "delete" else 2
            if state["blocked"] and op != "delete":
                items.append({op: {"_id": target["_id"], "status": 429, "error": _fill(BLOCKED, target["_index"])}})
            elif op == "create" and target["_id"] in state["docs"]:
                items.append({op: {"_id": target["_id"], "status": 409,
                                   "error": {"type": "version_conflict_engine_exception"}}})
            else:
                if op == "delete":
                    state["docs"].pop(target["_id"], None)
                else:
                    state["docs"][target["_id"]] = lines[i + 1]
                items.append({op: {"_id": target["_id"], "status": 201 if op == "create" else 200}})
            i += step
        errors = any("error" in next(iter(item.values())) for item in items)
        return self._reply(200, {"took": 1, "errors": errors, "items": items})

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle


@contextmanager
def running_recorder():
    """A recorder on a free loopback port, with fresh state; shut down on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.state = {"requests": [], "docs": {}, "created": False, "meta": {}, "closed": False, "blocked": False,
                    "lock": threading.Lock()}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
