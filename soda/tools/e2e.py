"""The real path end to end, as a user takes it: README's "Your own seed questions" recipe in a fresh
git + DVC repository, the SODA authors' 100 released questions as the seed in data/seed/, a locally
built Qwen2-format chat model (byte-level BPE, a Qwen-style chat template, eos <|im_end|>, no pad
token) as student and scorer under models/init/, and an OpenAI-compatible teacher over HTTP on
127.0.0.1 answering prompts A-D with the authors' released texts; then `dvc repro`.

One place for tests/test_real_path.py (CPU, hf generation), tests/test_own_seed.py (its teacher
and recipe), tests/test_chat_template.py (the chat model) and scripts/gpu_check.py (GPU: vllm
generation, bf16, several processes).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
QWEN_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
STUDENT, SCORER = "models/init/student/chat", "models/init/scorer/chat"
# The recipe at sizes that run in minutes on 2 CPU cores (what the recipe sets stays as README writes it).
SMALL = {
    "score_train": {"num_questions": 12, "epochs": 1},
    "csl_train": {"epochs": 1},
    "fcl_train": {"epochs": 1},
    "feedback": {"max_questions": 24},
    # An untrained student writes no runnable code, so feedback's levels say little: questions are
    # sampled uniformly instead, so that prompt D is asked.
    "evolve": {"num_new": 8, "classification": False},
    "evaluate": {"models": ["c1"], "n_samples": 1},
    "generation": {"max_new_tokens": 32},
    "cycles": {"c1": {"prev": "base"}},
}


def chat_model(path, texts: list[str], *, vocab: int = 400, hidden: int = 32, layers: int = 2, heads: int = 2,
               kv_heads: int = 1, intermediate: int = 64, max_position: int = 256, rows: int | None = None,
               name: str = "tiny-qwen") -> str:
    """A Qwen2-format model (random weights) with a BPE tokenizer of at most `vocab` tokens trained on
    `texts`, a chat template and no pad token; `rows`: embedding rows, if more than the tokenizer's."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from soda.modeling import save_model

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainer=trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", chat_template=QWEN_TEMPLATE)
    config = Qwen2Config(vocab_size=max(rows or 0, len(tokenizer)), hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                         max_position_embeddings=max_position, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    torch.manual_seed(0)
    save_model(Qwen2ForCausalLM(config), tokenizer, path, {"name": name})
    # Qwen2Tokenizer pads with <|endoftext|> unless told otherwise: this model has no pad token.
    config_file = Path(path) / "tokenizer_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "pad_token": None}))
    return str(path)


def readme_recipe() -> dict:
    """The yaml block under README's "Your own seed questions"."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Your own seed questions"):]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def _pick(rows: list, prompt: str):
    return rows[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(rows)]


class ReleasedTeacher:
    """The authors' released texts (shared/sodacoder-samples) as a teacher's answers: prompts A/B of
    a released question get its released answers; prompt C a released annotation, prompt D a
    released evolved question (both picked by the prompt's hash). `asked` counts the calls."""

    def __init__(self, samples: Path):
        from soda.prompts import render

        pairs = json.loads((samples / "pairwise_data.json").read_text())
        self.scores = [r["response"] for r in json.loads((samples / "scoring_data.json").read_text())]
        self.evolved = [r["instruction"] for r in json.loads((samples / "new_data.json").read_text())]
        self.questions = [{"id": f"r{i:03d}", "question": p["instruction"]} for i, p in enumerate(pairs)]
        self.answers = {}
        for q, p in zip(self.questions, pairs):
            self.answers[render("correct", "paper", question=q["question"])] = p["response"][0]
            self.answers[render("faulty", "paper", question=q["question"])] = p["response"][1]
        self.asked = collections.Counter()

    def respond(self, prompt, max_tokens, seed, temperature, top_p):
        if prompt in self.answers:
            self.asked["ab"] += 1
            return self.answers[prompt], "stop"
        if prompt.startswith("Please assess the quality of code"):
            self.asked["scoring"] += 1
            return _pick(self.scores, prompt), "stop"
        if "#Given Instruction#" in prompt:
            self.asked["evolve"] += 1
            return "#Created Instruction#:\n" + _pick(self.evolved, prompt), "stop"
        raise AssertionError(f"unexpected prompt: {prompt[:200]}")

    def texts(self) -> list[str]:
        """What a chat model's tokenizer is trained on: the seed, its answers, the prompts' text."""
        return [q["question"] for q in self.questions] + list(self.answers) + list(self.answers.values()) + [QWEN_TEMPLATE]


def merge(base: dict, change: dict) -> dict:
    """params with `change` applied key by key (a `cycles` mapping is replaced whole)."""
    out = dict(base)
    for key, value in change.items():
        out[key] = merge(base[key] or {}, value) if isinstance(value, dict) and key != "cycles" else value
    return out


def sh(*cmd, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dvc_repo(path: Path, params: dict, remote: Path) -> tuple[Path, dict]:
    """A git + DVC repository at `path` holding the tracked files of this checkout and `params`
    as params.yaml (committed); returns it with the environment to run dvc in."""
    files = sh("git", "ls-files", cwd=ROOT).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (path / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, path / f)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # dvc and the `python -m stages` that dvc.yaml runs come from this Python's environment
    env = {**os.environ, "PYTHONPATH": str(path), "MLFLOW_TRACKING_URI": f"sqlite:///{path / 'mlflow.db'}",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("DVC_ROOT", None)
    sh("git", "init", "-q", cwd=path)
    sh("dvc", "remote", "add", "-f", "-d", "local", str(remote), cwd=path)
    sh("git", "add", "-A", cwd=path)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=path)
    return path, env


@dataclass
class Run:
    repo: Path
    env: dict
    teacher: ReleasedTeacher
    ran: list[str] = field(default_factory=list)  # stages in the order `dvc repro` ran them
    seconds: float = 0.0
    out: str = ""
    error: str | None = None  # why `dvc repro` failed


def real_path(workdir: Path, shared: Path, change: dict, model: dict | None, target: str | None = None,
              timeout: float | None = None) -> Run:
    """README's own-seed recipe with `change` on top, in workdir/repo: the chat model built with
    `model` (chat_model's keywords; None: the recipe's scratch student) as student and scorer, the released teacher served while
    `dvc repro [target]` runs (for at most `timeout` seconds)."""
    teacher = ReleasedTeacher(shared / "sodacoder-samples")
    recipe = readme_recipe()
    params = merge(merge(yaml.safe_load((ROOT / "params.yaml").read_text()), recipe), change)
    # What the user adds to the recipe: their teacher's name and endpoint (README, "The real path"),
    # their models, and their MBPP file under benchmarks/, where the recipe's paths point.
    params["teacher"]["model"] = "teacher"
    if model is not None:
        params = merge(params, {"student": {"init": STUDENT}, "scorer": {"init": SCORER}})
    from soda.tools.bench.openai_server import OpenAIServer

    with OpenAIServer(["teacher"], respond=teacher.respond) as srv:
        params["runtime"]["teacher"]["base_url"] = srv.url
        repo = workdir / "repo"
        (repo / "benchmarks").mkdir(parents=True)
        shutil.copy(shared / "benchmarks" / "mbpp" / "sanitized-mbpp.json",
                    repo / "benchmarks" / params["decontaminate"]["paths"]["mbpp"])
        repo, env = dvc_repo(repo, params, workdir / "remote")
        env["OPENAI_API_KEY"] = "unused"
        run = Run(repo, env, teacher)
        # The user's inputs come after the commit: DVC tracks them, not git (models/init/README.md).
        (repo / recipe["world"]["source"]).write_text("".join(json.dumps(q) + "\n" for q in teacher.questions))
        if model is not None:
            chat_model(repo / STUDENT, teacher.texts(), **model)
            shutil.copytree(repo / STUDENT, repo / SCORER)
        start = time.perf_counter()
        try:
            proc = subprocess.run(["dvc", "repro", *([target] if target else [])], cwd=repo, env=env, capture_output=True, text=True,
                                  timeout=timeout)
            run.out = proc.stdout
            if proc.returncode != 0:
                run.error = f"dvc repro failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        except subprocess.TimeoutExpired as e:
            run.out = e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout or ""
            run.error = f"dvc repro: timed out after {timeout} s"
        run.seconds = round(time.perf_counter() - start, 1)
        run.ran = [line.split("'")[1] for line in run.out.splitlines() if line.startswith("Running stage")]
    return run


def stale(repo: Path, env: dict) -> tuple[str, set[str]]:
    """`dvc status`: its text and the stages it names (none: "Data and pipelines are up to date.")."""
    out = sh("dvc", "status", cwd=repo, env=env).stdout
    return out, {line[:-1] for line in out.splitlines() if line.endswith(":") and not line[0].isspace()}
