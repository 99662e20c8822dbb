#!/usr/bin/env bash
# Fetch PostgreSQL 15's own isolation test suite (specs and expected outputs) from Debian's
# source package into a cache folder outside the repository, and print the folder holding
# `specs/` and `expected/`. Tests read the suite from there (TXPLAY_PG_ISOLATION_DIR); the
# repository holds no copy of it. Uses a private apt sources list, never the machine's.
set -euo pipefail

cache="${TXPLAY_UPSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/txplay-upstream}"
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial"

found=$(find "$cache" -maxdepth 5 -type d -path '*/src/test/isolation' 2>/dev/null | head -n 1)
if [ -n "$found" ] && [ -d "$found/specs" ]; then
    echo "$found"
    exit 0
fi

cat > "$cache/apt/sources.list" <<'LIST'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
LIST
apt_opts=(-o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" -qq)
apt-get "${apt_opts[@]}" update >&2
cd "$cache"
# Newest first; a version the mirror no longer holds is skipped.
for version in $(apt-cache "${apt_opts[@]}" showsrc postgresql-15 | sed -n 's/^Version: //p' | sort -rV); do
    if apt-get "${apt_opts[@]}" source --download-only "postgresql-15=$version" >&2 2>/dev/null; then
        upstream="${version%%-*}"
        tar xjf "postgresql-15_${upstream}.orig.tar.bz2" --wildcards "postgresql-15.${upstream#15.}/src/test/isolation/*" >&2 \
            || tar xjf "postgresql-15_${upstream}.orig.tar.bz2" --wildcards "*/src/test/isolation/*"
        rm -f postgresql-15_*.orig.tar.bz2 postgresql-15_*.debian.tar.xz postgresql-15_*.dsc
        find "$cache" -maxdepth 5 -type d -path '*/src/test/isolation' | head -n 1
        exit 0
    fi
done
echo "no postgresql-15 source package could be downloaded" >&2
exit 1
