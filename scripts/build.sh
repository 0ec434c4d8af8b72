#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configure (once) and build meshgate: build/ (debugoptimized) and, with --asan, build-asan/
# (AddressSanitizer + UndefinedBehaviorSanitizer). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

setup_dir() { # dir, meson options...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
	echo "build: $dir ready"
}

setup_dir build
if [ "${1:-}" = "--asan" ]; then
	setup_dir build-asan -Db_sanitize=address,undefined -Db_lundef=false
fi
