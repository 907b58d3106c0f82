"""params.yaml as typed sections.

Every setting of every stage is a key of params.yaml, so that `dvc params diff` and `dvc exp show`
reveal any difference between two runs: there are no defaults in code. Validation is strict and
happens before any work: a missing section or key, an unknown key, a value of the wrong type or out
of range, or an inconsistent cycle chain is an `InputError` naming the key's path. The sections are
pydantic models (a maintained parser that reports the path of each error); a stage declares the
sections it reads as the fields of its own `Config` (see stages/__init__.py).
"""

from __future__ import annotations

import math
import sys
import os
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from soda.io import InputError

Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


class Section(BaseModel):
    # strict: no "3" for 3, no true for 1; finite numbers only; every key present, none unknown.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# The user's own inputs live in folders that always exist in the repository, each a DVC
# dependency of exactly the stages that read it (dvc.yaml passes it as the stage's flag): a path
# anywhere else would be a param whose contents DVC never hashes. README.md in each says how.
INPUT_DIRS = {"world.source": "data/seed", "student.init": "models/init/student",
              "scorer.init": "models/init/scorer", "teacher.model": "models/init/teacher"}


def names_a_path(value: str) -> bool:
    """A model value that is a path rather than a Hugging Face hub id ('org/name' or 'name')."""
    return value.startswith(("/", ".", "~")) or value.count("/") >= 2 or "\\" in value


def _inside_input_dir(key: str, value: str) -> str:
    home = PurePosixPath(INPUT_DIRS[key])
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or path.parts[:len(home.parts)] != home.parts \
            or len(path.parts) == len(home.parts):
        raise ValueError(f"{key}: {value} is not inside {home}/, the folder DVC tracks for it: put it there "
                         f"(a copy, `cp -rs` of its files or `dvc add`: {home}/README.md) and write {home}/NAME")
    return value


def input_path(key: str, value: str, folder: Path) -> Path:
    """What `key`'s value (a path inside INPUT_DIRS[key]) names, found under `folder`: the stage's
    flag for that folder, which dvc.yaml lists as its dependency."""
    rel = PurePosixPath(value).relative_to(INPUT_DIRS[key])
    path = Path(folder, *rel.parts)
    if not path.exists():
        raise InputError(f"params: {key}: {value} not found")
    # DVC hashes a symlinked file's target but does not enter a symlinked directory: what lies
    # behind one would change unseen.
    linked = [Path(folder, *rel.parts[:i]) for i in range(1, len(rel.parts) + 1)]
    if path.is_dir():
        linked += [Path(top, d) for top, dirs, _ in os.walk(path) for d in dirs]
    for p in linked:
        if p.is_symlink() and p.is_dir():
            raise InputError(f"params: {key}: {p} is a symlink to a directory, whose contents DVC does not track: "
                             f"link its files instead (`cp -rs /abs/dir {INPUT_DIRS[key]}/NAME`) or `dvc add` a copy "
                             f"({INPUT_DIRS[key]}/README.md)")
    return path


def model_source(key: str, value: str, folder: Path) -> str:
    """What loads the model `key` names: its folder under `folder` (see input_path), or a hub id."""
    if names_a_path(value):
        return str(input_path(key, value, folder))
    if Path(value).exists():  # Hugging Face would load this local folder, untracked
        raise InputError(f"params: {key}: {value} is a local path, not a hub id: put it inside {INPUT_DIRS[key]}/ "
                         f"and write {INPUT_DIRS[key]}/NAME ({INPUT_DIRS[key]}/README.md)")
    return value


class World(Section):
    source: str  # 'procedural' or a JSONL of question rows inside data/seed/
    seed_size: PosInt
    heldout_size: NonNegInt
    pretrain_size: NonNegInt
    tiers: list[Literal[1, 2, 3]] = Field(min_length=1)
    families: Optional[list[str]]

    @field_validator("source")
    @classmethod
    def _seed_dir(cls, source: str) -> str:
        return source if source == "procedural" else _inside_input_dir("world.source", source)


class Student(Section):
    init: str  # 'scratch', a Hugging Face hub id or a model folder inside models/init/student/
    vocab_size: PosInt
    hidden_size: PosInt
    num_layers: PosInt
    num_heads: PosInt
    intermediate_size: PosInt
    max_position: PosInt

    @field_validator("init")
    @classmethod
    def _init_dir(cls, init: str) -> str:
        return _inside_input_dir("student.init", init) if names_a_path(init) else init


