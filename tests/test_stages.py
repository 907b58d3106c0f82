"""Stages called directly, as a library: Config from params, run(cfg, ...) -> metrics; no DVC,
no command line."""

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from soda.io import InputError, read_jsonl
from soda.params import validate
from stages import decontaminate, world


def test_world_then_decontaminate_run_directly(tmp_path, params):
    params["world"].update(seed_size=40, heldout_size=10, pretrain_size=5)
    cfg = world.Config.from_params(validate(params))
    metrics = world.run(cfg, seed_dir=tmp_path, seed_out=tmp_path / "seed.jsonl", heldout_out=tmp_path / "heldout.jsonl",
                        pretrain_out=tmp_path / "pre.jsonl")
    assert metrics == {"seed": 40, "heldout": 10, "pretrain": 5}
    seed = read_jsonl(tmp_path / "seed.jsonl")
    # a held-out question copied into the seed is removed by decontaminate
    heldout = read_jsonl(tmp_path / "heldout.jsonl")
    (tmp_path / "seed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in seed + [{**heldout[0], "id": "copy"}]))
    out = decontaminate.run(decontaminate.Config.from_params(params), questions=tmp_path / "seed.jsonl",
                            heldout=tmp_path / "heldout.jsonl", benchmarks=tmp_path, out=tmp_path / "q.jsonl",
                            report_jsonl=tmp_path / "r.jsonl", report_csv=tmp_path / "r.csv")
    kept = {r["id"] for r in read_jsonl(tmp_path / "q.jsonl")}
    assert "copy" not in kept and out["removed"] >= 1


def test_score_train_samples_questions_apart_from_the_delivery_split():
    """D_seed is a uniform sample of the seed questions, as the paper's, and its held-out part
    too: neither may be the FCL share of the delivery split (both were, drawn with the same
    seeded shuffle: the scorer learnt from answers to 0 % CSL questions at the defaults)."""
    from soda.scoring import sample_questions, split_heldout
    from soda.teacher_generate import split_order

    questions = [{"id": f"seed-{i:05d}", "question": f"q{i}"} for i in range(1200)]
    for seed in range(3):
        fcl = {questions[i]["id"] for i in split_order([q["id"] for q in questions], 0.2, seed)[1]}
        picked = sample_questions(questions, 200, seed)
        assert len({q["id"] for q in picked}) == 200 and 0.1 < sum(q["id"] in fcl for q in picked) / 200 < 0.3
        _, held = split_heldout([{"question_id": q["id"]} for q in questions], 0.2, seed)
        assert len(held) == 240 and 0.1 < sum(r["question_id"] in fcl for r in held) / 240 < 0.3


def test_score_train_annotates_the_students_own_answers_unless_told_otherwise(tmp_path, params):
    """The paper's D_seed: the teacher annotates the student's answers (here 2 sampled per question),
    held out by question; the teacher's own solutions are annotated only when score_train.solutions
    names them."""
    from stages import init_models, score_train
    params["world"].update(seed_size=10, heldout_size=0, pretrain_size=10)
    params["generation"]["max_new_tokens"] = 24
    params["score_train"].update(num_questions=6, epochs=1, batch_size=4, heldout_fraction=0.34, student="base",
                                 samples=2, temperature=1.0, head="classes")
    world.run(world.Config.from_params(validate(params)), seed_dir=tmp_path, seed_out=tmp_path / "seed.jsonl",
              heldout_out=tmp_path / "heldout.jsonl", pretrain_out=tmp_path / "pre.jsonl")
    init_models.run(init_models.Config.from_params(validate(params)), corpus_rows=tmp_path / "seed.jsonl",
                    pretrain_rows=tmp_path / "pre.jsonl", student_init_dir=tmp_path,
                    scorer_init_dir=tmp_path, student_out=tmp_path / "student",
                    scorer_out=tmp_path / "scorer0")

    def annotate(name):
        metrics = score_train.run(score_train.Config.from_params(validate(params)), questions=tmp_path / "seed.jsonl",
                                  student=tmp_path / "student", scorer_init=tmp_path / "scorer0", teacher_model_dir=tmp_path,
                                  annotations_out=tmp_path / f"{name}.jsonl", out=tmp_path / name)
        return metrics, read_jsonl(tmp_path / f"{name}.jsonl")

    metrics, rows = annotate("own")
    assert {r["source"] for r in rows} == {"student"}
    per_question = {}
    for r in rows:
        per_question.setdefault(r["question_id"], []).append(r["id"].split(":")[-1])
    assert len(per_question) == 6 and all(sorted(v) == ["student-0", "student-1"] for v in per_question.values())
    # 2 of the 6 questions held out, both their answers
    assert metrics["annotations"] == {"train": 8, "heldout": 4, "student": 12} and "kappa" in metrics["agreement"]
    # the annotated scores as kappa counts them (half up), per integer score
    scores = metrics["annotation_scores"]
    assert sum(scores.values()) == 12 and list(scores) == sorted(scores, key=int)
    assert scores == {str(s): sum(math.floor(r["score"] + 0.5) == s for r in rows) for s in map(int, scores)}

    params["score_train"].update(solutions=["teacher-correct", "teacher-faulty"], samples=1, temperature=0.0)
    metrics, rows = annotate("teacher")
    assert {r["source"] for r in rows} == {"teacher-correct", "teacher-faulty"} and len(rows) <= 12

    # feedback with that scorer: feedback.scorer_audit of its answers are annotated by the teacher
    # too, and the scorer's agreement with them is a metric; the feedback rows do not change.
    from stages import feedback
    questions = read_jsonl(tmp_path / "seed.jsonl")
    (tmp_path / "teacher-out.jsonl").write_text("".join(json.dumps({"id": q["id"]}) + "\n" for q in questions))

    def give_feedback(audit):
        params["feedback"].update(scorer_audit=audit, max_questions=None)
        out = tmp_path / f"feedback-{audit}.jsonl"
        metrics = feedback.run(feedback.Config.from_params(validate(params)), cycle="c1", questions=tmp_path / "seed.jsonl",
                               teacher=tmp_path / "teacher-out.jsonl", student=tmp_path / "student",
                               scorer=tmp_path / "teacher", teacher_model_dir=tmp_path, out=out)
        return metrics, out.read_bytes()

    audited, rows_audited = give_feedback(4)
    plain, rows_plain = give_feedback(0)
    assert audited["scorer_agreement"]["n"] == 4 and "scorer_agreement" not in plain
    # the audited answers' levels, from the scorer's scores and from the teacher's (a perfect scorer)
    by_id = {r["id"]: r["level"] for r in read_jsonl(tmp_path / "feedback-4.jsonl")}
    assert sum(audited["scorer_agreement"]["levels"].values()) == 4 == sum(audited["scorer_agreement"]["oracle_levels"].values())
    assert all(audited["scorer_agreement"]["levels"][lvl] <= list(by_id.values()).count(lvl) for lvl in by_id.values())
    assert rows_audited == rows_plain

    # feedback.scorer_update (beyond the paper): the scorer is fine-tuned on the teacher's
    # annotations of answers the audit does not see, then scores; the same bytes twice, and the
    # fine-tuned copy is not left behind.
    params["feedback"]["scorer_update"] = 5
    params["score_train"].update(epochs=3, lr=0.01)
    updated, rows_updated = give_feedback(4)
    again, rows_again = give_feedback(4)
    assert updated["scorer_update"]["annotations"] == 5 == sum(updated["scorer_update"]["annotation_scores"].values())
    assert updated["scorer_agreement"]["n"] == 4 and updated["scorer_update"]["steps"] == 6
    assert rows_updated == rows_again and rows_updated != rows_plain
    from soda.train import scratch_dir
    assert not (Path(scratch_dir("feedback", "c1")) / "scorer").exists()
    with pytest.raises(InputError, match="nothing to fine-tune on: 0 answers besides the 10 audited"):
        give_feedback(10)


def test_a_stage_config_holds_only_its_sections_typed(params):
    cfg = world.Config.from_params(params)
    assert cfg.sections() == ("seed", "world") and cfg.world.seed_size == params["world"]["seed_size"]
    with pytest.raises(ValidationError):
        world.Config.from_params({**params, "world": {**params["world"], "seed_size": "many"}})


def test_world_source_missing_is_named(tmp_path, params):
    params["world"]["source"] = "data/seed/mine.jsonl"
    with pytest.raises(InputError, match="world.source: data/seed/mine.jsonl not found"):
        world.run(world.Config.from_params(params), seed_dir=tmp_path, seed_out=tmp_path / "s", heldout_out=tmp_path / "h",
                  pretrain_out=tmp_path / "p")


def test_evolve_new_questions_inherit_the_language_their_teacher_answered_in(tmp_path, params):
    """A seed question without `lang` takes its teacher's (teacher.jsonl); its new questions
    inherit it."""
    from soda.tools.bench.openai_server import OpenAIServer
    from stages import evolve

    asked = []

    def respond(prompt, max_tokens, seed, temperature, top_p):
        asked.append(prompt)
        return f"#Created Instruction#:\nA new question number {len(asked)} about sorting.", "stop"

    rows = [{"id": "q1", "question": "Sort a list of numbers in JavaScript."},
            {"id": "q2", "question": "Parse a date string."}]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "teacher.jsonl").write_text(json.dumps({"id": "q1", "lang": "js"}) + "\n"
                                            + json.dumps({"id": "q2", "lang": "go"}) + "\n")
    (tmp_path / "feedback.jsonl").write_text(json.dumps({"id": "q1", "level": "easy"}) + "\n"
                                             + json.dumps({"id": "q2", "level": "hard"}) + "\n")
    (tmp_path / "heldout.jsonl").write_text(json.dumps({"id": "h1", "question": "Count vowels in a word.",
                                                        "tests": "assert True"}) + "\n")
    with OpenAIServer(["t"], respond=respond) as srv:
        params["teacher"].update(backend="openai", model="t")
        params["runtime"]["teacher"]["base_url"] = srv.url
        params["runtime"]["cache_dir"] = None
        params["evolve"]["num_new"] = 4
        cfg = evolve.Config.from_params(validate(params))
        metrics = evolve.run(cfg, cycle="c1", questions=tmp_path / "q.jsonl", teacher=tmp_path / "teacher.jsonl",
                             feedback=tmp_path / "feedback.jsonl", heldout=tmp_path / "heldout.jsonl",
                             benchmarks=tmp_path, teacher_model_dir=tmp_path, evolved_out=tmp_path / "new.jsonl", questions_out=tmp_path / "next.jsonl",
                             report_jsonl=tmp_path / "r.jsonl", report_csv=tmp_path / "r.csv")
    new = read_jsonl(tmp_path / "new.jsonl")
    assert metrics["new_questions"] == len(new) == 4
    assert {(q["parent"], q["lang"]) for q in new} == {("q1", "js"), ("q2", "go")}
    assert len(asked) == 4


