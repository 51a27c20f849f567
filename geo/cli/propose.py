"""``wangge propose``: a street plan with every street in band, its bound and its moves."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
import typer.exceptions
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from geo._format import number as _number
from geo.cli._common import (
    SEV_STYLE,
    STATUS_STYLE,
    ColumnOpt,
    Coords,
    CoordsOpt,
    CrsOpt,
    LayerOpt,
    LevelOpt,
    Link,
    LinkOpt,
    OutputFormat,
    PathsArg,
    RepairOpt,
    RulesOpt,
    _fail,
    _load,
    _progress_bar,
    _read_options,
    app,
    err,
    load_rulebook,
    out,
)
from geo.errors import InputError, WanggeError

if TYPE_CHECKING:  # the library is imported where a command uses it: `wangge --help` is fast
    from geo.district.model import District
    from geo.plan.model import Plan
    from geo.plan.store import PlanStore
    from geo.propose.search import Proposal
    from geo.rules.rulebook import Rulebook


@app.command()
def propose(
    paths: PathsArg = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="least-change: move as few residents as possible from the current plan; "
            "scratch: grow the streets anew (locked and rule-less streets kept); "
            "compact: draw round streets by design (capacitated growth, then refinement).",
        ),
    ] = "least-change",
    streets: Annotated[
        int | None,
        typer.Option(
            "--streets", help="Exact number of streets with rules (locked ones included)."
        ),
    ] = None,
    min_streets: Annotated[
        int | None,
        typer.Option("--min-streets", help="Fewest streets; default what the totals allow, -1."),
    ] = None,
    max_streets: Annotated[
        int | None,
        typer.Option("--max-streets", help="Most streets; default what the totals allow, +1."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search.")] = 20170419,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the search may take at most.")
    ] = 60.0,
    compactness_weight: Annotated[
        float,
        typer.Option(
            "--compactness-weight",
            help="Cost of each unit of compactness (4πA/P²) below 0.45 per street, in band "
            "widths; e.g. 1 keeps streets rounder but moves more residents. Default 0: the "
            "fewest residents moved, compactness only breaking ties.",
        ),
    ] = 0.0,
    lock: Annotated[
        list[str] | None,
        typer.Option("--lock", help="Keep a street exactly as it is: its code (repeatable)."),
    ] = None,
    barriers: Annotated[
        Path | None,
        typer.Option(
            "--barriers",
            help="An OpenStreetMap extract (.osm.pbf): communities across a river, railway "
            "or expressway with no walkable crossing are not neighbours.",
        ),
    ] = None,
    alternatives: Annotated[
        bool,
        typer.Option(
            "--alternatives",
            help="Run six searches (each within --time-limit) and keep the plans on the "
            "trade-off between residents moved and compactness — fewest moved, balanced, "
            "roundest — save each and compare them (--mode and --compactness-weight are set "
            "per search).",
        ),
    ] = False,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help="Prefer streets this share of each bound inside their bands (default 0.02; "
            "0 switches it off).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name of the saved plan; default proposal-<mode>-<seed>."),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            help="Project GeoPackage: its stored 'current' plan is the starting point and the "
            "proposal is saved in it; default the district's project file.",
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="text or json.")
    ] = OutputFormat.text,
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
) -> None:
    """Propose a street plan in which every street meets the bands, and save it as a new plan.

    Communities are never split and streets stay contiguous.
    Locked streets (--lock, or locked in the stored plan) stay exactly as they are.
    Towns keep their communities unless the rulebook gives them bands.
    Exit code 0 when every street is in band, 1 when one still breaks a band, 2 on bad input.
    """
    import json

    from geo.plan.store import PlanStore
    from geo.project import project_path
    from geo.propose.search import propose_plan

    try:
        mode_key = _check_options(
            mode, fmt, streets=streets, min_streets=min_streets, max_streets=max_streets,
            time_limit=time_limit, compactness_weight=compactness_weight,
        )
        rulebook = load_rulebook(rules)
        district = _load(paths, rulebook=rulebook, **_read_options(locals()))
        path = project if project is not None else project_path(district, sample=not paths)
        store = PlanStore(path)
        current = _starting_plan(district, store, from_store=project is not None,
                                 barriers=barriers, lock=lock or [])
        if alternatives:
            _propose_alternatives(
                current, rulebook, store, seed=seed, time_limit=time_limit, name=name,
                fmt=fmt, path=path, n_streets=streets, min_streets=min_streets,
                max_streets=max_streets, margin=margin,
            )
            return
        plan_name = store.free_name(name or f"proposal-{mode_key}-{seed}")
        with _progress_bar(quiet=fmt == OutputFormat.json) as progress:
            proposal = propose_plan(
                current,
                rulebook,
                mode=mode_key.replace("-", "_"),
                n_streets=streets,
                min_streets=min_streets,
                max_streets=max_streets,
                seed=seed,
                time_limit_s=time_limit,
                compactness_weight=compactness_weight,
                margin=margin,
                name=plan_name,
                progress=progress,
            )
        s = proposal.summary
        store.save_plan(
            proposal.plan,
            note=f"wangge propose --mode {mode_key} --seed {seed}: "
            f"{s['in_band_after']}/{s['streets_after']} streets in band",
        )
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    if fmt == OutputFormat.json:
        doc = {**proposal.to_dict(), "project": str(path), "saved_as": proposal.plan.name}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        raise typer.Exit(0 if proposal.feasible else 1)
    _print_proposal(proposal, rulebook, mode_key=mode_key, path=path)
    raise typer.Exit(0 if proposal.feasible else 1)


def _check_options(
    mode: str,
    fmt: OutputFormat,
    *,
    streets: int | None,
    min_streets: int | None,
    max_streets: int | None,
    time_limit: float,
    compactness_weight: float,
) -> str:
    """Refuse options that cannot work together; return the mode's key (``least-change``…)."""
    mode_key = mode.strip().lower().replace("_", "-")
    if mode_key not in ("least-change", "scratch", "compact"):
        raise InputError(f"--mode must be least-change, scratch or compact, not {mode!r}.")
    if fmt == OutputFormat.csv:
        raise InputError("propose writes text or json (--format text|json).")
    if streets is not None and (min_streets is not None or max_streets is not None):
        raise InputError(
            "Give either --streets N (an exact count) or --min-streets/--max-streets "
            "(a range), not both."
        )
    for label, value in (
        ("--streets", streets),
        ("--min-streets", min_streets),
        ("--max-streets", max_streets),
    ):
        if value is not None and value < 1:
            raise InputError(f"{label} must be at least 1, not {value}.")
    if time_limit <= 0:
        raise InputError(f"--time-limit must be a positive number of seconds, not {time_limit}.")
    if not compactness_weight >= 0:
        raise InputError(f"--compactness-weight must be 0 or more, not {compactness_weight}.")
    return mode_key


