#!/usr/bin/env bash
# Build the lab's base image: Debian (the host's own release) with systemd and python3,
# made with debootstrap from the mirror in this machine's apt configuration, then
# `podman import`. Usage: build.sh IMAGE_REF   (the caller decides the tag and caching)
#                      build.sh --mirror    (print the mirror and release it would use)
set -euo pipefail

image_ref=${1:?usage: build.sh IMAGE_REF | --mirror}
here=$(cd "$(dirname "$0")" && pwd)

# The mirror and release come from apt's own view of its sources (deb822 or one-line
# format alike): the Packages index whose suite equals its codename is the main archive.
# shellcheck disable=SC2016  # $(...) are apt's own format fields, not shell
read -r mirror suite < <(
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(CODENAME)' 'Identifier: Packages' \
    | awk '$2 == $3 && $1 !~ /security/ { print $1, $2; exit }'
) || true
if [[ -z "${mirror:-}" || -z "${suite:-}" ]]; then
  echo "build.sh: no Debian archive found in this machine's apt sources (apt-get indextargets)" >&2
  exit 1
fi
if [[ $image_ref == --mirror ]]; then
  echo "$mirror $suite"
  exit 0
fi

packages=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)
work=$(mktemp -d /var/tmp/tradeops-image.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "build.sh: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# Inside the image: the same mirror for apt, a machine-id generated at first boot,
# and no units that make no sense in a container.
printf 'deb %s %s main\n' "$mirror" "$suite" >"$work/rootfs/etc/apt/sources.list"
: >"$work/rootfs/etc/machine-id"
for unit in systemd-resolved.service getty.target console-getty.service; do
  ln -sf /dev/null "$work/rootfs/etc/systemd/system/$unit"
done
chroot "$work/rootfs" apt-get clean

tar -C "$work/rootfs" -c . | podman import \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENV container=podman' \
  - "$image_ref" >/dev/null
echo "build.sh: imported $image_ref" >&2
