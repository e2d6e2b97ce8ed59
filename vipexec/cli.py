"""The ``vipexec`` command line.

Exit codes: 0 the program ran (or the command succeeded); 1 the program failed (compile,
policy, runtime, timeout, memory, crashed) or tests failed; 2 bad invocation or unreadable input.
Every failure is one line on stderr, never a traceback; every option is checked. Program-derived
text reaches the terminal escaped (:func:`vipexec.core.terminal.terminal_text`). Start-up stays
light: heavy libraries (torch, the model backends) are imported only by the commands that need them.
"""

from __future__ import annotations

import sys

from vipexec.sandbox.isolation import boot  # the standard library only


def _start_worker_early(argv: list[str]) -> None:
    """`vipexec run` needs one sandbox worker: start it before this process imports typer,
    numpy and PIL, so that the two interpreters start side by side (the pool adopts it)."""
    if argv[1:2] == ["run"] and not {"-h", "--help"} & set(argv):
        boot.start_early()


_start_worker_early(sys.argv)

import json  # noqa: E402  (after the worker's start: see above)
import math  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import typer  # noqa: E402

from vipexec.core.errors import VipexecError  # noqa: E402
from vipexec.core.terminal import encodable, terminal_text  # noqa: E402

app = typer.Typer(
    name="vipexec",
    help="Sandboxed visual-program execution with per-step tracing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Usage(Exception):
    """A bad invocation or unreadable input: exit code 2."""


def fail(message: str, code: int = 2) -> typer.Exit:
    # Messages quote programs and their errors: escaped, they stay one line of plain text.
    typer.echo(f"vipexec: {terminal_text(message)}", err=True)
    return typer.Exit(code)


MAX_TIMEOUT = 86_400.0
MAX_SCENES = 100_000
MAX_ARG_DEPTH = 100
"""nesting levels of an --arg JSON value (deeper values exhaust the recursion of the stages
that copy and summarise inputs)"""


def check_seconds(option: str, value: float) -> None:
    """Refuse a time limit that is not a finite number of seconds in (0, MAX_TIMEOUT]."""
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise Usage(f"{option} {value}: expected seconds, more than 0 and at most {MAX_TIMEOUT:g}")


def check_count(option: str, value: int, low: int, high: int) -> None:
    """Refuse a count outside [low, high]."""
    if not low <= value <= high:
        raise Usage(f"{option} {value}: expected a whole number from {low} to {high}")


# --- vipexec run ----------------------------------------------------------------------------


@app.command("run")
def run_command(
    program: Annotated[Path, typer.Argument(help="Program file (function or script form).")],
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Input files: images (PNG, JPEG, ...) or videos (GIF, frame folder)."),
    ] = None,
    backend: Annotated[str, typer.Option(help="Backend answering API calls.")] = "synthetic",
    config: Annotated[
        Path | None, typer.Option(help="Models config (YAML/TOML) instead of --backend.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Profile of the models config to use.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="Device for the models (cpu, cuda:0).")] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            help="Other inputs as NAME=VALUE (VALUE is JSON if it parses).", metavar="NAME=VALUE"
        ),
    ] = None,
    entry: Annotated[str | None, typer.Option(help="Entry function name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole run as JSON.")] = False,
    trace: Annotated[Path | None, typer.Option(help="Write the trace JSON to this file.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report to this file.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds allowed.")] = 10.0,
    memory: Annotated[int, typer.Option(help="Memory (MB) the program may use.")] = 1024,
) -> None:
    """Run PROGRAM on INPUTs in the sandbox and print the answer and the per-block trace."""
    from vipexec.core.program import Program

    try:
        check_seconds("--timeout", timeout)
        if memory <= 0:
            raise Usage(f"--memory {memory}: expected a number of megabytes above 0")
        source = Program.from_file(program, entry=entry)
        named = _parse_args(arg or [])
        if (profile or device) and config is None:
            raise Usage("--profile and --device need --config (a models config file)")
        server = _server_from_config(config, profile, device) if config else None
    except (VipexecError, Usage) as exc:
        raise fail(str(exc)) from None
    from vipexec.sandbox.isolation.pool import Sandbox

    try:
        sandbox = Sandbox(
            workers=1, timeout=timeout, memory=memory, backend=backend, server=server,
            store=getattr(server, "store", None),
        )  # fmt: skip
    except (VipexecError, ValueError) as exc:
        raise fail(str(exc)) from None
    with sandbox:
        try:
            bound = _bind_inputs(source, [Path(p) for p in inputs or []], named, sandbox.images)
            run = sandbox.run(source, bound)
        except (VipexecError, Usage) as exc:
            raise fail(str(exc)) from None
        if html is not None:
            from vipexec.report import render_html

            try:
                page = encodable(render_html(run, store=sandbox.images))
                html.write_text(page, encoding="utf-8")
            except OSError as exc:
                raise fail(f"{html}: cannot write the report: {exc.strerror or exc}") from None
    if trace is not None:
        try:
            run.save(trace)
        except OSError as exc:
            raise fail(f"{trace}: cannot write the trace: {exc.strerror or exc}") from None
    if as_json:
        typer.echo(run.to_json())
    else:
        _print_run(run)
    if run.error is not None:
        raise fail(f"{program}: {run.error.describe()}", code=1)


