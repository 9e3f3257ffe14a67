"""The ``tierwise`` command: a thin layer over the pipeline.

Library errors become one line per problem (file, row, column, what to do) and exit code 1;
usage mistakes exit 2; ``--debug`` shows the full trace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import Problems, TierwiseError
from .settings import INPUT_TABLES, Settings, load_settings

app = typer.Typer(
    name="tierwise",
    help="Segment customers by what they are worth and turn the segments into a sales plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

_state: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        console.print(f"tierwise {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full trace on errors.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    _state["debug"] = debug


@contextmanager
def _errors() -> Iterator[None]:
    """Turn tierwise errors into one line each and exit 1."""
    try:
        yield
    except typer.Exit:
        raise
    except Problems as many:
        if _state["debug"]:
            raise
        for e in many.errors:
            err_console.print(f"error: {e.one_line()}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except TierwiseError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"error: {exc.one_line()}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted; the last good output folder is left as it was")
        raise typer.Exit(130) from None
    except Exception as exc:
        if _state["debug"]:
            raise
        msg = " ".join(str(exc).split())[:300]
        err_console.print(
            f"error: unexpected {type(exc).__name__}: {msg} (run with --debug for the trace)",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


@contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    """A progress bar over the run's stages, naming the one running, with the time spent
    (only on a terminal)."""
    if not console.is_terminal:
        yield lambda stage: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .pipeline import STAGES

    steps = ["load", "validate", *(name for name, _ in STAGES), "outputs"]
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}[/bold]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} stages"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=len(steps))
        seen: list[str] = []

        def update(stage: str) -> None:
            if stage in steps and stage not in seen:
                seen.append(stage)
            bar.update(task, description=f"{stage}…", completed=max(len(seen) - 1, 0))

        yield update
        bar.update(task, completed=len(steps))


FileOpt = Annotated[str | None, typer.Option(help="File or PostgreSQL URL.", show_default=False)]


def _inputs(settings: Settings, given: Mapping[str, Path | str | None]) -> dict[str, str]:
    """Input paths: the command line wins over [table] path in the settings."""
    out: dict[str, str] = {}
    for name in INPUT_TABLES:
        value = given.get(name) or settings.table_input(name).path
        if value:
            out[name] = str(value)
    return out


def _given(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The input options of a command (named after the input tables) from its arguments."""
    return {name: values.get(name) for name in INPUT_TABLES}


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _summary(result: Any, title: str) -> None:
    import pyarrow.compute as pc

    m = result.manifest
    customers = result.customers
    revenue = (
        pc.sum(customers.column("revenue")).as_py() if "revenue" in customers.column_names else 0
    )
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("input")
    table.add_column("rows read", justify="right")
    table.add_column("used", justify="right")
    table.add_column("rejected", justify="right")
    for name, acc in m["inputs"].items():
        table.add_row(
            name, f"{acc['rows_read']:,}", f"{acc['rows_used']:,}", f"{acc['rows_rejected']:,}"
        )
    console.print(table)
    console.print(
        f"customers: {customers.num_rows:,}    revenue: {revenue or 0:,.0f}    "
        f"analysis date: {m['as_of']}"
    )
    for warning in m.get("warnings", []):
        console.print(f"note: {warning}", markup=False, soft_wrap=True)
    if result.out_dir is not None:
        console.print(f"outputs:   {result.out_dir}", markup=False)
        files = sorted(p.name for p in Path(result.out_dir).iterdir())
        console.print("           " + ", ".join(files), markup=False)


def _run_command(
    given: dict[str, str | None],
    config: Path | None,
    as_of: str | None,
    out: Path,
    stages: tuple[str, ...] | None,
    title: str,
) -> None:
    from .pipeline import run_pipeline

    as_of_date = _parse_date(as_of)
    with _errors():
        settings = load_settings(config)
        inputs = _inputs(settings, given)
        with _progress() as progress:
            result = run_pipeline(
                inputs, settings, out_dir=out, as_of=as_of_date, progress=progress, stages=stages
            )
        _summary(result, title)


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Settings file (tierwise.toml).")
]
AsOfOpt = Annotated[
    str | None, typer.Option(help="Analysis date YYYY-MM-DD (default: last transaction).")
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]


@app.command()
def run(
    transactions: FileOpt = None,
    customers: FileOpt = None,
    activities: FileOpt = None,
    payments: FileOpt = None,
    prospects: FileOpt = None,
    reps: FileOpt = None,
    market: FileOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    out: OutOpt = Path("tierwise-out"),
) -> None:
    """Run the whole pipeline on your files and write the output folder."""
    given = _given(locals())
    _run_command(given, config, as_of, out, None, "tierwise run")


