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
import os
import sys
import types
import typing
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Iterator, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from soda.io import InputError

Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


class Section(BaseModel):
    """A params section; each field's description is its one line in docs/params.md (`soda params table`)."""
    # strict: no "3" for 3, no true for 1; finite numbers only; every key present, none unknown.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def doc(text: str, **constraints) -> Any:
    """A required field and its description (one line of docs/params.md)."""
    return Field(description=text, **constraints)


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
    source: str = doc("`procedural` (the embedded world) or your seed, a JSONL of question rows put in `data/seed/`: "
                      "`data/seed/NAME.jsonl`")
    seed_size: PosInt = doc("seed questions generated (procedural)")
    heldout_size: NonNegInt = doc("held-out tasks, disjoint from the seed (procedural)")
    pretrain_size: NonNegInt = doc("tasks whose reference code (no question) pretrains the scratch student")
    tiers: list[Literal[1, 2, 3]] = doc("difficulty tiers generated", min_length=1)
    families: Optional[list[str]] = doc("task families to use (`soda/world/families`); null: all 45")

    @field_validator("source")
    @classmethod
    def _seed_dir(cls, source: str) -> str:
        return source if source == "procedural" else _inside_input_dir("world.source", source)


class Student(Section):
    init: str = doc("`scratch` (tiny Llama built from the seed), a HF hub id (a param) or a local model put in "
                    "`models/init/student/NAME`")
    vocab_size: PosInt = doc("scratch student: tokenizer vocabulary")
    hidden_size: PosInt = doc("scratch student: hidden size")
    num_layers: PosInt = doc("scratch student: layers")
    num_heads: PosInt = doc("scratch student: attention heads")
    intermediate_size: PosInt = doc("scratch student: MLP size")
    max_position: PosInt = doc("scratch student: context length")
    chat_template: Literal["auto", "none"] = doc(
        "`auto`: student's and scorer's prompts in their tokenizer's chat template, if any (training, generation); `none`: raw")

    @field_validator("init")
    @classmethod
    def _init_dir(cls, init: str) -> str:
        return _inside_input_dir("student.init", init) if names_a_path(init) else init


class Scorer(Section):
    init: str = doc("`student` (the paper's), `pretrained`, `scratch`, a HF hub id (a param) or a local model in "
                    "`models/init/scorer/NAME`")
    hidden_size: Optional[PosInt] = doc("`pretrained`/`scratch` scorer: hidden size; null: the student's")
    num_layers: Optional[PosInt] = doc("`pretrained`/`scratch` scorer: layers; null: the student's")
    num_heads: Optional[PosInt] = doc("`pretrained`/`scratch` scorer: attention heads; null: the student's")
    intermediate_size: Optional[PosInt] = doc("`pretrained`/`scratch` scorer: MLP size; null: the student's")

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
    """What an LLM is and how it is asked: the teacher's or the student's and scorer's (`generation`).
    How it is reached and run is `runtime` (Connection), which changes no output."""
    backend: str = doc("the LLM backend")
    model: Optional[str] = doc("model id or path (openai: the served name; vllm, hf: the weights)")
    endpoint: Literal["chat", "completions"] = doc("openai: `chat` or `completions`")
    max_new_tokens: PosInt = doc("longest answer, tokens")


class Teacher(Backend):
    backend: Literal["reference", "openai", "vllm", "hf"] = doc(
        "`reference` (the embedded world's), `openai` (any OpenAI-compatible server), `vllm`, `hf`")
    model: Optional[str] = doc("hf, vllm: a HF hub id (stays a param) or a local model put in `models/init/teacher/NAME`; "
                               "openai: the served name")
    max_new_tokens: PosInt = doc("longest teacher answer, tokens")
    temperature: NonNeg = doc("teacher sampling temperature")
    prompts: Literal["paper", "detailed"] = doc(
        "prompts A-D: `paper` (Fig. 3, with system messages) or `detailed` (longer, names the language)")
    lang: Optional[str] = doc("language of questions without `lang`; null: the language the teacher answers in")
    chat_template: Literal["auto", "none"] = doc(
        "hf, vllm: `auto`: prompts A-D in the teacher's tokenizer's chat template, if any; `none`: raw")
    reference_timeout_s: Pos = doc("reference teacher: CPU seconds to run a fault it verifies (a timeout fault costs this)")

    @model_validator(mode="after")
    def _model_dir(self):
        # hf and vllm load the model here (openai's is the name the server serves, any string)
        if self.backend in ("hf", "vllm") and self.model and names_a_path(self.model):
            _inside_input_dir("teacher.model", self.model)
        return self


