"""The reader's training loop: listwise over each question's candidates against a no-answer option, plus a
pointwise term (so logits mean the same across questions) and a short-answer span term; seeded, with progress."""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from qa.answerers.pairs import Encoded, PairEncoder, batch
from qa.answerers.training.lists import QuestionList, Row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """How the reader is trained (`qa train-reader` flags of the same names)."""

    epochs: float = 1.5
    group: int = 8  # candidates per question in a step: its right ones (at most `positives`) and hard wrong ones
    positives: int = 2
    hard: int = 24  # wrong candidates are drawn from the prefilter's best this many (what the reader will read)
    groups_per_step: int = 4
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    pointwise: float = 0.5  # weight of the per-candidate logistic loss
    span: float = 0.5  # weight of the short-answer span loss
    seed: int = 21
    threads: int = 0  # torch CPU threads (0: torch's default)
    places: bool = True  # the reader reads where a candidate sits relative to the previous answer (pairs.PLACES)
    bf16: str = "auto"  # bfloat16 autocast: "auto" (on where the CPU has bf16 matrix units, or on a GPU), "on", "off"
    max_questions: int = 0  # train on this many questions only (0: all), for a quick try


@dataclass
class Group:
    """A training step's share from one question: pair indices into the encoded pool and their labels."""

    pairs: list[int]
    labels: list[int]
    spans: list[tuple[int, int] | None]  # token (start, end) of the short answer in a right candidate's pair


def sample_group(qlist: QuestionList, rng: random.Random, settings: TrainSettings) -> list[Row] | None:
    """The candidates one question contributes to a step: up to `positives` right ones and hard wrong ones (drawn
    from the prefilter's best `hard`, the better ranked more often), or only wrong ones for an unanswerable question."""
    right = [r for r in qlist.rows if r.label == 1]
    wrong = [r for r in qlist.rows if r.label == 0]
    if qlist.answerable and not right:
        return None  # no right candidate was found: nothing to learn which sentence answers
    chosen = rng.sample(right, min(len(right), settings.positives))
    hard = [r for r in wrong if r.rank < settings.hard]
    rest = [r for r in wrong if r.rank >= settings.hard]
    want = settings.group - len(chosen)
    weights = [1.0 / (r.rank + 4) for r in hard]
    picked: list[Row] = []
    while hard and len(picked) < want - (1 if rest else 0):
        i = rng.choices(range(len(hard)), weights)[0]
        picked.append(hard.pop(i))
        weights.pop(i)
    if rest and len(picked) < want:
        picked.append(rng.choice(rest))
    return chosen + picked


def token_span(encoded: Encoded, span: tuple[int, int]) -> tuple[int, int] | None:
    """The (start, end) token positions of a character span of the candidate sentence, when it lies in the pair."""
    first, _ = encoded.sentence
    start = end = None
    for i, (a, b) in enumerate(encoded.offsets):
        if start is None and b > span[0]:
            start = first + i
        if a < span[1]:
            end = first + i
    if start is None or end is None or end < start:
        return None
    return start, end


