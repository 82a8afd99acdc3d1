#!/usr/bin/env bash
# Chat, a streamed chat, the balance and today's usage, with nothing but curl.
set -euo pipefail
URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
KEY="${GATEWAY_API_KEY:?set GATEWAY_API_KEY to an sk-gw-… key}"
MODEL="${GATEWAY_MODEL:-openai/gpt-4o-mini}"

echo "== chat"
curl -sS --fail-with-body "$URL/v1/chat/completions" \
  -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]}"
echo

echo "== stream"
curl -sS -N --fail-with-body "$URL/v1/chat/completions" \
  -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  -d "{\"model\":\"$MODEL\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"Count to three\"}]}"

echo "== balance"
curl -sS --fail-with-body "$URL/v1/client/balance" -H "Authorization: Bearer $KEY"
echo

echo "== usage"
curl -sS --fail-with-body "$URL/v1/client/usage" -H "Authorization: Bearer $KEY"
echo
