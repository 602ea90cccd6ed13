"""The production-readiness checklist as text (a terminal list), markdown (a pull-request comment or
`$GITHUB_STEP_SUMMARY`) or JSON (`{"items": [...], "summary": {...}}`)."""

from __future__ import annotations

import json

STATUSES = ("pass", "fail", "n/a", "unknown")
_TEXT_MARK = {"pass": "[pass]   ", "fail": "[FAIL]   ", "n/a": "[n/a]    ", "unknown": "[unknown]"}
_MD_MARK = {"pass": "✅ pass", "fail": "❌ fail", "n/a": "➖ n/a", "unknown": "❔ unknown"}


def summary(results, required) -> dict:
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    failing = [r.item.id for r in results if r.item.id in required and r.status in ("fail", "unknown")]
    return {**counts, "required": sorted(required), "required_failing": failing}


def render_text(results, required, files: int) -> str:
    lines = []
    for r in results:
        star = " (required)" if r.item.id in required else ""
        lines.append(f"{_TEXT_MARK[r.status]} {r.item.number:>2}. {r.item.title} [{r.item.id}]{star}")
        if r.note:
            lines.append(f"              {r.note}")
        for row in r.evidence:
            lines.append(f"              - {row}")
        if r.status in ("fail", "unknown"):
            lines.append(f"              > {r.item.advice}")
    lines.append(_summary_line(summary(results, required), files))
    return "\n".join(lines) + "\n"


def _summary_line(s: dict, files: int) -> str:
    text = f"{s['pass']} pass, {s['fail']} fail, {s['n/a']} n/a, {s['unknown']} unknown ({files} file(s) checked)."
    if s["required_failing"]:
        text += f" Required and not passing: {', '.join(s['required_failing'])}."
    return text


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results, required, files: int) -> str:
    out = ["## mllint-deploy production-readiness checklist", "",
           "| # | item | status | evidence | what to do |", "|---|---|---|---|---|"]
    for r in results:
        title = f"{r.item.title} (`{r.item.id}`)" + (" **required**" if r.item.id in required else "")
        evidence = "<br>".join(f"`{_md(row)}`" for row in r.evidence)
        if r.note:
            evidence = _md(r.note) + ("<br>" + evidence if evidence else "")
        advice = _md(r.item.advice) if r.status in ("fail", "unknown") else ""
        out.append(f"| {r.item.number} | {_md(title)} | {_MD_MARK[r.status]} | {evidence} | {advice} |")
    out += ["", _summary_line(summary(results, required), files), ""]
    return "\n".join(out) + "\n"


def render_json(results, required, files: int) -> str:
    items = [{"id": r.item.id, "number": r.item.number, "title": r.item.title, "status": r.status,
              "evidence": r.evidence, "note": r.note, "advice": r.item.advice,
              "required": r.item.id in required} for r in results]
    return json.dumps({"items": items, "summary": {**summary(results, required), "files": files}}, indent=2) + "\n"


FORMATS = {"text": render_text, "markdown": render_markdown, "json": render_json}
