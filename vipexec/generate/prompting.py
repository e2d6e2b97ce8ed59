"""The generator's prompts: package data in ``prompts/``, overridable by one file.

Three templates (``string.Template``, ``${name}`` placeholders): ``system`` (the rules of a
least-to-most program and the API, ``${api}``), ``first`` (ask for Step 1: ``${query}``,
``${images}``) and ``next`` (ask for Step ``${step}`` after ``${program}``, the blocks so far).
An override file either holds sections headed by lines ``### system``, ``### first``,
``### next`` (those it has replace the defaults) or, without headers, is the system prompt.

The API text is built from the docstrings of :mod:`vipexec.modules.api`, so it always lists the
methods a program can call.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template

from vipexec.core.errors import InvalidArgumentError
from vipexec.modules.methods import API_FUNCTIONS

__all__ = ["Prompts", "api_summary"]

SECTIONS = ("system", "first", "next")
PLACEHOLDERS = {
    "system": {"api"},
    "first": {"query", "images"},
    "next": {"query", "images", "program", "step"},
}
_HEADER = re.compile(r"^###\s*(system|first|next)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompts:
    system: str
    first: str
    next: str

    @classmethod
    def load(cls, override: str | Path | None = None) -> Prompts:
        """The packaged prompts, with the sections of ``override`` (a file) replacing them."""
        folder = resources.files("vipexec.generate") / "prompts"
        texts = {name: (folder / f"{name}.txt").read_text(encoding="utf-8") for name in SECTIONS}
        if override is not None:
            texts.update(_sections(Path(override)))
        for name, text in texts.items():
            _check(name, text, override)
        return cls(**texts)

    def render(self, section: str, **values: object) -> str:
        return Template(getattr(self, section)).substitute(
            {key: str(value) for key, value in values.items()}
        )


def _sections(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"--prompt {path}: cannot read it ({exc})") from None
    headers = list(_HEADER.finditer(text))
    if not headers:
        return {"system": text}
    if text[: headers[0].start()].strip():
        raise InvalidArgumentError(
            f"--prompt {path}: text before the first '### {headers[0].group(1)}' header"
        )
    found = {}
    for k, header in enumerate(headers):
        end = headers[k + 1].start() if k + 1 < len(headers) else len(text)
        found[header.group(1)] = text[header.end() : end].strip("\n") + "\n"
    return found


def _check(name: str, text: str, source: str | Path | None) -> None:
    matches = list(Template.pattern.finditer(text))
    used = {m.group("named") or m.group("braced") for m in matches} - {None}
    bad = [m for m in matches if m.group("invalid") is not None]
    where = f"--prompt {source}" if source else "the packaged prompts"
    unknown = sorted(used - PLACEHOLDERS[name])
    if unknown:
        allowed = ", ".join(f"${{{p}}}" for p in sorted(PLACEHOLDERS[name]))
        raise InvalidArgumentError(
            f"{where}: the {name} prompt uses ${{{unknown[0]}}}; it may use {allowed} "
            "(write $$ for a dollar sign)"
        )
    if bad:
        raise InvalidArgumentError(
            f"{where}: the {name} prompt has a stray '$' (write $$ for a dollar sign)"
        )


@cache
def api_summary() -> str:
    """One line per API class, field, method and helper function, from their docstrings."""
    from vipexec.modules import api

    lines = []
    for cls in (api.ImagePatch, api.VideoSegment):
        lines.append(f"class {cls.__name__}{_signature(cls.__init__)}: {_doc(cls)}")
        fields = [name for name, member in vars(cls).items() if type(member).__name__ == "_Field"]
        if fields:
            lines.append(f"    fields: {', '.join(fields)}")
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                lines.append(f"    {name}{_signature(member)}: {_doc(member)}")
    # the functions are read from what a program's namespace really holds: those that reach a
    # backend exist only bound to a dispatcher, and describing them calls nothing
    functions = api.build_api(_NoCalls())
    for name in sorted(API_FUNCTIONS):
        lines.append(f"{name}{_signature(functions[name])}: {_doc(functions[name])}")
    return "\n".join(lines)


class _NoCalls:
    """A dispatcher for reading the API's functions, never for calling them."""

    def call(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("the API summary never calls a backend")


def _signature(function: object) -> str:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    empty = inspect.Signature.empty
    parameters = [
        p.replace(annotation=empty) if p.annotation == "Any" else p
        for p in signature.parameters.values()
        if p.name != "self"
    ]
    returns = signature.return_annotation
    if returns == "Any" or getattr(function, "__name__", "") == "__init__":
        returns = empty
    return str(signature.replace(parameters=parameters, return_annotation=returns)).replace("'", "")


def _doc(item: object) -> str:
    paragraph = (inspect.getdoc(item) or "").split("\n\n")[0]
    return " ".join(paragraph.replace("``", "`").split())
