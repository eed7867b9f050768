"""HTTP caching of answers: encoded bodies with ETags, an LRU cache per warehouse state, and
a middleware that answers a repeated URL before routing."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")
CACHE_MIB = 64.0  # answers cached per warehouse state (least recently used go first)
CACHE_CONTROL = "public, max-age=30"


@dataclass(frozen=True)
class Encoded:
    """An answer ready to send: JSON bytes and their ETag."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, model: BaseModel) -> Encoded:
        """Serialize a response model; the ETag is a hash of the bytes."""
        body = model.model_dump_json().encode()
        return cls(body, 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def size_of(value: Any) -> int:
    """Rough bytes of a cached value (encoded answers, frames, small objects)."""
    if isinstance(value, Encoded):
        return len(value.body) + 200
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size()) + 200
    return 1024


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match check (weak comparison; `*` matches anything)."""
    bare = etag.removeprefix("W/")
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False


def url_key(token: str, scope: Scope) -> tuple[Any, ...]:
    """Response-cache key of a request: the snapshot plus the exact path and query string."""
    return ("url", token, scope["path"], scope.get("query_string", b""))


class CachedAnswers:
    """ASGI middleware: a GET of a URL already answered from the current snapshot is answered
    again from memory, before routing, parameter validation and the database (the hot path of
    many clients polling the same boards). Cache misses go through the app as usual."""

    def __init__(self, app: ASGIApp, cache: AnswerCache,
                 token: Callable[[], str | None]) -> None:
        self.app = app
        self.cache, self.token = cache, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stored answer (or 304) when there is one, else pass the request on."""
        if scope["type"] == "http" and scope["method"] == "GET":
            token = self.token()
            hit = self.cache.peek(url_key(token, scope)) if token is not None else None
            if hit is not None:
                enc, cache_control = hit
                headers = [(b"etag", enc.etag.encode()), (b"cache-control", cache_control.encode())]
                inm = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
                if inm is not None and etag_matches(inm.decode("latin-1"), enc.etag):
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
                headers += [(b"content-type", b"application/json"),
                            (b"content-length", str(len(enc.body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": enc.body})
                return
        await self.app(scope, receive, send)


class AnswerCache:
    """Values computed once per key (keys start with the snapshot token), least recently used
    first out past a byte budget; concurrent misses of one key wait for the first."""

    def __init__(self, cache_mib: float = CACHE_MIB) -> None:
        self.cache_bytes = int(cache_mib * 2**20)
        self._cache: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._cached_bytes = 0
        self._inflight: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def peek(self, key: tuple[Any, ...]) -> Any:
        """A cached value or None (no computing)."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                return None
            self._cache.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        """Cache a value; least recently used entries go when past the byte budget."""
        size = size_of(value)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = (value, size)
                self._cached_bytes += size
            while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cached_bytes -= dropped

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """compute() once per key (concurrent misses of one key wait for the first); least
        recently used entries go when the cache passes its byte budget. Errors are not cached."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key][0]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._cache:
                    return self._cache[key][0]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
            self.put(key, value)
            return value
