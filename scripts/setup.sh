#!/usr/bin/env bash
#! Installs everything the build and the tests need, idempotently: pinned Rust toolchains,
#! bpf-linker built against the pinned nightly's own libLLVM, and the Debian packages the tests use.
#! Fast and quiet when everything is present; prints what it installs otherwise.
set -euo pipefail

STABLE=1.99.1
NIGHTLY=nightly-2026-10-30
BPF_LINKER_VERSION=0.13.0
# Where bpf-linker's libLLVM symlinks live. bpf-linker gets an rpath to it, so it must stay put.
PREFIX=${VRRP_TOOLS_PREFIX:-/opt/vrrp-xdp-tools}
DEB_PACKAGES=(iproute2 iputils-arping iputils-ping ndisc6 tcpdump tshark keepalived python3-scapy nftables ethtool procps psmisc)

say() { echo "setup: $*" >&2; }

have_toolchain() { rustup toolchain list 2>/dev/null | grep -q "^$1"; }

if ! have_toolchain "$STABLE"; then
  say "installing Rust $STABLE"
  rustup toolchain install "$STABLE" --profile minimal -c clippy,rustfmt >&2
fi
if ! have_toolchain "$NIGHTLY" || ! [ -d "$(rustc +"$NIGHTLY" --print sysroot)/lib/rustlib/src/rust/library" ] || ! [ -x "$(rustc +"$NIGHTLY" --print sysroot)/bin/cargo-clippy" ]; then
  say "installing Rust $NIGHTLY with rust-src"
  rustup toolchain install "$NIGHTLY" --profile minimal -c rust-src,clippy >&2
fi

linker_ok() {
  command -v bpf-linker >/dev/null 2>&1 && bpf-linker --version 2>/dev/null | grep -q "$BPF_LINKER_VERSION"
}
if ! linker_ok; then
  sysroot=$(rustc +"$NIGHTLY" --print sysroot)
  lib=$(cd "$sysroot/lib" && ls libLLVM.so.* | head -n1)
  major=$(rustc +"$NIGHTLY" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
  say "building bpf-linker $BPF_LINKER_VERSION against $lib (LLVM $major), ~2 min"
  mkdir -p "$PREFIX/lib"
  ln -sf "$sysroot/lib/$lib" "$PREFIX/lib/libLLVM.so"
  ln -sf "$sysroot/lib/$lib" "$PREFIX/lib/$lib"
  LLVM_PREFIX="$PREFIX" cargo +"$STABLE" install --locked --quiet bpf-linker \
    --version "$BPF_LINKER_VERSION" --no-default-features --features "llvm-$major" >&2
fi

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # keepalived must never run as a system service on a test host: tests start their own.
  systemctl disable --now keepalived >/dev/null 2>&1 || true
fi
