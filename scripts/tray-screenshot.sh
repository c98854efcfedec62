#!/usr/bin/env bash
# Takes docs/tray-menu.png: a real screenshot of cc-router's tray menu, shown
# by a real tray host (xfce4-panel, whose systray shows StatusNotifierItems)
# on a virtual X display, with three demo accounts served by the loopback
# fake of Anthropic. Not part of CI. Needs (Debian): xvfb xfce4-panel
# xdotool imagemagick dbus-x11 curl.
#   scripts/tray-screenshot.sh [output.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/tray-menu.png}
for tool in Xvfb xfce4-panel xdotool import dbus-launch dbus-send curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y xvfb xfce4-panel xdotool imagemagick dbus-x11 curl" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${DBUS_SESSION_BUS_PID:-}" ] && kill "$DBUS_SESSION_BUS_PID" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/cc-router" .
go build -o "$work/fakeserver" ./internal/fakeanthropic/fakeserver

# A private home: the demo never touches the user's accounts or settings.
export HOME="$work/home" CC_ROUTER_HOME="$work/home/.cc-router"
export XDG_CONFIG_HOME="$work/home/.config" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

"$work/fakeserver" -accounts "$CC_ROUTER_HOME/accounts.json" >"$work/fake.out" &
pids+=($!)
for _ in $(seq 50); do [ "$(wc -l <"$work/fake.out")" -ge 2 ] && break; sleep 0.1; done
upstream=$(sed -n 1p "$work/fake.out")
export CC_ROUTER_TOKEN_URL=$(sed -n 2p "$work/fake.out")

display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1024x600x24 >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=$display
sleep 1
eval "$(dbus-launch --sh-syntax)"
xfce4-panel >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.ListNames 2>/dev/null |
    grep -q org.kde.StatusNotifierWatcher && break
  sleep 0.1
done

port=${SHOT_PORT:-3456}  # the default port, as a user would see it
"$work/cc-router" --listen "127.0.0.1:$port" --upstream "$upstream" >"$work/cc-router.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/cc-router/health" >/dev/null && break; sleep 0.1; done

# Some traffic, so the menu shows the usage each account last reported.
for i in 1 2 3 4 5 6; do
  curl -fs "http://127.0.0.1:$port/v1/messages" -H 'content-type: application/json' \
    -H "x-claude-code-session-id: demo-$i" -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' >/dev/null || true
done
sleep 2

# The status icon sits left of the clock in xfce4-panel's default layout.
x=${ICON_X:-898} y=${ICON_Y:-12}
xdotool mousemove "$x" "$y" click 1
sleep 1.5
mkdir -p "$(dirname "$out")"
import -window root -crop 1024x345+0+0 +repage "$out"
echo "wrote $out"
