"""Tables for benchmarks/serve.py: latency summaries with bootstrap intervals, runs side by side, paired ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def summary(latencies: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """p50 and p95 with bootstrap 95% intervals, in seconds."""
    rng = np.random.default_rng(seed)
    draws = rng.choice(latencies, size=(2000, len(latencies)), replace=True)
    out: dict[str, Any] = {"latencies_s": [round(float(x), 4) for x in latencies]}
    for p in (50, 95):
        boot = np.percentile(draws, p, axis=1)
        out[f"p{p}_s"] = round(float(np.percentile(latencies, p)), 3)
        out[f"p{p}_ci95"] = [round(float(np.percentile(boot, 2.5)), 3), round(float(np.percentile(boot, 97.5)), 3)]
    return out


def row(label: str, scenario: str, r: dict[str, Any], rss: str) -> str:
    extra = f" ({r['inside_ingest']} during the {r['ingest_s']:.0f} s ingest)" if "inside_ingest" in r else ""
    return (f"| {label} | {scenario} | {r['asks']}{extra} | {r['errors']} | {r['correct']} | {r['p50_s']:.2f} "
            f"[{r['p50_ci95'][0]:.2f}, {r['p50_ci95'][1]:.2f}] | {r['p95_s']:.2f} [{r['p95_ci95'][0]:.2f}, {r['p95_ci95'][1]:.2f}] "
            f"| {r.get('answers_per_s', float('nan')):.1f} | {rss} |")


def table(results: list[dict[str, Any]], clients: int) -> str:
    lines = [f"| index · code | run | asks | errors | right | p50 s [95% CI] | p95 s [95% CI] | answers/s | server RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        label = f"{Path(res['index']).name} · {res['code']} (load {res.get('load_average', float('nan')):.0f})"
        lines.append(row(label, "one at a time", res["sequential"], f"{res['rss_start_mb']:.0f} → {res['rss_before_mb']:.0f}"))
        before = res["rss_before_mb"]
        for n, r in enumerate(res["idle"], 1):
            lines.append(row(label, f"{clients} at once, pass {n}", r, f"{before:.0f} → {r['rss_after_mb']:.0f}"))
            before = r["rss_after_mb"]
        if "during_ingest" in res:
            r = res["during_ingest"]
            lines.append(row(label, f"{clients} at once, UI ingest", r, f"→ {r['rss_after_mb']:.0f}"))
    return "\n".join(lines)


def paired(results: list[dict[str, Any]], baseline: str = "main", seed: int = 0) -> list[dict[str, Any]]:
    """p50 and p95 of each code against the baseline's in the same round and pass, with bootstrap 95% intervals."""
    rng = np.random.default_rng(seed)
    out = []
    for index in dict.fromkeys(r["index"] for r in results):
        runs = [r for r in results if r["index"] == index]
        base = [r for r in runs if r["code"] == baseline]
        for code in dict.fromkeys(r["code"] for r in runs if r["code"] != baseline):
            for n, (b, t) in enumerate(zip(base, [r for r in runs if r["code"] == code]), 1):
                passes = [(f"pass {i}", bp, tp) for i, (bp, tp) in enumerate(zip(b["idle"], t["idle"]), 1)]
                if "during_ingest" in b and "during_ingest" in t:
                    passes.append(("UI ingest", b["during_ingest"], t["during_ingest"]))
                for name, bp, tp in passes:
                    x, y = np.array(bp["latencies_s"]), np.array(tp["latencies_s"])
                    bx = rng.choice(x, (2000, len(x))), rng.choice(y, (2000, len(y)))
                    row = {"index": Path(index).name, "code": code, "round": n, "run": name}
                    for p in (50, 95):
                        ratios = np.percentile(bx[1], p, axis=1) / np.percentile(bx[0], p, axis=1)
                        row[f"p{p}_ratio"] = round(float(np.percentile(y, p) / np.percentile(x, p)), 3)
                        row[f"p{p}_ratio_ci95"] = [round(float(np.percentile(ratios, q)), 3) for q in (2.5, 97.5)]
                    out.append(row)
    return out


def ratio_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| index · code | round | run | p50 vs main [95% CI] | p95 vs main [95% CI] |", "|---|---|---|---|---|"]
    lines += [f"| {r['index']} · {r['code']} | {r['round']} | {r['run']} | {r['p50_ratio']:.2f} [{r['p50_ratio_ci95'][0]:.2f}, "
              f"{r['p50_ratio_ci95'][1]:.2f}] | {r['p95_ratio']:.2f} [{r['p95_ratio_ci95'][0]:.2f}, {r['p95_ratio_ci95'][1]:.2f}] |" for r in rows]
    return "\n".join(lines)
