#!/usr/bin/env bash
# Puts the native build of @confluentinc/kafka-javascript (the librdkafka driver's binding, a
# devDependency) into node_modules. package.json's allowScripts keeps npm from running its install
# script (a prebuilt download, else a ~2 min compile, on every fresh clone), so this builds it once
# per machine against the system libraries (CKJS_LINKING=dynamic), keyed by the binding's version,
# the Node ABI and the architecture, keeps it in ~/.cache/nestjs-karafka/, and copies it in after
# every npm install. Needs root and apt the first time only. Run from the repository root.
set -euo pipefail

package=node_modules/@confluentinc/kafka-javascript
version=$(node -p "require('./${package}/package.json').version")
cache="${HOME}/.cache/nestjs-karafka/kafka-javascript-${version}-node${NODE_ABI:-$(node -p process.versions.modules)}-$(uname -m)"
loads() { node -e "require('@confluentinc/kafka-javascript')" 2>/dev/null; }

if [ ! -f "${cache}/Release/confluent-kafka-javascript.node" ]; then
  # Headers of the libraries it links against (g++, make and python3 are on the machine).
  libs=(libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev)
  if ! dpkg -s "${libs[@]}" >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${libs[@]}" >/dev/null
  fi
  echo "building @confluentinc/kafka-javascript ${version} into ${cache} (about 2 minutes, once)"
  # npm's nodedir (node's own headers), as npm's install script would get it: node-gyp downloads them otherwise.
  nodedir=$(npm config get nodedir)
  [[ "${nodedir}" == /* ]] && export npm_config_nodedir="${nodedir}"
  log="${cache}.log"
  mkdir -p "$(dirname "${cache}")"
  (cd "${package}" && CKJS_LINKING=dynamic ../../.bin/node-pre-gyp install --build-from-source) >"${log}" 2>&1 || {
    tail -40 "${log}" >&2
    exit 1
  }
  tmp="${cache}.tmp"
  rm -rf "${tmp}" && mkdir -p "${tmp}/Release" "${tmp}/deps"
  cp "${package}/build/Release/confluent-kafka-javascript.node" "${tmp}/Release/"
  # The binding loads librdkafka from ../deps (its rpath).
  cp -P "${package}"/build/deps/librdkafka*.so* "${tmp}/deps/"
  mv "${tmp}" "${cache}"
fi
mkdir -p "${package}/build"
cp -r "${cache}/Release" "${cache}/deps" "${package}/build/"
loads || {
  echo "the cached build in ${cache} does not load; delete that directory and run again" >&2
  exit 1
}
