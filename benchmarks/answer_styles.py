"""Quoted against written answers on News100: `python -m benchmarks.answer_styles [--llm PATH.gguf|URL ...]`.

The questions are the News100 lines (ids `n100-…`) of the question set's test split, follow-ups asked after their
own conversation with the style's own earlier answers, on an index of the 100 News100 articles. The quoted style
is the extractive answerer; the written one is the generative answerer with SmolLM2 (and every `--llm` given).
Per style: accuracy (an accepted phrase in the answer from the right article), right by kind, abstention on
unanswerable questions, for written answers the share of sentences supported and the fallback rate, time to the
first token, decoding tokens/s and total answer time (p50/p95). The model's replies are kept in
benchmarks/.cache/answer-styles/<model>.jsonl: `--rescore` re-checks them with the current support model (the
support check does not change what the model writes). `--budgets 1x1,5x1,5x2` measures the first token for
passage budgets (passages x sentences each). Writes benchmarks/results/answer_styles.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent

from benchmarks.common import machine  # noqa: E402
from qa.answerers import ExtractiveAnswerer  # noqa: E402
from qa.answerers.generative import GenerativeAnswerer, Prepared  # noqa: E402
from qa.answerers.llm import Generator, Reply, load_generator, packaged_smollm2  # noqa: E402
from qa.answerers.prompt import Passage, fit_prompt  # noqa: E402
from qa.encoders import set_threads  # noqa: E402
from qa.evaluation import metrics as m  # noqa: E402
from qa.evaluation import read_questions  # noqa: E402
from qa.evaluation.eval_answers import Conversations, answer_record  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.stores import MANIFEST  # noqa: E402
from qa.types import Answer, Citation, ShortAnswer, TextDelta  # noqa: E402

CACHE = ROOT / ".cache" / "answer-styles"
KINDS = ("first", "followup", "casual", "unanswerable")
GOAL_TTFT_S = 1.5


def build_index(index: Path) -> None:
    from qa.reading.demo import demo_articles
    from qa.ingest import ingest

    if not (index / MANIFEST).exists():
        print(f"indexing News100 in {index}", file=sys.stderr)
        ingest(demo_articles("News100"), index, progress=True)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")


def answer_dict(a: Answer) -> dict[str, Any]:
    return a.to_dict()


def answer_from(d: dict[str, Any]) -> Answer:
    """An Answer back from its JSON (what the checks and the scoring read)."""
    citations = [Citation(**c) for c in d["citations"]]
    short = ShortAnswer(**d["short"]) if d.get("short") else None
    keep = {k: d[k] for k in ("text", "abstained", "confidence", "query", "score", "style", "fallback", "note")}
    return Answer(citations=citations, short=short, **keep)


class Recording(Generator):
    """A generator that passes another's reply through, noting when each piece reached the answerer."""

    def __init__(self, inner: Generator) -> None:
        super().__init__(max_tokens=inner.settings.max_tokens)
        self.inner = inner
        self.pieces: list[tuple[float, str]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def context_size(self) -> int:
        return self.inner.context_size

    def stream(self, messages: Any, **overrides: Any) -> Reply:
        reply = self.inner.stream(messages, **overrides)

        def tap() -> Iterator[str]:
            try:
                for piece in reply:
                    self.pieces.append((time.perf_counter(), piece))
                    yield piece
            finally:
                reply.close()

        return Reply(tap())

    def count_tokens(self, text_or_messages: Any) -> int:
        return self.inner.count_tokens(text_or_messages)

    def close(self) -> None:
        self.inner.close()

    def _stream(self, messages: Any, settings: Any) -> Iterator[Any]:
        raise NotImplementedError  # stream() is passed through whole

    def _count_text(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def _count_messages(self, messages: Any) -> int:
        return self.inner.count_tokens(messages)


# -- one pass of the questions -------------------------------------------------------------------
def run_quoted(answerer: ExtractiveAnswerer, questions: list[Any]) -> list[dict[str, Any]]:
    records, times = [], {}

    def ask(question: str, mode: str, turns: list[Any]) -> Answer:
        t = time.perf_counter()
        answer = answerer.ask(question, turns)
        times[(question, len(turns))] = time.perf_counter() - t
        return answer

    conversations = Conversations(ask, "hybrid")
    for q in questions:
        turns = conversations.turns(q.history)
        answer = ask(q.question, "hybrid", turns)
        conversations.remember(q.history, q.question, answer)
        total = times[(q.question, len(turns))]
        records.append({"id": q.id, "kind": q.kind, "answer": answer_dict(answer), "first_s": total, "total_s": total})
    return records


def run_written(answerer: GenerativeAnswerer, questions: list[Any], path: Path, direct_every: int) -> list[dict[str, Any]]:
    """Each question through `stream`, timed; the reply's sentences and the prompt's passages kept in `path`."""
    records: list[dict[str, Any]] = []
    timings: dict[tuple[str, int], dict[str, Any]] = {}

    recording = answerer.generator
    assert isinstance(recording, Recording)

    def ask(question: str, mode: str, turns: list[Any]) -> Answer:
        recording.pieces = []
        t = time.perf_counter()
        first, answer = None, None
        for event in answerer.stream(question, turns):
            if isinstance(event, TextDelta):
                if event.text.strip() and first is None:
                    first = time.perf_counter()
            else:
                answer = event
        total = time.perf_counter() - t
        assert answer is not None
        pieces = recording.pieces
        timings[(question, len(turns))] = {
            "first_s": (first - t) if first else total, "total_s": total, "reply_tokens": len(pieces),
            "reply": "".join(p for _, p in pieces), "decode_s": pieces[-1][0] - pieces[0][0] if len(pieces) > 1 else 0.0}
        return answer

    conversations = Conversations(ask, "hybrid")
    with path.open("w", encoding="utf-8") as out:
        for i, q in enumerate(questions):
            turns = conversations.turns(q.history)
            answer = ask(q.question, "hybrid", turns)
            conversations.remember(q.history, q.question, answer)
            record = {"id": q.id, "kind": q.kind, "answer": answer_dict(answer), **timings[(q.question, len(turns))]}
            prepared = answerer.prepare(q.question, turns)
            if isinstance(prepared, Prepared):
                messages, passages, tokens = fit_prompt(answerer.generator, prepared.question, prepared.passages,
                                                        prepared.turns, prepared.settings.max_tokens)
                record.update(question=prepared.question, query=prepared.query, prompt_tokens=tokens,
                              passages=[asdict(p) for p in passages], quoted=answer_dict(prepared.quoted),
                              turns=[asdict(t) for t in prepared.turns])
                if direct_every and i % direct_every == 0:
                    record["runtime_tokens_per_s"] = runtime_speed(recording.inner, messages, prepared.settings.max_tokens)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            records.append(record)
            print(f"{i + 1}/{len(questions)} {record['first_s']:.1f}s {answer.style}{' fallback' if answer.fallback else ''}: "
                  f"{answer.text[:90]!r}", file=sys.stderr)
    return records


def runtime_speed(generator: Any, messages: list[dict[str, str]], max_tokens: int) -> float | None:
    """llama.cpp's own decoding tokens/s for the same prompt, xllamacpp called directly (local models only)."""
    server = getattr(generator, "_server", None)
    if server is None:
        return None
    last: list[Any] = []
    request = {"messages": messages, "stream": True, "max_tokens": max_tokens, "temperature": 0.0, "cache_prompt": True}
    server.handle_chat_completions(request, lambda chunk: last.append(chunk) or False)
    timings = next((c["timings"] for c in reversed(last) if isinstance(c, dict) and c.get("timings")), {})
    return timings.get("predicted_per_second")


def rescore(answerer: GenerativeAnswerer, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The kept replies checked again with the answerer's current support model."""
    out = []
    for r in records:
        if "passages" not in r:
            out.append(r)
            continue
        quoted = answer_from(r["quoted"])
        passages = [Passage(**p) for p in r["passages"]]
        prepared = Prepared(answerer.settings, r["question"], r["query"], [], passages, quoted)
        sentences = [(c["text"], c["cited"]) for c in r["answer"]["claims"]]
        answer = answerer.recheck(prepared, sentences)
        out.append({**r, "answer": answer_dict(answer)})
    return out


# -- metrics ------------------------------------------------------------------------------------------
def summarise(records: list[dict[str, Any]], questions: dict[str, Any], retriever: Retriever) -> dict[str, Any]:
    scored = []
    for r in records:
        q = questions[r["id"]]
        relevant = [retriever.resolve(x) or x for x in q.relevant]
        scored.append({**answer_record(answer_from(r["answer"]), q, relevant, r["total_s"] * 1000), **r})
    answered = [s for s in scored if not s["answer"]["abstained"]]
    written = [s for s in answered if s["answer"]["style"] == "written" or s["answer"]["fallback"]]
    claims = [c for s in written for c in s["answer"]["claims"]]
    decode = [(s["reply_tokens"] - 1) / s["decode_s"] for s in written if s.get("decode_s", 0) > 0.2 and s.get("reply_tokens", 0) > 2]
    pairs = [(s["reply_tokens"] - 1) / s["decode_s"] / s["runtime_tokens_per_s"] for s in written
             if s.get("runtime_tokens_per_s") and s.get("decode_s", 0) > 0.2 and s.get("reply_tokens", 0) > 2]
    firsts = [s["first_s"] for s in scored]
    firsts_written = [s["first_s"] for s in written]
    totals = [s["total_s"] for s in scored]
    out: dict[str, Any] = {
        "questions": len(scored),
        "accuracy": _share([s["correct"] for s in scored if "correct" in s]),
        "right_by_kind": {k: _share([s["right"] for s in scored if s["kind"] == k and "right" in s]) for k in KINDS},
        "abstained_unanswerable": _share([float(s["answer"]["abstained"]) for s in scored if not s["answerable"]]),
        "abstained_answerable": _share([float(s["answer"]["abstained"]) for s in scored if s["answerable"]]),
        "first_token_s": _dist(firsts),
        "total_s": _dist(totals),
    }
    if written:
        shown = [s for s in written if not s["answer"]["fallback"]]
        out.update({
            "attempted": len(written),
            "fallback_rate": _share([float(s["answer"]["fallback"]) for s in written]),
            "fallback_notes": _notes(written),
            "sentences": len(claims),
            "sentences_supported": _share([float(c["supported"]) for c in claims]),
            "sentences_cited_by_model": _share([float(bool(c["cited"])) for c in claims]),
            "written_shown": len(shown),
            "accuracy_written_shown": _share([s["correct"] for s in shown if "correct" in s]),
            "first_token_written_s": _dist(firsts_written),
            "prompt_tokens": _dist([float(s["prompt_tokens"]) for s in written if "prompt_tokens" in s]),
            "decode_tokens_per_s": _dist(decode),
            "decode_ratio_to_runtime": _ratio(pairs),
        })
    return out


def _share(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"value": 0.0, "n": 0, "ci95": [0.0, 0.0]}
    _, low, high = m.paired_difference(values, [0.0] * len(values))
    return {"value": round(m.mean(values), 4), "n": len(values), "ci95": [round(low, 4), round(high, 4)]}


def _dist(values: list[float]) -> dict[str, Any]:
    return {"p50": round(m.percentile(values, 50), 3), "p95": round(m.percentile(values, 95), 3), "n": len(values)}


def _ratio(values: list[float]) -> dict[str, Any]:
    import math

    if not values:
        return {"geomean": None, "n": 0, "ci95": [None, None]}
    logs = [math.log(v) for v in values]
    mean, low, high = m.paired_difference(logs, [0.0] * len(logs))
    return {"geomean": round(math.exp(mean), 3), "n": len(values), "ci95": [round(math.exp(low), 3), round(math.exp(high), 3)]}


def _notes(records: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in records:
        note = s["answer"]["note"]
        key = "none" if not note else "model failed" if "failed" in note else "no answer found by the model" if "found no" in note \
            else "wrote nothing" if "wrote no" in note else "unsupported sentences"
        counts[key] = counts.get(key, 0) + 1
    return counts


# -- first token by passage budget ---------------------------------------------------------------------
def budgets(answerer: GenerativeAnswerer, questions: list[Any], spec: str, n: int) -> list[dict[str, Any]]:
    """First token and prompt size for each budget (passages x sentences), on the same `n` single questions."""
    out = []
    singles = [q for q in questions if not q.history and q.answerable][:n]
    for item in spec.split(","):
        count, width = (int(x) for x in item.lower().split("x"))
        firsts, tokens = [], []
        for q in singles:
            prepared = answerer.prepare(q.question, passages=count, passage_sentences=width)
            if not isinstance(prepared, Prepared):
                continue
            tokens.append(float(fit_prompt(answerer.generator, prepared.question, prepared.passages, [], 160)[2]))
            t = time.perf_counter()
            events = answerer.stream(q.question, passages=count, passage_sentences=width)
            for event in events:
                if isinstance(event, TextDelta) and event.text.strip():
                    firsts.append(time.perf_counter() - t)
                    break
            events.close()  # stops the model
        row = {"passages": count, "sentences_each": width, "prompt_tokens": _dist(tokens), "first_token_s": _dist(firsts),
               "within_goal": _share([float(f <= GOAL_TTFT_S) for f in firsts])}
        print(f"budget {item}: prompt {row['prompt_tokens']['p50']:.0f} tokens, first token p50 {row['first_token_s']['p50']:.2f} s",
              file=sys.stderr)
        out.append(row)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "news100-index")
    parser.add_argument("--questions", type=Path, default=ROOT / "questions" / "answers-test.jsonl")
    parser.add_argument("--prefix", default="n100-", help="only question ids starting with this (default: the News100 part)")
    parser.add_argument("--llm", action="append", default=[], help="a model to compare too (PATH.gguf or URL; repeatable)")
    parser.add_argument("--llm-model", default="", help="the model name on the --llm server")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--rescore", action="store_true", help="re-check the kept replies; do not run the models")
    parser.add_argument("--budgets", default="", help="first-token budgets to measure, e.g. 1x1,3x1,5x1,5x2")
    parser.add_argument("--budget-questions", type=int, default=15)
    parser.add_argument("--written", default="", metavar="PxS,...",
                        help="written-answer prompt budgets to compare in this run, passages x sentences each (default: "
                             "the product's, 5x2), e.g. 5x2,5x1; each is a style of its own in the results")
    parser.add_argument("--direct-every", type=int, default=4, help="llama.cpp's own decoding speed on every Nth prompt")
    parser.add_argument("--threads", type=int, default=1, help="encoder CPU threads, as app.py sets them")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "answer_styles.json")
    args = parser.parse_args()
    build_index(args.index)
    if args.threads:
        set_threads(args.threads)
    all_questions, skipped = read_questions(args.questions)
    questions = [q for q in all_questions if q.id.startswith(args.prefix)]
    questions = questions[: args.limit] if args.limit else questions
    by_id = {q.id: q for q in questions}
    retriever = Retriever.load(args.index)
    extractive = ExtractiveAnswerer(retriever)
    extractive.warm()
    CACHE.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "questions_file": str(args.questions.relative_to(ROOT.parent)) if args.questions.is_relative_to(ROOT.parent) else str(args.questions),
        "questions": len(questions), "index": "News100 (100 articles)", "machine": machine(), "styles": {},
    }
    quoted = run_quoted(extractive, questions)
    doc["styles"]["quoted"] = summarise(quoted, by_id, retriever)
    models = [str(packaged_smollm2())] + args.llm
    written_budgets = [tuple(int(x) for x in b.lower().split("x")) for b in args.written.split(",") if b.strip()] or [None]
    for spec, budget in [(spec, b) for spec in models for b in written_budgets]:
        generator = load_generator(spec, args.llm_model if spec.startswith("http") else "", context_size=2048) \
            if not spec.startswith("http") else load_generator(spec, args.llm_model)
        sizes = {"passages": budget[0], "passage_sentences": budget[1]} if budget else {}
        answerer = GenerativeAnswerer(retriever, generator=Recording(generator), extractive=extractive, **sizes)
        tag = f"-{budget[0]}x{budget[1]}" if budget else ""
        path = CACHE / f"{slug(generator.name)}-{args.questions.stem}{tag}.jsonl"
        if args.rescore:
            records = rescore(answerer, [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])
        else:
            records = run_written(answerer, questions, path, args.direct_every)
        summary = summarise(records, by_id, retriever)
        summary["paired_vs_quoted"] = paired(quoted, records, by_id, retriever)
        if args.budgets:
            summary["budgets"] = budgets(answerer, questions, args.budgets, args.budget_questions)
        summary["model"] = generator.name
        summary["settings"] = asdict(answerer.settings)
        doc["styles"][f"written: {generator.name}" + (f" ({budget[0]}x{budget[1]})" if budget else "")] = summary
        generator.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk in ("accuracy", "fallback_rate", "sentences_supported", "first_token_s")}
                      for k, v in doc["styles"].items()}, indent=1))
    return 0


def paired(quoted: list[dict[str, Any]], written: list[dict[str, Any]], by_id: dict[str, Any], retriever: Retriever) -> dict[str, Any]:
    """Written minus quoted accuracy on the same answerable questions, with a paired 95% interval."""
    def correct(records: list[dict[str, Any]]) -> dict[str, float]:
        out = {}
        for r in records:
            q = by_id[r["id"]]
            rec = answer_record(answer_from(r["answer"]), q, [retriever.resolve(x) or x for x in q.relevant], 0.0)
            if "right" in rec:
                out[r["id"]] = rec["right"]
        return out

    a, b = correct(written), correct(quoted)
    ids = sorted(set(a) & set(b))
    diff, low, high = m.paired_difference([a[i] for i in ids], [b[i] for i in ids])
    return {"right_difference": round(diff, 4), "ci95": [round(low, 4), round(high, 4)], "n": len(ids)}


if __name__ == "__main__":
    sys.exit(main())
