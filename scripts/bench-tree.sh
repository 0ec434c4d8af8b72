# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by scripts/bench-crypto.sh and scripts/bench.sh, which share one release tree
# (build-bench/ unless overridden). bench_tree DIR OPTION=VALUE... makes DIR a configured meson tree
# with those options, whichever script (or older version of one) configured it before: a new tree
# is set up as a release build with them (and dataplane=auto unless named, so that a tree made for
# the crypto benchmark alone needs no DPDK); an existing tree whose options differ is reconfigured
# with them; one that has them is left alone (no needless regeneration).
# Each script names only the options it needs to work, so neither undoes the other and no order of
# the two breaks the second: bench-crypto.sh used to set the tree up with dataplane=disabled and
# bench.sh, finding it configured, then had no meshgate or bench_dataplane to run (issue 11).
bench_tree() { # dir, source root, option=value...
	local dir=$1 root=$2 opts=(--buildtype=release) changed
	shift 2
	if [ ! -f "$dir/build.ninja" ]; then
		[[ " $* " == *" dataplane="* ]] || opts+=(-Ddataplane=auto)
		bench_tree_meson setup "$dir" "$root" "${opts[@]}" "${@/#/-D}"
		return
	fi
	# the options whose configured value differs from the one wanted, as -Dname=value
	changed=$(meson introspect "$dir" --buildoptions | python3 -c '
import json, sys
now = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for kv in sys.argv[1:]:
    name, want = kv.split("=", 1)
    have = now.get(name)
    if (str(have).lower() if isinstance(have, bool) else str(have)) != want:
        print(f"-D{kv}")
' "$@")
	if [ -n "$changed" ]; then
		echo "bench: $dir was configured otherwise; reconfiguring with ${changed//$'\n'/ }" >&2
		# shellcheck disable=SC2086 # one -Dname=value per word
		bench_tree_meson setup --reconfigure "$dir" "$root" $changed
	fi
}

# meson and ninja, quiet unless they fail (their errors, such as a missing DPDK or a compiler's,
# are on stdout)
bench_tree_meson() {
	local log
	log=$(meson "$@" 2>&1) || { printf '%s\n' "$log" | tail -n 20 >&2; return 1; }
}

bench_tree_ninja() { # dir, targets...
	local log
	log=$(ninja -C "$@" 2>&1) || { printf '%s\n' "$log" | tail -n 40 >&2; return 1; }
}
