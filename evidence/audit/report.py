"""Audit results as text for a terminal, Markdown for a review, or JSON for CI.

Grouped by page, then by claim: the verdict, the sentence quoted with the
claim's words marked, and the reason with the numbers compared.
"""

from __future__ import annotations

import json
from typing import Callable, Sequence

from evidence.audit.judge import VERDICTS, ClaimVerdict, PageAudit
from evidence.audit.records import audit_record

COLOURS = {
    "supported": "green",
    "unverified": "yellow",
    "contradicted": "red",
    "unverifiable": "magenta",
    "uncited": "cyan",
}
LABELS = {
    "supported": "supported",
    "unverified": "supported by unverified data",
    "contradicted": "contradicted",
    "unverifiable": "unverifiable",
    "uncited": "uncited claim",
}


def quoted(verdict: ClaimVerdict, mark: Callable[[str], str]) -> str:
    """The sentence, on one line, with the claim's span passed through ``mark``."""
    sentence, claim = verdict.sentence, verdict.claim
    a, b = claim.start - sentence.start, claim.end - sentence.start
    text = sentence.text
    return (
        " ".join((text[:a] + "\0" + text[a:b] + "\1" + text[b:]).split()).replace(
            "\0" + text[a:b] + "\1", mark(" ".join(text[a:b].split()))
        )
        if 0 <= a <= b <= len(text)
        else " ".join(text.split())
    )


def summary_line(audit: PageAudit) -> str:
    counts = [f"{audit.count(v)} {LABELS[v]}" for v in VERDICTS if audit.count(v)]
    if audit.findings:
        counts.append(f"{len(audit.findings)} unresolved reference(s)")
    return ", ".join(counts) or "no claims found"


def format_text(audits: Sequence[PageAudit], colour: bool = False) -> str:
    import click

    def style(text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if colour else text  # type: ignore[arg-type]

    lines: list[str] = []
    for audit in audits:
        lines.append(style(f"== {audit.page.path}", bold=True))
        for match in audit.matches:
            if match.key:
                lines.append(
                    f"  reference {match.label} -> {match.key} ({match.method}, confidence {match.confidence:.2f})"
                )
        for finding in audit.findings:
            lines.append("  " + style(f"unresolved: {finding}", fg="red"))
        for verdict in audit.verdicts:
            label = style(LABELS[verdict.verdict], fg=COLOURS[verdict.verdict], bold=True)
            mark = (lambda s: style(s, underline=True, bold=True)) if colour else (lambda s: f"[[{s}]]")
            lines.append(f"  {label}: {verdict.claim.text}")
            lines.append(f'    "{quoted(verdict, mark)}"')
            lines.append(f"    {verdict.reason}")
        lines.append(f"  {summary_line(audit)}")
        lines.append("")
    return "\n".join(lines)


def format_markdown(audits: Sequence[PageAudit]) -> str:
    lines: list[str] = []
    for audit in audits:
        lines += [f"## Audit of `{audit.page.path}`", "", summary_line(audit), ""]
        if audit.matches:
            lines += ["| reference | entry | matched by | confidence |", "| --- | --- | --- | --- |"]
            for match in audit.matches:
                lines.append(
                    f"| {match.label} | {match.key or '**unresolved**'} | {match.method} | {match.confidence:.2f} |"
                )
            lines.append("")
        for finding in audit.findings:
            lines.append(f"- **unresolved:** {finding}")
        if audit.findings:
            lines.append("")
        for verdict in audit.verdicts:
            sentence = quoted(verdict, lambda s: f"**{s}**").replace("|", "\\|")
            lines += [
                f"- **{LABELS[verdict.verdict]}**: {verdict.claim.text}",
                f"  > {sentence}",
                f"  {verdict.reason}",
            ]
        lines.append("")
    return "\n".join(lines)


def summary_table(audits: Sequence[PageAudit]) -> str:
    """One row per page: the count of each verdict and of unresolved references, then the totals."""
    headers = ["page", *VERDICTS, "unresolved"]
    rows = [[a.page.path, *(str(a.count(v)) for v in VERDICTS), str(len(a.findings))] for a in audits]
    rows.append(
        ["total", *(str(sum(a.count(v) for a in audits)) for v in VERDICTS), str(sum(len(a.findings) for a in audits))]
    )
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), *(line(r) for r in rows)]) + "\n"


def page_parts(audit: PageAudit) -> list[dict[str, object]]:
    """The page's text cut into plain pieces and claims (verdict, reason, number), in order, for the HTML
    report.  Claims that overlap an earlier one are left to the findings list."""
    text = audit.page.text
    parts: list[dict[str, object]] = []
    cursor = 0
    for number, verdict in sorted(enumerate(audit.verdicts, 1), key=lambda item: item[1].claim.start):
        start, end = verdict.claim.start, verdict.claim.end
        if start < cursor or end <= start:
            continue
        parts.append({"text": text[cursor:start], "verdict": ""})
        parts.append({"text": text[start:end], "verdict": verdict.verdict, "reason": verdict.reason, "number": number})
        cursor = end
    parts.append({"text": text[cursor:], "verdict": ""})
    return parts


def format_html(audits: Sequence[PageAudit]) -> str:
    """A report a reviewer opens in a browser: each page's own text with every claim highlighted in its
    verdict's colour (the reason on hover and keyboard focus), the references, then the findings.
    Autoescaped, as rendered pages are: nothing from a page or the library becomes markup."""
    from importlib.resources import files

    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("evidence.audit") / "templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
    pages = [
        {
            "path": audit.page.path,
            "summary": summary_line(audit),
            "counts": {v: audit.count(v) for v in VERDICTS},
            "findings": list(audit.findings),
            "matches": list(audit.matches),
            "parts": page_parts(audit),
            "verdicts": [
                {"number": n, "verdict": v.verdict, "claim": v.claim.text, "reason": v.reason}
                for n, v in enumerate(audit.verdicts, 1)
            ],
        }
        for audit in audits
    ]
    return env.get_template("report.html.j2").render(pages=pages, verdicts=VERDICTS, labels=LABELS)


def format_json(audits: Sequence[PageAudit]) -> str:
    return json.dumps([audit_record(a) for a in audits], indent=2, ensure_ascii=False) + "\n"
