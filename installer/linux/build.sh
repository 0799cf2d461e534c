#!/usr/bin/env bash
# Build the Linux bundle (PyInstaller one-folder), then a .deb and a portable .tar.gz.
# Run from the repository root via `make installer`. Output: dist/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
VERSION=$($PY -c "import core; print(core.__version__)")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

$PY -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller installer/synchrorama.spec
BUNDLE=dist/synchrorama

# The CPU variant must not carry CUDA: fail loudly if any CUDA library slipped in.
if find "$BUNDLE" -iname 'libcu*' -o -iname 'libnvrtc*' -o -iname 'libnccl*' | grep -q .; then
    echo "error: CUDA libraries found in the CPU bundle" >&2; exit 1
fi
du -sh "$BUNDLE" | awk '{print "bundle size: " $1}'

# portable archive
tar -C dist -czf "dist/synchrorama-studio-${VERSION}-linux-${ARCH}.tar.gz" synchrorama

# .deb: /opt/synchrorama + launchers in /usr/bin + desktop entry + icon
PKG=build/deb/synchrorama-studio
rm -rf "$PKG"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" \
         "$PKG/usr/share/icons/hicolor/256x256/apps"
cp -a "$BUNDLE" "$PKG/opt/synchrorama"
ln -s /opt/synchrorama/synchrorama "$PKG/usr/bin/synchrorama"
ln -s /opt/synchrorama/synchrorama-studio "$PKG/usr/bin/synchrorama-studio"
ICON=resources/icons/synchrorama.png
[ -f "$ICON" ] && cp "$ICON" "$PKG/usr/share/icons/hicolor/256x256/apps/synchrorama.png"
cp installer/linux/synchrorama-studio.desktop "$PKG/usr/share/applications/"
SIZE_KB=$(du -sk "$PKG" | cut -f1)
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: synchrorama-studio
Version: ${VERSION}
Architecture: ${ARCH}
Maintainer: SynchroRaMa Studio developers <dev@synchrorama.invalid>
Installed-Size: ${SIZE_KB}
Depends: libc6, libgl1, libegl1, libfontconfig1, libdbus-1-3, libxkbcommon0, libxkbcommon-x11-0, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-util1, libxcb-xfixes0, libxcb-xkb1
Recommends: libportaudio2
Section: video
Priority: optional
Description: Portrait + narration to expressive talking-face video, offline
 SynchroRaMa Studio turns a portrait photo and a narration into an
 expressive talking-face MP4 on the CPU, with emotion you can edit over time.
CONTROL
dpkg-deb --root-owner-group --build "$PKG" "dist/synchrorama-studio_${VERSION}_${ARCH}.deb" >/dev/null
ls -la dist/*.deb dist/*.tar.gz