def _starting_plan(
    district: District, store: PlanStore, *, from_store: bool, barriers: Path | None,
    lock: list[str],
) -> Plan:
    """Return the plan the search starts from: the stored 'current' or the district as it is.

    Barriers (an OSM extract) cut neighbours apart; ``lock`` streets are locked. Says on
    stderr which contiguity is used.
    """
    from geo.errors import PlanError
    from geo.plan.model import Plan

    walls = None
    if barriers is not None:
        from geo.propose.barriers import barriers_from_osm

        walls = barriers_from_osm(barriers)
    if from_store and store.has_plan("current"):
        current = store.load_plan("current", district)
    else:
        current = Plan.from_district(district, barriers=walls)
    if walls is None:
        err.print(
            "[dim]Contiguity: plain adjacency (give --barriers EXTRACT.osm.pbf to keep "
            "streets from spanning rivers, railways and expressways without a crossing)."
            "[/dim]"
        )
    else:
        err.print(
            f"[dim]Contiguity: neighbours across barriers in {escape(walls.source)} "
            f"without a crossing are not adjacent ({current.base.barrier_cuts} pair(s) cut)."
            "[/dim]"
        )
    current = current.copy(name=current.name)
    known = {s.code for s in current.streets}
    unknown = [code for code in lock if code not in known]
    if unknown:
        raise PlanError(
            f"--lock {', '.join(unknown)}: no such street; the streets are "
            f"{', '.join(sorted(known))}."
        )
    for code in lock:
        current.set_locked(code, True)
    return current


