"""`soda` console script: one subcommand per stage (stages/, command line from stages/__init__.py),
plus bench, sandbox, report, variants, experiments, audit (modules with `main(argv) -> int`).
Imports are lazy so that `soda --help` stays fast and heavy dependencies load only for the command that needs them.
"""

from __future__ import annotations

import importlib
import sys

from soda.io import InputError

STAGE_HELP = {
    "world": "generate the embedded task world (seed and held-out sets)",
    "init-models": "create the tokenizer, base student and base scorer",
    "decontaminate": "remove questions similar to benchmark items",
    "score-train": "annotate with prompt C and fine-tune the scoring model",
    "teacher-generate": "teacher writes correct and faulty solutions",
    "csl-train": "correctness-aware supervised learning",
    "fcl-train": "fault-aware contrastive learning (DPO)",
    "feedback": "execute and score student answers, classify difficulty",
    "evolve": "write new questions from sampled ones",
    "evaluate": "pass@1, pass@10 and model score on benchmarks",
}
TOOLS = {
    "bench": ("soda.tools.bench", "benchmarks: soda bench {sandbox,decontam,train,generate,evaluate,teacher}"),
    "sandbox": ("sandbox.cli", "run code in the sandbox: soda sandbox run FILE --lang L"),
    "params": ("soda.params", "check params.yaml; print `dvc exp run -S` flags of a fragment; write docs/params.md's table"),
    "report": ("soda.report", "render the paper's Table 1 from metrics and experiments"),
    "variants": ("soda.tools.variants", "compare a grid's variants: mean ± sd over seeds, Wilcoxon, figures; `compare` for checkouts"),
    "experiments": ("soda.tools.experiments", "queue a grid of dvc experiments"),
    "audit": ("soda.tools.audit", "pull and verify the artifacts behind a result"),
    "power": ("soda.tools.power", "held-out tasks and seeds needed to detect a pass@1 difference"),
    "displacement": ("soda.tools.displacement", "what FCL did to log p of chosen and rejected solutions, per fault type"),
}


def usage() -> str:
    lines = ["usage: soda COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<18}{help_}" for name, help_ in STAGE_HELP.items()]
    lines += [f"  {name:<18}{help_}" for name, (_, help_) in TOOLS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name in STAGE_HELP:
        from stages import main as stage_main

        return stage_main(importlib.import_module(f"stages.{name.replace('-', '_')}").run, rest)
    if name not in TOOLS:
        print(f"soda: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(TOOLS[name][0])
    try:
        return int(module.main(rest) or 0)
    except InputError as e:
        print(f"soda {name}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
