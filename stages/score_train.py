"""score-train (once): the teacher annotates solutions with prompt C (the 6-point rubric),
then the scoring model is fine-tuned on the annotations; agreement with held-out
annotations is reported as exact agreement and Cohen's kappa.

The paper annotates the student's own outputs (D_seed, §3.3.1; "15K question-solution pairs
from the student model's 110K outputs", §4): by default the answers of the cycle-1 student
after correct-and-fault delivery (`score_train.student`), to the seed questions, as feedback
will ask it. The held-out annotations are then of the same kind as what feedback scores."""

from __future__ import annotations

import sys
from collections import Counter

from soda.scoring import collect, sample_questions, split_heldout
from soda.io import InputError, write_jsonl
from soda.params import Generation, Launch, ScoreTrain, Student, Teacher, TrainShared
from soda.io import read_rows
from soda.train import scratch_dir
from stages import In, Out, StageConfig
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics


class Config(StageConfig):
    seed: int
    student: Student  # chat_template (the scorer's too)
    teacher: Teacher
    generation: Generation
    train: TrainShared  # completed into score_train (soda.params.resolve)
    score_train: ScoreTrain
    launch: Launch


def run(cfg: Config, *, questions: In, student: In, scorer_init: In, teacher_model_dir: In, annotations_out: Out,
        out: Out) -> dict:
    from soda.scoring import agreement, round_score
    from soda.student import answer, score, scorer_example
    from soda.train import train_scorer

    st, gen = cfg.score_train, cfg.generation
    rows = sample_questions(read_rows(questions, "question", ("id", "question")), st.num_questions, cfg.seed)
    teacher = make_teacher(cfg.teacher, cfg.runtime, model_dir=teacher_model_dir, seed=cfg.seed)
    student_answers = (answer(str(student), rows, gen, cfg.runtime, n=st.samples, temperature=st.temperature,
                              seed=cfg.seed, chat_template=cfg.student.chat_template)
                       if "student" in st.solutions else [[] for _ in rows])
    annotations = collect(teacher, rows, student_answers, st.solutions)
    train, held = split_heldout(annotations, st.heldout_fraction, cfg.seed)
    if not train:
        raise InputError("score-train: no annotation to train on")
    examples = [scorer_example(r["question"], r["code"], r["completion"], st.format) for r in train]
    if st.head != "generative":  # a score head learns the annotated score, not the annotation's text
        examples = [{"prompt": e["prompt"], "score": r["score"]} for e, r in zip(examples, train)]
    metrics = train_scorer(str(scorer_init), examples, out, st, cfg.seed, scratch_dir("score-train"), st.head,
                           st.format, cfg.student.chat_template, cfg.launch)
    if held:
        pred = score(str(out), [{"question": r["question"]} for r in held], [r["code"] for r in held], gen,
                     cfg.runtime, seed=cfg.seed, chat_template=cfg.student.chat_template)
        metrics["agreement"] = agreement([p.score for p in pred], [r["score"] for r in held])
        if metrics["agreement"]["unscored"] * 2 > len(held):  # feedback would classify from execution alone
            print(f"score-train: warning: the scorer wrote no score for {metrics['agreement']['unscored']} of "
                  f"{len(held)} held-out solutions (docs/results.md: score_train.head)", file=sys.stderr)
    metrics["annotations"] = {"train": len(train), "heldout": len(held),
                              **{s: sum(r["source"] == s for r in annotations)
                                 for s in sorted({r["source"] for r in annotations})}}
    # What the scorer can learn: on the embedded world 95-99.7 % of D_seed scores 0 (does not
    # parse) or about 1 (fails), docs/results.md 2026-12-06.
    counts = Counter(round_score(r["score"]) for r in annotations)
    metrics["annotation_scores"] = {str(k): counts[k] for k in sorted(counts)}
    write_jsonl(annotations_out, annotations)
    log_metrics(teacher_counters(teacher), "teacher")
    return metrics
