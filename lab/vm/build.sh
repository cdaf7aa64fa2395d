#!/usr/bin/env bash
# Build the disk of the boot-time tuning VM: Debian (the host's own release, from the
# mirror in this machine's apt configuration, like lab/image/build.sh) with Debian's own
# kernel (linux-image-amd64) booted by a real GRUB (i386-pc, in the MBR gap) from an ext4
# root on /dev/vda1. The kernel command line of every boot comes from
# /etc/default/grub (+ /etc/default/grub.d/*.cfg) through update-grub, so the
# engine_tuning role's GRUB backend is what puts isolcpus=... on the running kernel.
#
#   build.sh OUTDIR        write OUTDIR/disk.raw (sparse), OUTDIR/id_ed25519[.pub]
#   build.sh --recipe-hash print the hash of this recipe (the cache key)
#
# Root only (debootstrap, chroot; no loop device). Nothing in the image reaches a network:
# the VM is run with qemu's restricted user-mode network (tests/integration/tuning_vm/vm.py).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [[ ${1:-} == --recipe-hash ]]; then
  cat "$here/build.sh" "$here/packages.txt" | sha256sum | cut -c1-12
  exit 0
fi
out=${1:?usage: build.sh OUTDIR | --recipe-hash}
size=${TRADEOPS_VM_DISK_SIZE:-3G}

read -r mirror suite < <("$here/../image/build.sh" --mirror)
packages=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)

