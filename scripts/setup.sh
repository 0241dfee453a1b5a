#!/usr/bin/env bash
# Sets up .venv with a CPU build of PyTorch and onceforall (editable). Idempotent.
#   bash scripts/setup.sh          # library + CLI
#   bash scripts/setup.sh --dev    # + test tools and the reference implementation as an oracle
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1
python3 -m venv .venv
py=.venv/bin/python
$py -m pip install -q --upgrade pip >/dev/null
# torch first, pinned: the CPU build on this machine's disk. Nothing after this may replace it.
$py -c "import torch" 2>/dev/null || $py -m pip install -q "torch==2.13.0"
if [ $dev = 1 ]; then
    $py -m pip install -q -e ".[dev]"
    # The reference implementation, only as a test oracle (its own deps are not needed).
    $py -m pip install -q --no-deps "ofa==0.1.0.post202307202001"
else
    $py -m pip install -q -e ".[deploy,plots,images]"
fi
# Real data for the demo and the data tests: Fashion-MNIST from Debian.
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
          || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null)) \
          || echo "warning: could not install dataset-fashion-mnist"
    else
        echo "note: install Fashion-MNIST with: sudo apt-get install dataset-fashion-mnist"
    fi
fi
echo "setup done: $($py -c 'import torch, onceforall; print("torch", torch.__version__, "onceforall", onceforall.__version__)')"
