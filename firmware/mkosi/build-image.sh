#!/usr/bin/env bash
# Builds the LineSight disk image: mkosi makes the root tree, this script
# squashes it into the slot image (the same file a RAUC bundle carries) and
# lays out the A/B disk around it. Needs root (mkosi). Usage:
#   build-image.sh OUTDIR BINARY ORT_LIBRARY UNIT_DIR KEYRING
# OUTDIR gets rootfs.squashfs, linesight.img and image.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: build-image.sh OUTDIR BINARY ORT_LIBRARY UNIT_DIR KEYRING}
bin=${2:?}; ort=${3:?}; units=${4:?}; keyring=${5:?}
out=$(mkdir -p "$out" && cd "$out" && pwd)

for f in "$bin" "$ort" "$keyring" "$units/linesight.service"; do
	[ -f "$f" ] || { echo "build-image: $f is missing" >&2; exit 1; }
done
for t in mkosi mksquashfs sfdisk mkfs.ext4 mkfs.vfat mcopy; do
	command -v "$t" >/dev/null || { echo "build-image: $t is not installed (firmware/install-deps.sh installs it)" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then echo "build-image: mkosi needs root" >&2; exit 1; fi

# mkosi runs its steps in systemd-nspawn, which refuses to clean up its
# propagation folder unless /run is a tmpfs; in a container /run may be on
# disk: then build in a mount namespace of our own with a tmpfs there.
# --nspawn-keep-unit: no transient scope, so no system bus is needed.
if [ "$(stat -f -c %T /run)" != tmpfs ] && [ -z "${LINESIGHT_IMAGE_NS:-}" ]; then
	exec env LINESIGHT_IMAGE_NS=1 unshare --mount --propagation private \
		sh -c 'mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && exec "$0" "$@"' "$0" "$@"
fi

# The staged extra tree: what this repository builds, on top of mkosi.extra/.
stage="$out/stage"
rm -rf "$stage" && mkdir -p "$stage"
install -D -m 0755 "$bin" "$stage/usr/bin/linesight"
install -D -m 0644 "$ort" "$stage/usr/local/lib/linesight/libonnxruntime.so.1"
install -D -m 0644 "$units/linesight.service" "$stage/usr/lib/systemd/system/linesight.service"
install -D -m 0644 "$repo/firmware/rauc/linesight-health-gate.service" "$stage/usr/lib/systemd/system/linesight-health-gate.service"
install -D -m 0644 "$repo/firmware/rauc/system.conf" "$stage/etc/rauc/system.conf"
install -D -m 0644 "$keyring" "$stage/etc/rauc/keyring.pem"
install -D -m 0644 "$repo/appliance/demo/classes.yaml" "$stage/usr/share/linesight/classes.yaml"
version=$("$bin" version 2>/dev/null || echo dev)
mkdir -p "$stage/usr/lib/linesight"
printf 'LINESIGHT_VERSION=%s\n' "$version" > "$stage/usr/lib/linesight/release"

mapfile -t runtime < <("$here/runtime-packages.sh" "$bin")
pkgargs=()
for p in "${runtime[@]}"; do pkgargs+=("--package=$p"); done

rm -rf "$out/root"
(cd "$here" && mkosi --force --nspawn-keep-unit --extra-tree="$here/mkosi.extra" --extra-tree="$stage" "${pkgargs[@]}" --output="$out/root" build)
printf 'LINESIGHT_VERSION=%s\n' "$version" > "$out/version"

# The slot image: read-only, compressed. RAUC bundles carry this file.
rm -f "$out/rootfs.squashfs"
mksquashfs "$out/root" "$out/rootfs.squashfs" -comp zstd -noappend -quiet -e boot/efi
"$here/assemble-disk.sh" "$out/root" "$out/rootfs.squashfs" "$out/linesight.img"
ls -l "$out/rootfs.squashfs" "$out/linesight.img"
