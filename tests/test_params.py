import copy

import pytest
import yaml

from soda.io import InputError
from soda.params import load_params, validate

BASE = yaml.safe_load(open("params.yaml"))


def with_change(path: str, value):
    params = copy.deepcopy(BASE)
    node = params
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return params


def test_committed_params_are_valid():
    assert load_params("params.yaml")["cycles"]["c2"] == {"prev": "c1"}


@pytest.mark.parametrize("path,value,message", [
    ("csl_train.lr_typo", 0.1, "unknown key csl_train.lr_typo"),
    ("train.lr_typo", 0.1, "unknown key train.lr_typo"),
    ("teacher.base_url", "http://x", "unknown key teacher.base_url"),  # a runtime key: runtime.teacher.base_url
    ("runtime.generation.concurrency", 0, "runtime.generation.concurrency: input should be greater than or equal to 1"),
    ("evolve.ratio", [1, 1], "evolve.ratio must be three"),
    ("evolve.ratio", [0, 0, 0], "evolve.ratio must be three"),
    ("evolve.ratio", [1, -1, 2], "evolve.ratio.1: input should be greater than or equal to 0"),
    ("evolve.ratio", [1, "a", 2], "evolve.ratio.1: input should be a valid number"),
    ("cycles.c2", {"prev": "c9"}, "cycles.c2.prev names 'c9'"),
    ("cycles.c1", {"prev": "c3"}, "forms a loop"),
    ("evaluate.models", ["base", "c7"], "evaluate.models names 'c7'"),
    ("evolve.mode", "merge", "evolve.mode: input should be 'accumulate' or 'replace'"),
    # score-train runs before the first feedback, which reads its scorer: c2's student would be a loop
    ("score_train.student", "c2", "score_train.student names 'c2': it must be 'base' or the first cycle (c1)"),
    ("score_train.samples", 3, "score_train.samples: 3 greedy answers would be one"),
    ("score_train.solutions", ["student", "student"], "score_train.solutions: a source named twice"),
    ("score_train.solutions", ["teacher"], "score_train.solutions.0: input should be 'student', 'teacher-correct'"),
    ("csl_train.epochs", "three", "csl_train.epochs: input should be a valid number"),
    ("fcl_train.enabled", 1, "fcl_train.enabled: input should be a valid boolean"),
    ("teacher_generate.fcl_fraction", 1.5, "teacher_generate.fcl_fraction: input should be less than 1"),
    ("evolve.ratio", [float("inf"), 0, 0], "evolve.ratio.0 must be a finite number"),
    ("decontaminate.paths", {"mbpp": "../shared/mbpp.json"}, "decontaminate.paths: mbpp: ../shared/mbpp.json is not inside benchmarks/"),
    ("evaluate.paths", {"mbpp": "/data/mbpp.json"}, "evaluate.paths: mbpp: /data/mbpp.json is not inside benchmarks/"),
    ("fcl_train.loss", ["sigmoid", "dpo"], "fcl_train.loss.1: input should be 'sigmoid'"),
    ("fcl_train.loss_weights", [1.0, 0.5], "fcl_train.loss_weights: 2 weights for 1 losses"),
    ("evolve.ratio", [0, float("inf"), 1], "evolve.ratio.1 must be a finite number"),
    ("evolve.num_new", -5, "evolve.num_new: input should be greater than or equal to 1"),
    ("feedback.timeout_s", 0, "feedback.timeout_s: input should be greater than 0"),
    ("csl_train.lr", float("nan"), "csl_train.lr must be a finite number"),
    ("world.seed_size", True, "world.seed_size: input should be a valid integer"),
    # LoRA: every setting given (no peft default decides one), none unknown
    ("train.lora", {"r": 4, "alpha": 8.0, "dropout": 0.0}, "missing key train.lora.target_modules"),
    ("csl_train.lora", {"r": 4, "alpha": 8.0, "dropout": 0.0, "target_modules": "all-linear", "bias": "all"},
     "unknown key csl_train.lora.bias"),
    # a copy of the student (or a HF model) has its size already
    ("scorer.hidden_size", 256, "scorer.hidden_size: a scorer size is for init 'pretrained' or 'scratch' only"),
    # the user's inputs: a path is one inside the folder dvc.yaml tracks for it (soda.params.INPUT_DIRS)
    ("world.source", "seed.jsonl", "world.source: seed.jsonl is not inside data/seed/"),
    ("world.source", "/home/me/seed.jsonl", "world.source: /home/me/seed.jsonl is not inside data/seed/"),
    ("world.source", "data/seed/../seed.jsonl", "world.source: data/seed/../seed.jsonl is not inside data/seed/"),
    ("world.source", "data/seed", "world.source: data/seed is not inside data/seed/"),
    ("student.init", "/models/coder", "student.init: /models/coder is not inside models/init/student/"),
    ("student.init", "./coder", "student.init: ./coder is not inside models/init/student/"),
    ("student.init", "models/init/scorer/coder", "student.init: models/init/scorer/coder is not inside models/init/student/"),
    ("scorer.init", "models/init/student/coder", "scorer.init: models/init/student/coder is not inside models/init/scorer/"),
    ("teacher", {**BASE["teacher"], "backend": "vllm", "model": "/srv/models/qwen"},
     "teacher.model: /srv/models/qwen is not inside models/init/teacher/"),
    ("cycles", {"c1": {"prev": "base"}, "init": {"prev": "c1"}}, "cycles.init is reserved: models/init holds"),
    ("cycles", {"seed": {"prev": "base"}}, "cycles.seed is reserved: data/seed holds"),
])
def test_bad_params_name_the_key(path, value, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(with_change(path, value))


@pytest.mark.parametrize("path", ["evolve", "feedback.max_questions", "train.warmup_ratio", "csl_train.lr", "runtime",
                                  "runtime.teacher.base_url"])
def test_a_missing_section_or_key_is_named(path):
    params = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = params
    for key in parents:
        node = node[key]
    del node[last]
    with pytest.raises(InputError, match=f"missing key {path}"):
        validate(params)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_params(bad)


@pytest.mark.parametrize("path,value", [
    ("world.source", "procedural"), ("world.source", "data/seed/seed.jsonl"), ("world.source", "data/seed/a/b.jsonl"),
    ("student.init", "scratch"), ("student.init", "deepseek-ai/deepseek-coder-1.3b-base"), ("student.init", "gpt2"),
    ("student.init", "models/init/student/my-coder"), ("scorer.init", "models/init/scorer/my-coder"),
    ("scorer.init", "Qwen/Qwen2.5-Coder-0.5B"),
    # openai: the name the server serves, which may look like a path
    ("teacher", {**BASE["teacher"], "backend": "openai", "model": "/srv/models/qwen"}),
    ("teacher", {**BASE["teacher"], "backend": "hf", "model": "models/init/teacher/qwen"}),
    ("teacher", {**BASE["teacher"], "backend": "vllm", "model": "Qwen/Qwen2.5-Coder-32B-Instruct"}),
])
def test_keywords_hub_ids_and_paths_inside_the_input_folders_are_valid(path, value):
    validate(with_change(path, value))


def test_a_training_section_is_completed_from_train_and_its_own_keys_win():
    params = with_change("train.max_length", 128)
    params["csl_train"]["max_length"] = 512  # what `dvc exp run -S ++csl_train.max_length=512` writes
    resolved = validate(params)
    assert resolved["csl_train"]["max_length"] == 512 and resolved["fcl_train"]["max_length"] == 128
    assert resolved["pretrain"]["lora"] is None and "epochs" not in resolved["train"]


def sections(model=None):
    """Every params section model, Params included."""
    from soda.params import Section

    for sub in (model or Section).__subclasses__():
        yield sub
        yield from sections(sub)


def test_every_key_has_one_short_description():
    from soda.params import described

    for model in sections():
        for name, field in model.model_fields.items():
            assert field.description and len(field.description) <= 120, f"{model.__name__}.{name}"
    keys = [key for key, _, _ in described(BASE)]
    assert "runtime.teacher.base_url" in keys and "train.lora" in keys and "csl_train.epochs" in keys


def test_the_params_table_in_docs_is_generated_from_params_yaml():
    from pathlib import Path

    from soda.params import params_table, with_table

    doc = Path("docs/params.md").read_text(encoding="utf-8")
    assert doc == with_table(doc, params_table("params.yaml")), "run `soda params table`"


def test_params_yaml_describes_no_key():
    """A key's description lives in soda/params.py alone: params.yaml has a pointer per section at most."""
    lines = open("params.yaml").read().splitlines()
    commented = [line for line in lines if "#" in line and not line.startswith("#")]
    assert all(not line.startswith(" ") for line in commented), commented
