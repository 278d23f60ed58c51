#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds CAF (core, io and openssl) with -fsanitize=SANITIZER from Debian's
# own source package of the installed libcaf-dev, into PREFIX (a folder of a
# build dir; never committed). Usage: build_caf.sh thread|address PREFIX
#
# thread: what `tools/dev tsan` links against. Debian's CAF libraries are
# not instrumented, so TSan cannot
# see the happens-before edges of CAF's lock-free mailboxes and reports
# every message handed between actors as a race (about 25,000 reports over
# the suite); suppressing CAF's frames would hide the actor side of any
# troupe race too. Same version, same build options as Debian's package
# (memory management on, log level quiet), so the headers troupe compiles
# against say the same as /usr/include/caf.
#
# address: for chasing a finding into CAF. ASan-built troupe binaries run
# with it through LD_LIBRARY_PATH=PREFIX/lib (same SONAME, same ABI), and
# reports then show CAF's own frames (see README.md here).
#
# The source comes through apt-get with a private sources list and state
# folder (deb-src for bookworm), so the machine's apt setup is untouched.
set -euo pipefail

sanitizer="${1:?usage: build_caf.sh thread|address PREFIX}"
prefix="${2:?usage: build_caf.sh thread|address PREFIX}"
case "$sanitizer" in
  thread) flags="-fsanitize=thread -fno-omit-frame-pointer -g1" ;;
  address) flags="-fsanitize=address -fno-omit-frame-pointer -g" ;;
  *) echo "build_caf: unknown sanitizer '$sanitizer'" >&2; exit 2 ;;
esac
if [ -f "$prefix/lib/libcaf_core.so" ] && [ -f "$prefix/lib/libcaf_io.so" ] \
   && [ -f "$prefix/lib/libcaf_openssl.so" ]; then
  exit 0
fi
work="$prefix.work"
jobs="${JOBS:-$(nproc)}"
version="$(dpkg-query -W -f='${source:Version}' libcaf-dev)"
source_pkg="$(dpkg-query -W -f='${source:Package}' libcaf-dev)"
suite="$(. /etc/os-release && echo "$VERSION_CODENAME")"

rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
     "http://deb.debian.org/debian $suite main" > "$work/apt/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list"
          -o "Dir::Etc::SourceParts=$work/apt/none"
          -o "Dir::State::Lists=$work/apt/lists"
          -o "Dir::Cache=$work/apt/cache"
          -o "Debug::NoLocking=1")
apt-get "${apt_opts[@]}" -q update
# apt-get checks every file against the signed .dsc. Without Debian's patch
# archive (some mirrors lack it) the upstream tarball alone is used: it
# builds with g++ 12 as is.
(cd "$work" && apt-get "${apt_opts[@]}" -q source --download-only \
   "$source_pkg=$version") || true
upstream="${version%-*}"
if ls "$work/${source_pkg}_${version}".debian.tar.* >/dev/null 2>&1; then
  (cd "$work" && dpkg-source -x "${source_pkg}_${version}.dsc" src)
elif [ -f "$work/${source_pkg}_$upstream.orig.tar.gz" ]; then
  echo "build_caf: no Debian patches on the mirror; upstream $upstream only" >&2
  mkdir "$work/src"
  tar -xzf "$work/${source_pkg}_$upstream.orig.tar.gz" -C "$work/src" \
    --strip-components=1
  # Debian's patches show in the headers libcaf-dev installed (for 0.17.6:
  # an #include <limits> g++ 12 needs); take those over upstream's.
  (cd "$work/src" && for h in libcaf_core/caf libcaf_io/caf libcaf_openssl/caf; do
     find "$h" -name '*.hpp' | while read -r f; do
       installed="/usr/include/caf/${f#*/caf/}"
       if [ -f "$installed" ]; then cp "$installed" "$f"; fi
     done
   done)
else
  echo "build_caf: could not fetch the source of $source_pkg $version" >&2
  exit 1
fi
src="$work/src"

cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=$sanitizer" \
  -DCAF_LOG_LEVEL=QUIET -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes \
  -DCAF_NO_TOOLS=yes -DCAF_NO_PYTHON=yes -DCAF_NO_OPENCL=yes \
  -DCAF_NO_SUMMARY=yes -DCAF_NO_COMPILER_CHECK=yes
cmake --build "$work/build" -j "$jobs"
cmake --install "$work/build"
rm -rf "$work"
