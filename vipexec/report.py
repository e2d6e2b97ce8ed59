"""A self-contained HTML report of one run: every step with its code, values, calls and crops.

One file, no external assets: styles are inline and image crops are embedded as PNG data
URIs, so a report can be mailed or attached to an issue. Patches in variables and call results
are drawn from the image store when one is given (``vipexec run --html`` passes the sandbox's).
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

from vipexec.core.run import Run

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{font-size:1.3em} .meta{color:#666} .answer{font-size:1.15em;margin:.6em 0}
.block{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.6em 1em}
.block.error{border-color:#d33;background:#fff6f6} .block.not_run{opacity:.55}
.status{font-weight:600;text-transform:uppercase;font-size:.8em;padding:.1em .5em;border-radius:4px}
.ok .status{background:#e3f5e3;color:#185c18} .error .status{background:#fbdcdc;color:#8a1111}
.not_run .status{background:#eee;color:#555}
pre{background:#f7f7f7;padding:.5em;border-radius:4px;overflow-x:auto;margin:.4em 0}
table{border-collapse:collapse;margin:.3em 0} td,th{padding:.15em .6em;text-align:left;
vertical-align:top;border-bottom:1px solid #eee} th{color:#555;font-weight:500}
img.crop{max-height:72px;border:1px solid #999;margin:0 .2em;vertical-align:middle}
.err{color:#8a1111;font-weight:600}
"""


def render_html(run: Run, *, store: Any = None, max_crops: int = 6) -> str:
    """The report as a string; ``store`` (an ImageStore) enables crops of patches."""
    crops = _CropMaker(store, max_crops)
    program = run.program
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>vipexec run: {html.escape(program.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(program.name)}</h1>",
        f"<div class='meta'>{program.form} form &middot; {len(program.blocks)} blocks &middot; "
        f"{run.ms:.1f} ms &middot; backend {html.escape(str(run.backend or '-'))}</div>",
    ]
    if run.error is None:
        parts.append(f"<div class='answer'>Answer: {_value(run.result_summary, crops)}</div>")
    else:
        parts.append(f"<div class='answer err'>{html.escape(run.error.describe())}</div>")
    source_blocks = {block.index: block for block in program.blocks}
    for trace in run.blocks:
        block = source_blocks.get(trace.index)
        title = f"Step {trace.step}" if trace.step is not None else f"Block {trace.index}"
        parts.append(f"<div class='block {trace.status}'>")
        parts.append(
            f"<div><span class='status'>{trace.status.replace('_', ' ')}</span> "
            f"<b>{html.escape(title)}</b> {html.escape(trace.description)} "
            f"<span class='meta'>lines {trace.lines[0]}-{trace.lines[1]} &middot; "
            f"{trace.ms:.2f} ms &middot; {trace.executions} run(s)</span></div>"
        )
        if block is not None:
            parts.append(f"<pre>{html.escape(block.source)}</pre>")
        if trace.error:
            message = f"{trace.error.get('type')}: {trace.error.get('message')}"
            parts.append(f"<div class='err'>{html.escape(message)}</div>")
        if trace.variables:
            rows = "".join(
                f"<tr><th>{html.escape(name)}</th><td>{_value(value, crops)}</td></tr>"
                for name, value in trace.variables.items()
            )
            parts.append(f"<table>{rows}</table>")
        if trace.calls:
            rows = "".join(_call_row(call, crops) for call in trace.calls)
            parts.append(
                "<table><tr><th>call</th><th>arguments</th><th>result</th><th>ms</th></tr>"
                f"{rows}</table>"
            )
        parts.append("</div>")
    if run.stdout:
        parts.append(f"<h2>Printed</h2><pre>{html.escape(run.stdout[-5000:])}</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def _call_row(call: dict[str, Any], crops: _CropMaker) -> str:
    arguments = ", ".join(
        f"{html.escape(k)}={_value(v, crops)}" for k, v in call.get("args", {}).items()
    )
    target = ""
    if call.get("image") and call.get("box"):
        target = crops.image(call["image"], call["box"])
    cached = " (cached)" if call.get("cache_hit") else ""
    result = (
        _value(call.get("result", {}), crops)
        if not call.get("error")
        else (f"<span class='err'>{html.escape(call['error'])}</span>")
    )
    return (
        f"<tr><td>{target}{html.escape(call.get('method', '?'))}</td><td>{arguments}</td>"
        f"<td>{result}</td><td>{call.get('ms', 0):.2f}{cached}</td></tr>"
    )


def _value(summary: dict[str, Any], crops: _CropMaker) -> str:
    if not isinstance(summary, dict):
        return html.escape(json.dumps(summary))
    kind = summary.get("type", "?")
    if "value" in summary:
        return html.escape(repr(summary["value"]))
    if "box" in summary:
        image = summary.get("image")
        picture = crops.image(image, summary["box"]) if image else ""
        return f"{picture}{html.escape(kind)} {summary['box']}"
    if "items" in summary:
        inner = ", ".join(
            " : ".join(_value(part, crops) for part in item) if isinstance(item, list)
            else _value(item, crops)
            for item in summary["items"]
        )  # fmt: skip
        more = " ..." if summary.get("len", 0) > len(summary["items"]) else ""
        return f"{html.escape(kind)}[{summary.get('len')}] ({inner}{more})"
    details = {k: v for k, v in summary.items() if k != "type"}
    return (
        f"{html.escape(kind)} {html.escape(json.dumps(details))}" if details else html.escape(kind)
    )


class _CropMaker:
    """Crops of patches as data URIs, at most ``limit`` per report (they are not small)."""

    def __init__(self, store: Any, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.made: dict[tuple, str] = {}

    def image(self, image_id: str, box: list[int]) -> str:
        key = (image_id, tuple(box))
        if key in self.made:
            return self.made[key]
        if self.store is None or len(self.made) >= self.limit or image_id not in self.store:
            return ""
        from PIL import Image

        from vipexec.modules.backend import crop_pixels

        try:
            pixels = crop_pixels(self.store.pixels(image_id), box)
            picture = Image.fromarray(pixels)
            picture.thumbnail((160, 160))
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
        except Exception:  # a crop is decoration: never fail the report over it
            return ""
        data = base64.b64encode(buffer.getvalue()).decode()
        tag = f"<img class='crop' alt='crop' src='data:image/png;base64,{data}'>"
        self.made[key] = tag
        return tag
