#!/usr/bin/env bash
#! Installs everything the build and the tests need, idempotently: pinned Rust toolchains,
#! bpf-linker built against the pinned nightly's own libLLVM, and the Debian packages the tests use.
#! The IPVS guest (QEMU, a Debian cloud kernel in a cache) too. Fast and quiet when everything is
#! present; prints what it installs otherwise.
set -euo pipefail

STABLE=1.99.1
NIGHTLY=nightly-2026-10-30
BPF_LINKER_VERSION=0.13.0
# Where bpf-linker's libLLVM symlinks live. bpf-linker gets an rpath to it, so it must stay put.
PREFIX=${VRRP_TOOLS_PREFIX:-/opt/vrrp-xdp-tools}
# busybox-static and ipvsadm: the IPVS guest's /init and reference CLI (scripts/ipvs-vm.sh).
DEB_PACKAGES=(iproute2 iputils-arping iputils-ping ndisc6 tcpdump tshark keepalived python3-scapy nftables ethtool procps psmisc busybox-static ipvsadm)
# The IPVS guest's kernel and apt state (must match scripts/ipvs-vm.sh).
VM_CACHE=${VRRP_IPVS_VM_CACHE:-/var/cache/vrrp-xdp/ipvs-vm}

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

# IPVS tests run in a QEMU guest: the host kernel has no IPVS (scripts/ipvs-vm.sh).
if ! dpkg-query -W -f='${Status}' qemu-system-x86 2>/dev/null | grep -q "install ok installed"; then
  apt_dirs=() target=()
  if dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '~bpo12'; then
    # The preinstalled qemu-utils is a bookworm-backports build, which bookworm's qemu would
    # remove: take qemu-system-x86 from backports too, through a private apt list directory so
    # that /etc/apt stays untouched.
    a=$VM_CACHE/apt-bpo
    mkdir -p "$a/parts" "$a/lists/partial" "$a/cache/archives/partial"
    cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$a/parts/" 2>/dev/null || true
    if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$a/parts/base.list"; fi
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      >"$a/parts/zz-bookworm-backports.sources"
    apt_dirs=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$a/parts"
      -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache")
    target=(-t bookworm-backports)
  fi
  say "installing qemu-system-x86 ${target[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_dirs[@]}" update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_dirs[@]}" install -y -qq --no-install-recommends \
    "${target[@]}" qemu-system-x86 >/dev/null
  rm -f "$VM_CACHE"/apt-bpo/cache/archives/*.deb
fi

# The guest kernel: Debian's cloud kernel (IP_VS=m, every scheduler a module, 8250 console built
# in), downloaded and unpacked into the cache, never installed. `kernel-pkg` names the one in use:
# the newest when first fetched, kept until the cache is removed or VRRP_IPVS_VM_KERNEL_PKG names
# another.
vm_kernel=${VRRP_IPVS_VM_KERNEL_PKG:-$(cat "$VM_CACHE/kernel-pkg" 2>/dev/null || true)}
if [ -n "$vm_kernel" ] && [ -f "$VM_CACHE/$vm_kernel/.done" ]; then
  if [ "$(cat "$VM_CACHE/kernel-pkg" 2>/dev/null)" != "$vm_kernel" ]; then echo "$vm_kernel" >"$VM_CACHE/kernel-pkg"; fi
else
  mkdir -p "$VM_CACHE"
  resolve() {
    if [ -n "${VRRP_IPVS_VM_KERNEL_PKG:-}" ]; then echo "$VRRP_IPVS_VM_KERNEL_PKG"; return; fi
    apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
  }
  fetch() {   # fetch PKG: download and unpack into $VM_CACHE/PKG/root
    rm -rf "${VM_CACHE:?}/$1" && mkdir -p "$VM_CACHE/$1/deb"
    (cd "$VM_CACHE/$1/deb" && apt-get download -qq "$1" >/dev/null 2>&1) || return 1
    dpkg -x "$VM_CACHE/$1"/deb/*.deb "$VM_CACHE/$1/root" || return 1
    rm -rf "$VM_CACHE/$1/deb"
  }
  kpkg=$(resolve)
  say "downloading the IPVS guest kernel ${kpkg:-linux-image-cloud-amd64} (~27 MB) into $VM_CACHE"
  if [ -z "$kpkg" ] || ! fetch "$kpkg"; then
    # Missing or stale package lists (they may name a version the mirror no longer has).
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    kpkg=$(resolve)
    [ -n "$kpkg" ] || { say "cannot resolve linux-image-cloud-amd64"; exit 1; }
    fetch "$kpkg" || { say "apt-get download $kpkg failed"; exit 1; }
  fi
  # The .deb ships no modules.dep.
  busybox depmod -b "$VM_CACHE/$kpkg/root" "$(ls "$VM_CACHE/$kpkg/root/lib/modules")"
  touch "$VM_CACHE/$kpkg/.done"
  echo "$kpkg" >"$VM_CACHE/kernel-pkg"
fi
