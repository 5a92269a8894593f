#!/usr/bin/env bash
# Installs the pgvector extension into this machine's PostgreSQL (Debian 12 ships no binary).
# It builds from Debian's own source package of a newer release (~10 s), so nothing but the
# distribution's archive is used. Idempotent: does nothing when the extension is there.
# Needs root (apt-get, make install); CI runs as root.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -1)}
if [ -z "${PG_CONFIG}" ] || [ ! -x "${PG_CONFIG}" ]; then
	echo "pgvector: no PostgreSQL server found (pg_config missing)" >&2
	exit 1
fi
SHAREDIR=$("${PG_CONFIG}" --sharedir)
if [ -f "${SHAREDIR}/extension/vector.control" ]; then
	echo "pgvector: already installed in ${SHAREDIR}"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "pgvector: missing; run this script as root (sudo $0)" >&2
	exit 1
fi
MAJOR=$("${PG_CONFIG}" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
SUITE=${PGVECTOR_SUITE:-trixie}

# A source-only entry for the newer suite, pointing at the archive the machine already uses.
LIST=/etc/apt/sources.list.d/riskops-pgvector-src.sources
if [ ! -f "${LIST}" ]; then
	URIS=$(grep -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources | cut -d' ' -f2)
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
		"${URIS}" "${SUITE}" /usr/share/keyrings/debian-archive-keyring.gpg >"${LIST}"
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"postgresql-server-dev-${MAJOR}" dpkg-dev build-essential >/dev/null

WORK=$(mktemp -d)
trap 'rm -rf "${WORK}"' EXIT
cd "${WORK}"
apt-get source -qq --download-only "pgvector/${SUITE}"
dpkg-source -x ./*.dsc src >/dev/null
make -s -C src PG_CONFIG="${PG_CONFIG}" OPTFLAGS="" >/dev/null
make -s -C src PG_CONFIG="${PG_CONFIG}" install >/dev/null
echo "pgvector: installed $(grep default_version "${SHAREDIR}/extension/vector.control")"
