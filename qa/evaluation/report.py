"""Evaluation outputs: metrics.json, results.jsonl, report.md and PNG plots (matplotlib, Agg)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from qa.errors import QAError
from qa.evaluation import ModeResult, Skipped, compare_modes, compare_to_baseline, write_jsonl

RECALL_PLOT = "recall_at_k.png"
LATENCY_PLOT = "latency.png"


def check_out_dir(out: Path) -> None:
    """Refuse an output path that is an existing file (before hours of evaluation, not after)."""
    if out.exists() and not out.is_dir():
        raise QAError(f"cannot write the evaluation to {out}: it is a file, not a directory")


def write_outputs(
    out: Path,
    results: Sequence[ModeResult],
    skipped: Sequence[Skipped],
    meta: dict[str, Any],
    baseline: tuple[str, Sequence[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Write every output file under `out`; returns the metrics document. `baseline`: (its directory, its records)."""
    check_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        **meta,
        "skipped": [{"line": s.line, "reason": s.reason} for s in skipped],
        "modes": {r.mode: r.metrics for r in results},
        "comparisons": compare_modes(results),
    }
    if baseline is not None:
        doc["baseline"] = {"directory": baseline[0], "comparisons": compare_to_baseline(results, baseline[1])}
    (out / "metrics.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_jsonl(out / "results.jsonl", (rec for r in results for rec in r.records))
    plot_recall(out / RECALL_PLOT, results)
    plot_latency(out / LATENCY_PLOT, results)
    (out / "report.md").write_text(markdown(doc), encoding="utf-8")
    return doc


def markdown(doc: dict[str, Any]) -> str:
    """The human-readable report: one table per metric family, the skipped lines, the plots."""
    modes: dict[str, dict[str, Any]] = doc["modes"]
    lines = [
        "# Evaluation report",
        "",
        f"Questions: {doc.get('questions_file', '')} ({doc.get('questions', 0)} used, {len(doc['skipped'])} skipped)  ",
        f"Index: {doc.get('index', '')}  ",
        "Ranking metrics are at article level (passages ranked, then each article at its first passage).",
        "",
        "## Retrieval",
        "",
        "| mode | questions | recall@1 | recall@5 | recall@10 | MRR@10 | nDCG@10 | latency p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, mt in modes.items():
        lat = mt["latency_ms"]
        lines.append(
            f"| {mode} | {mt['with_relevant']} | {mt['recall@1']:.4f} | {mt['recall@5']:.4f} | {mt['recall@10']:.4f} "
            f"| {mt['mrr@10']:.4f} | {mt['ndcg@10']:.4f} | {lat['p50']:.1f} | {lat['p95']:.1f} |"
        )
    answered = {mode: mt["answer"] for mode, mt in modes.items() if mt.get("answer")}
    lines += ["", "## Answers", ""]
    if answered:
        lines += [
            "Right: an accepted phrase quoted from the right article, or an abstention when the question is",
            "unanswerable. EM and F1: of the short answer (a name, number, date...) where the line expects one.",
            "",
            "| mode | kind | questions | right | abstained | short EM | short F1 (n) | latency p50 ms | p95 ms |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for mode, a in answered.items():
            for kind, k in [("all", a), *a.get("by_kind", {}).items()]:
                lines.append(
                    f"| {mode} | {kind} | {k['questions']} | {k['right']:.4f} | {k['abstained']:.4f} | {k['em']:.4f} "
                    f"| {k['f1']:.4f} ({k['short_expected']}) | {k['latency_ms']['p50']:.1f} | {k['latency_ms']['p95']:.1f} |"
                )
        lines += [
            "",
            "| mode | answerable scored | accuracy | unanswerable | abstention precision | abstention recall |",
            "|---|---|---|---|---|---|",
        ]
        for mode, a in answered.items():
            lines.append(
                f"| {mode} | {a['scored']} | {a['accuracy']:.4f} | {a['unanswerable']} "
                f"| {a['abstention_precision']:.4f} | {a['abstention_recall']:.4f} |"
            )
    else:
        lines.append("No answer metrics (no answerer was run).")
    if doc.get("comparisons"):
        lines += [
            "",
            "## Differences between modes",
            "",
            "Mean per-question difference (first mode minus second) with its 95% paired-bootstrap interval;",
            "an interval that includes 0 means these questions cannot tell the two modes apart.",
            "",
            "| modes | metric | questions | difference | 95% CI |",
            "|---|---|---|---|---|",
        ]
        lines += [_difference_row(f"{c['modes'][0]} - {c['modes'][1]}", c) for c in doc["comparisons"]]
    if doc.get("baseline"):
        lines += [
            "",
            f"## Against the baseline ({doc['baseline']['directory']})",
            "",
            "Mean per-question difference (this run minus the baseline, same mode, the questions both runs asked)",
            "with its 95% paired-bootstrap interval; an interval that includes 0 is no measurable change.",
            "",
            "| mode | metric | questions | difference | 95% CI |",
            "|---|---|---|---|---|",
        ]
        lines += [_difference_row(c["mode"], c) for c in doc["baseline"]["comparisons"]]
    if doc["skipped"]:
        lines += ["", "## Skipped lines", ""] + [f"- line {s['line']}: {s['reason']}" for s in doc["skipped"]]
    lines += ["", "## Plots", "", f"![recall@k]({RECALL_PLOT})", "", f"![latency]({LATENCY_PLOT})", ""]
    return "\n".join(lines)


def _difference_row(label: str, c: dict[str, Any]) -> str:
    low, high = c["ci95"]
    return f"| {label} | {c['metric']} | {c['questions']} | {c['difference']:+.4f} | [{low:+.4f}, {high:+.4f}] |"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_recall(path: Path, results: Sequence[ModeResult]) -> None:
    """Article-level recall@k for k = 1..depth, one line per mode."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for r in results:
        curve = r.metrics.get("recall_curve") or []
        ax.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3, label=r.mode)
    ax.set_xlabel("k (articles)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_title("Article recall@k")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def plot_latency(path: Path, results: Sequence[ModeResult]) -> None:
    """Histogram of per-question search latency, one series per mode."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for r in results:
        ax.hist([rec["latency_ms"] for rec in r.records], bins=30, alpha=0.5, label=r.mode)
    ax.set_xlabel("search latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Search latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