def _parse_args(pairs: list[str]) -> dict[str, Any]:
    named = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise Usage(f"--arg {pair!r}: expected NAME=VALUE")
        try:
            value = json.loads(text)
        except RecursionError:
            value = None
            depth = MAX_ARG_DEPTH + 1
        except ValueError:
            value, depth = text, 0
        else:
            depth = _depth(value)
        if depth > MAX_ARG_DEPTH:
            raise Usage(f"--arg {name}: the JSON value is nested more than {MAX_ARG_DEPTH} deep")
        named[name] = value
    return named


def _depth(value: Any) -> int:
    """How many containers deep a JSON value nests (iteratively: the value may be deep)."""
    depth, level = 0, [value]
    while level:
        containers = [item for item in level if isinstance(item, (list, dict))]
        if not containers:
            break
        depth += 1
        level = [
            inner
            for item in containers
            for inner in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def _bind_inputs(program: Any, paths: list[Path], named: dict[str, Any], store: Any) -> Any:
    """Map INPUT files and --arg values onto the program's parameters (or script globals)."""
    for path in paths:
        if not path.exists():
            raise Usage(f"{path}: no such file or directory")
    if program.form == "script":
        values = dict(named)
        if paths:
            refs = [_load(path, store, video=None) for path in paths]
            values.setdefault("image", refs[0])
            values.setdefault("images", refs)
        return values
    params = [p for p in program.params if not p.startswith("*")]
    free = [p for p in params if p not in named]
    values = dict(named)
    if len(free) == 1 and len(paths) > 1:
        values[free[0]] = [_load(path, store, video=_is_video_name(free[0])) for path in paths]
    else:
        if len(paths) > len(free):
            raise Usage(
                f"{program.name} takes {len(free)} input(s) ({', '.join(free) or 'none'}), "
                f"got {len(paths)} files"
            )
        for name, path in zip(free, paths):
            values[name] = _load(path, store, video=_is_video_name(name))
    missing = [p for p in params if p not in values and p not in program.optional_params]
    if missing:
        raise Usage(
            f"{program.name}: no input for parameter {missing[0]!r} "
            f"(give a file, or --arg {missing[0]}=VALUE)"
        )
    return values


def _is_video_name(name: str) -> bool:
    return "video" in name.lower()


def _load(path: Path, store: Any, *, video: bool | None) -> Any:
    if video is None:  # scripts: decide by the file
        return store.load_input(path)
    return store.load_video(path) if video else store.load(path)


def _server_from_config(config: Path, profile: str | None, device: str | None) -> Any:
    try:
        from vipexec.modules.models.cli import server_from_config
    except ImportError as exc:
        raise Usage(
            f"model profiles need the models extra (pip install vipexec[models]): {exc}"
        ) from None
    return server_from_config(config, profile, **({"device": device} if device else {}))


def _print_run(run: Any) -> None:
    from vipexec.core.summarize import plain_value

    def echo(line: str) -> None:
        typer.echo(terminal_text(line))  # program-derived text, shown on a terminal

    if run.ok:
        echo(f"answer: {_short(run.result_summary, plain_value)}")
    echo("blocks:")
    for block in run.blocks:
        step = f"step {block.step}" if block.step is not None else "      "
        names = ", ".join(
            f"{name}={_short(value, plain_value)}" for name, value in block.variables.items()
        )
        count = len(block.calls)
        calls = f" [{count} call{'s' if count != 1 else ''}]" if count else ""
        echo(
            f"  {block.index:>2} {step:8s} {block.status:7s} {block.ms:8.2f} ms  "
            f"{block.description[:40]}{calls}{'  ' if names else ''}{names}"[:200]
        )
    if run.stdout:
        lines = run.stdout.rstrip("\n").splitlines() or [""]
        echo(f"stdout ({len(lines)} lines): {lines[-1][:100]}")


def _short(summary: dict[str, Any], plain_value: Any) -> str:
    value = plain_value(summary)
    if not isinstance(value, dict):
        return repr(value) if isinstance(value, str) else str(value)
    kind = summary.get("type", "?")
    if "box" in summary:
        return f"{kind}{summary['box']}"
    if "len" in summary:
        return f"{kind}[{summary['len']}]"
    return kind


# --- vipexec scene --------------------------------------------------------------------------


@app.command("scene")
def scene_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write scenes into.")],
    count: Annotated[int, typer.Option(help="Number of scenes.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    clips: Annotated[int, typer.Option(help="Number of moving-shape clips (GIF).")] = 0,
    max_objects: Annotated[int | None, typer.Option(help="Most objects per scene.")] = None,
) -> None:
    """Generate synthetic scenes: PNG images plus exact ground truth (JSON)."""
    from vipexec.modules.synthetic.export import write_scenes

    for option, value in (("--count", count), ("--clips", clips)):
        if value > MAX_SCENES:
            raise fail(f"{option} {value}: at most {MAX_SCENES:,} per call")
    overrides = {"max_objects": max_objects} if max_objects is not None else {}
    try:
        written = write_scenes(out_dir, count, seed=seed, clips=clips, **overrides)
    except (ValueError, TypeError, VipexecError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{out_dir}: {exc.strerror or exc}") from None
    for path in written:
        typer.echo(str(path))


# --- commands provided by the subpackages ---------------------------------------------------


@app.command("models")
def models_cli(
    config: Annotated[Path | None, typer.Option(help="Models config (YAML/TOML).")] = None,
    profile: Annotated[str | None, typer.Option(help="Profile to show.")] = None,
    load: Annotated[bool, typer.Option(help="Load every model to prove it works here.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List which model answers each API method, and whether it can be loaded here."""
    try:
        from vipexec.modules.models.cli import models_command
    except ImportError as exc:
        raise fail(f"models need the models extra (pip install vipexec[models]): {exc}") from None
    raise typer.Exit(models_command(config, profile, load=load, as_json=as_json))


@app.command("label")
def label_cli(
    path: Annotated[
        Path, typer.Argument(help="A trace JSON (vipexec run --trace) or a tree JSON.")
    ],
    labelers: Annotated[
        str, typer.Option(help="Comma-separated labelers to run.")
    ] = "relevance,logic,attribute",
    output: Annotated[Path | None, typer.Option(help="Write here instead of in place.")] = None,
    query: Annotated[str | None, typer.Option(help="The question the program answers.")] = None,
    image: Annotated[
        list[Path] | None, typer.Option(help="The run's image file(s), for re-asking calls.")
    ] = None,
    checker: Annotated[str, typer.Option(help="Backend that cross-checks module calls.")] = (
        "synthetic"
    ),
    checker_option: Annotated[
        list[str] | None, typer.Option(help="Checker option KEY=VALUE.", metavar="KEY=VALUE")
    ] = None,
    suite: Annotated[
        Path | None, typer.Option(help="A PropTest suite for the logic label.")
    ] = None,
) -> None:
    """Label every block of a trace or tree on relevance, logic and attribute, in place."""
    from vipexec.labelers.cli import label_command

    raise typer.Exit(
        label_command(path, labelers, output=output, query=query, images=image or (),
                      checker=checker, checker_options=checker_option, suite=suite)
    )  # fmt: skip


@app.command("test")
def test_cli(
    program: Annotated[Path, typer.Argument(help="The program under test.")],
    suite: Annotated[Path, typer.Argument(help="PropTest suite (execute_test functions).")],
    inputs: Annotated[list[Path] | None, typer.Argument(help="Images to run the tests on.")] = None,
    backend: Annotated[str, typer.Option(help="Backend answering API calls.")] = "synthetic",
    lint: Annotated[bool, typer.Option(help="Lint the suite for vacuous tests first.")] = True,
    isolate: Annotated[
        bool, typer.Option(help="Run in a sandbox worker (with a deadline).")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds allowed per test.")] = 10.0,
) -> None:
    """Run a property-test suite against a program; exit 0 only when every test passes."""
    from vipexec.labelers.cli import test_command

    try:
        check_seconds("--timeout", timeout)
    except Usage as exc:
        raise fail(str(exc)) from None

    raise typer.Exit(
        test_command(program, suite, inputs or (), backend=backend, lint=lint, isolate=isolate,
                     timeout=timeout)
    )  # fmt: skip


@app.command("lint-suite")
def lint_cli(suite: Annotated[Path, typer.Argument(help="PropTest suite file.")]) -> None:
    """Flag vacuous assertions in a suite (always-true asserts, self-comparisons, ...)."""
    from vipexec.labelers.cli import lint_command

    raise typer.Exit(lint_command(suite))


@app.command("label-quality")
def quality_cli(
    scenes: Annotated[int, typer.Option(help="Synthetic scenes to generate programs on.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    faults: Annotated[int, typer.Option(help="Injected faults per correct program.")] = 2,
    checker: Annotated[
        str, typer.Option(help="Backend that cross-checks calls (default: a second pixel reader).")
    ] = "synthetic-independent",
    checker_option: Annotated[
        list[str] | None, typer.Option(help="Checker option KEY=VALUE.", metavar="KEY=VALUE")
    ] = None,
) -> None:
    """Measure the labels against ground truth on generated programs (with injected faults)."""
    from vipexec.benchmark.cli import quality_command

    raise typer.Exit(
        quality_command(scenes=scenes, seed=seed, faults=faults, checker=checker,
                        checker_options=checker_option)
    )  # fmt: skip


# Options `vipexec build` and `vipexec generate` share (tree limits, the LLM's settings).
Alternatives = Annotated[int, typer.Option(help="Alternatives per step.")]
MaxSteps = Annotated[int, typer.Option(help="Blocks per program at most.")]
MaxLeaves = Annotated[int, typer.Option(help="Programs per tree at most.")]
LlmBaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible server up to /v1.")]
LlmModel = Annotated[str | None, typer.Option(help="Model name (else the first served).")]
LlmLocal = Annotated[
    str | None, typer.Option(help="A transformers causal-LM checkpoint to run here instead.")
]
LlmDevice = Annotated[str, typer.Option(help="Device of --llm-local.")]
LlmImages = Annotated[
    bool, typer.Option(help="Send the images to the model (it must accept them).")
]
LlmN = Annotated[
    bool, typer.Option(help="One request with n choices instead of one seeded request each.")
]
Temperature = Annotated[float, typer.Option(help="Sampling temperature.")]
MaxTokens = Annotated[int, typer.Option(help="Tokens per answer at most.")]
LlmTimeout = Annotated[float, typer.Option(help="Seconds per request.")]
LlmRetries = Annotated[int, typer.Option(help="Retries after a timeout, 429 or 5xx.")]
LlmBackoff = Annotated[float, typer.Option(help="Seconds before the first retry (doubles).")]
PromptFile = Annotated[Path | None, typer.Option(help="Prompt file replacing the packaged one.")]
FaultRate = Annotated[
    float | None,
    typer.Option(help="Chance that a further alternative of a grammar step is faulty (0 to 1)."),
]
CrashRate = Annotated[
    float | None,
    typer.Option(help="Share of the grammar's faulty blocks that fail at run time (0 to 1)."),
]
Noise = Annotated[
    float | None,
    typer.Option(help="Error rate of each perception call on the noisy backend (0: clean)."),
]
NoisyShare = Annotated[
    float | None, typer.Option(help="Share of the queries run on the noisy backend (0 to 1).")
]


def _negatives(preset: str, fault_rate: float | None, crash_rate: float | None,
               noise: float | None, share: float | None):  # fmt: skip
    """The preset's negatives with the options given on the command line (a bad one: exit 2)."""
    import dataclasses

    from vipexec.build.cli import PRESETS

    if preset not in PRESETS:
        raise fail(f"--preset {preset!r}: one of {', '.join(PRESETS)}")
    given = dict(fault_rate=fault_rate, crash_rate=crash_rate, noise=noise, noisy_share=share)
    for name, value in given.items():
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            raise fail(f"--{name.replace('_', '-')} {value}: expected a number from 0 to 1")
    chosen = {name: value for name, value in given.items() if value is not None}
    return dataclasses.replace(PRESETS[preset], **chosen)


def _tree_settings(
    alternatives: int, max_steps: int, max_leaves: int, **llm: Any
) -> tuple[Any, Any]:
    """The tree limits and LLM settings of the shared options (a bad value: one line, exit 2)."""
    try:
        check_seconds("--llm-timeout", llm["timeout"])
        check_count("--alternatives", alternatives, 1, 16)
        check_count("--max-steps", max_steps, 1, 50)
        check_count("--max-leaves", max_leaves, 1, 10_000)
        check_count("--max-tokens", llm["max_tokens"], 1, 32_768)
        check_count("--llm-retries", llm["retries"], 0, 10)
        if not (math.isfinite(llm["backoff_s"]) and 0 <= llm["backoff_s"] <= 60):
            raise Usage(f"--llm-backoff {llm['backoff_s']}: expected seconds from 0 to 60")
        if not (math.isfinite(llm["temperature"]) and 0 <= llm["temperature"] <= 2):
            raise Usage(f"--temperature {llm['temperature']}: expected a number from 0 to 2")
    except Usage as exc:
        raise fail(str(exc)) from None
    from vipexec.generate.command import LLMSettings
    from vipexec.generate.tree_builder import TreeLimits

    return TreeLimits(alternatives, max_steps, max_leaves), LLMSettings(**llm)


@app.command("build")
def build_cli(
    queries: Annotated[Path, typer.Argument(help="QUERIES.jsonl: one query per line.")],
    images: Annotated[Path, typer.Option(help="Folder the queries' image paths are in.")],
    out: Annotated[Path, typer.Option(help="Output folder (re-running resumes it).")],
    generator: Annotated[str, typer.Option(help="Program generator: grammar or llm.")] = (
        "grammar"
    ),
    converter: Annotated[str, typer.Option(help="CoT converter: template or llm.")] = "template",
    config: Annotated[
        Path | None, typer.Option(help="Models config (YAML/TOML) for model backends and LLMs.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Queries processed in parallel.")] = 1,
    engine: Annotated[str, typer.Option(help="local (processes) or ray (a Ray cluster).")] = (
        "local"
    ),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same dataset).")] = 0,
    alternatives: Alternatives = 2,
    max_steps: MaxSteps = 6,
    max_leaves: MaxLeaves = 64,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_local: LlmLocal = None,
    llm_device: LlmDevice = "cpu",
    llm_images: LlmImages = False,
    llm_n: LlmN = False,
    temperature: Temperature = 0.7,
    max_tokens: MaxTokens = 512,
    llm_timeout: LlmTimeout = 60.0,
    llm_retries: LlmRetries = 3,
    llm_backoff: LlmBackoff = 1.0,
    prompt: PromptFile = None,
    preset: Annotated[str, typer.Option(help="Negatives: plain or reward.")] = "plain",
    fault_rate: FaultRate = None,
    crash_rate: CrashRate = None,
    noise: Noise = None,
    noisy_share: NoisyShare = None,
) -> None:
    """Build the step dataset of your queries: program trees, labels, CoT steps, splits by
    image."""
    from vipexec.build.cli import build_command
    from vipexec.build.engine import command_line

    limits, llm = _tree_settings(
        alternatives, max_steps, max_leaves, base_url=llm_base_url, model=llm_model,
        local=llm_local, device=llm_device, images=llm_images, use_n=llm_n,
        temperature=temperature, max_tokens=max_tokens, timeout=llm_timeout,
        retries=llm_retries, backoff_s=llm_backoff, prompt=prompt,
    )  # fmt: skip
    raise typer.Exit(
        build_command(
            queries,
            images=images,
            out=out,
            generator=generator,
            converter=converter,
            config=config,
            workers=workers,
            engine=engine,
            seed=seed,
            limits=limits,
            llm=llm,
            negatives=_negatives(preset, fault_rate, crash_rate, noise, noisy_share),
            command=command_line(),
        )
    )


@app.command("dataset")
def dataset_cli(
    out: Annotated[str, typer.Argument(help="Output folder; or `stats` to check a built folder.")],
    folder: Annotated[
        Path | None, typer.Argument(help="With `stats`: the built folder to check.")
    ] = None,
    queries: Annotated[int, typer.Option(help="Synthetic queries to generate.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same dataset).")] = 0,
    workers: Annotated[int, typer.Option(help="Queries processed in parallel.")] = 1,
    engine: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    preset: Annotated[str, typer.Option(help="Negatives: plain or reward.")] = "plain",
    fault_rate: FaultRate = None,
    crash_rate: CrashRate = None,
    noise: Noise = None,
    noisy_share: NoisyShare = None,
) -> None:
    """Synthetic step dataset (scenes and queries, then `vipexec build`), or `stats FOLDER`:
    print a build's card and check that no image is in two splits."""
    from vipexec.build.cli import dataset_command, stats_command
    from vipexec.build.engine import command_line

    if out == "stats":
        if folder is None:
            raise fail("dataset stats: name the built folder to check")
        raise typer.Exit(stats_command(folder))
    if folder is not None:
        raise fail(f"dataset: unexpected argument {folder} (did you mean `dataset stats`?)")
    raise typer.Exit(
        dataset_command(
            Path(out),
            queries=queries,
            seed=seed,
            workers=workers,
            engine=engine,
            negatives=_negatives(preset, fault_rate, crash_rate, noise, noisy_share),
            command=command_line(),
        )
    )


@app.command("generate")
def generate_cli(
    queries: Annotated[Path, typer.Argument(help="QUERIES.jsonl: one query per line.")],
    images: Annotated[Path, typer.Option(help="Folder the queries' image paths are relative to.")],
    out: Annotated[Path, typer.Option(help="Output folder: one tree JSON per query.")],
    generator: Annotated[str, typer.Option(help="grammar or llm.")] = "grammar",
    alternatives: Alternatives = 2,
    max_steps: MaxSteps = 6,
    max_leaves: MaxLeaves = 64,
    seed: Annotated[int, typer.Option(help="Seed the per-alternative seeds derive from.")] = 0,
    concurrency: Annotated[int, typer.Option(help="Queries grown at once.")] = 8,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_local: LlmLocal = None,
    llm_device: LlmDevice = "cpu",
    llm_images: LlmImages = False,
    llm_n: LlmN = False,
    temperature: Temperature = 0.7,
    max_tokens: MaxTokens = 512,
    llm_timeout: LlmTimeout = 60.0,
    llm_retries: LlmRetries = 3,
    llm_backoff: LlmBackoff = 1.0,
    prompt: PromptFile = None,
) -> None:
    """Grow one program tree per query, least-to-most, and write them as JSON."""
    try:
        check_count("--concurrency", concurrency, 1, 256)
    except Usage as exc:
        raise fail(str(exc)) from None
    from vipexec.generate.command import generate_command

    limits, llm = _tree_settings(
        alternatives, max_steps, max_leaves, base_url=llm_base_url, model=llm_model,
        local=llm_local, device=llm_device, images=llm_images, use_n=llm_n,
        temperature=temperature, max_tokens=max_tokens, timeout=llm_timeout,
        retries=llm_retries, backoff_s=llm_backoff, prompt=prompt,
    )  # fmt: skip
    raise typer.Exit(
        generate_command(queries, images, out, generator=generator, limits=limits, seed=seed,
                         concurrency=concurrency, llm=llm)
    )  # fmt: skip


@app.command("solve")
def solve_cli(
    question: Annotated[
        str | None, typer.Argument(help="The question (or answer a file's: --queries).")
    ] = None,
    image: Annotated[
        list[Path] | None, typer.Argument(help="Images the question is about.")
    ] = None,
    queries: Annotated[
        Path | None, typer.Option(help="QUERIES.jsonl to answer instead of one question.")
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option(help="Folder of the queries' images (default: images/ beside --queries)."),
    ] = None,
    query_id: Annotated[
        list[str] | None, typer.Option("--id", help="Only this query of --queries (repeatable).")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Reward model (export folder or .ckpt) that keeps blocks.")
    ] = None,
    unguided: Annotated[
        bool, typer.Option(help="Keep a random block at every step instead (no model).")
    ] = False,
    generator: Annotated[str, typer.Option(help="Program generator: grammar or llm.")] = (
        "grammar"
    ),
    converter: Annotated[str, typer.Option(help="CoT converter: template or llm.")] = "template",
    alternatives: Alternatives = 4,
    max_steps: MaxSteps = 6,
    seed: Annotated[int, typer.Option(help="Random seed (shuffles, ties, sampling).")] = 0,
    aggregator: Annotated[
        str, typer.Option(help="How a step's scores rank: paper, min, mean or last.")
    ] = "paper",
    threshold: Annotated[
        float, typer.Option(help="A label is positive above this probability.")
    ] = 0.5,
    device: Annotated[str, typer.Option(help="Device of the reward model.")] = "cpu",
    timeout: Annotated[float, typer.Option(help="Seconds each candidate program may run.")] = 30.0,
    tree: Annotated[
        Path | None, typer.Option(help="Folder to write each query's search tree (JSON) into.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query.")] = False,
    cache: Annotated[
        Path | None, typer.Option(help="Folder of cached LLM answers (for the llm generator).")
    ] = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_local: LlmLocal = None,
    llm_device: LlmDevice = "cpu",
    llm_images: LlmImages = False,
    llm_n: LlmN = False,
    temperature: Temperature = 0.7,
    max_tokens: MaxTokens = 512,
    llm_timeout: LlmTimeout = 60.0,
    llm_retries: LlmRetries = 3,
    llm_backoff: LlmBackoff = 1.0,
    prompt: PromptFile = None,
) -> None:
    """Answer a question (or a file's queries) by reward-guided least-to-most search: at every
    step run N candidate blocks, keep the one the reward model rates best, print the answer and
    the program."""
    from vipexec.solve.command import (
        SolveError,
        SolveSettings,
        file_queries,
        question_query,
        solve_command,
    )
    from vipexec.solve.search import SearchLimits

    try:
        check_seconds("--timeout", timeout)
    except Usage as exc:
        raise fail(str(exc)) from None
    limits, llm = _tree_settings(
        alternatives, max_steps, 1, base_url=llm_base_url, model=llm_model,
        local=llm_local, device=llm_device, images=llm_images, use_n=llm_n,
        temperature=temperature, max_tokens=max_tokens, timeout=llm_timeout,
        retries=llm_retries, backoff_s=llm_backoff, prompt=prompt,
    )  # fmt: skip
    try:
        if queries is not None:
            if question is not None:
                raise SolveError("give a question or --queries, not both")
            folder = images if images is not None else queries.parent / "images"
            asked = file_queries(queries, folder, query_id or ())
        elif question is None:
            raise SolveError("give a question (and its images) or --queries FILE")
        elif images is not None or query_id:
            raise SolveError("--images and --id go with --queries")
        else:
            asked = [question_query(question, image or [])]
    except SolveError as exc:
        raise fail(str(exc)) from None
    settings = SolveSettings(
        model=model, unguided=unguided, generator=generator, converter=converter,
        limits=SearchLimits(limits.alternatives, limits.max_steps), seed=seed,
        aggregator=aggregator, threshold=threshold, device=device, timeout=timeout, llm=llm,
        tree_dir=tree, as_json=as_json, **({"cache": cache} if cache is not None else {}),
    )  # fmt: skip
    raise typer.Exit(solve_command(asked, settings))


@app.command(
    "reward",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def reward_command(ctx: typer.Context) -> None:
    """Reward model: fit | validate | test | predict | select | export (see --help)."""
    try:
        from vipexec.reward.cli import main as reward_main
    except ImportError as exc:
        raise fail(
            f"the reward model needs the reward extra (pip install vipexec[reward]): {exc}"
        ) from None
    raise typer.Exit(reward_main(list(ctx.args)))


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    for stream in (sys.stdout, sys.stderr):
        # Any string a program produced must print, lone surrogates included.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    # Pillow warns about images over its own pixel limit while opening them; ours is lower and
    # refuses them with one line, so its two-line warning would only repeat that.
    warnings.filterwarnings(
        "ignore", message=r"Image size \(\d+ pixels\) exceeds limit", category=RuntimeWarning
    )
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except KeyboardInterrupt:
        typer.echo("vipexec: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
