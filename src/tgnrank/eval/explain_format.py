"""Explanations as text (under the recommendation table) and as one self-contained HTML page per company.

The HTML page has no external asset (no script, stylesheet, font or image is fetched): an inline
style sheet, the ranked list as a table whose rows link to each investor's evidence section.
"""

from __future__ import annotations

from html import escape

from tgnrank.data.dates import day_to_iso
from tgnrank.eval.explain import Explanation
from tgnrank.eval.explain_evidence import Coinvestor, ThreeHopPath
from tgnrank.eval.recommend import Recommendations

SHOWN_CONTRIBUTIONS = 8

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 70em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ccc; padding: 0.2em 0.8em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
section { border-top: 2px solid #888; margin-top: 1.5em; }
.note { color: #555; font-size: 90%; }
"""


def format_explanations(explanations: list[Explanation]) -> str:
    """The explanations as indented text, one block per investor."""
    return "\n\n".join("\n".join(_text_block(explanation)) for explanation in explanations)


def _text_block(e: Explanation) -> list[str]:
    ev = e.evidence
    lines = [f"#{e.rank} {e.investor}: score {e.score:.4g}, rank {e.rank} of {e.n_candidates:,}, "
             f"percentile {e.percentile:.2f} ({e.ranker})"]
    lines += ["  " + line for line in _contribution_lines(e)]
    lines.append(f"  co-investors: {ev.n_coinvestors} of the company's past investors co-invested with it "
                 f"({ev.n_paths} company -> investor -> company -> investor paths)")
    lines += [f"    - {_coinvestor_text(partner)}" for partner in ev.coinvestors]
    if ev.paths:
        lines.append("  heaviest 3-hop paths (random-walk probability, recency-decayed weight):")
        lines += [f"    - {_path_text(path)}" for path in ev.paths]
    lines.append("  activity, last 12 months vs long-run yearly rate:")
    for scope in ev.activity:
        latest = "; ".join(f"{d.company} {d.date}" for d in scope.recent_deals)
        lines.append(f"    - {scope.description}: {scope.deals_last_12_months} vs {scope.long_run_per_year:.1f}/year "
                     f"({scope.deals_total} in all){'; latest: ' + latest if latest else ''}")
    if ev.similar_deals:
        lines.append("  most similar past deals:")
        for similar in ev.similar_deals:
            shared = f"; shared categories: {', '.join(similar.shared_categories)}" if similar.shared_categories else ""
            lines.append(f"    - {similar.deal.company} on {similar.deal.date} (similarity {similar.similarity:.2f}{shared})")
    return lines


def _contribution_lines(e: Explanation) -> list[str]:
    c = e.contributions
    if c is None:
        return []
    terms = ", ".join(f"{item.feature} {item.contribution:+.3f} (value {item.value:.3g})"
                      for item in c.items[:SHOWN_CONTRIBUTIONS])
    return [f"fused score {c.fused_score:.4g} = expected {c.expected_value:.3f} + contributions, largest: {terms}"]


def _coinvestor_text(partner: Coinvestor) -> str:
    text = (f"{partner.partner} (invested in {partner.deal_in_company.company} on {partner.deal_in_company.date}): "
            f"{_count(partner.n_shared_companies, 'shared company', 'shared companies')}, "
            f"{_count(partner.n_joint_rounds, 'joint round', 'joint rounds')}")
    if partner.last_joint_round:
        deal = partner.last_joint_round[0]
        text += f", latest joint round {deal.company} on {deal.date}"
    shared = "; ".join(f"{theirs.company} ({theirs.date} / {mine.date})" for theirs, mine in partner.shared)
    return text + (f"; shared (partner's / this investor's latest deal): {shared}" if shared else "")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _path_text(path: ThreeHopPath) -> str:
    first, middle, last = path.deals
    return (f"{first.company} -({first.date})- {path.partner} -({middle.date})- {path.via} -({last.date})- "
            f"{last.investor}: {path.walk_probability:.3g}, {path.decayed_weight:.3g}")


def explanations_html(recommendations: Recommendations, explanations: list[Explanation]) -> str:
    """One self-contained HTML page: the ranked list, then each investor's evidence."""
    r = recommendations
    title = f"Investors for {r.company} as of {day_to_iso(r.at)}"
    rows = "\n".join(
        f'<tr><td class="num">{e.rank}</td><td><a href="#investor-{e.investor_id}">{escape(e.investor)}</a></td>'
        f'<td class="num">{e.score:.4g}</td><td class="num">{e.percentile:.2f}</td>'
        f'<td class="num">{e.evidence.n_coinvestors}</td></tr>'
        for e in explanations
    )
    past = ", ".join(r.past_investors) or "none"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="note">History of {r.n_history_events:,} events up to {escape(day_to_iso(r.at))}; '
        f"{r.n_candidates:,} candidate investors; past investors (excluded): {escape(past)}.</p>",
        f'<p class="note">score: {escape(r.score_meaning)}</p>',
        "<table>",
        "<thead><tr><th>rank</th><th>investor</th><th>score</th><th>percentile</th><th>co-investors</th></tr></thead>",
        f"<tbody>\n{rows}\n</tbody>",
        "</table>",
        *(_html_section(e) for e in explanations),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_section(e: Explanation) -> str:
    ev = e.evidence
    parts = [
        f'<section id="investor-{e.investor_id}">',
        f"<h2>#{e.rank} {escape(e.investor)}</h2>",
        f"<p>score {e.score:.4g}, rank {e.rank} of {e.n_candidates:,}, percentile {e.percentile:.2f} "
        f"({escape(e.ranker)})</p>",
    ]
    if e.contributions is not None:
        c = e.contributions
        cells = "\n".join(
            f'<tr><td>{escape(item.feature)}</td><td class="num">{item.value:.4g}</td>'
            f'<td class="num">{item.contribution:+.4f}</td></tr>'
            for item in c.items[:SHOWN_CONTRIBUTIONS]
        )
        parts += [
            f"<h3>Fused score {c.fused_score:.4g} = expected value {c.expected_value:.4f} + contributions</h3>",
            "<table><thead><tr><th>signal</th><th>value</th><th>contribution</th></tr></thead>",
            f"<tbody>\n{cells}\n</tbody></table>",
        ]
    parts.append(f"<h3>Co-investors ({ev.n_coinvestors} of the company's past investors, {ev.n_paths} paths)</h3>")
    parts.append(_html_list(_coinvestor_text(partner) for partner in ev.coinvestors))
    if ev.paths:
        parts.append("<h3>Heaviest 3-hop paths (random-walk probability, recency-decayed weight)</h3>")
        parts.append(_html_list(_path_text(path) for path in ev.paths))
    parts.append("<h3>Activity: last 12 months vs long-run yearly rate</h3>")
    parts.append(_html_list(
        f"{scope.description}: {scope.deals_last_12_months} vs {scope.long_run_per_year:.1f}/year "
        f"({scope.deals_total} in all)" + "".join(f"; {d.company} {d.date}" for d in scope.recent_deals)
        for scope in ev.activity
    ))
    if ev.similar_deals:
        parts.append("<h3>Most similar past deals</h3>")
        parts.append(_html_list(
            f"{s.deal.company} on {s.deal.date} (similarity {s.similarity:.2f}"
            + (f"; shared categories: {', '.join(s.shared_categories)}" if s.shared_categories else "") + ")"
            for s in ev.similar_deals
        ))
    parts.append("</section>")
    return "\n".join(parts)


def _html_list(texts) -> str:
    items = "".join(f"<li>{escape(text)}</li>" for text in texts)
    return f"<ul>{items}</ul>" if items else "<p>none</p>"
