#!/usr/bin/env bash
# Installs the system packages otscan's tests and benches need (idempotent).
# Tests use only loopback (127.0.0.0/8); these packages are peers to compare with
# and tools to check the wire, never traffic generators for other networks.
set -euo pipefail
# iproute2: the broadcast-discovery test builds its own network namespaces.
# snmpd: the SNMP interoperability test runs net-snmp's agent on loopback.
# tshark: the wire audit captures the scanner's loopback traffic and dissects it with
#   Wireshark's own dissectors. Its debconf question (may non-root users capture?) is
#   answered with the default, no: the tests run as root.
# knxd: the KNXnet/IP interoperability test starts its own knxd (dummy bus) on a high
#   port; the packaged service, where an init system starts it, is stopped and disabled
#   so that it does not hold UDP 3671 (the demo plant's KNXnet/IP port).
# chromium: the HTML report test loads the report in headless Chromium (file://, no
#   network) and checks the DOM after its script ran, and takes a screenshot.
# rsyslog: the SIEM shipping test runs rsyslogd (its own config, socket and files in a
#   temporary directory; the system's /dev/log is left alone) with the recipe of docs/siem.md.
# openssh-server: the SSH banner interoperability test starts its own sshd (its own config
#   and host key in a temporary directory, 127.0.0.1 on a high port); the packaged
#   service, where an init system starts it, is stopped and disabled.
# nginx-light: the web interoperability test starts its own nginx (its own config, root,
#   certificate and key in a temporary directory, 127.0.0.1 on high ports); the packaged
#   service, where an init system starts it, is stopped and disabled (it would hold port 80).
packages=(iproute2 snmpd tshark knxd chromium rsyslog openssh-server nginx-light)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
    if command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable --now knxd.service knxd.socket >/dev/null 2>&1 || true
        $SUDO systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
        $SUDO systemctl disable --now nginx.service >/dev/null 2>&1 || true
    fi
fi
# asyncua (PyPI): the OPC UA interoperability test runs its Server on loopback.
if ! python3 -c 'import asyncua' >/dev/null 2>&1; then
    python3 -m pip install --quiet asyncua ||
        python3 -m pip install --quiet --break-system-packages asyncua ||
        echo "install-deps: asyncua not installed; the OPC UA interoperability test will fail" >&2
fi
