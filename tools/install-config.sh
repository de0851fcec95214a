#!/bin/sh
# meson install script: installs the example config as the config, but
# never over a config the operator already has.
#   install-config.sh SOURCE DEST
set -eu
dest="${DESTDIR:-}$2"
if [ -e "$dest" ]; then
  echo "install-config: keeping the existing $dest"
else
  install -D -m 0644 "$1" "$dest"
  echo "install-config: installed $dest"
fi
