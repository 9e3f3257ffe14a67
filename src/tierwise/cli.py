"""The ``tierwise`` command: a thin layer over the pipeline and the stage registry.

Library errors become one line per problem (file, row, column, what to do) and exit code 1;
usage mistakes exit 2; Ctrl-C exits 130 and SIGTERM 143, leaving the last good output folder
as it was; ``--debug`` (before or after the command) shows the full trace. Every stage with a
command in the registry gets one, with the same input options as ``run``.
"""

from __future__ import annotations

import datetime as dt
import errno
import inspect
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from . import __version__, _stop, registry
from ._stop import Terminated
from .errors import Problems, SettingsError, TierwiseError
from .settings import INPUT_TABLES, Settings, load_settings

app = typer.Typer(
    name="tierwise",
    help="Segment customers by what they are worth and turn the segments into a sales plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

_state: dict[str, Any] = {"debug": "--debug" in sys.argv[1:]}

_INPUT_HELP = {
    "transactions": "Invoice lines: a file (CSV, Parquet, Excel, DuckDB), a folder or glob of "
    "Parquet files, or a PostgreSQL URL.",
    "customers": "The customer master (file or URL).",
    "activities": "Sales and service activities: visits, calls, deliveries, … (file or URL).",
    "payments": "Invoices with due and paid dates (file or URL).",
    "prospects": "Companies that have not bought yet (file or URL).",
    "reps": "Sales reps with their role and hours (file or URL).",
    "market": "Market size and growth by industry and/or region (file or URL).",
}


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # remembered as well as raised: an engine busy in a query turns the exception into its own
    # "query interrupted" error, and a finaliser running when it arrives drops it (the
    # pipeline raises it again at its next stage)
    _state["signal"] = "SIGTERM"
    _stop.ask(Terminated)
    raise Terminated()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _state["signal"] = "SIGINT"
    _stop.ask(KeyboardInterrupt)
    raise KeyboardInterrupt()


def _version(value: bool) -> None:
    if value:
        console.print(f"tierwise {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show the full trace on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    _state["debug"] = _state["debug"] or debug


def _interrupted(exc: BaseException) -> bool:
    """An engine error whose cause is Ctrl-C (DuckDB and Splink wrap it in their own)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt) or type(e).__name__ == "InterruptException":
            return True
        e = e.__cause__ or e.__context__
    return False


#: what to do about the operating system's refusals a user meets, by errno
_OS_ADVICE = {
    errno.EACCES: "give the user running tierwise access to it (read for a file tierwise "
    "reads, write for a folder it writes), or copy it where that user can",
    errno.EPERM: "give the user running tierwise access to it, or copy it where that user can",
    errno.ENOSPC: "the disk is full: free some space, or give an output folder on another disk",
    errno.EROFS: "the disk is read-only: give an output folder on a disk tierwise may write",
}


def _os_error_line(exc: OSError) -> str:
    """One line for a refusal of the operating system: the file, what went wrong and, for
    the refusals a user can mend, what to do.

    >>> line = _os_error_line(OSError(28, "No space left on device", "out/plan.xlsx"))
    >>> print(line)  # doctest: +NORMALIZE_WHITESPACE
    out/plan.xlsx: No space left on device (the disk is full: free some space,
    or give an output folder on another disk)
    >>> _os_error_line(OSError(5, "Input/output error", "x.csv"))
    'x.csv: Input/output error'
    """
    line = f"{exc.filename}: {exc.strerror or exc}"
    advice = _OS_ADVICE.get(exc.errno or 0)
    return f"{line} ({advice})" if advice else line


@contextmanager
def _errors() -> Iterator[None]:
    """Turn tierwise errors into one line each and exit 1; Ctrl-C 130; SIGTERM 143."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    previous_int = signal.signal(signal.SIGINT, _on_sigint)
    _state["signal"] = None
    _stop.clear()
    try:
        with _stop.quiet_finalisers():
            yield
    except (typer.Exit, typer.BadParameter):
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted (Ctrl-C); the last good output folder is left as it was")
        raise typer.Exit(130) from None
    except Terminated:
        err_console.print("stopped (SIGTERM); the last good output folder is left as it was")
        raise typer.Exit(143) from None
    except Problems as many:
        if _state["debug"]:
            raise
        for e in many.errors:
            err_console.print(f"error: {e.one_line()}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        if _state.get("signal") == "SIGTERM":
            err_console.print("stopped (SIGTERM); the last good output folder is left as it was")
            raise typer.Exit(143) from None
        if _state.get("signal") == "SIGINT" or _interrupted(exc):
            err_console.print("interrupted (Ctrl-C); the last good output folder is left as it was")
            raise typer.Exit(130) from None
        if _state["debug"]:
            raise
        if isinstance(exc, TierwiseError):
            line = exc.one_line()
        elif isinstance(exc, OSError) and exc.filename:
            line = _os_error_line(exc)
        else:
            from .io.urls import redact_text

            msg = redact_text(" ".join(str(exc).split()))[:300]
            line = f"unexpected {type(exc).__name__}: {msg} (run with --debug for the trace)"
        err_console.print(f"error: {line}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        _stop.clear()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


@contextmanager
def _progress(steps: list[str]) -> Iterator[Callable[[str], None]]:
    """A progress bar over the run's steps, naming the one running, with the time spent
    (only on a terminal)."""
    if not console.is_terminal:
        yield lambda step: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}[/bold]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=len(steps))
        seen: list[str] = []

        def update(step: str) -> None:
            if step in steps and step not in seen:
                seen.append(step)
            bar.update(task, description=f"{step}…", completed=max(len(seen) - 1, 0))

        yield update
        bar.update(task, completed=len(steps))


def _steps(stages: tuple[str, ...] | None) -> list[str]:
    return ["load", "validate", *(s.name for s in registry.ordered(stages)), "outputs"]


def _inputs(settings: Settings, given: Mapping[str, Any]) -> dict[str, str]:
    """Input paths: the command line wins over [table] path in the settings."""
    out: dict[str, str] = {}
    for name in INPUT_TABLES:
        value = given.get(name) or settings.table_input(name).path
        if value:
            out[name] = str(value)
    return out


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


#: the engines --engine takes
_ENGINES = ("duckdb", "spark")


def _check_engine(engine: str | None) -> None:
    if engine is not None and engine not in _ENGINES:
        raise typer.BadParameter(
            f"{engine!r} is not an engine; use {' or '.join(_ENGINES)}", param_hint="'--engine'"
        )


#: the settings file a command reads when --config is not given and the current folder
#: has one (the name ``tierwise init`` writes)
DEFAULT_CONFIG = "tierwise.toml"


def _settings(config: Path | None, engine: str | None, as_of: dt.date | None = None) -> Settings:
    """The settings file with the command line's --engine; a wrong --engine, or an --as-of
    after today, is a usage error (exit 2). Without --config, the current folder's
    tierwise.toml is read when there is one, and the command says so."""
    _check_engine(engine)
    if config is None and Path(DEFAULT_CONFIG).is_file():
        config = Path(DEFAULT_CONFIG)
        console.print(
            f"settings: {DEFAULT_CONFIG} (found in this folder; --config FILE reads another)",
            markup=False,
        )
    settings = load_settings(config)
    if engine is not None:
        settings = settings.with_updates(run={"engine": engine})
    if as_of is not None:
        from .validate import future_analysis_date

        why = future_analysis_date(as_of, dt.date.today(), settings.validate_)
        if why:
            raise typer.BadParameter(why, param_hint="'--as-of'")
    return settings


def _summary(result: Any, title: str) -> None:
    import pyarrow.compute as pc

    from .io.frames import prospects_in

    m = result.manifest
    customers = result.customers
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("input")
    for col in ("rows read", "used", "rejected"):
        table.add_column(col, justify="right")
    for name, acc in m["inputs"].items():
        table.add_row(
            name, f"{acc['rows_read']:,}", f"{acc['rows_used']:,}", f"{acc['rows_rejected']:,}"
        )
    console.print(table)
    n_prospects = prospects_in(customers)
    line = f"customers: {customers.num_rows - n_prospects:,}"
    if n_prospects:
        line += f"    prospects: {n_prospects:,}"
    # the figure and words of report.html's and plan.xlsx's summaries; a command that stops
    # before the features stage (dedupe) computed no revenue
    if "revenue_12m" in customers.column_names:
        from .report.html import currency_of, fmt_money

        revenue = float(pc.sum(customers.column("revenue_12m")).as_py() or 0.0)
        line += f"    revenue, last 12 months: {fmt_money(revenue, currency_of(m))}"
    console.print(f"{line}    analysis date: {m['as_of']}", soft_wrap=True)
    for stage in ("accounts", "coverage"):
        headline = (m.get(stage) or {}).get("headline")
        if headline:
            console.print(headline, markup=False, soft_wrap=True)
    choice = (m.get("lifetime") or {}).get("model_choice") or {}
    if choice.get("reason"):
        console.print(f"lifetime model: {choice['reason']}", markup=False, soft_wrap=True)
    for warning in m.get("warnings", []):
        console.print(f"note: {warning}", markup=False, soft_wrap=True)
    if result.out_dir is not None:
        console.print(f"outputs:   {result.out_dir}", markup=False)
        files = sorted(p.name for p in Path(result.out_dir).iterdir() if not p.name.startswith("."))
        console.print("           " + ", ".join(files), markup=False, soft_wrap=True)


# -- commands built from one list of options ---------------------------------------------


def _opt(default: Any, *decls: str, help: str, **kw: Any) -> Any:
    return typer.Option(default, *decls, help=help, **kw)


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _input_params() -> list[inspect.Parameter]:
    return [
        _param(
            name,
            str | None,
            _opt(None, f"--{name}", help=_INPUT_HELP[name], show_default=False, metavar="FILE"),
        )
        for name in INPUT_TABLES
    ]


_CONFIG = _param(
    "config",
    Path | None,
    _opt(
        None,
        "--config",
        "-c",
        help="Settings file (default: tierwise.toml in the current folder, if there is one).",
        metavar="FILE",
    ),
)
_AS_OF = _param(
    "as_of",
    str | None,
    _opt(
        None,
        "--as-of",
        help="Analysis date YYYY-MM-DD, at most today (default: the last transaction).",
        metavar="DATE",
    ),
)
_ENGINE = _param(
    "engine",
    str | None,
    _opt(
        None, "--engine", help="duckdb (default) or spark; overrides [run] engine.", metavar="NAME"
    ),
)
_PREVIOUS = _param(
    "previous",
    Path | None,
    _opt(
        None,
        "--previous",
        help="A previous run's output folder, for the yearly review.",
        metavar="DIR",
    ),
)
_DEBUG = _param("debug", bool, _opt(False, "--debug", help="Show the full trace on errors."))
_EXACT = _param(
    "exact",
    bool,
    _opt(
        False,
        "--exact",
        help="Also solve the coverage plan exactly with HiGHS and report the gap (up to "
        "[coverage] exact_max_customers customers); sets [coverage] exact.",
    ),
)


def _out(default: str) -> inspect.Parameter:
    return _param(
        "out", Path, _opt(Path(default), "--out", "-o", help="Output folder.", metavar="DIR")
    )


def _command(
    name: str,
    help_text: str,
    params: list[inspect.Parameter],
    body: Callable[[dict[str, Any]], None],
) -> None:
    """Register a command whose options are ``params`` (``--debug`` added to each)."""

    def command(**kwargs: Any) -> None:
        _state["debug"] = _state["debug"] or bool(kwargs.pop("debug", False))
        body(kwargs)

    all_params = [*params, _DEBUG]
    command.__signature__ = inspect.Signature(all_params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in all_params}
    command.__doc__ = help_text
    command.__name__ = name.replace("-", "_")
    app.command(name=name)(command)


def _run_with(kw: dict[str, Any], stages: tuple[str, ...] | None, title: str) -> None:
    from .pipeline import run_pipeline

    as_of = _parse_date(kw.get("as_of"))
    with _errors():
        settings = _settings(kw.get("config"), kw.get("engine"), as_of)
        if kw.get("exact"):
            settings = settings.with_updates(coverage={"exact": True})
        inputs = _inputs(settings, kw)
        with _progress(_steps(stages)) as progress:
            result = run_pipeline(
                inputs,
                settings,
                out_dir=kw["out"],
                as_of=as_of,
                progress=progress,
                stages=stages,
                previous=kw.get("previous"),
                keep_details=False,
            )
        _summary(result, title)


_RUN_PARAMS = [*_input_params(), _CONFIG, _AS_OF, _PREVIOUS, _ENGINE]

_command(
    "run",
    "Run every stage on your files and write the output folder.",
    [*_RUN_PARAMS, _EXACT, _out("tierwise-out")],
    lambda kw: _run_with(kw, None, "tierwise run"),
)


def _stage_commands() -> None:
    for st in registry.stages():
        if st.command is None:
            continue
        plans = any(x.name == "coverage" for x in registry.ordered([st.name]))
        _command(
            st.command,
            f"{st.help} Runs the stages it depends on first.",
            [*_RUN_PARAMS, *([_EXACT] if plans else []), _out(f"tierwise-{st.command}")],
            _stage_body((st.name,), f"tierwise {st.command}"),
        )


def _stage_body(stages: tuple[str, ...], title: str) -> Callable[[dict[str, Any]], None]:
    def body(kw: dict[str, Any]) -> None:
        _run_with(kw, stages, title)

    return body


_stage_commands()


def _write_demo_data(
    n: int, seed: int, settings: Settings, folder: Path, fmt: str
) -> tuple[dict[str, Path], dt.date]:
    """Generate the demo and write its files; the transaction-sized tables are written piece
    by piece as they are made, and what the generator holds is freed on return (the run
    reads the files), so the run does not hold the data twice."""
    from .demo import generate_stream
    from .io.demo_files import write_demo
    from .pipeline import give_back_memory

    data = generate_stream(n_customers=n, seed=seed, settings=settings.demo)
    paths = write_demo(data, folder, fmt=fmt)
    end_date = data.end_date
    del data
    give_back_memory()
    return paths, end_date


#: the first line of the settings file ``tierwise demo`` writes beside its data; a file
#: there without it is the user's and is left alone
_DEMO_SETTINGS_HEAD = "# The settings tierwise demo ran with"


def _write_demo_settings(
    out: Path, paths: Mapping[str, Path], settings: Settings, end_date: dt.date
) -> Path | None:
    """OUT/tierwise.toml: the demo's inputs (relative to OUT), seed, analysis date and
    currency, so ``tierwise run --config OUT/tierwise.toml`` runs the same data again, after
    decisions made in the dashboard for instance. A tierwise.toml there that the demo did
    not write is kept, and None returned."""
    from .settings.template import _path_for, _toml_value

    target = out / "tierwise.toml"
    if target.exists():
        try:
            head = target.read_text(encoding="utf-8").split("\n", 1)[0]
        except (OSError, UnicodeDecodeError):
            return None
        if head != _DEMO_SETTINGS_HEAD:
            return None
    lines = [
        _DEMO_SETTINGS_HEAD,
        f"# ({settings.demo.n_customers:,} customers, seed {settings.run.seed}); run them again:",
        "#   tierwise run --config tierwise.toml --out output   (in this folder)",
        "",
        "[run]",
        f"seed = {settings.run.seed}",
        f"as_of = {end_date.isoformat()}",
        "",
        "[segments]",
        f"currency_symbol = {_toml_value(settings.segments.currency_symbol)}",
    ]
    for table in INPUT_TABLES:
        if table in paths:
            path = _path_for(str(paths[table]), target)
            lines += ["", f"[{table}]", f"path = {_toml_value(path)}"]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _demo(kw: dict[str, Any]) -> None:
    from .demo import demo_settings
    from .io.outputs import check_output_target
    from .pipeline import run_pipeline

    out: Path = kw["out"]
    n, seed = kw["customers"], kw["seed"]
    with _errors():
        # the size and seed generated, and the demo data's currency, recorded in the manifest
        settings = demo_settings(n, seed)
        if kw.get("engine"):
            _check_engine(kw["engine"])
            settings = settings.with_updates(run={"engine": kw["engine"]})
        check_output_target(out / "output")
        data_dir = out / "data"
        if (
            data_dir.exists()
            and any(data_dir.iterdir())
            and not (data_dir / "truth.parquet").exists()
        ):
            raise SettingsError(
                f"--out {out}: {data_dir} holds files the demo did not write; give another folder"
            )
        with _progress(["generating demo data", *_steps(None)]) as progress:
            progress("generating demo data")
            paths, end_date = _write_demo_data(
                n, seed, settings, data_dir, "csv" if kw["csv"] else "parquet"
            )
            inputs = {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}
            written = _write_demo_settings(
                out, {k: v for k, v in paths.items() if k in INPUT_TABLES}, settings, end_date
            )
            result = run_pipeline(
                inputs,
                settings,
                out_dir=out / "output",
                as_of=end_date,
                progress=progress,
                keep_details=False,
            )
        _summary(result, f"tierwise demo: {n:,} customers, seed {seed}")
        if written is not None:
            console.print(
                f"settings:  {written} (tierwise run --config {written} --out DIR runs the "
                "same data again)",
                markup=False,
                soft_wrap=True,
            )


_command(
    "demo",
    "Make a realistic demo dataset (a B2B distributor) and run everything on it. The data "
    "goes to OUT/data (ground truth in OUT/data/truth.parquet), the results to OUT/output.",
    [
        _param(
            "customers",
            int,
            _opt(3000, "--customers", "-n", min=50, help="Number of customers.", metavar="N"),
        ),
        _param(
            "seed",
            int,
            _opt(42, "--seed", min=0, max=2**32 - 1, help="Random seed.", metavar="N"),
        ),
        _param(
            "out",
            Path,
            _opt(
                Path("tierwise-demo"),
                "--out",
                "-o",
                help="Folder for demo data and outputs.",
                metavar="DIR",
            ),
        ),
        _param("csv", bool, _opt(False, "--csv", help="Write the demo data as CSV, not Parquet.")),
        _ENGINE,
    ],
    _demo,
)


def _check_setting_files(settings: Settings) -> None:
    """Every file a setting names exists and reads (decisions files with their columns)."""
    from .io import read_decisions
    from .io.overrides import read_overrides

    problems: list[TierwiseError] = []
    for setting, path in settings.referenced_files():
        if Path(path).is_dir():
            problems.append(
                SettingsError(f"{setting}: {path}: a folder, not a file; give the file in it")
            )
        elif not Path(path).is_file():
            problems.append(SettingsError(f"{setting}: {path}: no such file"))
        else:
            try:
                if setting.startswith("[accounts]"):
                    read_decisions(path)
                else:
                    read_overrides(path)
            except TierwiseError as exc:
                problems.append(exc)
    Problems.raise_if_any(problems)


def _validate(kw: dict[str, Any]) -> None:
    from .engine import Engine
    from .pipeline import load_and_validate
    from .validate import count_text

    as_of = _parse_date(kw.get("as_of"))
    with _errors():
        settings = _settings(kw.get("config"), kw.get("engine"), as_of)
        _check_setting_files(settings)
        inputs = _inputs(settings, kw)
        engine = Engine.from_settings(settings.run)
        with engine.session():
            ctx = load_and_validate(inputs, settings, engine, as_of=as_of)
        table = Table(title="tierwise validate", header_style="bold")
        for col in ("input", "rows read", "used", "rejected"):
            table.add_column(col, justify="left" if col == "input" else "right")
        for name, acc in ctx.inputs.items():
            table.add_row(
                name, f"{acc.rows_read:,}", f"{acc.rows_used:,}", f"{acc.rows_rejected:,}"
            )
        console.print(table)
        rej = ctx.rejects
        if rej.num_rows:
            counts = rej.group_by(["table", "reason"]).aggregate([("row", "count"), ("row", "min")])
            counts = counts.sort_by([("row_count", "descending"), ("table", "ascending")])
            console.print(f"{count_text(rej.num_rows, 'row')} would be rejected:")
            for r in counts.to_pylist()[:30]:
                rows = count_text(r["row_count"], "row")
                console.print(
                    f"  {r['table']}: {r['reason']} — {rows} (first at row {r['row_min']})",
                    markup=False,
                )
        else:
            console.print("no rows would be rejected")
        for warning in ctx.warnings:
            console.print(f"note: {warning}", markup=False, soft_wrap=True)
        console.print(f"settings: ok    analysis date: {ctx.as_of}")


_command(
    "validate",
    "Check settings and inputs and list every problem, without running the stages.",
    [*_input_params(), _CONFIG, _AS_OF, _ENGINE],
    _validate,
)


def _check_settings_target(out: Path, inputs: Mapping[str, str], *, force: bool) -> None:
    """Refuse, before reading anything, to write the settings over a folder, over one of
    the inputs or into an input folder, or over an existing file unless ``force`` is given
    and the file is a settings file (TOML): ``--force`` replaces settings, never data."""
    import fnmatch
    import tomllib

    if out.is_dir():
        raise TierwiseError(
            f"--out {out} is a folder; give a file for the settings, such as "
            f"{out / 'tierwise.toml'}"
        )
    target = out.expanduser().absolute()
    for name, given in inputs.items():
        if "://" in given:
            continue
        path = Path(given).expanduser().absolute()
        glob = any(c in given for c in "*?[")
        hit = (
            fnmatch.fnmatch(str(target), str(path))
            if glob
            else path.resolve() == target.resolve() or path.resolve() in target.resolve().parents
        )
        if hit:
            what = "is" if glob or path.resolve() == target.resolve() else "is in"
            which = "an input given," if name.startswith("file ") else f"the {name} input"
            raise TierwiseError(
                f"--out {out} {what} {which} {given}; give another file for the settings"
            )
    if not out.exists():
        return
    if not force:
        raise TierwiseError(f"{out} exists; pass --force to overwrite it")
    try:
        tomllib.loads(out.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise TierwiseError(
            f"{out} exists and is not a settings file; --force overwrites only a settings "
            "file (TOML): give another file for the settings"
        ) from None


def _init(kw: dict[str, Any]) -> None:
    from .settings.template import init_settings

    out: Path = kw["out"]
    files = [str(p) for p in kw.get("files") or ()]
    with _errors():
        given = {k: str(kw[k]) for k in INPUT_TABLES if kw.get(k) is not None}
        # the files given without an input: the settings go beside them, never over one
        loose = {f"file {i + 1}": f for i, f in enumerate(files) if not Path(f).is_dir()}
        _check_settings_target(out, {**given, **loose}, force=kw["force"])
        result = init_settings(given, settings_path=out, files=files)
        if result.sorted_files is not None:
            _check_settings_target(out, result.sorted_files.inputs, force=kw["force"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.text, encoding="utf-8")
        load_settings(out)  # what we wrote must read back
        console.print(result.hint, soft_wrap=True, markup=False, highlight=False)
        for name, g in result.tables.items():
            # a required column not found on a workbook's first sheet: where else to look
            for note in g.notes if g.missing else ():
                if note.startswith("the workbook has sheets"):
                    console.print(f"  {name}: {note}", soft_wrap=True, markup=False)


_command(
    "init",
    "Write a commented settings file, with column mappings guessed from your files. Files "
    "and folders given without --transactions, --customers, … are each taken for the input "
    "their columns and names fit: tierwise init exports/",
    [
        inspect.Parameter(
            "files",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=typer.Argument(
                None,
                help="Files or folders of exports, each taken for the input it fits.",
                metavar="FILE|DIR",
                show_default=False,
            ),
            annotation=list[Path],
        ),
        *_input_params(),
        _param(
            "out",
            Path,
            _opt(
                Path("tierwise.toml"),
                "--out",
                "-o",
                help="Where to write the settings.",
                metavar="FILE",
            ),
        ),
        _param(
            "force",
            bool,
            _opt(False, "--force", help="Overwrite an existing settings file (TOML)."),
        ),
    ],
    _init,
)


def _folder_arg(help_text: str) -> inspect.Parameter:
    return inspect.Parameter(
        "folder",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=typer.Argument(..., help=help_text, metavar="DIR", show_default=False),
        annotation=Path,
    )


def _tierwise_folder(folder: Path) -> Path:
    from .io.outputs import MARKER

    if not folder.exists():
        raise SettingsError(
            f"{folder}: no such folder; give the output folder of a tierwise run (its --out)"
        )
    if not (folder / MARKER).is_file() or not (folder / "customers.parquet").is_file():
        raise SettingsError(f"{folder}: not an output folder of tierwise run (run it first)")
    return folder


def _report(kw: dict[str, Any]) -> None:
    import json

    from .report import build_report
    from .settings import ReportSettings

    with _errors():
        folder = _tierwise_folder(kw["folder"])
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        settings = ReportSettings.model_validate(manifest.get("settings", {}).get("report", {}))
        # written under a temporary name and renamed into place; recorded in the folder's
        # marker, so the next run into it knows report.html for its own, not a user's edit
        build_report(folder, settings)
        console.print(f"wrote {folder / 'report.html'}", markup=False)


_command(
    "report",
    "Rebuild report.html in an output folder from the tables the run wrote.",
    [_folder_arg("An output folder of tierwise run.")],
    _report,
)


def _serve(kw: dict[str, Any]) -> None:
    import os

    from .app import serve
    from .app.server import check_port, is_loopback

    with _errors():
        folder = _tierwise_folder(kw["folder"])
        token = kw.get("token") or os.environ.get("TIERWISE_TOKEN") or None
        if not is_loopback(kw["host"]) and not token:
            serve(folder, host=kw["host"], port=kw["port"], token=None)  # refuses, saying why
        check_port(kw["host"], kw["port"])
        console.print(
            f"tierwise dashboard on http://{kw['host']}:{kw['port']}/ over {folder} "
            "(Ctrl-C to stop)",
            markup=False,
        )
        serve(folder, host=kw["host"], port=kw["port"], token=token)


_command(
    "serve",
    "Open the dashboard over an output folder: segments, customers with every reason, rep "
    "plans, duplicate review, class overrides with an audit log, downloads. Decisions made "
    "there are applied by the next run into the same folder.",
    [
        _folder_arg("An output folder of tierwise run."),
        _param(
            "host",
            str,
            _opt(
                "127.0.0.1",
                "--host",
                help="Address to bind; another than 127.0.0.1 needs --token.",
                metavar="ADDR",
            ),
        ),
        _param("port", int, _opt(8765, "--port", min=1, max=65535, help="Port.", metavar="N")),
        _param(
            "token",
            str | None,
            _opt(
                None,
                "--token",
                help="Access token (or TIERWISE_TOKEN).",
                metavar="TEXT",
                show_default=False,
            ),
        ),
    ],
    _serve,
)


def main() -> None:
    """Entry point of the ``tierwise`` console script."""
    app()
