#!/bin/sh
# Postfix pipe(8) target for the List-Unsubscribe mailto (docs/sending.md, "Unsubscribing"):
# loads Kaiku's environment and hands the message on stdin to `kaiku unsubscribe-mail`.
set -a
. /etc/kaiku/kaiku.env
set +a
exec /opt/kaiku/.venv/bin/kaiku unsubscribe-mail "$@"
