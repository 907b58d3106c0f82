from pathlib import Path

import pytest

from soda.tools.experiments import commands, load_grid
from soda.io import InputError


GRIDS = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "soda" / "configs").glob("grid-*.yaml"))


def test_grids_are_found():
    assert len(GRIDS) >= 5  # an empty glob would turn the test below into no test at all


@pytest.mark.parametrize("grid", GRIDS)
def test_every_shipped_grid_resolves_to_valid_params(grid):
    # commands() applies each variant's overrides to params.yaml and validates the result: a
    # renamed key or a bad value in a grid fails here, not hours into a queue
    seeds, variants, _ = load_grid(f"soda/configs/{grid}")
    assert len(commands(f"soda/configs/{grid}")) == len(seeds) * len(variants)


def test_shipped_grid_expands_to_variant_by_seed_commands():
    cmds = commands("soda/configs/grid-paper.yaml")
    seeds, variants, _ = load_grid("soda/configs/grid-paper.yaml")
    assert len(cmds) == len(seeds) * len(variants) == 36
    ratio = next(c for c in cmds if "ratio-0-0-4-s3" in c)
    assert ratio[:5] == ["dvc", "exp", "run", "--queue", "-n"]
    assert "evolve.ratio=[0, 0, 4]" in ratio and "seed=3" in ratio and "world.heldout_size=220" in ratio
    assert "fcl_train.enabled=false" in next(c for c in cmds if "no-fcl-s2" in c)
    # the reference variant of every seed first, then the others seed-major
    names = [c[5] for c in cmds]
    first, *rest = variants
    assert names[: len(seeds)] == [f"{first}-s{s}" for s in seeds]
    assert names[len(seeds): len(seeds) + len(rest)] == [f"{v}-s{seeds[0]}" for v in rest]


def test_grid_params_go_to_every_variant_under_its_own(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("seeds: [2]\nparams: {world.heldout_size: 220, fcl_train.lr: 0.0001}\n"
                    "variants:\n  full: {}\n  no-fcl: {fcl_train.enabled: false, fcl_train.lr: 0.001}\n")
    full, no_fcl = commands(str(grid))
    assert "world.heldout_size=220" in full and "fcl_train.lr=0.0001" in full
    assert "world.heldout_size=220" in no_fcl and "fcl_train.lr=0.001" in no_fcl and "fcl_train.lr=0.0001" not in no_fcl
    grid.write_text("seeds: [2]\nparams: {world.heldout: 220}\nvariants:\n  full: {}\n")
    with pytest.raises(InputError, match="unknown param world.heldout"):
        commands(str(grid))


def test_seeds_option_replaces_the_grids_seeds():
    names = [c[5] for c in commands("soda/configs/grid-paper.yaml", seeds=[1, 2])]
    assert names[:3] == ["full-s1", "full-s2", "no-fcl-s1"] and len(names) == 24
    assert not any(n.endswith("-s3") for n in names)


def test_variants_option_queues_only_those():
    names = [c[5] for c in commands("soda/configs/grid-paper.yaml", names=["full", "dpo-sft"])]
    assert names == ["full-s2", "full-s3", "full-s4", "dpo-sft-s2", "dpo-sft-s3", "dpo-sft-s4"]
    with pytest.raises(InputError, match="--variants: 'dpo' is not a variant"):
        commands("soda/configs/grid-paper.yaml", names=["dpo"])


def test_stopped_queue_workers_are_counted_while_tasks_wait():
    from soda.tools.experiments import missing_workers

    assert missing_workers({"Queued": 17, "Running": 1, "workers": 1}, jobs=2) == 1
    assert missing_workers({"Queued": 3, "Running": 0}, jobs=2) == 2
    assert missing_workers({"Running": 1, "workers": 1}, jobs=2) == 0  # the last task: nothing to start
    assert missing_workers({"Queued": 5, "Running": 2, "workers": 2}, jobs=2) == 0


def test_a_bad_seeds_option_is_named(capsys):
    from soda.tools.experiments import main

    with pytest.raises(SystemExit) as exit_:
        main(["queue", "soda/configs/grid-paper.yaml", "--seeds", "1,a", "--dry-run"])
    assert exit_.value.code == 2
    assert "--seeds: '1,a': expected comma-separated integers" in capsys.readouterr().err


def test_dry_run_prints_commands_a_shell_runs_as_queued(capsys):
    import shlex

    from soda.tools.experiments import main

    assert main(["queue", "soda/configs/grid-paper.yaml", "--variants", "ratio-0-0-4", "--dry-run"]) == 0
    printed = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    # "evolve.ratio=[0, 0, 4]" unquoted would reach dvc as three words (hydra: "no viable alternative")
    assert printed == commands("soda/configs/grid-paper.yaml", names=["ratio-0-0-4"])


def test_mlflow_server_serves_the_sqlite_store(tmp_path):
    import mlflow
    import sqlite3

    from soda.tools.experiments import mlflow_server

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with mlflow_server(store) as url:
        client = mlflow.MlflowClient(url)
        run = client.create_run(client.create_experiment("grid"))
        client.log_metric(run.info.run_id, "pass_at_1", 0.25)
    # written to the file, and the server is gone
    rows = sqlite3.connect(tmp_path / "mlflow.db").execute("select key, value from metrics").fetchall()
    assert rows == [("pass_at_1", 0.25)]
    with pytest.raises(OSError):
        __import__("urllib.request").request.urlopen(f"{url}/health", timeout=2)


@pytest.mark.parametrize("body,message", [
    ("variants: {a: {csl_train.lrr: 1}}", "variants.a: unknown param csl_train.lrr"),
    ("variants: {a: {nope.x: 1}}", "variants.a: unknown param nope.x"),
    ("variants: {a: {csl_train.epochs: 'many'}}", "csl_train.epochs: input should be a valid number"),
    ("variants: {a: {evolve.ratio: [1, 2]}}", "evolve.ratio must be three"),
    ("seeds: [a]\nvariants: {a: {}}", "seeds must be a non-empty list"),
    ("variant: {}", "unknown key 'variant'"),
])
def test_bad_grid_names_the_variant_and_key(tmp_path, body, message):
    grid = tmp_path / "grid.yaml"
    grid.write_text(body)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        commands(str(grid))


def _start_stage(uri, barrier, results):
    import os

    os.environ["MLFLOW_TRACKING_URI"] = uri
    from soda.tracking import stage_run

    barrier.wait()  # every process creates the fresh store at the same moment
    try:
        with stage_run({"runtime": {"mlflow": {"tracking_uri": None, "experiment": "soda"}}}, "world"):
            pass
        results.put("ok")
    except Exception as e:  # the race's errors: alembic CommandError, sqlite OperationalError
        results.put(f"{type(e).__name__}: {e}"[:200])


def test_stages_started_together_on_a_fresh_sqlite_store_all_log(tmp_path):
    """`dvc queue start -j 2` without an mlflow server: two stages create the store at once."""
    import multiprocessing
    import sqlite3

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    procs = [ctx.Process(target=_start_stage, args=(uri, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [results.get(timeout=5) for _ in procs] == ["ok"] * 4
    assert sqlite3.connect(tmp_path / "mlflow.db").execute("select count(*) from runs").fetchone() == (4,)