class ScorerTokens(Section):
    full: PosInt = doc("generative scorer, format `full`: longest annotation (analysis and five rules), tokens")
    compact: PosInt = doc("generative scorer, format `compact`: longest score block, tokens")


class Generation(Backend):
    backend: Literal["hf", "vllm", "openai"] = doc("how the student and scorer generate: `hf`, `vllm`, `openai`")
    model: Optional[str] = doc("null: the stage's own model (student or scorer); openai: the served name")
    max_new_tokens: PosInt = doc("longest student answer, tokens (the embedded world's; raise it for real models)")
    student_prompt: Literal["paper", "compact"] = doc(
        "what the student is trained on and answers: `paper` (prompt A) or `compact` (`### Question`)")
    scorer_max_new_tokens: ScorerTokens = doc("generative scorer: longest output per format")
    scorer_max_length: Annotated[int, Field(ge=2)] = doc("score-head scorer: longest prompt, tokens (a longer one is cut)")


class Connection(Section):
    """How one LLM is reached and run: no output depends on it."""
    base_url: Optional[str] = doc("openai: the server, e.g. `http://localhost:8000/v1`")
    api_key_env: str = doc("openai: environment variable holding the API key")
    concurrency: PosInt = doc("openai: requests in flight")
    timeout_s: Pos = doc("openai: seconds per request")
    max_retries: NonNegInt = doc("openai: retries on 429, 5xx, timeouts and dropped connections")
    batch_size: PosInt = doc("hf, vllm: prompts per generate call (runtime.generation's: per score-head batch too)")
    device: Optional[str] = doc("hf (runtime.generation's: score heads too): device; null: cuda if available, else cpu")
    tensor_parallel_size: PosInt = doc("vllm: GPUs per model")


class Mlflow(Section):
    tracking_uri: Optional[str] = doc("null: `sqlite:///<repo root>/mlflow.db`; `MLFLOW_TRACKING_URI` overrides")
    experiment: str = doc("MLflow experiment name")


class Runtime(Section):
    """Settings that change no output: every stage reads them, no stage depends on them (dvc.yaml)."""
    teacher: Connection = doc("how the teacher's LLM is reached and run")
    generation: Connection = doc("how the student's and scorer's LLM is reached and run")
    cache_dir: Optional[str] = doc("persistent cache of LLM calls and sandbox verdicts (relative: from the workspace); "
                                   "null: off")
    mlflow: Mlflow = doc("MLflow tracking")

    @property
    def cache_path(self) -> Path | None:
        """cache_dir resolved from the workspace, so that queued dvc experiments (run in copies) share it."""
        return workspace_path(self.cache_dir) if self.cache_dir else None


BENCHMARKS = "`heldout`, `humaneval`, `mbpp`, `multipl-e-{java,js,cpp,go,ts}`"


class BenchmarkSources(Section):
    benchmarks: list[str] = doc(f"benchmarks: {BENCHMARKS}")
    paths: dict[str, str] = doc("local benchmark files, relative to `benchmarks/`, e.g. `{mbpp: sanitized-mbpp.json}`")
    skip_missing: list[str] = doc("benchmarks allowed to be missing (skipped and reported)")

    @field_validator("paths")
    @classmethod
    def _inside_benchmarks(cls, paths: dict[str, str]) -> dict[str, str]:
        for name, path in paths.items():
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise ValueError(f"{name}: {path} is not inside benchmarks/ (write it relative to that folder, "
                                 "which dvc.yaml tracks; see benchmarks/README.md)")
        return paths


class Decontaminate(BenchmarkSources):
    benchmarks: list[str] = doc(f"benchmarks to decontaminate against: {BENCHMARKS}")
    threshold: Annotated[float, Field(gt=0, le=1)] = doc(
        "word n-gram Jaccard at or above which a question is removed (the paper's rule)")
    containment_threshold: Optional[Annotated[float, Field(gt=0, le=1)]] = doc(
        "share of a statement's n-grams a question may not hold; null: the paper's Jaccard-only rule")
    ngram: PosInt = doc("n-gram length, in words")
    num_perm: PosInt = doc("MinHash permutations of the LSH index (candidates are verified exactly)")


class TeacherGenerate(Section):
    fcl_fraction: Fraction = doc("share of questions with both solutions that go to the FCL set (0.2: the paper's 80/20)")
    timeout_s: Pos = doc("sandbox time limit per teacher solution, seconds")


class Lora(Section):
    r: PosInt = doc("LoRA rank")
    alpha: Pos = doc("LoRA alpha (the update is scaled by alpha / r)")
    dropout: Fraction = doc("LoRA dropout")
    target_modules: str | list[str] = doc("modules adapted: `all-linear` or a list of module names", min_length=1)


