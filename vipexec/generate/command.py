"""``vipexec generate``: one program tree per query of a QUERIES.jsonl file.

Queries are grown concurrently (``concurrency`` threads, each growing one query's tree); each
tree is written to ``<out>/<query id>.json`` as soon as it is done. LLM answers are cached under
``<out>/cache`` (see :mod:`vipexec.modules.models.chat`), so a rerun over the same folder sends
no request it already sent. Returns the exit code: 0; 1 when a tree could not be built or
written; 2 for a bad invocation or bad query lines (the good lines still run).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from vipexec.core.errors import InvalidArgumentError, VipexecError
from vipexec.core.terminal import terminal_text
from vipexec.generate.protocol import Generator
from vipexec.generate.queries import read_queries
from vipexec.generate.tree_builder import TreeLimits, build_tree

__all__ = [
    "GENERATORS",
    "GenerationRefused",
    "LLMSettings",
    "chat_client",
    "generate_command",
    "make_generator",
]

GENERATORS = ("grammar", "llm")
CACHE_FOLDER = "cache"


@dataclass(frozen=True)
class LLMSettings:
    """How ``--generator llm`` reaches its model."""

    base_url: str | None = None
    """an OpenAI-compatible server up to ``/v1`` (else ``$VIPEXEC_LLM_BASE_URL``)"""
    model: str | None = None
    local: str | None = None
    """a transformers causal-LM checkpoint run in this process instead of a server"""
    device: str = "cpu"
    images: bool = False
    """send the query's images as image content parts (the model accepts them)"""
    use_n: bool = False
    """one request with ``n`` choices per step instead of one seeded request per alternative"""
    temperature: float = 0.7
    max_tokens: int = 512
    timeout: float = 60.0
    retries: int = 3
    backoff_s: float = 1.0
    prompt: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (``vipexec build`` records it with the build's settings)."""
        data = asdict(self)
        data["prompt"] = str(self.prompt) if self.prompt is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMSettings:
        prompt = data.get("prompt")
        return cls(**{**data, "prompt": Path(prompt) if prompt is not None else None})


class GenerationRefused(InvalidArgumentError):
    """A generator or chat model that cannot be set up: one line, exit code 2."""


def generate_command(
    queries_file: Path,
    images_dir: Path,
    out: Path,
    *,
    generator: str = "grammar",
    limits: TreeLimits | None = None,
    seed: int = 0,
    concurrency: int = 8,
    llm: LLMSettings | None = None,
    err: TextIO | None = None,
    progress: bool = True,
) -> int:
    err = err or sys.stderr

    def say(message: str) -> None:
        print(f"vipexec: {terminal_text(message)}", file=err)

    if not images_dir.is_dir():
        say(f"--images {images_dir}: not a folder")
        return 2
    queries, bad_lines = read_queries(queries_file, images_dir)
    for line in bad_lines:
        say(line)
    try:
        out.mkdir(parents=True, exist_ok=True)
        made = make_generator(generator, seed, llm or LLMSettings(), out / CACHE_FOLDER)
    except (VipexecError, ValueError, OSError) as exc:
        say(str(exc))
        return 2
    limits = limits or TreeLimits()
    failed = 0
    endings: Counter[str] = Counter()
    workers = ThreadPoolExecutor(max_workers=max(1, concurrency))
    with _progress(len(queries), enabled=progress) as advance, workers as pool:
        futures = {pool.submit(build_tree, made, q, limits, seed=seed): q for q in queries}
        for future in as_completed(futures):
            query = futures[future]
            try:
                tree = future.result()
                tree.save(out / f"{query.id}.json")
            except Exception as exc:  # one query's failure must not stop the others
                say(f"query {query.id!r}: {type(exc).__name__}: {exc}")
                failed += 1
            else:
                endings.update(d["ending"] for _, d in tree.nodes() if d.get("ending"))
            advance()
    _summary(len(queries) - failed, out, endings, made)
    if bad_lines:
        return 2
    return 1 if failed else 0


def make_generator(kind: str, seed: int, llm: LLMSettings, cache: Path) -> Generator:
    """The generator ``--generator kind`` names (``llm``: through :func:`chat_client`)."""
    if kind == "grammar":
        from vipexec.generate.grammar import GrammarGenerator

        return GrammarGenerator(seed=seed)
    if kind != "llm":
        raise GenerationRefused(f"--generator {kind!r}: expected one of {', '.join(GENERATORS)}")
    from vipexec.generate.llm import LLMGenerator
    from vipexec.generate.prompting import Prompts

    prompts = Prompts.load(llm.prompt)
    return LLMGenerator(
        chat_client(llm, cache), prompts=prompts, seed=seed, temperature=llm.temperature,
        max_tokens=llm.max_tokens, send_images=llm.images, use_n=llm.use_n,
    )  # fmt: skip


def chat_client(llm: LLMSettings, cache: Path, *, needed_by: str = "--generator llm") -> Any:
    """A :class:`vipexec.modules.models.chat.ChatClient` for ``llm``'s model (a server, or a
    local checkpoint), its answers cached under ``cache``; ``needed_by`` names the option that
    asked for it in the refusal when no model is given."""
    from vipexec.modules.models.chat import ChatClient, ChatFailed, HttpChat, ResponseCache

    backend: Any
    if llm.local:
        if llm.local.startswith(("/", ".", "~")) and not Path(llm.local).expanduser().exists():
            raise GenerationRefused(f"--llm-local {llm.local}: no such folder")
        try:
            from vipexec.modules.models.llm_local import LocalChat

            backend = LocalChat(str(Path(llm.local).expanduser()), device=llm.device)
        except ImportError as exc:
            raise GenerationRefused(
                f"--llm-local needs the models extra (pip install vipexec[models]): {exc}"
            ) from None
    else:
        from vipexec.modules.models.llm_http import BASE_URL_ENV, MODEL_ENV

        url = llm.base_url or next((os.environ[v] for v in BASE_URL_ENV if os.environ.get(v)), "")
        if not url:
            raise GenerationRefused(
                f"{needed_by} needs --llm-base-url URL (or $VIPEXEC_LLM_BASE_URL) or "
                "--llm-local CHECKPOINT"
            )
        model = llm.model or os.environ.get(MODEL_ENV)
        try:
            backend = HttpChat(
                url, model, timeout=llm.timeout, retries=llm.retries, backoff_s=llm.backoff_s
            )
        except ChatFailed as exc:
            raise GenerationRefused(f"--llm-base-url {url}: {exc}") from None
    return ChatClient(backend, ResponseCache(cache))


@contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr (rich, which typer brings) when it is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("generating trees", total=total)
        yield lambda: bar.advance(task)


def _summary(written: int, out: Path, endings: Counter[str], generator: Generator) -> None:
    ends = ", ".join(f"{kind} {count}" for kind, count in sorted(endings.items())) or "none"
    line = f"{written} trees written to {out} (paths ending: {ends})"
    client = getattr(generator, "client", None)
    if client is not None:
        line += (
            f"; {client.sent} requests sent to {client.model}, "
            f"{client.cached} answered from the cache"
        )
    print(terminal_text(line))
