#!/usr/bin/env bash
# The GPU benchmark, prepared for a machine with CUDA PyTorch and transformers but no network.
#
#   benchmarks/gpu.sh prepare   # here, with the package registry: the project and its other needs as wheels
#   benchmarks/gpu.sh           # there (no network): install from those wheels, run, write the result files
#
# `prepare` writes build/wheelhouse/ (git-ignored; WHEELS=DIR to choose): a wheel of the project and
# of every dependency but torch and transformers (Beam and what Beam needs), for the Python that runs
# it (PYTHON=python3.X to choose; copy the folder to the GPU machine if it is another one). The run
# installs with `pip --no-index`, so nothing is fetched, then runs the benchmark with --device cuda
# --precision fp16 and a large token budget on ARTICLES generated articles (1000) and writes
# benchmarks/results/cuda-fp16-ARTICLES.{md,json}. It takes about 5 minutes on one H200-class GPU
# (the CPU-side modes, start-up and the naive loop, dominate); TIMEOUT (540 s) keeps it under 10.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-build/wheelhouse}
ARTICLES=${ARTICLES:-1000}
TIMEOUT=${TIMEOUT:-540}

if [ "${1:-run}" = prepare ]; then
    mkdir -p "$WHEELS"
    "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" .
    # Every core requirement but the two the GPU machine brings in its CUDA build.
    "$PYTHON" - > "$WHEELS/requirements.txt" <<'PY'
import ast, pathlib
tree = ast.parse(pathlib.Path("setup.py").read_text())
requires = next(ast.literal_eval(n.value) for n in ast.walk(tree)
                if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "REQUIRES")
print("\n".join(r for r in requires["core"] if not r.startswith(("torch", "transformers"))))
PY
    "$PYTHON" -m pip download --quiet --only-binary=:all: --dest "$WHEELS" -r "$WHEELS/requirements.txt"
    echo "wheels for the GPU machine in $WHEELS ($(ls "$WHEELS" | wc -l) files, $(du -sh "$WHEELS" | cut -f1))"
    exit 0
fi

"$PYTHON" -c 'import torch, transformers; assert torch.cuda.is_available(), "torch sees no GPU"' \
    || { echo "gpu.sh needs CUDA PyTorch and transformers installed, and a GPU" >&2; exit 2; }
[ -d "$WHEELS" ] || { echo "no $WHEELS: run 'benchmarks/gpu.sh prepare' on a machine with the registry" >&2; exit 2; }
"$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" -r "$WHEELS/requirements.txt"
"$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" --no-deps newsevents
# From outside the checkout, so the installed package (with its embedded models) is what runs.
cd /tmp
timeout "$TIMEOUT" "$PYTHON" -m newsevents.benchmarks.run --device cuda --precision fp16 --articles "$ARTICLES" \
    --modes limit,pipeline,naive --results-dir "$OLDPWD/benchmarks/results" \
    --pipeline-flag=--batch-size --pipeline-flag=256 --pipeline-flag=--max-batch-tokens --pipeline-flag=65536