def test_init_models_builds_a_pretrained_scorer_of_its_own_size(tmp_path, params):
    """`scorer.init: pretrained`: a scorer larger than the student, pretrained on the world's code
    as the student is (the tiny scorer cannot learn this world's D_seed; docs/results.md)."""
    from soda.modeling import load_model
    from stages import init_models
    params["world"].update(seed_size=10, heldout_size=0, pretrain_size=8)
    params["pretrain"].update(batch_size=4)
    world.run(world.Config.from_params(validate(params)), seed_dir=tmp_path, seed_out=tmp_path / "seed.jsonl",
              heldout_out=tmp_path / "heldout.jsonl", pretrain_out=tmp_path / "pre.jsonl")

    def build(name, **scorer):
        params["scorer"].update(scorer)
        return init_models.run(init_models.Config.from_params(validate(params)), corpus_rows=tmp_path / "seed.jsonl",
                               pretrain_rows=tmp_path / "pre.jsonl", student_init_dir=tmp_path,
                               scorer_init_dir=tmp_path, student_out=tmp_path / name / "student",
                               scorer_out=tmp_path / name / "scorer")

    copy = build("copy")  # the default: the scorer is the pretrained base student
    assert copy["scorer_parameters"] == copy["student_parameters"] and "scorer_pretrain" not in copy
    big = build("big", init="pretrained", hidden_size=192, num_layers=5, num_heads=6, intermediate_size=512)
    assert big["scorer_parameters"] > 2 * big["student_parameters"]
    assert big["scorer_pretrain"]["examples"] == 8 and big["scorer_pretrain"]["steps"] == 2
    model, _ = load_model(str(tmp_path / "big" / "scorer"))
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (192, 5)
    # the student is the same whatever the scorer
    assert big["student_parameters"] == copy["student_parameters"]
    assert big["pretrain"]["final_loss"] == copy["pretrain"]["final_loss"]
    # null keys take the student's size; 'scratch' is not pretrained
    bare = build("bare", init="scratch", hidden_size=None, num_layers=None, num_heads=None, intermediate_size=None)
    assert bare["scorer_parameters"] == copy["student_parameters"] and "scorer_pretrain" not in bare