class TrainShared(Section):
    """The `train` section: the training settings the four training sections share; a key set in
    one of them wins there (see `resolve`)."""
    grad_accum: PosInt = doc("gradient accumulation steps")
    max_length: Annotated[int, Field(ge=2)] = doc(
        "sequence length, tokens; more than half of the examples too long is an error")
    scheduler: str = doc("learning-rate schedule (transformers' `lr_scheduler_type`)")
    warmup_ratio: Fraction = doc("warm-up share of the steps")
    weight_decay: NonNeg = doc("weight decay")
    bf16: bool = doc("train in bf16")
    gradient_checkpointing: bool = doc("train with gradient checkpointing")
    lora: Optional[Lora] = doc("LoRA (needs peft), every field given: `{r, alpha, dropout, target_modules}`; "
                               "null: full fine-tuning")
    logging_steps: PosInt = doc("training metrics to stderr and MLflow every N steps (means over them)")
    save_steps: PosInt = doc("checkpoint every N steps, for resuming after a crash")


class Train(TrainShared):
    """Every setting that reaches a trainer (no preset hides one): a training section completed from `train`."""
    epochs: Pos = doc("epochs")
    lr: Pos = doc("peak learning rate")
    batch_size: PosInt = doc("batch size per device")


class Launch(Section):
    """How the training stages run their trainer: in the stage's own process (1 process, no
    config), or under `accelerate launch` (soda/launch.py). The number of processes multiplies
    the effective batch (batch_size x grad_accum per process), so it is a param."""
    num_processes: PosInt = doc("trainer processes; > 1: `accelerate launch`, DDP (CPU: gloo); multiplies the batch (metric "
                                "`world_size`)")
    accelerate_config: Optional[str] = doc(
        "a `soda/configs/accelerate_*.yaml` (a dep of the training stages), used even with 1 process; null: DDP")

    @field_validator("accelerate_config")
    @classmethod
    def _a_code_dep(cls, path: str | None) -> str | None:
        # dvc.yaml lists soda/configs/accelerate_*.yaml as the training stages' deps (soda.tools.deps):
        # a file elsewhere would change what runs without re-running the stages
        p = Path(path) if path is not None else None
        if p is not None and (p.parent != Path("soda/configs") or not p.name.startswith("accelerate_")):
            raise ValueError(f"{path} is not a soda/configs/accelerate_*.yaml file (put your own there: "
                             "the training stages depend on those files)")
        return path


class Pretrain(Train):
    epochs: NonNeg = doc("next-token epochs of a scratch student on unlabelled code; 0: none (the untrained tiny Llama)")


# TRL's DPO losses (DPOConfig.loss_type); several are summed with `loss_weights`.
DpoLoss = Literal["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
                  "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm"]


class FclTrain(Train):
    enabled: bool = doc("false: the student after CSL is delivered as is (ablation: no FCL)")
    beta: Pos = doc("DPO beta")
    loss: list[DpoLoss] = doc("TRL DPO losses: `[sigmoid]` the paper's DPO; `[sigmoid, sft]` adds NLL on the chosen; "
                              "`[ipo]`; ...")
    loss_weights: list[Pos] | None = doc("one weight per loss; null: 1 each")
    rejected: Literal["teacher", "student", "both"] = doc(
        "rejected solutions: `teacher` (injected faults, the paper), `student` (the CSL model's own, on-policy), `both`")
    student_samples: PosInt = doc("rejected `student`/`both`: answers sampled per question from the CSL model")
    student_temperature: NonNeg = doc("rejected `student`/`both`: sampling temperature; the first answer that fails is rejected")
    student_timeout_s: Pos = doc("rejected `student`/`both`: CPU seconds per sampled answer in the sandbox")

    @model_validator(mode="after")
    def _weights_match(self):
        if not self.loss:
            raise ValueError("fcl_train.loss: at least one DPO loss")
        if self.loss_weights is not None and len(self.loss_weights) != len(self.loss):
            raise ValueError(f"fcl_train.loss_weights: {len(self.loss_weights)} weights for {len(self.loss)} losses")
        return self


