"""A child's record as the file `cin child export` writes: JSON, or a readable HTML page.

Both are made from the same `ChildRecord`: the readable sections (details, each case with its
events, who recorded them, its deadlines and how each was counted, the alerts raised about it,
every access) and, after them, every row of every table about the child, so nothing the database
holds about the child is only in one of the two files.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from models.access.record import LEFT_OUT, ChildRecord

FORMAT = "cin-child-record/1"


def _events_of(record: ChildRecord, case_id: str) -> list[dict[str, Any]]:
    return [e for e in record.tables["case_event"] if e["case_id"] == case_id]


def readable(record: ChildRecord) -> dict[str, Any]:
    """The sections a person reads, built from the rows (every value is in `tables` too)."""
    cases = []
    for case in record.tables["case"]:
        events = [
            {
                "seq": e["seq"],
                "on": e["occurred_on"],
                "event": e["event_type"],
                "details": e["payload"],
                "recorded_at": e["recorded_at"],
                "recorded_by": _who(e),
            }
            for e in sorted(_events_of(record, case["id"]), key=lambda e: e["seq"])
        ]
        deadlines = [
            {k: d[k] for k in ("key", "kind", "due", "status", "met_on", "policy_ref")}
            | {"how_counted": d["explanation"]}
            for d in record.tables["deadline"]
            if d["case_id"] == case["id"]
        ]
        alerts = [
            {k: a[k] for k in ("raised_on", "role", "notice", "kind", "level", "channel", "mode")}
            | {"due": a["due"], "headline": a["headline"], "rule": a["rule"]}
            for a in sorted(record.tables["alert"], key=lambda a: (a["raised_on"], a["key"]))
            if a["case_ref"] == case["case_ref"]
        ]
        cases.append(
            {
                "case": case["case_ref"],
                "team": case["team"],
                "stage": case["stage"],
                "referral_date": case["referral_date"],
                "re_referral": case["re_referral"],
                "events": events,
                "deadlines": sorted(deadlines, key=lambda d: (d["due"], d["key"])),
                "alerts": alerts,
            }
        )
    accesses = [
        {k: a[k] for k in ("at", "actor_kind", "actor", "action", "case_ref", "outcome")}
        for a in sorted(record.tables["audit_log"], key=lambda a: a["at"])
    ]
    details = record.tables["child"][0] if record.tables["child"] else None
    return {
        "details": details,
        "cases": sorted(cases, key=lambda c: (c["referral_date"], c["case"])),
        "legal_holds": record.tables["legal_hold"],
        "accesses": accesses,
    }


def _who(event: dict[str, Any]) -> str:
    if event["actor_kind"] == "unknown":
        return str(event["actor"])
    by = f" by {event['recorded_by']}" if event["recorded_by"] else ""
    return f"{event['actor_kind']}:{event['actor']}{by}"


def as_json(record: ChildRecord, produced_at: str) -> bytes:
    document = {
        "format": FORMAT,
        "authority": record.authority,
        "child_ref": record.child_ref,
        "produced_at": produced_at,
        "left_out": {t: list(c) for t, c in LEFT_OUT.items()},
        "record": readable(record),
        "tables": record.tables,
    }
    return (json.dumps(document, indent=2, sort_keys=False, default=str) + "\n").encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return escape(json.dumps(value, default=str))
    return escape(str(value))


def _table(rows: list[dict[str, Any]], empty: str = "none") -> str:
    if not rows:
        return f"<p><em>{escape(empty)}</em></p>"
    head = "".join(f"<th>{escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;"
    "margin:.5em 0 1.5em}td,th{border:1px solid #999;padding:.2em .4em;text-align:left;"
    "vertical-align:top;font-size:90%}th{background:#eee}"
)


def as_html(record: ChildRecord, produced_at: str) -> bytes:
    view = readable(record)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Child's record</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Child's record: {escape(record.child_ref)} ({escape(record.authority)})</h1>",
        f"<p>Produced {escape(produced_at)}. Everything the case database holds about this "
        "child: the sections below, then every row of every table. Left out: the bodies of "
        "alerts and messages, which were written for their recipients.</p>",
        "<h2>Details</h2>",
        _table([view["details"]] if view["details"] else [], "no details recorded"),
        "<h2>Legal holds</h2>",
        _table(view["legal_holds"]),
    ]
    for case in view["cases"]:
        parts += [
            f"<h2>Case {escape(case['case'])}</h2>",
            f"<p>Referred {escape(case['referral_date'])}; stage {escape(case['stage'])}; "
            f"team {escape(case['team'] or 'none')}.</p>",
            "<h3>Events (who recorded each)</h3>",
            _table(case["events"]),
            "<h3>Deadlines and how each was counted</h3>",
            _table(case["deadlines"]),
            "<h3>Alerts raised about the case</h3>",
            _table(case["alerts"]),
        ]
    parts += ["<h2>Every access to the record</h2>", _table(view["accesses"])]
    parts.append("<h2>Every row held, table by table</h2>")
    for name, rows in record.tables.items():
        parts += [f"<h3>{escape(name)} ({len(rows)})</h3>", _table(rows)]
    parts.append("</body></html>\n")
    return "".join(parts).encode()