@pytest.mark.parametrize("mode,oracle", [("tests", ["easy", "hard", "hard"]), ("runs", ["easy", "medium", "hard"])])
def test_feedback_audit_shows_what_a_perfect_scorer_would_classify(tmp_path, params, mode, oracle):
    """`oracle_levels`: the audited answers classified with the teacher's own scores. With the
    question's tests as execution (the default) a perfect scorer adds nothing: a passing answer
    scores >= 4 (easy, as with no scoring), a failing one is hard whatever its score. With the
    paper's runs-check a wrong answer that runs passes, and only the score tells it apart."""
    from soda.feedback import classify, execute
    from stages import feedback

    params["world"].update(seed_size=3, heldout_size=0, pretrain_size=0)
    params["feedback"].update(execution_mode=mode, scorer_audit=3)
    world.run(world.Config.from_params(validate(params)), seed_dir=tmp_path, seed_out=tmp_path / "seed.jsonl",
              heldout_out=tmp_path / "heldout.jsonl", pretrain_out=tmp_path / "pre.jsonl")
    rows = read_jsonl(tmp_path / "seed.jsonl")
    answers = [rows[0]["reference"], f"def {rows[1]['entry_point']}(*args):\n    return None\n",
               f"def {rows[2]['entry_point']}(\n"]
    cfg = feedback.Config.from_params(validate(params))
    verdicts = execute(rows, answers, 5.0, mode=mode)
    # a scorer that says 0 to everything: passing answers medium, failing ones hard
    out_rows = [{**v, "score": 0.0, "level": classify(v["passed"], 0.0, cfg.feedback)} for v in verdicts]
    got = feedback.audit(cfg, out_rows, feedback.annotate(cfg, tmp_path, rows, answers, [0, 1, 2]))
    assert got["oracle_levels"] == {lvl: oracle.count(lvl) for lvl in ("easy", "medium", "hard", "unclassified")}
    assert got["levels"] == {lvl: [r["level"] for r in out_rows].count(lvl) for lvl in ("easy", "medium", "hard", "unclassified")}