class ScoreTrain(Train):
    heldout_fraction: Fraction = doc("annotations held out to measure the scorer's agreement (Cohen's kappa)")
    num_questions: PosInt = doc("questions whose answers the teacher annotates with prompt C (a uniform sample)")
    # The paper's D_seed is the student's own solutions (§3.3.1, §4); the teacher's are a deviation.
    solutions: list[Literal["student", "teacher-correct", "teacher-faulty"]] = doc(
        "what is annotated: `student` (the paper's D_seed); also `teacher-correct`, `teacher-faulty`", min_length=1)
    student: str = doc("whose answers: `c1` (the first cycle's delivered student, as the paper) or `base`")
    samples: PosInt = doc("answers per question")
    temperature: NonNeg = doc("0: greedy, as feedback answers; > 0 with `samples` > 1")
    format: Literal["full", "compact"] = doc(
        "`full` (prompt C in, whole annotation out, the paper) or `compact` (question + code in, score out)")
    head: Literal["generative", "regression", "classes"] = doc(
        "`classes` (one of 13 half-point scores), `regression`, `generative` (the paper's: writes the rubric)")

    @model_validator(mode="after")
    def _sampling(self):
        if len(set(self.solutions)) != len(self.solutions):
            raise ValueError(f"score_train.solutions: a source named twice in {self.solutions!r}")
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(f"score_train.samples: {self.samples} greedy answers would be one; set score_train.temperature")
        return self


class Feedback(Section):
    execution: bool = doc("false: levels from the score alone (ablation: no execution)")
    scoring: bool = doc("false: levels from execution alone (ablation: no scoring)")
    execution_mode: Literal["tests", "runs"] = doc(
        "Pass = `tests` (the question's tests pass) or `runs` (compiles and runs: the paper's check)")
    easy_min_score: NonNeg = doc("easy: Pass and a score at least this")
    hard_max_score: NonNeg = doc("hard: Fail and a score below this")
    rule: Literal["execution-first", "score-first", "strict"] = doc(
        "cases the paper leaves open: `execution-first`, `score-first`, `strict` (stay unclassified)")
    timeout_s: Pos = doc("sandbox time limit per answer, seconds")
    max_questions: Optional[PosInt] = doc("a seeded sample of the cycle's questions gets feedback; null: all")
    scorer_audit: NonNegInt = doc("of those, answers the teacher annotates too: the scorer's kappa in the loop; 0: none")
    scorer_update: NonNegInt = doc("answers annotated to fine-tune the scorer each cycle (beyond the paper); 0: trained once")


class Evolve(Section):
    enabled: bool = doc("false: questions handed on unchanged (ablation: static seed)")
    classification: bool = doc("false: questions sampled uniformly, ignoring levels (ablation: no classification)")
    ratio: list[NonNeg] = doc("easy:medium:hard sampling ratio")
    num_new: PosInt = doc("new questions per cycle (prompt D)")
    mode: Literal["accumulate", "replace"] = doc("`accumulate` (old + new questions) or `replace` (new only)")

    @model_validator(mode="after")
    def _ratio(self):
        if len(self.ratio) != 3 or not sum(self.ratio) > 0:
            raise ValueError(f"evolve.ratio must be three non-negative numbers summing above zero, got {self.ratio!r}")
        return self


class Evaluate(BenchmarkSources):
    models: list[str] = doc("models to evaluate: `base` and cycle names", min_length=1)
    n_samples: NonNegInt = doc("samples per task for pass@k, besides the greedy one")
    temperature: NonNeg = doc("sampling temperature for pass@k")
    top_p: Annotated[float, Field(gt=0, le=1)] = doc("nucleus sampling for pass@k")
    timeout_s: Pos = doc("sandbox time limit per program, seconds")


class Cycle(Section):
    prev: str = doc("the cycle before (`base`: the model before cycle 1)")


class Params(Section):
    seed: NonNegInt = doc("global seed: splits, sampling, initialisation")
    world: World = doc("the seed questions")
    student: Student = doc("the base student")
    train: TrainShared = doc("training settings shared by the four training sections")
    pretrain: Pretrain = doc("init-models: next-token pretraining of a scratch student")
    scorer: Scorer = doc("the scoring model's start")
    teacher: Teacher = doc("the teacher LLM")
    generation: Generation = doc("how the student and scorer generate")
    decontaminate: Decontaminate = doc("the seed's decontamination")
    teacher_generate: TeacherGenerate = doc("correct and faulty solutions")
    csl_train: Train = doc("CSL: supervised fine-tuning, loss on the solution only")
    fcl_train: FclTrain = doc("FCL: DPO on correct vs faulty solutions")
    score_train: ScoreTrain = doc("the scoring model's training")
    launch: Launch = doc("how the training stages run their trainers: in their own process or under `accelerate launch`")
    feedback: Feedback = doc("execution and scoring feedback, difficulty levels")
    evolve: Evolve = doc("new questions (prompt D)")
    evaluate: Evaluate = doc("pass@k on the held-out set and benchmarks")
    cycles: dict[str, Cycle] = doc("cycles, each naming its predecessor (`base`: before cycle 1); dvc.yaml's `foreach`",
                                   min_length=1)
    runtime: Runtime = doc("how to run, not what: no stage depends on these")

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


