#!/bin/sh
# Runs a llamafile as an OpenAI-compatible server for a container, a Kubernetes pod or a
# systemd unit: on $LLAMAFILE_HOST:$LLAMAFILE_PORT (0.0.0.0:8080 by default), no browser,
# the API key read from a file ($LLAMAFILE_API_KEY_FILE: a mounted Secret, a systemd
# credential) or from $LLAMAFILE_API_KEY. Without a key it refuses to start unless
# LLAMAFILE_NO_API_KEY=1 says that is meant. Its arguments are passed on to the llamafile
# (for example -np 4 -c 4096 -t 4). The server's own sandbox applies as always.
#
# The key reaches the llamafile as `--api-key KEY`, so it is in the server process's argv:
# readable through /proc by processes of the same user and by root. In a container, its own
# PID namespace hides it from other containers; on a shared host, run it as its own user.
set -eu

lf_fail() {
  printf 'llamafile-entrypoint: %s\n' "$1" >&2
  exit "${2:-1}"
}

llamafile=${LLAMAFILE:-/opt/llamafile/model.llamafile}
host=${LLAMAFILE_HOST:-0.0.0.0}
port=${LLAMAFILE_PORT:-8080}

[ -x "$llamafile" ] || lf_fail "Cannot run \"$llamafile\": not an executable file (set LLAMAFILE)"
case $port in
  '' | *[!0-9]*) lf_fail "Cannot listen on port \"$port\": not a number (LLAMAFILE_PORT)" 2 ;;
esac

key=
if [ -n "${LLAMAFILE_API_KEY_FILE-}" ]; then
  [ -r "$LLAMAFILE_API_KEY_FILE" ] ||
    lf_fail "Cannot read the API key file \"$LLAMAFILE_API_KEY_FILE\" (LLAMAFILE_API_KEY_FILE)"
  # The first line, without its newline or a carriage return.
  IFS= read -r key <"$LLAMAFILE_API_KEY_FILE" || [ -n "$key" ] ||
    lf_fail "Cannot use the API key file \"$LLAMAFILE_API_KEY_FILE\": it is empty"
  key=$(printf '%s' "$key" | tr -d '\r')
  [ -n "$key" ] || lf_fail "Cannot use the API key file \"$LLAMAFILE_API_KEY_FILE\": it is empty"
elif [ -n "${LLAMAFILE_API_KEY-}" ]; then
  key=$LLAMAFILE_API_KEY
fi
# The key goes on as an argument only, never in the server's environment.
unset LLAMAFILE_API_KEY LLAMAFILE_API_KEY_FILE

if [ -z "$key" ] && [ "${LLAMAFILE_NO_API_KEY-}" != 1 ]; then
  lf_fail "No API key: set LLAMAFILE_API_KEY_FILE or LLAMAFILE_API_KEY (or LLAMAFILE_NO_API_KEY=1 to serve without one)" 2
fi

if [ -n "$key" ]; then
  set -- --api-key "$key" "$@"
fi
# The launcher extracts its runtime under $XDG_CACHE_HOME (or $HOME/.cache, else $TMPDIR).
exec "$llamafile" --server --nobrowser --host "$host" --port "$port" "$@"