def _stage_command(name: str, stages: tuple[str, ...], doc: str) -> None:
    """Register a command that runs load, validate and only the given stages."""

    def command(
        transactions: FileOpt = None,
        customers: FileOpt = None,
        activities: FileOpt = None,
        payments: FileOpt = None,
        prospects: FileOpt = None,
        reps: FileOpt = None,
        market: FileOpt = None,
        config: ConfigOpt = None,
        as_of: AsOfOpt = None,
        out: OutOpt = Path(f"tierwise-{name}"),
    ) -> None:
        given = _given(locals())
        _run_command(given, config, as_of, out, stages, f"tierwise {name}")

    command.__doc__ = doc
    app.command(name=name)(command)


_stage_command(
    "dedupe",
    ("accounts",),
    "Find duplicate customer records and roll them up to accounts (needs --customers); "
    "writes customers, account_members and review_queue.",
)
_stage_command(
    "profit",
    ("profitability",),
    "Customer profitability: cost-to-serve pools, net profit, whale curve, ease of doing business.",
)
_stage_command(
    "lifetime",
    ("lifetime",),
    "Status, P(alive), expected purchases, CLV and defection risk (BG/NBD, Pareto/NBD, MBG/NBD, "
    "Gamma-Gamma).",
)
_stage_command(
    "potential",
    ("potential",),
    "Wallet (potential value), share of wallet, headroom, prospects and the ideal customer "
    "profile.",
)


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option("--customers", "-n", min=50, help="Number of customers.")
    ] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for demo data and outputs.")
    ] = Path("tierwise-demo"),
    csv: Annotated[
        bool, typer.Option("--csv", help="Write the demo data as CSV, not Parquet.")
    ] = False,
) -> None:
    """Make a realistic demo dataset (a B2B distributor) and run everything on it.

    The data goes to OUT/data (ground truth in OUT/data/truth.parquet), the results to
    OUT/output.
    """
    from .demo import generate
    from .io.demo_files import write_demo
    from .pipeline import run_pipeline

    with _errors():
        settings = Settings().with_updates(run={"seed": seed})
        with _progress() as progress:
            progress("generating demo data")
            data = generate(n_customers=customers, seed=seed, settings=settings.demo)
            paths = write_demo(data, out / "data", fmt="csv" if csv else "parquet")
            inputs = {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}
            result = run_pipeline(
                inputs, settings, out_dir=out / "output", as_of=data.end_date, progress=progress
            )
        _summary(result, f"tierwise demo: {customers:,} customers, seed {seed}")


@app.command()
def validate(
    transactions: FileOpt = None,
    customers: FileOpt = None,
    activities: FileOpt = None,
    payments: FileOpt = None,
    prospects: FileOpt = None,
    reps: FileOpt = None,
    market: FileOpt = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Settings file (tierwise.toml).")
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="Analysis date YYYY-MM-DD.")] = None,
) -> None:
    """Check settings and inputs and list every problem, without running the pipeline."""
    from .engine import Engine
    from .pipeline import load_and_validate

    as_of_date = _parse_date(as_of)
    with _errors():
        settings = load_settings(config)
        given = _given(locals())
        inputs = _inputs(settings, given)
        engine = Engine(settings.run.engine)
        with engine.session():
            ctx = load_and_validate(inputs, settings, engine, as_of=as_of_date)
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
            counts = counts.sort_by([("row_count", "descending")])
            console.print(f"{rej.num_rows:,} rows would be rejected:")
            for r in counts.to_pylist()[:30]:
                console.print(
                    f"  {r['table']}: {r['reason']} — {r['row_count']:,} rows (first at row "
                    f"{r['row_min']})",
                    markup=False,
                )
        else:
            console.print("no rows would be rejected")
        console.print(f"settings: ok    analysis date: {ctx.as_of}")


@app.command()
def init(
    transactions: FileOpt = None,
    customers: FileOpt = None,
    activities: FileOpt = None,
    payments: FileOpt = None,
    prospects: FileOpt = None,
    reps: FileOpt = None,
    market: FileOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the settings.")] = Path(
        "tierwise.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented settings file, with column mappings guessed from your files."""
    from .settings.template import settings_template

    with _errors():
        if out.exists() and not force:
            raise TierwiseError(f"{out} exists; pass --force to overwrite it")
        given = _given(locals())
        text = settings_template({k: str(v) for k, v in given.items() if v is not None})
        out.write_text(text, encoding="utf-8")
        load_settings(out)  # what we wrote must read back
        console.print(f"wrote {out}; edit it, then: tierwise run --config {out} --out tierwise-out")


def main() -> None:
    """Entry point of the ``tierwise`` console script."""
    app()
