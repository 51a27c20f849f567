"""Check reports: unit tables, findings and a summary, as text-ready data, JSON and CSV.

:func:`check_report` joins the model checks (:mod:`geo.district.hierarchy`) and the
rulebook (:mod:`geo.rules.rulebook`) into one :class:`CheckReport`, which the CLI
prints, the app shows and exports write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import LEVELS
from geo._format import plain as _plain
from geo.district.model import District
from geo.findings import Finding, findings_to_frame
from geo.rules.rulebook import Rulebook, evaluate_rules, status_table

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class CheckReport:
    """Everything a check found about a district under one rulebook."""

    district: District
    rulebook: Rulebook
    tables: dict[str, pd.DataFrame]
    findings: list[Finding]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """True when no error or warning was found (info findings do not count)."""
        return not any(f.severity in ("error", "warning") for f in self.findings)

    def findings_frame(self) -> pd.DataFrame:
        """Return the findings as a table."""
        return findings_to_frame(self.findings)

    def level_frame(self, level: str) -> gpd.GeoDataFrame:
        """Return a level's status table with its units' geometry (EPSG:4326), for maps."""
        table = self.tables[level]
        geoms = self.district.units[level].geometry.reset_index(drop=True)
        return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geoms, crs=4326)

    def units_frame(self) -> pd.DataFrame:
        """Return every level's unit table stacked, with a ``level`` column."""
        parts = []
        per_unit: dict[tuple[str, str], list[str]] = {}
        for f in self.findings:
            if f.code:
                per_unit.setdefault((f.level, f.code), []).append(f.rule)
        for lv in LEVELS:
            if lv not in self.tables:
                continue
            table = self.tables[lv].copy()
            table.insert(0, "level", lv)
            table["findings"] = [
                ";".join(sorted(set(per_unit.get((lv, c), [])))) if c else ""
                for c in table["code"]
            ]
            parts.append(table)
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "rulebook": {
                "name": self.rulebook.name,
                "version": self.rulebook.version,
                "path": self.rulebook.path,
                "preset": self.rulebook.preset,
                "rules": [
                    {k: getattr(r, k) for k in ("id", "force", "severity", "status", "source")}
                    for r in self.rulebook.rules
                ],
            },
            "metric_crs": self.district.metric_crs.to_string(),
            "sources": self.district.sources,
            "notes": self.district.notes,
            "summary": self.summary,
            "units": {lv: _records(t) for lv, t in self.tables.items()},
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        """Return the report as JSON text (UTF-8, Chinese kept readable; one record a line)."""
        return _json_text(self.to_dict())


def check_report(district: District, rulebook: Rulebook) -> CheckReport:
    """Evaluate a district against a rulebook and the model checks.

    Returns
    -------
    CheckReport
        Findings sorted by severity, then level, then unit code.
    """
    rule_findings = evaluate_rules(district, rulebook)
    tables = {lv: status_table(district, rulebook, lv, rule_findings) for lv in district.levels}
    findings = list(district.findings) + rule_findings
    level_rank = {lv: i for i, lv in enumerate(("district", *LEVELS))}
    findings.sort(
        key=lambda f: (
            SEVERITY_ORDER.get(f.severity, 9),
            level_rank.get(f.level, 9),
            f.rule,
            f.code or "",
        )
    )
    summary: dict[str, Any] = {"levels": {}}
    for lv, table in tables.items():
        counts = table["status"].value_counts().to_dict()
        pop, hh = table["population"], table["households"]
        summary["levels"][lv] = {
            "units": len(table),
            "area_km2": round(float(table["area_km2"].sum()), 3),
            # a total over units with a missing figure is itself missing, never a partial sum
            "population": _plain(pop.sum() if pop.notna().all() else None),
            "households": _plain(hh.sum() if hh.notna().all() else None),
            "ok": int(counts.get("ok", 0)),
            "outside": int(counts.get("outside", 0)),
            "no_rule": int(counts.get("no rule", 0)),
            "no_data": int(counts.get("no data", 0)),
            "kinds": {str(k): int(v) for k, v in table["kind"].value_counts().items()},
        }
    sev: dict[str, int] = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        sev[f.severity] = sev.get(f.severity, 0) + 1
    summary["findings"] = sev
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    summary["by_rule"] = dict(sorted(by_rule.items()))
    report = CheckReport(
        district=district, rulebook=rulebook, tables=tables, findings=findings, summary=summary
    )
    summary["clean"] = report.clean
    return report