def train(
    network: Any, pair_encoder: PairEncoder, lists: Sequence[QuestionList], settings: TrainSettings, *,
    progress: Callable[[dict[str, Any]], None] | None = None, show: bool = True,
) -> dict[str, Any]:
    """Fine-tune `network` (a ReaderNet) on the lists; returns what happened (steps, losses, seconds)."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = next(network.parameters()).device
    low_precision = use_bf16(settings.bf16, device.type)
    usable = [q for q in lists if (not q.answerable) or any(r.label == 1 for r in q.rows)]
    if settings.max_questions:
        usable = rng.sample(usable, min(settings.max_questions, len(usable)))
    steps_per_epoch = math.ceil(len(usable) / settings.groups_per_step)
    total = max(1, int(steps_per_epoch * settings.epochs))
    heads = [p for n, p in network.named_parameters() if not n.startswith("encoder.")]
    body = [p for n, p in network.named_parameters() if n.startswith("encoder.")]
    optimizer = torch.optim.AdamW([
        {"params": body, "lr": settings.learning_rate, "weight_decay": settings.weight_decay},
        {"params": heads, "lr": settings.head_learning_rate, "weight_decay": 0.0},
    ])
    warm = max(1, int(total * settings.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (total - step) / max(1, total - warm)))
    network.train()
    started = time.time()
    history: list[dict[str, float]] = []
    bar = tqdm(total=total, desc="training the reader", unit="step", disable=not show)
    step, order, pairs_seen = 0, [], 0
    running = {"loss": 0.0, "list": 0.0, "point": 0.0, "span": 0.0}
    while step < total:
        if not order:
            order = list(range(len(usable)))
            rng.shuffle(order)
        chunk, order = order[: settings.groups_per_step], order[settings.groups_per_step :]
        texts, labels, spans, owners = [], [], [], []
        for g, qi in enumerate(chunk):
            q = usable[qi]
            rows = sample_group(q, rng, settings)
            if not rows:
                continue
            for r in rows:
                texts.append(q.pair(r))
                labels.append(r.label)
                spans.append(r.short[0] if r.label == 1 and r.short else None)
                owners.append(g)
        if not texts:
            continue
        encoded = pair_encoder.encode(texts)
        inputs = {k: torch.from_numpy(v).to(device) for k, v in batch(encoded).items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=low_precision):
            score, start, end = network(**inputs)
        score, start, end = score.float(), start.float(), end.float()
        y = torch.tensor(labels, dtype=torch.float32, device=device)
        owner = torch.tensor(owners, device=device)
        list_loss = torch.zeros((), device=device)
        groups = sorted(set(owners))
        for g in groups:
            s = score[owner == g]
            pos = y[owner == g] > 0
            everything = torch.logsumexp(torch.cat([s, torch.zeros(1, device=device)]), dim=0)  # the null option's logit is 0
            list_loss = list_loss + everything - (torch.logsumexp(s[pos], dim=0) if pos.any() else 0.0)
        list_loss = list_loss / len(groups)
        point_loss = torch.nn.functional.binary_cross_entropy_with_logits(score, y)
        span_loss = torch.zeros((), device=device)
        targets = [(i, token_span(encoded[i], sp)) for i, sp in enumerate(spans) if sp is not None]
        targets = [(i, t) for i, t in targets if t is not None]
        if targets:
            for i, (a, b) in targets:
                lo, hi = encoded[i].sentence
                span_loss = span_loss + torch.nn.functional.cross_entropy(start[i, lo:hi].unsqueeze(0), torch.tensor([a - lo], device=device))
                span_loss = span_loss + torch.nn.functional.cross_entropy(end[i, lo:hi].unsqueeze(0), torch.tensor([b - lo], device=device))
            span_loss = span_loss / (2 * len(targets))
        loss = list_loss + settings.pointwise * point_loss + settings.span * span_loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        pairs_seen += len(texts)
        for key, value in (("loss", loss), ("list", list_loss), ("point", point_loss), ("span", span_loss)):
            value = float(value.detach()) if hasattr(value, "detach") else float(value)
            running[key] = 0.98 * running[key] + 0.02 * value if step > 1 else value
        bar.update(1)
        bar.set_postfix(loss=f"{running['loss']:.3f}", pairs_s=f"{pairs_seen / (time.time() - started):.1f}")
        if step % 50 == 0 or step == total:
            record = {"step": step, "of": total, "seconds": round(time.time() - started, 1), "pairs": pairs_seen,
                      **{k: round(v, 4) for k, v in running.items()}}
            history.append(record)
            log.info("step %d/%d loss %.4f (list %.4f, point %.4f, span %.4f) %.1f pairs/s", step, total, running["loss"],
                     running["list"], running["point"], running["span"], pairs_seen / (time.time() - started))
            if progress:
                progress(record)
    bar.close()
    network.eval()
    return {"settings": asdict(settings), "questions": len(usable), "steps": total, "pairs": pairs_seen,
            "seconds": round(time.time() - started, 1), "history": history}


def predict(network: Any, pair_encoder: PairEncoder, lists: Sequence[QuestionList], *, within: int, batch_pairs: int = 64,
            show: bool = True) -> list[np.ndarray]:
    """The network's logits for each question's candidates among the prefilter's best `within` (torch, fp32)."""
    import torch
    from tqdm import tqdm

    out = []
    device = next(network.parameters()).device
    network.eval()
    with torch.no_grad():
        for q in tqdm(lists, desc="reading", unit="question", disable=not show):
            rows = [r for r in q.rows if r.rank < within]
            logits = np.zeros(len(rows))
            encoded = pair_encoder.encode([q.pair(r) for r in rows])
            order = sorted(range(len(rows)), key=lambda i: len(encoded[i].ids))
            for a in range(0, len(order), batch_pairs):
                idx = order[a : a + batch_pairs]
                inputs = {k: torch.from_numpy(v).to(device) for k, v in batch([encoded[i] for i in idx]).items()}
                logits[idx] = network(**inputs)[0].float().cpu().numpy()
            out.append(logits)
    return out


def use_bf16(setting: str, device: str) -> bool:
    """Whether to train in bfloat16 autocast: "on", "off", or "auto": on a GPU, or a CPU with bf16 matrix units
    (AMX or AVX-512 BF16), where it is about a third faster; elsewhere it would be slower."""
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"bf16 must be auto, on or off, got {setting!r}")
    if setting != "auto":
        return setting == "on"
    if device != "cpu":
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def save_checkpoint(network: Any, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)