class Scorer(Section):
    # 'student' (a copy of the base student, as the paper), 'pretrained' (built and pretrained on
    # the world's code like the student, at the size below), 'scratch' (built, not pretrained) or a
    # Hugging Face hub id / model folder inside models/init/scorer/
    init: str
    hidden_size: Optional[PosInt]  # 'pretrained' / 'scratch': the scorer's size (null: the student's)
    num_layers: Optional[PosInt]
    num_heads: Optional[PosInt]
    intermediate_size: Optional[PosInt]

    @field_validator("init")
    @classmethod
    def _init_dir(cls, init: str) -> str:
        return _inside_input_dir("scorer.init", init) if names_a_path(init) else init

    @model_validator(mode="after")
    def _size_only_when_built(self):
        sized = [k for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size") if getattr(self, k) is not None]
        if sized and self.init not in ("pretrained", "scratch"):
            raise ValueError(f"scorer.{sized[0]}: a scorer size is for init 'pretrained' or 'scratch' only "
                             f"(init {self.init!r} brings its own); set it to null")
        return self


class Backend(Section):
    """How an LLM is called: the teacher's or the student's and scorer's (`generation`)."""
    backend: str
    model: Optional[str]
    base_url: Optional[str]
    api_key_env: str
    endpoint: Literal["chat", "completions"]
    concurrency: PosInt
    timeout_s: Pos
    max_retries: NonNegInt
    batch_size: PosInt
    device: Optional[str]
    tensor_parallel_size: PosInt
    max_new_tokens: PosInt


class Teacher(Backend):
    backend: Literal["reference", "openai", "vllm", "hf"]
    temperature: NonNeg
    prompts: Literal["paper", "detailed"]  # the prompt set (soda/prompts.py)
    lang: Optional[str]  # null: each question's own (its row's, else the language the teacher answers in)

    @model_validator(mode="after")
    def _model_dir(self):
        # hf and vllm load the model here (openai's is the name the server serves, any string)
        if self.backend in ("hf", "vllm") and self.model and names_a_path(self.model):
            _inside_input_dir("teacher.model", self.model)
        return self


class Generation(Backend):
    backend: Literal["hf", "vllm", "openai"]
    student_prompt: Literal["paper", "compact"]  # how the student is shown a question (soda.prompts.student_prompt)
    cache_dir: Optional[str]  # the call and verdict cache: changes no output, so no stage depends on it


class BenchmarkSources(Section):
    benchmarks: list[str]
    paths: dict[str, str]  # relative to benchmarks/, which dvc.yaml tracks (benchmarks/README.md)
    skip_missing: list[str]

    @field_validator("paths")
    @classmethod
    def _inside_benchmarks(cls, paths: dict[str, str]) -> dict[str, str]:
        for name, path in paths.items():
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise ValueError(f"{name}: {path} is not inside benchmarks/ (write it relative to that folder, "
                                 "which dvc.yaml tracks; see benchmarks/README.md)")
        return paths


class Decontaminate(BenchmarkSources):
    threshold: Annotated[float, Field(gt=0, le=1)]
    containment_threshold: Optional[Annotated[float, Field(gt=0, le=1)]]
    ngram: PosInt
    num_perm: PosInt


class TeacherGenerate(Section):
    fcl_fraction: Fraction


class Train(Section):
    """Every setting that reaches a trainer (no preset hides one)."""
    epochs: Pos
    lr: Pos
    batch_size: PosInt
    grad_accum: PosInt
    max_length: Annotated[int, Field(ge=2)]
    scheduler: str
    warmup_ratio: Fraction
    weight_decay: NonNeg
    bf16: bool
    gradient_checkpointing: bool
    lora: Optional[dict]
    logging_steps: PosInt
    save_steps: PosInt


class Pretrain(Train):
    epochs: NonNeg  # 0: the base student is the untrained tiny Llama


# TRL's DPO losses (DPOConfig.loss_type); several are summed with `loss_weights`.
DpoLoss = Literal["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
                  "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm"]


class FclTrain(Train):
    enabled: bool
    beta: Pos
    loss: list[DpoLoss]  # [sigmoid]: the paper's DPO (eq. 2); e.g. [sigmoid, sft]: DPO plus NLL on the chosen
    loss_weights: list[Pos] | None  # one per loss; null: 1 each
    # Where the rejected solutions come from: teacher = the injected faults (the paper);
    # student = the CSL model's own failing answers (on-policy; beyond the paper); both.
    rejected: Literal["teacher", "student", "both"]
    student_samples: PosInt  # rejected student/both: answers sampled per question from the CSL model
    student_temperature: NonNeg
    student_timeout_s: Pos  # CPU seconds per sampled answer in the sandbox

    @model_validator(mode="after")
    def _weights_match(self):
        if not self.loss:
            raise ValueError("fcl_train.loss: at least one DPO loss")
        if self.loss_weights is not None and len(self.loss_weights) != len(self.loss):
            raise ValueError(f"fcl_train.loss_weights: {len(self.loss_weights)} weights for {len(self.loss)} losses")
        return self


class ScoreTrain(Train):
    heldout_fraction: Fraction
    num_questions: PosInt
    # What the teacher annotates. The paper's D_seed is the student's own solutions (§3.3.1, §4);
    # teacher-correct/teacher-faulty add the teacher's prompt-A/B solutions (a deviation: the whole rubric).
    solutions: list[Literal["student", "teacher-correct", "teacher-faulty"]] = Field(min_length=1)
    student: str  # whose answers: 'base', or the first cycle (its delivered student, as the paper)
    samples: PosInt  # answers per question from that student
    temperature: NonNeg  # 0: greedy (samples must be 1), as feedback answers
    format: Literal["full", "compact"]
    head: Literal["generative", "regression", "classes"]  # generative: the paper's scorer writes the rubric


    @model_validator(mode="after")
    def _sampling(self):
        if len(set(self.solutions)) != len(self.solutions):
            raise ValueError(f"score_train.solutions: a source named twice in {self.solutions!r}")
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(f"score_train.samples: {self.samples} greedy answers would be one; set score_train.temperature")
        return self


class Feedback(Section):
    execution: bool
    scoring: bool
    # what Pass means: tests = the question's tests pass (beyond the paper, whose questions have no
    # tests); runs = compiles and runs without error, the paper's static tool check (§3.3.2)
    execution_mode: Literal["tests", "runs"]
    easy_min_score: NonNeg
    hard_max_score: NonNeg
    rule: Literal["execution-first", "score-first", "strict"]
    timeout_s: Pos
    max_questions: Optional[PosInt]
    scorer_audit: NonNegInt  # answers the teacher also annotates, to measure the scorer where it is used
    scorer_update: NonNegInt  # answers the teacher annotates to fine-tune the scorer before it scores (0: the paper's, trained once)


class Evolve(Section):
    enabled: bool
    classification: bool
    ratio: list[NonNeg]
    num_new: PosInt
    mode: Literal["accumulate", "replace"]

    @model_validator(mode="after")
    def _ratio(self):
        if len(self.ratio) != 3 or not sum(self.ratio) > 0:
            raise ValueError(f"evolve.ratio must be three non-negative numbers summing above zero, got {self.ratio!r}")
        return self


class Evaluate(BenchmarkSources):
    models: list[str] = Field(min_length=1)
    n_samples: NonNegInt
    temperature: NonNeg
    top_p: Annotated[float, Field(gt=0, le=1)]
    timeout_s: Pos


class Cycle(Section):
    prev: str


class Mlflow(Section):
    tracking_uri: Optional[str]  # null: sqlite:///<repo root>/mlflow.db; MLFLOW_TRACKING_URI overrides
    experiment: str


class Params(Section):
    seed: NonNegInt
    world: World
    student: Student
    pretrain: Pretrain
    scorer: Scorer
    teacher: Teacher
    generation: Generation
    decontaminate: Decontaminate
    teacher_generate: TeacherGenerate
    csl_train: Train
    fcl_train: FclTrain
    score_train: ScoreTrain
    feedback: Feedback
    evolve: Evolve
    evaluate: Evaluate
    cycles: dict[str, Cycle] = Field(min_length=1)
    mlflow: Mlflow

    @model_validator(mode="after")
    def _chain(self):
        if "base" in self.cycles:
            raise ValueError("cycles.base is reserved for the model before cycle 1")
        for name, folder in (("init", "models/init"), ("seed", "data/seed")):  # the cycle's outputs would land in it
            if name in self.cycles:
                raise ValueError(f"cycles.{name} is reserved: {folder} holds the user's inputs")
        for name, entry in self.cycles.items():
            if entry.prev != "base" and entry.prev not in self.cycles:
                raise ValueError(f"cycles.{name}.prev names {entry.prev!r}, which is not a cycle (nor 'base')")
        for start in self.cycles:
            seen, node = set(), start
            while node != "base":
                if node in seen:
                    raise ValueError(f"cycles.{start}.prev forms a loop")
                seen.add(node)
                node = self.cycles[node].prev
        # score-train runs before the first feedback, which reads its scorer: later students would be a loop
        first = [name for name, entry in self.cycles.items() if entry.prev == "base"]
        if self.score_train.student not in ["base", *first]:
            raise ValueError(f"score_train.student names {self.score_train.student!r}: it must be 'base' or the first "
                             f"cycle ({', '.join(first)}), whose student exists before any feedback")
        for model in self.evaluate.models:
            if model != "base" and model not in self.cycles:
                raise ValueError(f"evaluate.models names {model!r}, which is not a cycle (nor 'base')")
        return self


def _message(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"])
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return f"unknown key {where}"
    if kind == "missing":
        return f"missing key {where}"
    if kind == "value_error":  # our own checks: the message names the key, or the field's path is put first
        message = str(error["ctx"]["error"])
        return message if not where or message.startswith(where) else f"{where}: {message}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} must be a finite number, got {value!r}"
    return f"{where}: {error['msg'].lower()}, got {value!r}"


def validate(params: dict) -> dict:
    """The params as plain data, after checking them against `Params` (first error raised)."""
    try:
        Params.model_validate(params)
    except ValidationError as e:
        raise InputError(f"params: {_message(e.errors(include_url=False)[0])}") from None
    return params


def cycle_order(cycles: dict) -> list[str]:
    """Cycles from first to last (by chain depth)."""
    def depth(name):
        return 0 if name == "base" else 1 + depth(cycles[name]["prev"])
    return sorted(cycles, key=depth)


def repo_root() -> Path:
    """The DVC repository root (DVC_ROOT during `dvc repro`/`dvc exp run`), else the working directory."""
    return Path(os.environ.get("DVC_ROOT") or os.getcwd()).resolve()


EXPS_TMP = os.sep + os.path.join(".dvc", "tmp", "exps") + os.sep


def workspace_root() -> Path:
    """The user's repository. `dvc exp run --temp/--queue` runs in a copy under .dvc/tmp/exps:
    what experiments share (the MLflow store, the caches) must live in the original."""
    root = str(repo_root())
    if EXPS_TMP in root + os.sep:
        root = root[: (root + os.sep).index(EXPS_TMP)]
    return Path(root)


def workspace_path(path: str | os.PathLike) -> Path:
    """A relative path taken from the workspace root (an absolute one is kept)."""
    return workspace_root() / path


def load_params(path: str | os.PathLike = "params.yaml") -> dict:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: params file not found")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({e})") from None
    return validate(params)


def override_flags(path: str | os.PathLike) -> list[str]:
    """`-S section.key=value` for each leaf of a params fragment (e.g. soda/configs/paper.yaml),
    for `dvc exp run`: the fragment's settings then show in `dvc exp show` like any other param."""
    fragment = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}

    def leaves(node, prefix):
        if isinstance(node, dict) and node:
            for key, value in node.items():
                yield from leaves(value, f"{prefix}.{key}" if prefix else key)
        else:
            yield prefix, node

    return [f"-S={key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"
            for key, value in leaves(fragment, "")]


def main(argv: list[str]) -> int:
    """`soda params check [FILE]`: validate; `soda params flags FRAGMENT`: dvc exp run -S flags."""
    if len(argv) == 2 and argv[0] == "flags":
        print(" ".join(override_flags(argv[1])))
        return 0
    if argv[:1] == ["check"] and len(argv) <= 2:
        load_params(argv[1] if len(argv) == 2 else "params.yaml")
        print("params: valid")
        return 0
    print("usage: soda params check [FILE] | soda params flags FRAGMENT.yaml", file=sys.stderr)
    return 2
