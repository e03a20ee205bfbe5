#!/usr/bin/env bash
# Runs Flint's cgroup tests on cgroup v2 (the unified hierarchy) inside a QEMU virtual machine.
#
# Why: flintd has two cgroup back ends (scheduler/isolation/cgroups.cc), v1 and v2, chosen at
# start-up from what the host mounts. A host whose controllers are bound to v1 (and whose
# other cgroups are in use, so it cannot switch) never runs the v2 one. This script boots a
# Debian 6.1 kernel with only the unified hierarchy (cgroup_no_v1=all), shares the host's root
# file system with it read-only over virtio-9p (so the project and its build are at the same
# absolute paths), puts tmpfs on the writable places (/tmp, /run, /var/tmp, /dev/shm), mounts
# cgroup2 at /sys/fs/cgroup without enabling any controller (flintd does that itself), chroots
# into the host's root and runs the given test commands as root, printing to the serial
# console. It exits non-zero when a test command fails or the VM does not finish.
#
#   tools/cgroup-v2-vm.sh                      the cgroup unit tests, the isolation integration
#                                              tests and a smoke run of a real flintd (below),
#                                              from build-v2/
#   tools/cgroup-v2-vm.sh 'CMD ARGS' ...       each argument is one shell command, run in the
#                                              VM from /tmp (give binaries absolute paths)
#   FLINT_BUILD_DIR=build   which build the default commands use (default: build-v2)
#   FLINT_V2VM_CACHE=DIR    where the kernel and initramfs are kept (default:
#                           /tmp/flint-cgroup-v2-vm); downloaded once, reused afterwards
#   FLINT_V2VM_TIMEOUT=S    seconds before the VM is stopped (default: 1800)
#   FLINT_V2VM_ACCEL=kvm|tcg  skip the KVM probe (see below)
#   FLINT_V2VM_HIERARCHY=v1   a control run: the same VM with the cpu, cpuacct, memory and pids
#                           v1 hierarchies instead, to tell a v2 failure from one the slow
#                           emulator causes (timeouts)
#
# KVM is used where it can boot the guest; otherwise (no /dev/kvm, or nested virtualisation
# that hangs the guest, as on the Firecracker hosts this was written on) QEMU's emulator runs
# it, about 10x slower. Then the integration tests' cases with 2-3 s function timeouts on
# CPU-heavy work ("A C++ function that exhausts its limits is contained", sometimes the CPU
# quota one) time out on v2 and on the v1 control run alike; the smoke run
# (/tmp/flint-v2vm-smoke.sh in the VM) checks their outcomes with generous timeouts instead.
#
# Needs root and apt (qemu-system-x86 and busybox-static are installed if missing; the kernel
# package is only downloaded and unpacked, never installed). Build first, e.g.
#   cmake -S . -B build-v2 -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo && ninja -C build-v2
# Not part of tools/test.sh or CI: it takes minutes, and the emulator is slow.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FLINT_V2VM_CACHE:-/tmp/flint-cgroup-v2-vm}"
build="${FLINT_BUILD_DIR:-build-v2}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
timeout_s="${FLINT_V2VM_TIMEOUT:-1800}"
hierarchy="${FLINT_V2VM_HIERARCHY:-v2}"
if [ "$hierarchy" = v1 ]; then
  cmdline="systemd.unified_cgroup_hierarchy=0"
else
  cmdline="systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
fi

[ "$(id -u)" = 0 ] || { echo "cgroup-v2-vm: needs root" >&2; exit 2; }

if [ "$#" -eq 0 ]; then
  set -- \
    "$build/tests/unit/scheduler/isolation/isolation_unit_tests --use-colour no --warn NoTests 'Cgroups*,LimitsForMemory*'" \
    "$build/tests/integration/isolation/isolation_integration_tests --use-colour no --warn NoTests" \
    "FLINT_BUILD_DIR=$build /tmp/flint-v2vm-smoke.sh"
fi

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ]; then
  echo "== installing qemu-system-x86 and busybox-static"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 busybox-static >/dev/null
fi

