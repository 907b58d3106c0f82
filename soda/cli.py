"""`soda` console script: one subcommand per stage, plus bench, sandbox, report, experiments, audit.

Each subcommand is a module with `main(argv: list[str]) -> int`; imports are lazy so that
`soda --help` stays fast and heavy dependencies load only for the command that needs them.
"""

from __future__ import annotations

import importlib
import sys

from soda.io import InputError

COMMANDS = {
    # stages (names as in dvc.yaml)
    "world": ("stages.world", "generate the embedded task world (seed and held-out sets)"),
    "init-models": ("stages.init_models", "create the tokenizer, base student and base scorer"),
    "decontaminate": ("stages.decontaminate", "remove questions similar to benchmark items"),
    "teacher-generate": ("stages.teacher_generate", "teacher writes correct and faulty solutions"),
    "csl-train": ("stages.csl_train", "correctness-aware supervised learning"),
    "fcl-train": ("stages.fcl_train", "fault-aware contrastive learning (DPO)"),
    "score-train": ("stages.score_train", "annotate with prompt C and fine-tune the scoring model"),
    "feedback": ("stages.feedback", "execute and score student answers, classify difficulty"),
    "evolve": ("stages.evolve", "write new questions from sampled ones"),
    "evaluate": ("stages.evaluate", "pass@1, pass@10 and model score on benchmarks"),
    # tools
    "bench": ("soda.bench", "benchmarks: soda bench {sandbox,decontam,train,generate,evaluate}"),
    "sandbox": ("sandbox.cli", "run code in the sandbox: soda sandbox run FILE --lang L"),
    "report": ("soda.report", "render the paper's Table 1 from metrics and experiments"),
    "experiments": ("soda.experiments", "queue a grid of dvc experiments"),
    "audit": ("soda.audit", "pull and verify the artifacts behind a result"),
    "power": ("soda.power", "held-out tasks and seeds needed to detect a pass@1 difference"),
}


def usage() -> str:
    lines = ["usage: soda COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<18}{help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"soda: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except InputError as e:
        print(f"soda {name}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