def _print_proposal(proposal: Proposal, rulebook: Rulebook, *, mode_key: str, path: Path) -> None:
    """Print a proposal: its streets before and after, the bound, the moves, the notes."""
    s = proposal.summary
    out.print(
        f"[bold]Proposal ({mode_key}, seed {s['seed']})[/bold] against {escape(rulebook.name)}: "
        f"{s['stop_reason']} in {s['elapsed_s']:.1f} s"
    )
    table = Table(title_justify="left", show_lines=False)
    for col, just in (
        ("code", "left"),
        ("name", "left"),
        ("kind", "left"),
        ("area km² before → after", "right"),
        ("residents before → after", "right"),
        ("status before → after", "left"),
        ("margin", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in s["streets"]:
        b, a = row["status_before"] or "—", row["status_after"] or "removed"
        table.add_row(
            Text(row["code"] + (" 🔒" if row["locked"] else "")),
            Text(str(row["name"] or "—")),
            Text(str(row["kind"])),
            f"{_number(row['area_km2_before'], 2)} → {_number(row['area_km2_after'], 2)}",
            f"{_number(row['population_before'])} → {_number(row['population_after'])}",
            Text(b, style=STATUS_STYLE.get(b, ""))
            + Text(" → ")
            + Text(a, style=STATUS_STYLE.get(a, ""))
            + Text(f" ({row['broken_after'].replace(';', ', ')})" if row["broken_after"] else ""),
            "—" if row.get("margin_after") is None else f"{row['margin_after']:.1%}",
        )
    out.print(table)
    out.print(
        f"streets in band: {s['in_band_before']}/{s['streets_before']} → "
        f"{s['in_band_after']}/{s['streets_after']}; moved {s['communities_moved']} "
        f"{proposal.plan.base.nouns}, {_number(s['residents_moved'])} residents; mean "
        f"compactness {s['compactness_mean_before']} → {s['compactness_mean_after']}"
    )
    bound = s.get("lower_bound")
    if bound and bound.get("lower_bound") is not None:
        proven = " — proven optimal" if bound.get("gap") == 0 else ""
        gap = f", gap {bound['gap']:.0%}" if bound.get("gap") is not None else ""
        out.print(
            f"at least {_number(bound['lower_bound'])} residents must move for every street "
            f"to be in band{gap}{proven} (a bound that ignores contiguity, so the true "
            "least is between the two)"
        )
    elif bound and bound.get("status") == "infeasible":
        out.print(f"[yellow]note:[/yellow] {escape(bound['reason'])}.")
    if s.get("moves"):
        moves = Table(title="why each community moved", title_justify="left")
        for col in ("community", "from → to", "residents", "reason"):
            moves.add_column(col)
        for m in s["moves"][:40]:
            moves.add_row(
                Text(str(m["name"] or m["code"])),
                Text(f"{m['from_name']} → {m['to_name']}"),
                _number(m["population"]),
                Text(str(m["reason"])),
            )
        out.print(moves)
        if len(s["moves"]) > 40:
            out.print(f"  … and {len(s['moves']) - 40} more (--format json lists every one)")
    c0, c1 = s["compactness_mean_before"], s["compactness_mean_after"]
    if s["elongated"]:
        out.print(
            f"[yellow]note:[/yellow] mean compactness fell from {c0} to {c1}: the bands were met "
            "with elongated streets. Look at the shapes before adopting it; try "
            "--compactness-weight 1 (rounder, more residents moved), lock streets that must keep "
            "their form, or try --mode scratch."
        )
    if s["streets_added"] or s["streets_removed"]:
        out.print(
            f"new streets: {', '.join(s['streets_added']) or 'none'}; removed (emptied): "
            f"{', '.join(s['streets_removed']) or 'none'}"
        )
    shown: dict[str, int] = {}
    for f in proposal.findings:
        shown[f.rule] = shown.get(f.rule, 0) + 1
        if f.severity == "info" or shown[f.rule] > 10:
            continue
        where = (
            f" [dim]@ {f.lon:.5f},{f.lat:.5f}[/dim]"
            if f.lon is not None and f.lat is not None
            else ""
        )
        out.print(
            Text(f"{f.severity:<7} ", style=SEV_STYLE.get(f.severity, ""))
            + Text(f.rule, style="bold")
            + Text(f" {f.message}")
            + Text.from_markup(where)
        )
    verdict = (
        "[green]every street in band[/green]"
        if proposal.feasible
        else "[red]some streets still break a band[/red]"
    )
    out.print(
        f"{verdict}; saved as plan [bold]{escape(proposal.plan.name)}[/bold] in {escape(str(path))}"
    )


def _propose_alternatives(
    current: Any,
    rulebook: Rulebook,
    store: Any,
    *,
    seed: int,
    time_limit: float,
    name: str | None,
    fmt: OutputFormat,
    path: Path,
    **options: Any,
) -> None:
    """Run, save and compare the three alternatives (``propose --alternatives``).

    ``current`` is a :class:`geo.plan.model.Plan` and ``store`` its
    :class:`geo.plan.store.PlanStore` (imported where used: the CLI starts faster).
    """
    import json

    from geo.propose.alternatives import KINDS as ALTERNATIVE_KINDS
    from geo.propose.alternatives import compare_alternatives, propose_alternatives
    suffixes = [f"-{k}" for k in ALTERNATIVE_KINDS]
    stem = store.free_name(name or f"proposal-{seed}", suffixes=suffixes)
    with _progress_bar(quiet=fmt == OutputFormat.json) as progress:
        alts = propose_alternatives(
            current, rulebook, seed=seed, time_limit_s=time_limit, name=stem,
            progress=progress, **options,
        )
    for alt in alts:
        s = alt.proposal.summary
        store.save_plan(
            alt.proposal.plan,
            note=f"wangge propose --alternatives ({alt.label}), seed {seed}: "
            f"{s['in_band_after']}/{s['streets_after']} streets in band",
        )
    rows = compare_alternatives(alts)
    feasible = all(a.proposal.feasible for a in alts)
    if fmt == OutputFormat.json:
        doc = {
            "project": str(path),
            "alternatives": rows,
            "proposals": {a.key: a.proposal.to_dict() for a in alts},
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        raise typer.Exit(0 if feasible else 1)
    table = Table(title=f"Alternatives against {escape(rulebook.name)}", title_justify="left")
    for col in ("alternative", "plan", "in band", "residents moved", "× fewest",
                "communities", "compactness mean / min", "margin min"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            Text(str(r["label"])),
            Text(str(r["plan"])),
            Text(str(r["in_band"])),
            _number(r["residents_moved"]),
            "—" if r["moved_vs_fewest"] is None else f"{r['moved_vs_fewest']:.2f}",
            str(r["communities_moved"]),
            f"{_number(r['compactness_mean'], 2)} / {_number(r['compactness_min'], 2)}",
            "—" if r["margin_min"] is None else f"{r['margin_min']:.1%}",
        )
    out.print(table)
    for r in rows:
        t = r.get("targets")
        if t is None:
            continue
        wanted = (
            f"mean ≥ {t['mean_min']:.2f}, every street ≥ {t['street_min']:.2f}"
            if "street_min" in t
            else f"mean ≥ {t['mean_min']:.2f}, at most {_number(t['moved_max'])} moved"
        )
        verdict = "[green]met[/green]" if t["met"] else "[yellow]not met[/yellow]"
        out.print(f"{escape(str(r['key']))}: compactness target ({wanted}) {verdict}")
        for why in r.get("why") or []:
            out.print(f"  why: {escape(why['message'])}")
    out.print(
        f"saved as {', '.join(escape(r['plan']) for r in rows)} in {escape(str(path))}; "
        "open one in the app (Compare) or export it with --assign."
    )
    raise typer.Exit(0 if feasible else 1)
