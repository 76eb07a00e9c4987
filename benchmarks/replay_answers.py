"""Ask a question file with whichever `qa` package is on the path and dump the answers as JSONL.

Used by benchmarks/ask.py to run an earlier version of the answerer (its `qa/` extracted from git) on the same
questions: only the API every version has is used (`qa.answering.Answerer`, `Turn(question, answer, query)`), and
follow-ups are asked after their history, with that version's own answers carried as the conversation.

    run_with_qa(OLD_TREE, "benchmarks.replay_answers", INDEX, QUESTIONS, OUT.jsonl[, LATENCY.json])   # benchmarks/common.py

With LATENCY.json, it also times the single questions (no history) with a fresh answerer and no sentence vectors
cached (cold), then again (warm), as benchmarks/ask.py times this tree's answerer, in the same run.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict

from benchmarks.common import qa_module

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    index, questions, out = sys.argv[1:4]
    latency_out = sys.argv[4] if len(sys.argv) > 4 else ""
    Answerer = qa_module("qa.answering", "qa").Answerer
    Turn = qa_module("qa.conversation").Turn
    Retriever = qa_module("qa.retrieval").Retriever
    encoders = qa_module("qa.encoders", "qa.encoding")
    if hasattr(encoders, "set_threads"):  # as app.py runs it, and as benchmarks/ask.py runs this tree's answerer
        encoders.set_threads(int(os.environ.get("QA_BENCH_THREADS", "1")))

    def turn(question, a):
        """The turn as that answerer's own conversation keeps it (`Turn.of`, with where the answer was, once it had one)."""
        if hasattr(Turn, "of"):
            return Turn.of(question, a)
        return Turn(question, "" if a.abstained else a.text, a.query)

    answerer = Answerer(Retriever.load(index))
    turns: dict[tuple[str, ...], object] = {}
    lines = [json.loads(line) for line in open(questions, encoding="utf-8") if line.strip()]
    with open(out, "w", encoding="utf-8") as fh:
        for n, row in enumerate(lines, 1):
            history = []
            for i, earlier in enumerate(row.get("history") or []):
                key = tuple(row["history"][: i + 1])
                if key not in turns:
                    a = answerer.ask(earlier, list(history))
                    turns[key] = turn(earlier, a)
                history.append(turns[key])
            answer = answerer.ask(row["question"], history)
            turns.setdefault((*(row.get("history") or []), row["question"]), turn(row["question"], answer))
            record = asdict(answer)
            fh.write(json.dumps({"line": n, "question": row["question"], "history": row.get("history") or [], "answer": record}) + "\n")
    if latency_out:
        import time

        fresh = Answerer(Retriever.load(index), sentence_cache=False)
        fresh.ask("warm-up question about the news")
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        for label in ("cold", "warm"):
            for row in lines:
                if not row.get("history"):
                    t = time.perf_counter()
                    fresh.ask(row["question"])
                    times[label].append((time.perf_counter() - t) * 1000)
        with open(latency_out, "w", encoding="utf-8") as fh:
            json.dump(times, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
