"""The analyst's report as one self-contained HTML page: plotly's charts with plotly's JavaScript embedded (the
page opens offline, no CDN), and the latest stories with why each is on the topic. Values in, a string out."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import plotly.graph_objects as go
import plotly.io as pio

DAILY_SPAN_DAYS = 60  # up to this span the charts count per day; longer spans per week, past two years per month
WEEKLY_SPAN_DAYS = 730
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


@dataclass(frozen=True)
class LatestStory:
    url: str
    title: str | None
    source: str | None
    day: date
    language: str | None
    relevance: float | None
    why: str | None
    copies: int


@dataclass(frozen=True)
class ReportData:
    topic: str
    made_at: datetime
    stories_per_day: tuple[tuple[date, str, int], ...]  # day, language, stories
    share_per_day: tuple[tuple[date, int, float | None], ...]  # day, articles, on-topic share (None: none scored)
    top_outlets: tuple[tuple[str, int, int], ...]  # outlet, relevant articles, articles
    trends: tuple[tuple[date, str, int], ...]  # day, term, articles using it
    latest: tuple[LatestStory, ...]
    totals: dict[str, int]


def _bucketing(days: list[date]) -> tuple[str, Callable[[date], date], float]:
    """How to group days for the charts: (unit name, day → bucket start, bar width in milliseconds)."""
    span = (max(days) - min(days)).days if days else 0
    day_ms = 86_400_000 * 0.8
    if span <= DAILY_SPAN_DAYS:
        return "day", lambda d: d, day_ms
    if span <= WEEKLY_SPAN_DAYS:
        return "week", lambda d: d - timedelta(days=d.weekday()), 7 * day_ms
    return "month", lambda d: d.replace(day=1), 30 * day_ms


def _layout(title: str, unit: str | None = None, **extra: object) -> dict[str, object]:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "margin": {"l": 48, "r": 12, "t": 48, "b": 40},
        "height": 360,
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "template": "plotly_white",
        "bargap": 0.15,
        **({"xaxis": {"title": {"text": unit}}} if unit else {}),
        **extra,
    }


def _grouped(rows: tuple[tuple[date, str, int], ...], bucket: Callable[[date], date]) -> dict[str, dict[date, int]]:
    found: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for day, key, count in rows:
        found[key][bucket(day)] += count
    return found


def figures(data: ReportData) -> list[go.Figure]:
    days = [d for d, _, _ in data.stories_per_day] + [d for d, _, _ in data.share_per_day]
    unit, bucket, bar_width = _bucketing(days)
    stories = go.Figure(layout=_layout(f"Stories per {unit}, by language", unit, barmode="stack"))
    for number, (language, counts) in enumerate(sorted(_grouped(data.stories_per_day, bucket).items())):
        points = sorted(counts.items())
        stories.add_bar(
            x=[d for d, _ in points],
            y=[c for _, c in points],
            name=language,
            marker_color=COLOURS[number % 8],
            width=bar_width,
        )

    totals: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for day, articles, share in data.share_per_day:
        if share is not None:
            totals[bucket(day)][0] += articles
            totals[bucket(day)][1] += share * articles
    weeks = sorted(totals.items())
    shares = go.Figure(layout=_layout(f"On-topic share of the articles, per {unit}", unit, yaxis={"tickformat": ".0%"}))
    shares.add_scatter(
        x=[d for d, _ in weeks],
        y=[on / n if n else None for _, (n, on) in weeks],
        customdata=[int(n) for _, (n, _) in weeks],
        hovertemplate="%{x}: %{y:.0%} of %{customdata} articles<extra></extra>",
        mode="markers",
        marker={"size": 9},
        name="on-topic share",
        line_color=COLOURS[0],
    )

    outlets = list(reversed(data.top_outlets))
    top = go.Figure(
        layout=_layout(
            "Top outlets", None, barmode="overlay", height=max(300, 60 + 26 * len(outlets)), yaxis={"automargin": True}
        )
    )
    top.add_bar(
        y=[o for o, _, _ in outlets],
        x=[n for _, _, n in outlets],
        orientation="h",
        name="articles",
        marker_color="#c6dbef",
    )
    top.add_bar(
        y=[o for o, _, _ in outlets],
        x=[r for _, r, _ in outlets],
        orientation="h",
        name="on the topic",
        marker_color=COLOURS[0],
    )

    trends = go.Figure(layout=_layout(f"Key terms: articles using them, per {unit}", unit))
    for number, (term, counts) in enumerate(sorted(_grouped(data.trends, bucket).items())):
        points = sorted(counts.items())
        trends.add_scatter(
            x=[d for d, _ in points],
            y=[c for _, c in points],
            name=term,
            mode="lines+markers",
            line_color=COLOURS[number % 8],
        )
    return [stories, shares, top, trends]


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK KR", sans-serif;
       margin: 0; color: #1a1a1a; background: #f6f7f9; }
main { max-width: 1120px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.4rem; margin: 0.2rem 0; } h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
.meta { color: #555; font-size: 0.9rem; }
.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.totals div { background: #fff; border-radius: 8px; padding: 8px 14px; box-shadow: 0 1px 2px #0002; }
.totals b { display: block; font-size: 1.3rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
.chart { background: #fff; border-radius: 8px; box-shadow: 0 1px 2px #0002; padding: 4px; min-width: 0; }
.story { background: #fff; border-radius: 8px; box-shadow: 0 1px 2px #0002; padding: 10px 14px; margin: 8px 0;
         overflow-wrap: anywhere; }
.story a { color: #0b4f9c; font-weight: 600; text-decoration: none; }
.story .why { color: #333; font-size: 0.9rem; margin-top: 4px; }
"""


def _story(story: LatestStory) -> str:
    copies = f" · {story.copies} copies" if story.copies else ""
    relevance = f" · relevance {story.relevance:.2f}" if story.relevance is not None else ""
    meta = f"{html.escape(story.source or 'unknown outlet')} · {story.day:%Y-%m-%d} · {story.language or '?'}"
    return (
        f"<div class='story'><a href='{html.escape(story.url, quote=True)}'>{html.escape(story.title or story.url)}"
        f"</a><div class='meta'>{meta}{relevance}{copies}</div>"
        f"<div class='why'>Why: {html.escape(story.why or '—')}</div></div>"
    )


def render_report(data: ReportData) -> str:
    """The whole page. The first chart carries plotly's JavaScript (about 4.8 MB), the others use it."""
    charts = []
    for number, figure in enumerate(figures(data)):
        div = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=number == 0,
            config={"responsive": True, "displayModeBar": False},
            default_width="100%",
        )
        charts.append(f"<div class='chart'>{div}</div>")
    totals = "".join(f"<div><b>{value:,}</b>{html.escape(name)}</div>" for name, value in data.totals.items())
    latest = "".join(_story(story) for story in data.latest) or "<p>No stories yet.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>newsmon · {html.escape(data.topic)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{html.escape(data.topic)}</h1>"
        f"<div class='meta'>newsmon report, made {data.made_at:%Y-%m-%d %H:%M} UTC</div>"
        f"<div class='totals'>{totals}</div>"
        f"<div class='charts'>{''.join(charts)}</div>"
        f"<h2>Latest stories</h2>{latest}"
        # plotly measures its box when it draws; the grid's columns are only known once the page is laid out
        "</main><script>window.addEventListener('load', function () {"
        " document.querySelectorAll('.js-plotly-plot').forEach(function (p) { Plotly.Plots.resize(p); }); });"
        "</script></body></html>"
    )
