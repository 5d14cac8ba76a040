#!/usr/bin/env bash
#! Boots a throwaway QEMU guest whose kernel has IPVS, runs a command in it as root, streams the
#! guest console to stdout and exits with the command's status.
#!
#! Why: the host kernel has no IPVS (and no loadable modules); /dev/kvm here is PVM-only, so the
#! guest runs under TCG (software emulation) and boots to /init in ~3 s. scripts/setup.sh installs
#! QEMU, busybox-static, ipvsadm and unpacks Debian's cloud kernel (IP_VS=m) into the cache.
#!
#! Usage: scripts/ipvs-vm.sh [-f FILE]... [--] COMMAND...
#!   -f FILE   copy FILE into the guest's /payload (repeatable); the shared libraries of every ELF
#!             file there (found with ldd on the host) go in too, so a `cargo test --no-run`
#!             binary runs unchanged.
#!   COMMAND   run with bash in /payload (words joined with spaces, so shell syntax works).
#! The guest has busybox, iproute2's ip, ipvsadm, the IPVS modules and every scheduler, veth,
#! dummy, macvlan and bridge loaded, lo up and no network card. IPVS tables are per network
#! namespace, so each test can take its own.
#!
#! Environment: VRRP_IPVS_VM_CACHE (default /var/cache/vrrp-xdp/ipvs-vm, as in scripts/setup.sh),
#! VRRP_IPVS_VM_TIMEOUT (seconds, default 300), VRRP_IPVS_VM_MEM (MiB, default 1024),
#! VRRP_IPVS_VM_SMP (vCPUs, default 1), VRRP_IPVS_VM_VERBOSE=1 (kernel boot log).
#! RUST_BACKTRACE and RUST_LOG are passed on to the guest command.
#!
#! The guest prints `VRRP-VM-EXIT=<status>` when the command ends, then powers off.
#! Exit status: the command's; 97 when the guest reported none (kernel panic, timeout);
#! 98 when the host side could not set the guest up.
set -euo pipefail

CACHE=${VRRP_IPVS_VM_CACHE:-/var/cache/vrrp-xdp/ipvs-vm}
TIMEOUT=${VRRP_IPVS_VM_TIMEOUT:-300}
MEM=${VRRP_IPVS_VM_MEM:-1024}
SMP=${VRRP_IPVS_VM_SMP:-1}
VERBOSE=${VRRP_IPVS_VM_VERBOSE:-0}
MODULES="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_dh ip_vs_mh ip_vs_sed ip_vs_nq
  ip_vs_fo ip_vs_ovf ip_vs_lblc ip_vs_lblcr veth dummy macvlan bridge"

log() { echo "ipvs-vm: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 98
}
T0=$(date +%s%N)
elapsed() { echo "$((($(date +%s%N) - T0) / 1000000)) ms"; }

FILES=()
while getopts "f:h" opt; do
  case $opt in
    f) FILES+=("$OPTARG") ;;
    h)
      sed -n 's/^#!\( \|$\)//p' "$0"
      exit 0
      ;;
    *) exit 98 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || die "no command (usage: $0 [-f FILE]... [--] COMMAND...)"
CMD="$*"

# ---------------------------------------------------------------- what setup.sh installed
KPKG=$(cat "$CACHE/kernel-pkg" 2>/dev/null) && [ -f "$CACHE/$KPKG/.done" ] ||
  die "no guest kernel in $CACHE: run scripts/setup.sh (or ./x)"
KROOT=$CACHE/$KPKG/root
KVER=$(ls "$KROOT/lib/modules")
KERNEL=$KROOT/boot/vmlinuz-$KVER
MODROOT=$KROOT/lib/modules/$KVER
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing: run scripts/setup.sh"
BUSYBOX=$(command -v busybox) || die "busybox missing: run scripts/setup.sh"
IPVSADM=$(command -v ipvsadm) || die "ipvsadm missing: run scripts/setup.sh"
for f in ${FILES[@]+"${FILES[@]}"}; do [ -f "$f" ] || die "no such file: $f"; done

# ---------------------------------------------------------------- initramfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc/modprobe.d,root,payload}
mkdir -p "$R/lib/modules/$KVER"
cp "$BUSYBOX" "$R/bin/busybox"
ln -s ../bin/busybox "$R/sbin/modprobe" # the kernel's request_module() helper