# ------------------------------------------------------------------ audit reports

_REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1f2937}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:left}
th{background:#f3f4f6}td.num{text-align:right}
.approx{background:#fef3c7;border:1px solid #f59e0b;padding:.5rem 1rem;border-radius:.3rem}
.prov td:first-child{font-weight:600}
iframe{width:100%;height:620px;border:1px solid #e5e7eb}
details{margin:.5rem 0}
"""


def _html_table(frame: pd.DataFrame, *, digits: int = 1, max_rows: int | None = None) -> str:
    shown = frame if max_rows is None else frame.head(max_rows)

    def share(v: Any) -> str:
        return "—" if pd.isna(v) else f"{v:.1%}"

    def number(v: Any, d: int = digits) -> str:
        if pd.isna(v):
            return "—"
        return "beyond" if v == float("inf") else f"{v:,.{d}f}"

    def count(v: Any) -> str:
        return number(v, 0)

    def degrees(v: Any) -> str:
        return "—" if pd.isna(v) else f"{v:.6f}"

    counts = (
        "residents",
        "covered",
        "beyond",
        "households",
        "catchment_households",
        "population",
        "facilities",
        "service_radius_m",
        "farthest_m",
        "median_distance_m",
        "floor_area_m2",
        "min_floor_area_m2",
        "beyond_search_limit",
        "unreachable",
        "search_limit_m",
        "stock_m2",
        "mean_floor_area_m2",
        "benchmark_floor_area_m2",
        "difference_m2",
    )
    fmt: dict[str, Any] = {}
    for col in shown.columns:
        if col in ("lon", "lat"):
            fmt[col] = degrees
        elif pd.api.types.is_float_dtype(shown[col]):
            if col.startswith(("share", "lowest_share")):
                fmt[col] = share
            else:
                fmt[col] = count if col in counts else number
    html_text = shown.to_html(index=False, escape=True, formatters=fmt, na_rep="—", border=0)
    more = (
        ""
        if max_rows is None or len(frame) <= max_rows
        else (f"<p>… {len(frame) - max_rows:,} more rows in the CSV files.</p>")
    )
    return html_text + more


COVERAGE_PALETTE = ("#b91c1c", "#f59e0b", "#fde68a", "#d9f99d", "#15803d")
"""Share covered from none (red) to all (green)."""


def coverage_units(result: Any, facility_type: str | None = None, *,
                   labels: dict[str, str] | None = None) -> tuple[str, Any, str, dict[str, str]]:
    """Return the units a coverage map colours and the column that colours them.

    Returns
    -------
    tuple
        ``(level, units, label, text)``: the level drawn (communities where
        there are any), its units (``code``, ``name``, geometry and, when the
        audit has a table for the level, the per cent of residents within reach
        of ``facility_type`` in column ``label``) and the map's words
        (``labels`` over the English defaults).
    """
    district = result.district
    level = "community" if "community" in district.units else district.building_block
    units = district.units[level][["code", "name", "geometry"]].copy()
    table = result.unit_tables.get(level)
    ftype = facility_type or next(iter(result.types))
    spec = result.rulebook.facility(ftype)
    text = {"share": "% within {radius} m of {name}", "facilities": "facilities",
            "sites": "proposed sites", "service_area": "service area", "type": "type",
            "name": "name", "floor_area": "floor area m²", "rank": "rank",
            "newly_covered": "newly covered", "code": "code", **(labels or {})}
    label = text["share"].format(radius=f"{spec.service_radius_m:,.0f}",
                                 name=spec.name.lower())
    if table is not None and len(table):
        share = table[table["type"] == ftype].set_index("code")["share_covered"]
        units[label] = (units["code"].map(share) * 100).round(0)
    return level, units, label, text


def coverage_layer_texts(result: Any, facility_type: str, *, areas: Any,
                         labels: dict[str, str] | None = None, gcj: bool = False,
                         missing_label: str = "no data") -> dict[str, Any]:
    """Return the coverage map's layers for one type as JSON texts (for held layers).

    The same map as :func:`coverage_map` draws, split by how often each part
    changes: ``shapes`` (the units, simplified to the view, the same for every
    type), ``paint`` (fill colour and tooltip row per unit for ``facility_type``),
    ``area`` (that type's service areas) and ``legend`` (title, items);
    ``aliases`` are the tooltip headings. ``gcj`` shifts the shapes for a GCJ-02
    basemap.
    """
    import shapely

    from geo.maps.editor import (
        drawing_shapes,
        features,
        geojson_texts,
        rounded,
        shift_gcj02,
        tooltip_values,
        view_tolerance_m,
    )
    from geo.maps.view import colour_values

    _level, units, label, text = coverage_units(result, facility_type, labels=labels)
    lonlat = units.to_crs(4326)
    geoms = np.asarray(lonlat.geometry.values, dtype=object)
    metric = result.district.metric_crs
    shapes = drawing_shapes(list(geoms), metric_crs=metric, tolerance_m=view_tolerance_m(
        shapely.total_bounds(geoms), metric_crs=metric))
    chosen = areas[areas["type"] == facility_type].to_crs(4326)
    area_geoms = rounded(np.asarray(chosen.geometry.values, dtype=object))
    if gcj:
        shapes, area_geoms = shift_gcj02(shapes), shift_gcj02(area_geoms)
    if label in units:
        fills, legend = colour_values(units[label], palette=COVERAGE_PALETTE,
                                      missing_label=missing_label)
        tips = tooltip_values([units["name"], units["code"], units[label]])
    else:
        fills, legend = ["#4c78a8"] * len(units), []
        tips = tooltip_values([units["name"], units["code"]])
    return {"shapes": features(geojson_texts(shapes), [{}] * len(shapes)),
            "paint": json.dumps({"f": fills, "t": tips}, ensure_ascii=False),
            "area": features(geojson_texts(area_geoms), [{}] * len(area_geoms)),
            "legend": (label, legend), "aliases": [text["name"], text["code"], label],
            "lines": bool(len(chosen)) and bool(chosen.geom_type.str.contains("Line").all())}


def coverage_map(
    result: Any,
    *,
    facility_type: str | None = None,
    sites: Any = None,
    labels: dict[str, str] | None = None,
    areas: Any = None,
) -> Any:
    """Return a folium map of an audit: units by share covered, service areas, facilities.

    Units are coloured by the share of residents within reach of
    ``facility_type`` (default: the first audited type).

    Parameters
    ----------
    result : CoverageResult
        The audit.
    facility_type : str, optional
        The type whose coverage colours the units.
    sites : geopandas.GeoDataFrame, optional
        Proposed sites (points with ``rank``, ``name``, ``newly_covered``), drawn
        in yellow before the layer control is built (a layer added after it
        breaks the map).
    labels : dict, optional
        Interface text in another language: ``share`` (a ``{radius}``/``{name}``
        template), ``facilities``, ``sites``, ``service_area``, ``type``,
        ``name``, ``floor_area``, ``rank``, ``newly_covered``.
    areas : geopandas.GeoDataFrame, optional
        The audit's service areas (:func:`geo.access.coverage.service_areas`) when
        already computed: they do not change with the colouring, so a page
        re-colouring the map passes the ones it keeps.
    """
    from geo.access.coverage import service_areas
    from geo.maps.view import MapSetup, UnitStyle, add_areas, add_points, unit_map

    level, units, label, text = coverage_units(result, facility_type, labels=labels)
    ftype = facility_type or next(iter(result.types))
    m = unit_map(
        units,
        style=UnitStyle(color_column=label if label in units else None,
                        palette=COVERAGE_PALETTE, legend_title=label, fill_opacity=0.45),
        setup=MapSetup(height=600),
        tooltip_columns=["name", "code"] + ([label] if label in units else []),
        layer_name=f"{level} units: {label}",
    )
    areas = service_areas(result) if areas is None else areas
    palette = ("#2563eb", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#ea580c")
    for k, (_, row) in enumerate(areas.iterrows()):
        add_areas(
            m,
            areas.iloc[[k]],
            name=f"{text['service_area']}: {row['name']}",
            color=palette[k % len(palette)],
            show=row["type"] == ftype,
        )
    fac = result.facilities.to_crs(4326).copy()
    add_points(
        m,
        fac,
        name=text["facilities"],
        color_column="type",
        tooltip_columns=["type", "name", "floor_area_m2"],
        tooltip_aliases=[text["type"], text["name"], text["floor_area"]],
    )
    if sites is not None and len(sites):
        add_points(m, sites, name=text["sites"], color="#facc15", radius=9,
                   tooltip_columns=["rank", "name", "newly_covered"],
                   tooltip_aliases=[text["rank"], text["name"], text["newly_covered"]])
    import folium

    folium.LayerControl(collapsed=True).add_to(m)
    return m


def write_audit_report(result: Any, out_dir: str | Any) -> list[Any]:
    """Write an audit's report folder: ``index.html`` + ``map.html`` (offline), CSV and JSON.

    Returns
    -------
    list of pathlib.Path
        The files written, each atomically.
    """
    from pathlib import Path

    from geo.io import atomic_path, write_csv
    from geo.maps.view import standalone_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables: dict[str, pd.DataFrame] = {
        "types.csv": result.type_table,
        "categories.csv": result.category_table,
        "facilities.csv": result.facility_table,
        "findings.csv": findings_to_frame(result.findings),
        "benchmark.csv": result.benchmark_table,
    }
    for lv, t in result.unit_tables.items():
        tables[f"coverage_{lv}.csv"] = t
    for name, frame in tables.items():
        with atomic_path(out / name) as tmp:
            write_csv(frame, tmp)
        written.append(out / name)
    doc = {
        "provenance": result.provenance,
        "approximate": result.approximate,
        "types": _records(result.type_table),
        "categories": _records(result.category_table),
        "facilities": _records(result.facility_table),
        "benchmark": _records(result.benchmark_table),
        "units": {lv: _records(t) for lv, t in result.unit_tables.items()},
        "findings": [f.to_dict() for f in result.findings],
    }
    with atomic_path(out / "audit.json") as tmp:
        tmp.write_text(_json_text(doc), encoding="utf-8")
    written.append(out / "audit.json")
    written.append(standalone_html(coverage_map(result), out / "map.html"))
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(_audit_html(result), encoding="utf-8")
    written.append(out / "index.html")
    return written


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return ``frame``'s rows as dicts of plain values, missing and infinite as None."""
    cols: dict[Any, np.ndarray] = {}
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_float_dtype(col.dtype) and not isinstance(col.dtype, pd.ArrowDtype):
            v = col.to_numpy(dtype=float)
            cols[c] = np.where(np.isfinite(v), v.astype(object), np.array(None))
        elif pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            cols[c] = np.where(col.isna().to_numpy(), np.array(None), col.astype(object).to_numpy())
        else:  # text and mixed columns: each value cleaned as it is
            cols[c] = np.array([_plain(v) for v in col.tolist()], dtype=object)
    if not cols:
        return [{} for _ in range(len(frame))]
    names = list(cols)
    return [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]


def _json_text(value: Any, indent: int = 0) -> str:
    """Return ``value`` as JSON: nested objects and lists one entry a line, records compact.

    A list of records (dicts) is written one record a line through the C encoder,
    which is what keeps a city's audit.json (hundreds of thousands of rows) fast.
    """
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict) and value:
        items = (f"{inner}{json.dumps(str(k), ensure_ascii=False)}: "
                 f"{_json_text(v, indent + 1)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        items = (f"{inner}{json.dumps(v, ensure_ascii=False)}" for v in value)
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


_HTML_UNIT_ROWS = 3000
"""Street or community rows the audit's index.html lists before it lists only the least
covered of each type (a 16× city has 12,000 community rows; the CSV has them all)."""


def _audit_html(result: Any) -> str:
    import html as _html

    esc = _html.escape
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>Service coverage audit · 服务覆盖评估</title>",
        f"<style>{_REPORT_CSS}</style></head><body>",
        "<h1>Service coverage audit · 服务覆盖评估</h1>",
    ]
    if result.approximate:
        parts.append(
            "<p class='approx'><b>Approximation:</b> no walking network was given, so "
            "distances are straight-line distance × a detour factor "
            f"({esc(result.provenance.get('detour', ''))}). Treat every figure as an "
            "estimate.</p>"
        )
    parts.append("<h2>Sources</h2><table class='prov'>")
    for k, v in result.provenance.items():
        parts.append(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Map</h2><iframe src='map.html' title='coverage map'></iframe>")
    numeric_twins = ["median_distance_m", "farthest_m"]  # shown as text: "> limit", "unreachable"
    parts.append(
        "<h2>By facility type</h2>"
        + _html_table(result.type_table.drop(columns=numeric_twins, errors="ignore"))
    )
    parts.append("<h2>By category of public affairs</h2>" + _html_table(result.category_table))
    not_judged = [f.message for f in result.findings if f.rule == "facility.not_judged"]
    if not_judged:
        parts.append(
            "<h2>Units not judged · 未评判的单元</h2><ul>"
            + "".join(f"<li>{esc(m)}</li>" for m in not_judged)
            + "</ul>"
        )
    bench = result.benchmark_table
    if bench is not None and len(bench):
        parts.append(
            "<h2>Average floor area against the benchmark</h2><p>A benchmark is an achieved "
            "average (not a minimum): "
            + esc("; ".join(dict.fromkeys(str(v) for v in bench["benchmark_source"] if v)))
            + ". Facilities without a floor area are counted but left out of the average.</p>"
            + _html_table(bench.drop(columns=["benchmark_source"]))
        )
    parts.append(
        "<p>m² per 100 households: all floor area of the type's community stock in the unit "
        "÷ its households (the primary figure); <code>m2_per_100hh_2sfca</code> shares each "
        "facility's floor area over the households within its walking radius (two-step "
        "floating catchment, a second view). Empty (—) where a facility's floor area is "
        "missing.</p>"
    )
    for lv in ("street", "community", "grid"):
        table = result.unit_tables.get(lv)
        if table is None or table.empty:
            continue
        rows = table.sort_values(["type", "share_covered"]).drop(columns=numeric_twins,
                                                                 errors="ignore")
        parts.append(f"<h2>By {lv}</h2>")
        if lv != "grid" and len(rows) > _HTML_UNIT_ROWS:
            # a city's communities: the least covered of each type, the rest in the CSV
            per_type = max(1, _HTML_UNIT_ROWS // max(1, rows["type"].nunique()))
            shown = rows.groupby("type", sort=False).head(per_type)
            parts.append(
                f"<p>The {per_type:,} least covered of each type shown ({len(shown):,} of "
                f"{len(rows):,} rows); every row is in coverage_{lv}.csv.</p>"
                + _html_table(shown)
            )
        elif lv == "grid":
            parts.append(
                "<details><summary>Show grid table</summary>"
                + _html_table(rows, max_rows=400)
                + "</details>"
            )
        else:
            parts.append(_html_table(rows))
    parts.append("<h2>Facilities</h2>" + _html_table(result.facility_table, max_rows=500))
    ff = findings_to_frame(result.findings)
    parts.append(f"<h2>Findings ({len(ff)})</h2>")
    if len(ff):
        parts.append(
            _html_table(ff[["severity", "rule", "level", "name", "code", "message"]], max_rows=500)
        )
    parts.append("</body></html>")
    return "\n".join(parts)
