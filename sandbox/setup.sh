#!/usr/bin/env bash
# Install the sandbox's system toolchains: bubblewrap (isolation) and the compilers and
# runtimes of the seven languages. Idempotent: when everything is already present it only
# checks and returns in well under a second, so the project's setup can call it every time.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have bwrap || need_apt+=(bubblewrap)
have gcc || need_apt+=(gcc)
have g++ || need_apt+=(g++)
have javac || need_apt+=(default-jdk-headless)
have node || need_apt+=(nodejs)
have npm || need_apt+=(npm)
have go || [ -x /usr/lib/go/bin/go ] || need_apt+=(golang-go)
# HumanEval-X C++ includes boost headers (boost/any.hpp) and OpenSSL's md5.
[ -f /usr/include/boost/any.hpp ] || need_apt+=(libboost-dev)
[ -f /usr/include/openssl/md5.h ] || need_apt+=(libssl-dev)
# Go tests in HumanEval-X import testify; Debian ships it as a GOPATH source package.
[ -d /usr/share/gocode/src/github.com/stretchr/testify ] || need_apt+=(golang-github-stretchr-testify-dev)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "sandbox/setup.sh: missing ${need_apt[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "sandbox/setup.sh: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# TypeScript is not packaged usefully by Debian; take the compiler from npm.
if ! have tsc; then
  echo "sandbox/setup.sh: installing typescript from npm" >&2
  npm install -g --silent typescript >/dev/null
fi
# HumanEval-X JavaScript imports js-md5 (runs find global packages through NODE_PATH).
if [ ! -d /usr/lib/node_modules/js-md5 ] && [ ! -d /usr/local/lib/node_modules/js-md5 ]; then
  echo "sandbox/setup.sh: installing js-md5 from npm" >&2
  npm install -g --silent js-md5 >/dev/null
fi
echo "sandbox/setup.sh: toolchains ready" >&2