copy_libs() { # copy_libs FILE: the shared libraries of an ELF file (from ldd) into the guest
  head -c4 "$1" 2>/dev/null | grep -q ELF || return 0
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*'); do
    [ -e "$R$lib" ] && continue
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
}
copy_bin() { # copy_bin SRC DEST: a program and its shared libraries
  mkdir -p "$R$(dirname "$2")"
  cp -L "$1" "$R$2"
  copy_libs "$1"
}
copy_bin "$IPVSADM" /usr/sbin/ipvsadm
copy_bin "$(command -v ip)" /usr/sbin/ip # busybox's ip has no netns
# Commands run under bash: Debian's busybox ash prefers its own applets (its `ip`) over $PATH.
copy_bin "$(command -v bash)" /usr/bin/bash

# Kernel modules: modules.dep lists each module with its whole dependency closure.
for m in $MODULES; do
  line=$(grep -E "(^|/)$m\.ko(\.[gx]z|\.zst)?:" "$MODROOT/modules.dep") || die "module $m not in $KVER"
  for f in $(echo "$line" | tr -d ':'); do
    [ -e "$R/lib/modules/$KVER/$f" ] && continue
    mkdir -p "$R/lib/modules/$KVER/$(dirname "$f")"
    cp "$MODROOT/$f" "$R/lib/modules/$KVER/$f"
  done
done
cp "$MODROOT/modules.builtin" "$MODROOT/modules.order" "$R/lib/modules/$KVER/"
"$BUSYBOX" depmod -b "$R" "$KVER"
echo $MODULES >"$R/etc/vm-modules"
echo "options dummy numdummies=0" >"$R/etc/modprobe.d/vm.conf" # no stray dummy0

for f in ${FILES[@]+"${FILES[@]}"}; do
  cp -L "$f" "$R/payload/"
  copy_libs "$f"
done
printf '%s\n' "$CMD" >"$R/etc/vm-cmd"
: >"$R/etc/vm-env"
for v in RUST_BACKTRACE RUST_LOG; do
  if [ -n "${!v:-}" ]; then printf 'export %s=%q\n' "$v" "${!v}" >>"$R/etc/vm-env"; fi
done

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run/netns
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
echo "VRRP-VM-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r) cpus=$(nproc)"
for m in $(cat /etc/vm-modules); do
  modprobe "$m" || echo "VRRP-VM: modprobe $m failed"
done
ip link set lo up
. /etc/vm-env
cd /payload
bash -c "$(cat /etc/vm-cmd)" </dev/null
rc=$?
echo "VRRP-VM-EXIT=$rc uptime=$(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$WORK/initramfs.gz")
log "initramfs $(du -h "$WORK/initramfs.gz" | cut -f1) built in $(elapsed); booting $KVER (tcg, ${SMP} vCPU, ${MEM} MiB, timeout ${TIMEOUT} s)"

# ---------------------------------------------------------------- boot
QUIET="quiet loglevel=3"
[ "$VERBOSE" = 1 ] && QUIET=""
OUT=$WORK/console.log
set +e
# A PVM-only /dev/kvm cannot run a stock kernel: TCG. oops=panic: a kernel bug ends the run now
# instead of at the timeout; panic=-1 with -no-reboot makes QEMU exit.
timeout -k 5 "$TIMEOUT" "$QEMU" -accel tcg -cpu max -m "$MEM" -smp "$SMP" \
  -nodefaults -no-user-config -display none -no-reboot -nic none \
  -chardev stdio,id=con,signal=off -serial chardev:con \
  -kernel "$KERNEL" -initrd "$WORK/initramfs.gz" \
  -append "console=ttyS0 panic=-1 oops=panic $QUIET" </dev/null 2>&1 |
  sed -u 's/\r$//' | tee "$OUT"
vmrc=${PIPESTATUS[0]}
set -e

rc=$(sed -n 's/^VRRP-VM-EXIT=\([0-9]*\).*/\1/p' "$OUT" | tail -n1)
if [ -z "$rc" ]; then
  log "the guest reported no exit status (qemu status $vmrc; 124 = timeout after ${TIMEOUT} s)"
  exit 97
fi
log "guest command exited $rc after $(elapsed)"
exit "$rc"
