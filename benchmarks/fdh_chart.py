"""A dependency-free SVG of weekly metrics: one panel per metric, one line per model.

matplotlib is not installed here; a few polylines say what the table says, at a glance.
"""

from html import escape

PANELS = (("auc", "ROC AUC"), ("ap", "Average precision"), ("cp100", "Card precision@100"))
COLOURS = ("#8c8c8c", "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2")
WIDTH, PANEL_HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 190, 60, 20, 28, 34


def weekly_chart(weekly: list[dict[str, object]], models: list[str], highlight: str) -> str:
    """The SVG document; `highlight` (our model) is drawn thick and red."""
    weeks = [str(w["test"][0]) for w in weekly]  # type: ignore[index]
    height = len(PANELS) * PANEL_HEIGHT + 30 + 18 * len(models)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    inner = WIDTH - LEFT - RIGHT
    for index, (metric, title) in enumerate(PANELS):
        top = index * PANEL_HEIGHT
        values = [w["models"][m][metric] for w in weekly for m in models]  # type: ignore[index]
        low, high = min(values), max(values)
        pad = (high - low) * 0.08 or 0.01
        low, high = low - pad, high + pad
        plot_h = PANEL_HEIGHT - TOP - BOTTOM

        def x(i: int) -> float:
            return LEFT + (inner * i / max(len(weeks) - 1, 1))

        def y(
            v: float, top: int = top, low: float = low, high: float = high, span: int = plot_h
        ) -> float:
            return top + TOP + span * (1 - (v - low) / (high - low))

        parts.append(f'<text x="{LEFT}" y="{top + 18}" font-weight="bold">{title}</text>')
        for tick in range(5):
            value = low + (high - low) * tick / 4
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                f'stroke="#e5e5e5"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
                f'text-anchor="end">{value:.3f}</text>'
            )
        for i, week in enumerate(weeks):
            if i % 2 == 0 or len(weeks) < 10:
                parts.append(
                    f'<text x="{x(i):.1f}" y="{top + PANEL_HEIGHT - 14}" '
                    f'text-anchor="middle">{week[5:]}</text>'
                )
        for number, model in enumerate(models):
            ours = model == highlight
            colour = "#e15759" if ours else COLOURS[number % len(COLOURS)]
            points = " ".join(
                f"{x(i):.1f},{y(w['models'][model][metric]):.1f}"  # type: ignore[index]
                for i, w in enumerate(weekly)
            )
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="{3 if ours else 1.5}"/>'
            )
    legend_top = len(PANELS) * PANEL_HEIGHT + 10
    parts.append(
        f'<text x="{LEFT}" y="{legend_top + 4}">test week (month-day); '
        "each fold: 7 days training, 7 days label delay, 7 days test</text>"
    )
    for number, model in enumerate(models):
        ours = model == highlight
        colour = "#e15759" if ours else COLOURS[number % len(COLOURS)]
        row = legend_top + 22 + 18 * number
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + 24}" y1="{row - 4}" y2="{row - 4}" '
            f'stroke="{colour}" stroke-width="{3 if ours else 1.5}"/>'
            f'<text x="{LEFT + 32}" y="{row}">{escape(model)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
