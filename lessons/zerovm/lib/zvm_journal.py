"""The zerovm runtime's journal (one JSON line per run), for the lesson's checks."""
import json

JOURNAL = "/var/log/zerovm/journal.jsonl"


def runs(program=None):
    """Every recorded run, oldest first; only those of `program` (e.g. "wc.nexe") when given."""
    try:
        with open(JOURNAL) as f:
            all_runs = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [r for r in all_runs if program is None or r["program"].endswith("/" + program)]
