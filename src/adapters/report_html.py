"""The HTML of the report: one page, inline CSS, SVG charts drawn in Python, a little JS.

Each chart is a ``<figure class="chart" data-chart="NAME">`` around one SVG whose marks
carry hover tooltips (SVG ``<title>``). The page's only script makes tables sortable.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from html import escape
from typing import TYPE_CHECKING

from adapters.report_svg import Svg, legend, nice_max

if TYPE_CHECKING:
    from adapters.report import ReportData, RotationBar

__all__ = ["CHARTS", "render_html"]

CHARTS = ("timeline", "away", "participation", "funnel", "mentors", "bridges")
"""The ``data-chart`` names of the report's charts, in page order."""

STATUS_COLOURS = {"completed": "#2f855a", "in-progress": "#3182ce", "planned": "#a0aec0"}
PARTICIPATION_COLOURS = {
    "met": "#2f855a",
    "in-progress": "#3182ce",
    "planned": "#90cdf4",
    "none-planned": "#ecc94b",
    "exempted": "#a0aec0",
    "missed": "#e53e3e",
}
KIND_COLOURS = {"discussion": "#805ad5", "reading": "#dd6b20", "hands-on": "#319795"}
BRIDGE_COLOURS = {
    "rotations hosted": "#3182ce",
    "observations": "#d69e2e",
    "improvements adopted": "#2f855a",
}
WIDTH = 1000
LABEL = 190


def _months(first: date, last: date) -> list[date]:
    months = []
    day = first.replace(day=1)
    while day <= last:
        if day >= first:
            months.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


def _lanes(bars: list[RotationBar]) -> list[tuple[RotationBar, int]]:
    ends: list[date] = []
    placed = []
    for bar in sorted(bars, key=lambda b: (b.start, b.participant)):
        lane = next((i for i, end in enumerate(ends) if end < bar.start), len(ends))
        if lane == len(ends):
            ends.append(bar.end)
        else:
            ends[lane] = bar.end
        placed.append((bar, lane))
    return placed


def timeline(data: ReportData) -> str:
    """Rotations as bars, one band per host department, over the report's span."""
    span = max((data.last - data.first).days + 1, 1)
    inner = WIDTH - LABEL - 20
    by_host: dict[str, list[RotationBar]] = defaultdict(list)
    for bar in data.rotations:
        by_host[bar.host].append(bar)
    hosts = sorted(set(by_host) | set(data.departments))
    lane_h, top = 18, 28
    bands = [(host, _lanes(by_host[host])) for host in hosts]
    height = top + sum(
        max(1, 1 + max((lane for _, lane in b), default=0)) * lane_h + 10 for _, b in bands
    )
    svg = Svg(WIDTH, height + 10, label="Rotations by host department", chart="timeline")

    def x(day: date) -> float:
        return LABEL + (day - data.first).days / span * inner

    for month in _months(data.first, data.last):
        svg.line(x(month), top - 6, x(month), height, class_="grid")
        svg.text(x(month) + 3, top - 10, month.strftime("%b %Y"), class_="axis")
    y = top
    for index, (host, placed) in enumerate(bands):
        lanes = max(1, 1 + max((lane for _, lane in placed), default=0))
        band_h = lanes * lane_h + 10
        if index % 2 == 0:
            svg.rect(0, y, WIDTH, band_h, class_="band")
        svg.text(8, y + 16, f"{host}  {data.departments.get(host, '')}", class_="label")
        for bar, lane in placed:
            left = x(max(bar.start, data.first))
            right = x(min(bar.end, data.last) + timedelta(days=1))
            svg.rect(
                left,
                y + 5 + lane * lane_h,
                right - left,
                lane_h - 3,
                rx=3,
                class_="bar",
                fill=STATUS_COLOURS.get(bar.status, "#718096"),
                data_status=bar.status,
                tip=(
                    f"{bar.participant} {bar.participant_name} in {bar.host}: {bar.start} to "
                    f"{bar.end} ({bar.status}); mentor {bar.mentor or 'none yet'}"
                ),
            )
            if right - left > 44:
                svg.text(left + 4, y + 5 + lane * lane_h + 11, bar.participant, class_="inbar")
        y += band_h
    return str(svg)


