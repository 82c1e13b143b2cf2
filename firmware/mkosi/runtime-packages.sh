#!/usr/bin/env bash
# Prints the Debian packages holding the shared libraries BINARY needs
# directly (its NEEDED entries), one per line: the image installs these
# instead of the -dev packages the build uses.
set -euo pipefail
bin=${1:?usage: runtime-packages.sh BINARY}
libs=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $libs; do
	path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF}' | head -1)
	if [ -z "$path" ]; then
		echo "runtime-packages: $lib (needed by $bin) is not installed here" >&2
		exit 1
	fi
	# dpkg knows a library by the path its package ships (/usr/lib on a
	# merged-/usr system, where ldconfig may name /lib).
	pkg=""
	for p in "$path" "/usr$path" "$(realpath "$path")"; do
		pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
	done
	if [ -z "$pkg" ]; then
		echo "runtime-packages: no package holds $path" >&2
		exit 1
	fi
	echo "$pkg"
done | sort -u
