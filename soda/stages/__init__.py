"""The pipeline's stages, one module each (module name = stage name with underscores).

Each has a typed `Config` (the params sections it reads) and `run(cfg, *, inputs..., outputs...)`
returning its metrics; soda/stage.py builds the command line `soda <stage>` from that signature.
dvc.yaml's deps for a stage are exactly the repository files its module imports (tests/test_deps.py).
"""