work=$(mktemp -d /var/tmp/tradeops-vm.XXXXXX)
r=$work/root
cleanup() {
  set +e
  for m in dev/pts dev proc sys; do mountpoint -q "$r/$m" && umount -l "$r/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'vm/build.sh: %s\n' "$*" >&2; }

# The initramfs carries only what this VM boots from (fast to build, fast to load). Not
# package conffiles, so they can be in place before debootstrap installs the kernel.
mkdir -p "$r/etc/initramfs-tools/conf.d" "$r/usr/share/initramfs-tools/modules.d"
printf 'MODULES=list\n' >"$r/etc/initramfs-tools/conf.d/tradeops-vm.conf"
printf '%s\n' virtio_pci virtio_blk ext4 >"$r/usr/share/initramfs-tools/modules.d/tradeops-vm"

say "debootstrap $suite from $mirror (+ $(tr , ' ' <<<"$packages" | wc -w) packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$r" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

uuid=$(cat /proc/sys/kernel/random/uuid)
printf 'deb %s %s main\n' "$mirror" "$suite" >"$r/etc/apt/sources.list"
# No fsck pass: every boot is of a fresh copy-on-write overlay of this disk.
printf 'UUID=%s / ext4 errors=remount-ro 0 0\n' "$uuid" >"$r/etc/fstab"
echo tradeops-vm >"$r/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 tradeops-vm\n' >"$r/etc/hosts"
: >"$r/etc/machine-id"

# Network: DHCP from qemu's user-mode network on the only NIC (eth0: net.ifnames=0).
mkdir -p "$r/etc/systemd/network"
printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n' >"$r/etc/systemd/network/10-eth0.network"
ln -sf /lib/systemd/system/systemd-networkd.service \
  "$r/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# Units that only slow a TCG boot down, or wait for a network that is not there. Under
# TCG every unit and every module costs seconds: the boot is most of the scenario's time.
for unit in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer \
  systemd-journal-flush.service systemd-binfmt.service getty@tty1.service \
  modprobe@drm.service modprobe@fuse.service modprobe@loop.service modprobe@dm_mod.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount dev-mqueue.mount; do
  ln -sf /dev/null "$r/etc/systemd/system/$unit"
done
mkdir -p "$r/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$r/etc/systemd/journald.conf.d/tradeops-vm.conf"
# Drivers udev would load for qemu's emulated devices and CPU features that the test has
# no use for (the VM runs with -nodefaults: virtio disk and NIC, serial console).
printf 'blacklist %s\n' kvm kvm_amd kvm_intel cfg80211 pcspkr psmouse serio_raw evdev \
  parport_pc ppdev floppy drm bochs i2c_piix4 joydev sr_mod \
  >"$r/etc/modprobe.d/tradeops-vm-blacklist.conf"

# ssh as root with a key made for this image (kept next to the disk).
ssh-keygen -q -t ed25519 -N '' -C tradeops-vm -f "$work/id_ed25519"
install -d -m 0700 "$r/root/.ssh"
install -m 0600 "$work/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
  >"$r/etc/ssh/sshd_config.d/tradeops-vm.conf"

# GRUB's defaults: serial console, no menu wait. The arguments here are the image's own
# (console, interface names); the role must leave them alone when it adds its own
# through /etc/default/grub.d/.
cat >"$r/etc/default/grub" <<'GRUB'
# /etc/default/grub of the tradeops boot-time tuning VM (lab/vm/build.sh)
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
mkdir -p "$r/etc/default/grub.d"

# GRUB for BIOS, installed the way grub-install does it (this machine's kernel has no
# partitioned loop devices): the modules under /boot/grub/i386-pc, boot.img's code in
# the MBR, core.img (biosdisk + msdos + ext2, prefix (hd0,msdos1)/boot/grub) in the gap
# before the partition. grub-mkimage patches core.img's own sector count.
for m in dev dev/pts proc sys; do mount --bind "/$m" "$r/$m"; done
install -d "$r/boot/grub/i386-pc"
cp "$r"/usr/lib/grub/i386-pc/*.mod "$r"/usr/lib/grub/i386-pc/*.lst "$r/boot/grub/i386-pc/"
chroot "$r" grub-mkimage -O i386-pc -p '(hd0,msdos1)/boot/grub' -o /boot/grub/i386-pc/core.img \
  biosdisk part_msdos ext2
cp "$r/usr/lib/grub/i386-pc/boot.img" "$r/boot/grub/i386-pc/boot.img"
# A first grub.cfg to boot from; update-grub inside the VM (the role's GRUB backend, on
# its first run) replaces it with the generated one. update-grub cannot run here: it
# probes the device under / and that is this machine's disk, not the image's.
kver=$(find "$r/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
cat >"$r/boot/grub/grub.cfg" <<CFG
# First boot of the tradeops VM image (lab/vm/build.sh); update-grub replaces this file.
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root $uuid
linux /boot/vmlinuz-$kver root=UUID=$uuid ro console=ttyS0,115200 net.ifnames=0 quiet
initrd /boot/initrd.img-$kver
boot
CFG
chroot "$r" apt-get clean
for m in dev/pts dev proc sys; do umount "$r/$m"; done

# The disk: one MBR partition from 1 MiB holding the root file system (made from the
# tree, no mount), GRUB's boot code and core image before it.
truncate -s "$size" "$work/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$work/disk.raw"
part_sectors=$(($(stat -c %s "$work/disk.raw") / 512 - 2048))
mkfs.ext4 -q -F -L tradeops-root -U "$uuid" -d "$r" "$work/root.ext4" "$((part_sectors / 2))k"
core=$r/boot/grub/i386-pc/core.img
(($(stat -c %s "$core") <= 2047 * 512)) || { say "core.img does not fit the MBR gap"; exit 1; }
dd if="$r/boot/grub/i386-pc/boot.img" of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$core" of="$work/disk.raw" bs=512 seek=1 conv=notrunc status=none
dd if="$work/root.ext4" of="$work/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none

mkdir -p "$out"
cp --sparse=always "$work/disk.raw" "$out/disk.raw.tmp"
install -m 0600 "$work/id_ed25519" "$out/id_ed25519"
install -m 0644 "$work/id_ed25519.pub" "$out/id_ed25519.pub"
echo "$kver" >"$out/kernel-release"
mv "$out/disk.raw.tmp" "$out/disk.raw"
say "built $out/disk.raw"