def away_chart(data: ReportData) -> str:
    """IT staff away per day, as an area, with the program-wide cap as a dashed line."""
    height, top, bottom = 170, 16, 26
    span = max(len(data.days), 1)
    inner = WIDTH - LABEL - 20
    cap = max((d.cap for d in data.days), default=data.policy.max_concurrent)
    peak = max((d.away for d in data.days), default=0)
    scale_max = max(cap, peak) + 1
    svg = Svg(WIDTH, height, label="IT staff away per day against the cap", chart="away")

    def x(index: int) -> float:
        return LABEL + index / span * inner

    def y(value: float) -> float:
        return top + (1 - value / scale_max) * (height - top - bottom)

    for tick in range(0, scale_max + 1, max(1, scale_max // 4)):
        svg.line(LABEL, y(tick), WIDTH - 20, y(tick), class_="grid")
        svg.text(LABEL - 8, y(tick) + 4, str(tick), class_="axis", text_anchor="end")
    points = [f"M{x(0):.1f},{y(0):.1f}"]
    for index, day in enumerate(data.days):
        points.append(f"L{x(index):.1f},{y(day.away):.1f}L{x(index + 1):.1f},{y(day.away):.1f}")
    points.append(f"L{x(span):.1f},{y(0):.1f}Z")
    svg.path("".join(points), class_="area")
    svg.line(LABEL, y(cap), WIDTH - 20, y(cap), class_="cap")
    svg.text(
        WIDTH - 24, y(cap) - 5, f"cap: {cap} away at once", class_="cap-label", text_anchor="end"
    )
    at_cap = sum(1 for d in data.days if d.away >= d.cap)
    svg.text(8, top + 14, "IT staff away", class_="label")
    svg.text(8, top + 32, f"peak {peak} of {cap}", class_="axis")
    svg.text(8, top + 48, f"{at_cap} days at the cap", class_="axis")
    for month in _months(data.first, data.last):
        index = (month - data.first).days
        svg.text(x(index) + 3, height - 8, month.strftime("%b"), class_="axis")
    for index, day in enumerate(data.days):
        if index % 7 == 0:
            svg.rect(
                x(index),
                top,
                x(min(index + 7, span)) - x(index),
                height - top - bottom,
                class_="hover",
                tip=f"week of {day.day}: {max(d.away for d in data.days[index : index + 7])} away",
            )
    return str(svg)


def participation_chart(data: ReportData) -> str:
    """One stacked bar per review cycle: how many IT employees are in each status."""
    row_h, top = 34, 10
    height = top + max(1, len(data.cycles)) * row_h + 10
    svg = Svg(WIDTH, height, label="Participation per review cycle", chart="participation")
    inner = WIDTH - LABEL - 20
    if not data.cycles:
        svg.text(LABEL, top + 20, "no review cycle yet", class_="axis")
    for index, cycle in enumerate(data.cycles):
        total = sum(cycle.counts.values()) or 1
        y = top + index * row_h
        state = "closed" if cycle.closed else "open"
        svg.text(8, y + 19, f"{cycle.cycle} ({state})", class_="label")
        left = float(LABEL)
        for status, colour in PARTICIPATION_COLOURS.items():
            count = cycle.counts.get(status, 0)
            if not count:
                continue
            width = count / total * inner
            svg.rect(
                left,
                y + 4,
                width,
                row_h - 10,
                fill=colour,
                class_="bar",
                tip=f"{cycle.cycle}: {count} {status} ({count / total:.0%})",
            )
            if width > 28:
                svg.text(left + 5, y + 22, str(count), class_="inbar")
            left += width
    return str(svg)


def funnel_chart(data: ReportData) -> str:
    """From completed rotations to adopted improvements, stage by stage."""
    improvements = data.pipeline.improvements
    live = [i for i in improvements if i.status != "withdrawn"]
    decided = [i for i in live if i.status in ("adopted", "rejected")]
    stages = [
        ("rotations completed", sum(1 for r in data.rotations if r.status == "completed")),
        ("improvements proposed", len(improvements)),
        ("not withdrawn", len(live)),
        ("decided by the host", len(decided)),
        ("adopted", sum(1 for i in live if i.status == "adopted")),
    ]
    row_h, top = 36, 8
    svg = Svg(WIDTH, top + len(stages) * row_h + 8, label="Improvement funnel", chart="funnel")
    widest = max((n for _, n in stages), default=0) or 1
    inner = WIDTH - LABEL - 120
    centre = LABEL + inner / 2
    proposed = stages[1][1] or 1
    for index, (name, count) in enumerate(stages):
        y = top + index * row_h
        width = max(count / widest * inner, 2)
        shade = ("#2b6cb0", "#3182ce", "#4299e1", "#63b3ed", "#2f855a")[index]
        svg.rect(
            centre - width / 2,
            y + 3,
            width,
            row_h - 8,
            fill=shade,
            class_="bar",
            rx=4,
            tip=f"{name}: {count}",
        )
        svg.text(8, y + 22, name, class_="label")
        share = "" if index < 2 else f"  ({count / proposed:.0%} of proposed)"
        svg.text(centre + width / 2 + 8, y + 22, f"{count}{share}", class_="axis")
    return str(svg)


def mentors_chart(data: ReportData) -> str:
    """Sessions per mentor, stacked by kind (discussion, reading, hands-on)."""
    host_of = data.homes
    rows = sorted(
        data.mentors,
        key=lambda m: (
            -(m.discussion_sessions + m.reading_sessions + m.hands_on_sessions),
            m.mentor,
        ),
    )
    row_h, top, bottom = 20, 8, 24
    height = top + max(1, len(rows)) * row_h + bottom
    svg = Svg(WIDTH, height, label="Mentor sessions by kind", chart="mentors")
    inner = WIDTH - LABEL - 230
    most = nice_max(
        max(
            (m.discussion_sessions + m.reading_sessions + m.hands_on_sessions for m in rows),
            default=1,
        )
    )
    if not rows:
        svg.text(LABEL, top + 14, "no mentor nominated yet", class_="axis")
    for index, row in enumerate(rows):
        y = top + index * row_h
        name = data.people.get(row.mentor, row.mentor)
        svg.text(8, y + 14, f"{name} ({host_of.get(row.mentor, '?')})", class_="label small")
        left = float(LABEL)
        for kind, count in (
            ("discussion", row.discussion_sessions),
            ("reading", row.reading_sessions),
            ("hands-on", row.hands_on_sessions),
        ):
            width = count / most * inner
            if count:
                svg.rect(
                    left,
                    y + 3,
                    width,
                    row_h - 6,
                    fill=KIND_COLOURS[kind],
                    class_="bar",
                    tip=f"{row.mentor} {name}: {count} {kind} sessions",
                )
            left += width
        total = row.discussion_sessions + row.reading_sessions + row.hands_on_sessions
        briefed = f"{total}  ·  {row.agreed} agreed, {row.declined} declined, {row.briefed} briefed"
        svg.text(left + 6, y + 14, briefed, class_="axis small")
    axis_y = top + len(rows) * row_h + 16
    for tick in range(0, most + 1, max(1, most // 5)):
        svg.text(
            LABEL + tick / most * inner, axis_y, str(tick), class_="axis", text_anchor="middle"
        )
    return str(svg)


def bridges_chart(data: ReportData) -> str:
    """Per business department: rotations hosted, observations and improvements adopted."""
    row_h, top = 54, 8
    rows = data.bridges
    svg = Svg(
        WIDTH, top + max(1, len(rows)) * row_h + 8, label="Department bridges", chart="bridges"
    )
    inner = WIDTH - LABEL - 60
    most = nice_max(
        max(
            (max(r.rotations_hosted, r.observations, r.improvements_adopted) for r in rows),
            default=1,
        )
    )
    for index, row in enumerate(rows):
        y = top + index * row_h
        svg.text(8, y + 18, f"{row.department}  {row.name}", class_="label")
        svg.text(8, y + 34, f"{row.it_employees_hosted} IT staff hosted", class_="axis small")
        for lane, (name, value) in enumerate(
            (
                ("rotations hosted", row.rotations_hosted),
                ("observations", row.observations),
                ("improvements adopted", row.improvements_adopted),
            )
        ):
            width = value / most * inner
            svg.rect(
                LABEL,
                y + 4 + lane * 15,
                width,
                12,
                fill=BRIDGE_COLOURS[name],
                class_="bar",
                tip=f"{row.department}: {value} {name}",
            )
            svg.text(LABEL + width + 5, y + 14 + lane * 15, str(value), class_="axis small")
    return str(svg)


def _table(columns: list[str], rows: list[list[object]], *, numeric: set[int]) -> str:
    head = "".join(
        f"<th{' class=num' if i in numeric else ''}>{escape(c)}</th>" for i, c in enumerate(columns)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in numeric else ''}>{escape('' if v is None else str(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(
    name: str, title: str, chart: str, note: str = "", extra: str = "", after: str = ""
) -> str:
    caption = f"<figcaption><h2>{escape(title)}</h2><p>{escape(note)}</p></figcaption>"
    return f'<figure class="chart" data-chart="{name}">{caption}{extra}{chart}{after}</figure>'


def _tiles(data: ReportData) -> str:
    latest = data.cycles[-1] if data.cycles else None
    met = latest.counts.get("met", 0) if latest else 0
    owed = sum(latest.counts.values()) - latest.counts.get("exempted", 0) if latest else 0
    live = [i for i in data.pipeline.improvements if i.status != "withdrawn"]
    adopted = sum(1 for i in live if i.status == "adopted")
    decided = sum(1 for i in live if i.status in ("adopted", "rejected"))
    peak = max((d.away for d in data.days), default=0)
    tiles = [
        ("rotations", str(len(data.rotations)), f"{data.first} to {data.last}"),
        (
            "objectives met",
            f"{met} / {owed}" if latest else "-",
            f"in {latest.cycle}" if latest else "no cycle",
        ),
        (
            "peak away",
            f"{peak} / {data.policy.max_concurrent}",
            "IT staff at once, against the cap",
        ),
        (
            "improvements adopted",
            str(adopted),
            f"{adopted / decided:.0%} of those decided" if decided else "none decided",
        ),
        ("mentors", str(len(data.mentors)), f"{sum(m.declined for m in data.mentors)} declines"),
        ("events", str(data.events), "in the audit log"),
    ]
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><b>{escape(v)}</b><span>{escape(k)}</span>'
            f"<small>{escape(s)}</small></div>"
            for k, v, s in tiles
        )
        + "</div>"
    )


CSS = """
:root{--ink:#1a202c;--muted:#4a5568;--line:#e2e8f0;--paper:#fff;--band:#f7fafc}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:#edf2f7}
header{background:#1a365d;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:24px}header p{margin:0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:16px 24px 40px}
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:10px;margin:16px 0}
.tile{background:var(--paper);border-radius:8px;padding:10px 12px;box-shadow:0 1px 2px #0001}
.tile b{display:block;font-size:22px}.tile span{display:block;font-weight:600}
.tile small{color:var(--muted)}
figure.chart{background:var(--paper);margin:0 0 16px;padding:12px 16px;border-radius:8px;
box-shadow:0 1px 2px #0001}
figcaption h2{margin:0;font-size:17px}figcaption p{margin:2px 0 8px;color:var(--muted)}
.chart-svg{width:100%;height:auto;display:block}
.grid{stroke:var(--line);stroke-width:1}.band{fill:var(--band)}
.label{font-size:12px;font-weight:600;fill:var(--ink)}.small{font-size:11px}
.axis{font-size:11px;fill:var(--muted)}.inbar{font-size:10px;fill:#fff;pointer-events:none}
.bar{stroke:#fff;stroke-width:.5}.bar:hover{opacity:.8}
.area{fill:#90cdf4;stroke:#2b6cb0;stroke-width:1}
.cap{stroke:#e53e3e;stroke-width:1.5;stroke-dasharray:6 4}.cap-label{font-size:11px;fill:#c53030}
.hover{fill:transparent}.hover:hover{fill:#2b6cb01a}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:0 0 8px;color:var(--muted);font-size:12px}
.key i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
table{border-collapse:collapse;width:100%;margin-top:10px;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left}
th{cursor:pointer;user-select:none;background:var(--band)}th:hover{background:#e2e8f0}
.num{text-align:right;font-variant-numeric:tabular-nums}
footer{color:var(--muted);font-size:12px;text-align:center;padding:12px}
@media (max-width:800px){.tiles{grid-template-columns:repeat(2,1fr)}}
"""

SCRIPT = """
(function () {
  function key(cell) {
    var text = cell.textContent.trim().replace('%', '');
    var number = parseFloat(text);
    return isNaN(number) || !/^[-0-9.]/.test(text) ? text.toLowerCase() : number;
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (header, column) {
      header.title = 'Sort by ' + header.textContent;
      header.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var down = header.dataset.sorted !== 'asc';
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          return (x < y ? -1 : x > y ? 1 : 0) * (down ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
        table.querySelectorAll('th').forEach(function (h) { delete h.dataset.sorted; });
        header.dataset.sorted = down ? 'asc' : 'desc';
      });
    });
  });
  document.documentElement.dataset.ready = 'yes';
})();
"""


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained HTML document."""
    policy = data.policy
    pipeline_rows = [
        [
            d.host_department,
            d.proposed,
            d.pending,
            d.adopted,
            d.rejected,
            d.withdrawn,
            "" if d.adoption_rate is None else f"{d.adoption_rate:.0%}",
            "" if d.median_days_to_adoption is None else f"{d.median_days_to_adoption:.0f}",
        ]
        for d in data.pipeline.departments
    ]
    bridge_rows = [
        [
            r.department,
            r.name,
            r.rotations_hosted,
            r.rotations_completed,
            r.it_employees_hosted,
            r.observations,
            r.improvements_proposed,
            r.improvements_adopted,
        ]
        for r in data.bridges
    ]
    sections = [
        _figure(
            "timeline",
            "Rotations by host department",
            timeline(data),
            "Each bar is one IT employee's rotation (hover for who, when and the mentor). "
            "Cancelled rotations give up their places and are not drawn.",
            legend(STATUS_COLOURS.items()),
        ),
        _figure(
            "away",
            "IT staff away against the cap",
            away_chart(data),
            f"R9: at most {policy.max_concurrent} IT staff away on any day, "
            f"{policy.max_guests_per_department} guests per host department, "
            f"{policy.max_mentees_per_mentor} mentee(s) per mentor.",
        ),
        _figure(
            "participation",
            "Participation per review cycle",
            participation_chart(data),
            "R3: every active IT employee owes a completed rotation with its payback in each "
            "cycle, unless exempted.",
            legend(PARTICIPATION_COLOURS.items()),
        ),
        _figure(
            "funnel",
            "Improvement funnel",
            funnel_chart(data),
            "R8: each participant pays the host back with an improvement; the host adopts or "
            "rejects it.",
            after=_table(
                [
                    "host",
                    "proposed",
                    "pending",
                    "adopted",
                    "rejected",
                    "withdrawn",
                    "adoption",
                    "median days",
                ],
                pipeline_rows,
                numeric={1, 2, 3, 4, 5, 6, 7},
            ),
        ),
        _figure(
            "mentors",
            "Mentor engagement by session kind",
            mentors_chart(data),
            "R4-R6: mentors from the host department agree, are briefed, and drive "
            "discussion, reading and hands-on sessions.",
            legend(KIND_COLOURS.items()),
        ),
        _figure(
            "bridges",
            "Department bridges",
            bridges_chart(data),
            "What each business department got from hosting IT staff.",
            legend(BRIDGE_COLOURS.items()),
            after=_table(
                [
                    "department",
                    "name",
                    "hosted",
                    "completed",
                    "IT staff",
                    "observations",
                    "proposed",
                    "adopted",
                ],
                bridge_rows,
                numeric={2, 3, 4, 5, 6, 7},
            ),
        ),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(data.title)}</h1><p>{data.first} to {data.last} · "
        f"{len(data.rotations)} rotations · {data.events} events in the log</p></header>"
        f"<main>{_tiles(data)}{''.join(sections)}</main>"
        "<footer>Written by rotation report from the program's read models. "
        "Self-contained: no network needed.</footer>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