# The newest Debian 6.1 kernel, unpacked (not installed) into the cache.
mkdir -p "$cache"
kdir="$cache/kernel"
if [ ! -e "$kdir/ready" ]; then
  pkg="$(apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' |
    sort -V | tail -n 1)"
  [ -n "$pkg" ] || { echo "cgroup-v2-vm: apt knows no linux-image-6.1.0-*-amd64" >&2; exit 2; }
  echo "== downloading $pkg"
  rm -rf "$kdir" "$cache/dl"
  mkdir -p "$kdir" "$cache/dl"
  # apt warns that it downloads "unsandboxed as root": harmless.
  (cd "$cache/dl" && apt-get download -q "$pkg")
  dpkg-deb -x "$cache"/dl/*.deb "$kdir"
  kver="$(ls "$kdir/lib/modules")"
  busybox depmod -b "$kdir" "$kver"
  touch "$kdir/ready"
fi
kver="$(ls "$kdir/lib/modules")"
vmlinuz="$kdir/boot/vmlinuz-$kver"

# The initramfs: busybox, the modules for a virtio-9p mount (with what they depend on), the
# init script and the commands to run.
echo "== building the initramfs"
ird="$cache/initramfs"
rm -rf "$ird"
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules/"$kver"}
cp /bin/busybox "$ird/bin/busybox"
declare -A want=()
for m in virtio_pci 9pnet_virtio 9p; do
  line="$(grep -E "(^|/)$m\.ko:" "$kdir/lib/modules/$kver/modules.dep")"
  for f in ${line/:/}; do want["$f"]=1; done
done
for f in "${!want[@]}"; do
  mkdir -p "$ird/lib/modules/$kver/$(dirname "$f")"
  cp "$kdir/lib/modules/$kver/$f" "$ird/lib/modules/$kver/$f"
done
cp "$kdir/lib/modules/$kver/modules.dep" "$ird/lib/modules/$kver/"
echo "$hierarchy" >"$ird/hierarchy"
: >"$ird/commands"
for cmd in "$@"; do printf '%s\n' "$cmd" >>"$ird/commands"; done
cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_pci 9pnet_virtio 9p; do modprobe "$m" || echo "FLINT-V2VM: modprobe $m failed"; done
ip link set lo up  # flintd and its tests talk over 127.0.0.1
hostname flint-v2vm
r=/newroot
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot "$r"; then
  echo "FLINT-V2VM: cannot mount the host's root"; poweroff -f
fi
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
cp /smoke.sh "$r/tmp/flint-v2vm-smoke.sh"
mount -t tmpfs -o mode=1777 vartmp "$r/var/tmp"
mount -t tmpfs -o mode=755 run "$r/run"
mount -t proc proc "$r/proc"
mount -t sysfs sys "$r/sys"
if [ "$(cat /hierarchy)" = v1 ]; then
  mount -t tmpfs -o mode=755 cgroup "$r/sys/fs/cgroup"
  for c in cpu cpuacct memory pids; do
    mkdir "$r/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" "$c" "$r/sys/fs/cgroup/$c"
  done
else
  mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
fi
mount -t devtmpfs dev "$r/dev"
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts devpts "$r/dev/pts"
mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
echo "FLINT-V2VM: kernel $(uname -r), $(nproc) CPUs"
echo "FLINT-V2VM: $(grep cgroup /proc/mounts | tr '\n' ' ')"
echo "FLINT-V2VM: cgroup.controllers: $(cat $r/sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
while IFS= read -r cmd; do
  [ -n "$cmd" ] || continue
  echo "FLINT-V2VM: RUN $cmd"
  chroot "$r" /usr/bin/env -i HOME=/tmp TMPDIR=/tmp \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/sh -c "cd /tmp && $cmd" </dev/null
  echo "FLINT-V2VM: RESULT $? $cmd"
done </commands
echo "FLINT-V2VM: left in /sys/fs/cgroup: $(cd $r/sys/fs/cgroup && find . -mindepth 1 -type d | tr '\n' ' ')"
echo "FLINT-V2VM: DONE"
poweroff -f
EOF
chmod 755 "$ird/init"
# The isolation integration tests' hostile C++ function with generous timeouts: under the
# emulator its 2 s timeout is too short, so this checks the same outcomes (fork bomb stopped
# by pids.max, kernel OOM kill at memory.max answered 502, the limits in the worker's files,
# no cgroup left once flintd stops) without a clock.
cat >"$ird/smoke.sh" <<'SMOKE'
#!/bin/bash
set -u
b="$FLINT_BUILD_DIR"
d="$(mktemp -d /tmp/flint-smoke-XXXXXX)"
export FLINT_DATA_DIR="$d/data"
mkdir -p "$d/data"
failed=0
expect() {  # what, got, wanted (a grep -E pattern)
  if printf '%s' "$2" | grep -Eq "$3"; then echo "smoke: ok   $1: $2"; else
    echo "smoke: FAIL $1: got '$2', wanted /$3/"; failed=1; fi
}
"$b/scheduler/flintd" --listen 127.0.0.1:0 --data-dir "$d/data" >"$d/flintd.log" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$d/data/flintd.url" ] && break; sleep 0.5; done
url="$(cat "$d/data/flintd.url")"
"$b/tools/cli/flint" deploy hostile /work/main/tests/functions/hostile-cpp/hostile.cc \
  --memory 256 --timeout 300s >/dev/null || failed=1
call() { curl -s -m 600 -w ' HTTP %{http_code}' "$url/fn/hostile?do=$1"; }
expect uid "$(call uid)" '^65534:65534 HTTP 200$'
loaded="$(grep -l 268435456 /sys/fs/cgroup/flint/$pid/w*/memory.max | head -n 1)"
expect "memory.max" "$(cat "$loaded")" '^268435456$'
expect "cpu.max" "$(cat "${loaded%/*}/cpu.max")" '^14471 100000$'
expect "pids.max" "$(cat "${loaded%/*}/pids.max")" '^64$'
expect fork "$(call fork)" '^([1-9]|[1-5][0-9]|6[0-3]) EAGAIN HTTP 200$'
expect alloc "$(call alloc)" 'memory limit of 256 MB.* HTTP 502$'
expect "uid after the OOM kill" "$(call uid)" '^65534:65534 HTTP 200$'
kill -TERM "$pid"
wait "$pid"
expect "flintd exit" "$?" '^0$'
left="$(ls /sys/fs/cgroup/flint 2>/dev/null | tr '\n' ' ')"
expect "cgroups left" "${left:-none}" '^none$'
[ "$failed" = 0 ] || tail -n 30 "$d/flintd.log"
rm -rf "$d"
exit "$failed"
SMOKE
chmod 755 "$ird/smoke.sh"
(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$cache/initrd.gz")

# KVM if it can boot this kernel, else QEMU's emulator (TCG, one thread per CPU; about 10x
# slower). Some nested-virtualisation hosts expose /dev/kvm but hang a 64-bit guest right
# after its real-mode set-up: a 30 s probe decides, and its answer is kept per host kernel.
accel_file="$cache/accel-$(uname -r)"
if [ -n "${FLINT_V2VM_ACCEL:-}" ]; then
  mode="$FLINT_V2VM_ACCEL"
elif [ ! -e /dev/kvm ]; then
  mode=tcg
else
  if [ ! -s "$accel_file" ]; then
    echo "== probing KVM"
    probe="$cache/kvm-probe.log"
    : >"$probe"
    qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -m 512M -smp 1 -display none \
      -monitor none -serial stdio -no-reboot -kernel "$vmlinuz" -append "console=ttyS0 panic=-1" \
      </dev/null >"$probe" 2>&1 &
    qemu_pid=$!
    for _ in $(seq 30); do
      grep -aq "Linux version" "$probe" && break
      kill -0 "$qemu_pid" 2>/dev/null || break
      sleep 1
    done
    if grep -aq "Linux version" "$probe"; then echo kvm >"$accel_file"; else echo tcg >"$accel_file"; fi
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  mode="$(cat "$accel_file")"
fi
if [ "$mode" = kvm ]; then
  accel=(-enable-kvm -cpu "host,-arch-capabilities")
else
  echo "== not using KVM (none, or it cannot boot the guest here): QEMU's emulator (TCG)"
  accel=(-accel "tcg,thread=multi" -cpu max)
fi

echo "== booting $kver (cgroup $hierarchy only, $mode); serial console follows"
log="$cache/console.log"
set +e
timeout "$timeout_s" qemu-system-x86_64 "${accel[@]}" -m 4G -smp 2 \
  -display none -monitor none -serial stdio -no-reboot \
  -kernel "$vmlinuz" -initrd "$cache/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 $cmdline" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  </dev/null 2>&1 | tee "$log"
set -e

echo "== summary (console log: $log)"
grep -a "FLINT-V2VM: RESULT" "$log" | tr -d '\r' || true
if ! grep -aq "FLINT-V2VM: DONE" "$log"; then
  echo "cgroup-v2-vm: the VM did not finish (timeout ${timeout_s}s or a crash)" >&2
  exit 1
fi
ran="$(grep -ac "FLINT-V2VM: RESULT" "$log" || true)"
failed="$(grep -a "FLINT-V2VM: RESULT" "$log" | tr -d '\r' | grep -vc "RESULT 0 " || true)"
echo "$ran command(s) run, $failed failed"
[ "$failed" = 0 ] && [ "$ran" = "$#" ]
