# Sourced by scripts/run and scripts/test: bootstrap a fresh Debian machine from a clean clone.
# Installs Debian packages only as root; otherwise stops with the exact command to run.

apt_ready=0

install_debian_package() {  # package
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: Debian package $1 is needed. Install it, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y $1" >&2
    exit 1
  fi
  if [ "$apt_ready" -eq 0 ]; then
    apt-get update -qq
    apt_ready=1
  fi
  echo "installing Debian package $1" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

need_binary() {  # binary debian-package
  command -v "$1" >/dev/null 2>&1 || install_debian_package "$2"
}

# Create .venv if missing and (re)install the project when pyproject.toml changed.
ensure_venv() {  # extras, e.g. "[dev]" or ""
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || {
      rm -rf .venv
      install_debian_package python3-venv
      python3 -m venv .venv
    }
  fi
  local stamp=".venv/.installed$1"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".$1"
    touch "$stamp"
  fi
}
