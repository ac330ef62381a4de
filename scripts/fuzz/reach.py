"""How far `make fuzz` reached: per operation, how its cases were answered.

    python3 scripts/fuzz/reach.py [--check] WORK/events.ndjson [WORK/path-ids.txt]

Reads schemathesis' ndjson report (one event a line; each ScenarioFinished
carries a recorder with the scenario's cases and their interactions) and
hooks.py's note of which cases went out with the seeded path ids (`<case id>
seeded|generated`, beside the report by default). For each operation it
prints the cases sent and the share answered:

  ok         2xx or 3xx: the handler did its work
  404 seeded 404 although every path id was one the hooks seeded: data the
             fuzzer should have had was missing (the figure to keep <= 5 %)
  404 gen    404 for an id the fuzzer generated (one case in four keeps its
             generated id on purpose, so unknown and malformed ids stay covered)
  404 body   404 on a route without path ids (unknown tokens in bodies)
  4xx val    400 or 422 (the body, query or header was refused)
  val+       the same share among positive cases only (data generated to match
             the schema): high means the schema promises less than the API
             enforces
  401/403    refused for the caller

Exit status 0; with --check, 1 when an operation has no case or has more than
5 % of its cases answered 404 with seeded ids. Standard library only.
"""
import base64
import json
import os
import re
import sys
import urllib.parse
from collections import defaultdict

LIMIT = 0.05
ID_SHAPE = re.compile(r"^[a-z]{2,6}_[0-9A-Za-z]{10,}$")


def cases_of(events_path):
    """(operation, phase, mode, status, problem code, path values) per case
    sent to a documented operation (the coverage phase also probes each path
    with the methods it does not document: those cases are left out)."""
    with open(events_path, encoding="utf-8") as f:
        finished_events = [e["ScenarioFinished"] for e in map(json.loads, f) if "ScenarioFinished" in e]
    documented = {(e.get("recorder") or {}).get("label") for e in finished_events}
    for finished in finished_events:
        if True:
            recorder = finished.get("recorder") or {}
            cases = recorder.get("cases") or {}
            for case_id, interaction in (recorder.get("interactions") or {}).items():
                case = (cases.get(case_id) or {}).get("value") or {}
                response = interaction.get("response")
                if not case or not response:
                    continue
                template = case["path"]
                if f"{case['method']} {template}" not in documented:
                    continue
                sent = urllib.parse.urlsplit(interaction["request"]["uri"]).path
                yield {
                    "id": case_id,
                    "operation": f"{case['method']} {template}",
                    "phase": finished.get("phase", "?"),
                    "mode": ((case.get("meta") or {}).get("generation") or {}).get("mode", "?"),
                    "status": response["status_code"],
                    "code": problem_code(response),
                    "params": path_values(template, sent),
                }


def problem_code(response):
    content = response.get("content") or {}
    raw = content.get("$base64")
    if raw is None:
        return None
    try:
        body = json.loads(base64.b64decode(raw))
    except (ValueError, UnicodeDecodeError):
        return None
    return body.get("code") if isinstance(body, dict) else None


def path_values(template, sent):
    """{name: value} of the template's `{name}` segments in the path sent."""
    names = template.strip("/").split("/")
    values = sent.strip("/").split("/")
    if len(names) != len(values):
        return None  # a generated value with a slash in it: not a seeded id
    out = {}
    for name, value in zip(names, values):
        if name.startswith("{") and name.endswith("}"):
            out[name[1:-1]] = urllib.parse.unquote(value)
    return out


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if not args:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    events = args[0]
    if not os.path.exists(events):
        print(f"reach: no {events}", file=sys.stderr)
        return 1
    notes_path = args[1] if len(args) > 1 else os.path.join(os.path.dirname(events) or ".", "path-ids.txt")
    notes = {}
    if os.path.exists(notes_path):
        with open(notes_path, encoding="utf-8") as f:
            notes = dict(line.split() for line in f if line.strip())

    # A case the hooks did not note (a report from before they kept notes):
    # ids of the service's own shape (`org_…`, `usr_…`) count as seeded, as
    # the generator does not produce that shape by chance.
    def seeded(case):
        if case["id"] in notes:
            return notes[case["id"]] == "seeded"
        params = case["params"]
        return params is not None and all(ID_SHAPE.match(v) for v in params.values())

    rows = defaultdict(lambda: defaultdict(int))
    for c in cases_of(events):
        row = rows[c["operation"]]
        row["cases"] += 1
        status = c["status"]
        positive = c["mode"] == "positive"
        row["positive"] += positive
        if 200 <= status < 400:
            row["ok"] += 1
        elif status == 404:
            params = c["params"]
            if params == {}:
                row["404 body"] += 1
            elif seeded(c):
                row["404 seeded"] += 1
            else:
                row["404 gen"] += 1
        elif status in (400, 422):
            row["4xx val"] += 1
            row["val+"] += positive
        elif status in (401, 403):
            row["401/403"] += 1
        elif status >= 500:
            row["5xx"] += 1

    def share(row, key, of="cases"):
        return row[key] / row[of] if row[of] else 0.0

    columns = ["ok", "404 seeded", "404 gen", "404 body", "4xx val", "val+", "401/403"]
    width = max((len(op) for op in rows), default=9)
    print(f"{'operation':<{width}} {'cases':>6} " + " ".join(f"{c:>10}" for c in columns))
    order = sorted(rows, key=lambda op: (-share(rows[op], "404 seeded"), -share(rows[op], "val+", "positive"), op))
    for op in order:
        row = rows[op]
        cells = [
            f"{share(row, c, 'positive' if c == 'val+' else 'cases'):>10.0%}" for c in columns
        ]
        print(f"{op:<{width}} {row['cases']:>6} " + " ".join(cells))
    total = sum(r["cases"] for r in rows.values())
    over = [op for op in order if share(rows[op], "404 seeded") > LIMIT]
    no_2xx = [op for op in order if rows[op]["ok"] == 0]
    print(f"\n{len(rows)} operations, {total} cases; "
          f"{sum(r['5xx'] for r in rows.values())} answered 5xx; "
          f"{len(over)} over {LIMIT:.0%} answered 404 with seeded ids; "
          f"{len(no_2xx)} never answered 2xx or 3xx")
    for op in over:
        print(f"  over {LIMIT:.0%} 404 with seeded ids: {op} ({share(rows[op], '404 seeded'):.0%})")
    for op in no_2xx:
        print(f"  never ok: {op}")
    return 1 if check and over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