TRAINING = ("pretrain", "csl_train", "fcl_train", "score_train")


def resolve(params: dict) -> dict:
    """params with each training section completed from `train` (the section's own keys win):
    what a stage gets, and MLflow logs, is every setting of its trainer."""
    if not isinstance(params.get("train"), dict):
        return params  # validation names the missing section
    return {**params, **{name: {**params["train"], **params[name]} for name in TRAINING
                         if isinstance(params.get(name), dict)}}


def validate(params: dict) -> dict:
    """The params as plain data, training sections completed from `train` (`resolve`), after
    checking them against `Params` (first error raised)."""
    params = resolve(params)
    try:
        Params.model_validate(params)
    except ValidationError as e:
        raise InputError(f"params: {_message(e.errors(include_url=False)[0])}") from None
    return params


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
    """`-S ++section.key=value` for each leaf of a params fragment (e.g. soda/configs/paper.yaml),
    for `dvc exp run`: the fragment's settings then show in `dvc exp show` like any other param.
    `++` sets a key params.yaml does not list too (a training section's override of `train`),
    which plain `-S` refuses; a mistyped key is then soda's error ("unknown key"), not dvc's."""
    fragment = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}

    def leaves(node, prefix):
        if isinstance(node, dict) and node:
            for key, value in node.items():
                yield from leaves(value, f"{prefix}.{key}" if prefix else key)
        else:
            yield prefix, node

    return [f"-S=++{key}={flow(value)}" for key, value in leaves(fragment, "")]


def flow(value) -> str:
    """A value as one line of YAML (`[1, 2]`, `{c1: {prev: base}}`, `null`)."""
    return yaml.safe_dump(value, default_flow_style=True, width=math.inf).strip().removesuffix("...").strip()


def _section_of(annotation) -> type[Section] | None:
    """The Section a field holds (Optional[Lora] -> Lora), if any; a mapping of sections (`cycles`) is one value."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    return next((a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, Section)), None)


def described(node: dict, model: type[Section] = Params, prefix: str = "") -> Iterator[tuple[str, object, str | None]]:
    """(key path, value, description) of each leaf of a params file, in the file's order; a key's
    description is its field's (so a training section's keys share Train's)."""
    for key, value in node.items():
        field = model.model_fields.get(key)
        if field is None:
            raise InputError(f"params: unknown key {prefix}{key}")
        section = _section_of(field.annotation)
        if isinstance(value, dict) and section is not None:
            yield from described(value, section, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value, field.description


def params_table(params_path: str | os.PathLike) -> str:
    """docs/params.md's table: one row per key of a params file, its value the default."""
    raw = yaml.safe_load(Path(params_path).read_text(encoding="utf-8"))
    rows = [f"| `{key}` | `{flow(value)}` | {text} |" for key, value, text in described(raw)]
    return "\n".join(["| key | default | description |", "| --- | --- | --- |", *rows]) + "\n"


TABLE_BEGIN, TABLE_END = "<!-- params:begin -->\n", "<!-- params:end -->"


def with_table(doc_text: str, table: str) -> str:
    """A document with the text between its params markers replaced by `table`."""
    if TABLE_BEGIN not in doc_text or TABLE_END not in doc_text:
        raise InputError(f"no {TABLE_BEGIN.strip()} ... {TABLE_END} markers to write the params table between")
    head, rest = doc_text.split(TABLE_BEGIN, 1)
    return head + TABLE_BEGIN + table + TABLE_END + rest.split(TABLE_END, 1)[1]


def main(argv: list[str]) -> int:
    """`soda params check [FILE]`: validate; `soda params flags FRAGMENT`: dvc exp run -S flags;
    `soda params table`: docs/params.md's table from params.yaml and the descriptions here."""
    if len(argv) == 2 and argv[0] == "flags":
        print(" ".join(override_flags(argv[1])))
        return 0
    if argv == ["table"]:
        load_params("params.yaml")
        doc_path = Path("docs/params.md")
        doc_path.write_text(with_table(doc_path.read_text(encoding="utf-8"), params_table("params.yaml")), encoding="utf-8")
        print(f"{doc_path}: params table written")
        return 0
    if argv[:1] == ["check"] and len(argv) <= 2:
        load_params(argv[1] if len(argv) == 2 else "params.yaml")
        print("params: valid")
        return 0
    print("usage: soda params check [FILE] | soda params flags FRAGMENT.yaml | soda params table", file=sys.stderr)
    return 2
