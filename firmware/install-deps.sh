#!/usr/bin/env bash
# Installs what LineSight needs on a Debian 12 machine. Idempotent: run it
# again after an upgrade. Needs root (uses sudo when not root).
#
#   install-deps.sh             a development machine or CI: the runtime
#                               libraries, the build tools, the test peers,
#                               the firmware tools (image, bundles)
#                               and the Go modules (`make setup`)
#   install-deps.sh --runtime   the box: the runtime libraries and the ONNX
#                               Runtime library only, never a test peer
#   install-deps.sh --list runtime|build|test|firmware
#                               print one group's Debian packages
#
# The box normally gets its runtime libraries from the linesight package's
# Depends (make deb); the runtime group here is the same list, for a box set
# up by hand. The package tests check that the two agree.
set -euo pipefail

ORT_VERSION=1.30.0
ORT_DIR=${LINESIGHT_ORT_DIR:-/usr/local/lib/linesight}
# sha256 of bin/napi-v6/linux/x64/libonnxruntime.so.1 in onnxruntime-node@1.30.0
ORT_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23

# What the appliance links against (GoCV's OpenCV 4.6, the C and C++
# runtimes) and loads (libonnxruntime.so.1, below).
RUNTIME_PACKAGES=(
  libc6 libgcc-s1 libstdc++6
  libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 libopencv-videoio406
  libopencv-highgui406 libopencv-calib3d406 libopencv-dnn406 libopencv-features2d406
  libopencv-objdetect406 libopencv-photo406 libopencv-video406
  ca-certificates        # TLS to MQTT brokers and escalation servers
  systemd                # the units, the linesight user (sysusers.d); systemd-analyze for the unit tests
)
# What building it needs.
BUILD_PACKAGES=(
  build-essential pkg-config
  libopencv-dev          # OpenCV 4.6 headers for GoCV (capture, colour, JPEG)
  nodejs npm             # the ONNX Runtime library and the dashboard's assets from the npm registry
  dpkg-dev               # dpkg-shlibdeps: the package's Depends (make deb)
)
# The test peers: references and services the tests compare against or
# talk to. Never on the box.
TEST_PACKAGES=(
  python3-pil            # Pillow: the reference the preprocessing tests compare against
  python3-regex          # Unicode regex for the reference tokenizer the tokenizer tests compare against
  python3-torch python3-numpy  # PyTorch: the independent CLIP the fidelity tests compare against
  mosquitto              # MQTT broker the PLC-link tests start on a loopback port
  mbpoll                 # Modbus TCP client the Modbus server tests drive
  chromium               # headless browser for the dashboard tests
  openssl                # test certificates for MQTT and HTTPS over TLS
)
# What building the image and update bundles needs (make image, make bundle),
# and what the update tests drive: the real rauc service on a private D-Bus.
# The image installs its own rauc; the .deb does not need these.
FIRMWARE_PACKAGES=(
  rauc dbus              # bundles, and the update tests' rauc service
  mkosi mtools           # the system image and its EFI partition
  squashfs-tools         # the root slot's filesystem
)

mode=all
case "${1:-}" in
  "") ;;
  --runtime) mode=runtime ;;
  --list)
    case "${2:-}" in
      runtime) printf '%s\n' "${RUNTIME_PACKAGES[@]}" ;;
      build) printf '%s\n' "${BUILD_PACKAGES[@]}" ;;
      test) printf '%s\n' "${TEST_PACKAGES[@]}" ;;
      firmware) printf '%s\n' "${FIRMWARE_PACKAGES[@]}" ;;
      *) echo "usage: $0 --list runtime|build|test|firmware" >&2; exit 2 ;;
    esac
    exit 0 ;;
  *) echo "usage: $0 [--runtime | --list runtime|build|test|firmware]" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

step() { printf '\n==> %s\n' "$*"; }

APT_PACKAGES=("${RUNTIME_PACKAGES[@]}")
if [ "$mode" = all ]; then
  APT_PACKAGES+=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${FIRMWARE_PACKAGES[@]}")
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may already have Node.js from elsewhere; then Debian's is not needed.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  step "apt: all packages present ($mode)"
fi

lib="$ORT_DIR/libonnxruntime.so.1"
if [ -f "$lib" ] && echo "$ORT_SHA256  $lib" | sha256sum -c --status; then
  step "ONNX Runtime $ORT_VERSION already at $lib"
else
  step "ONNX Runtime $ORT_VERSION: fetching onnxruntime-node@$ORT_VERSION from the npm registry"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
  if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  elif command -v curl >/dev/null 2>&1; then
    # The box has no Node.js: the same tarball, straight from the registry.
    curl -fsSL -o "$tgz" "https://registry.npmjs.org/onnxruntime-node/-/onnxruntime-node-$ORT_VERSION.tgz"
  else
    echo "neither npm nor curl: cannot fetch onnxruntime-node@$ORT_VERSION (install the linesight package instead, or curl)" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  got=$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)
  if [ "$got" != "$ORT_SHA256" ]; then
    echo "libonnxruntime.so.1 checksum mismatch: got $got, want $ORT_SHA256" >&2
    exit 1
  fi
  $SUDO install -D -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib"
  step "installed $lib"
fi

if [ "$mode" = all ]; then
  step "Go modules"
  go mod download
fi
echo "setup complete ($mode)"
