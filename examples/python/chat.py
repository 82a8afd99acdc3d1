#!/usr/bin/env python3
"""Chat and a streamed chat through the gateway with the Python standard library only.

With the official SDK instead (pip install openai):
    from openai import OpenAI
    client = OpenAI(base_url=f"{URL}/v1", api_key=KEY)
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
"""
import json
import os
import sys
import urllib.error
import urllib.request

URL = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080").rstrip("/")
KEY = os.environ.get("GATEWAY_API_KEY") or sys.exit("set GATEWAY_API_KEY to an sk-gw-… key")
MODEL = os.environ.get("GATEWAY_MODEL", "openai/gpt-4o-mini")


def post(path, body):
    req = urllib.request.Request(
        URL + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        return urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        # Errors are OpenAI-shaped: {"error": {"message", "type", "code", "param", "request_id"}}
        err = json.load(e)["error"]
        sys.exit(f"HTTP {e.code} {err['code']}: {err['message']}")


# 1. A plain chat completion; usage.cost is in the account's currency.
with post("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}]}) as r:
    reply = json.load(r)
print("reply:", reply["choices"][0]["message"]["content"])
print("tokens:", reply["usage"]["total_tokens"], "cost:", reply["usage"].get("cost"))

# 2. A streamed one: server-sent events, one JSON chunk per `data:` line, then `data: [DONE]`.
body = {"model": MODEL, "stream": True, "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "Count to three"}]}
text, usage = "", None
with post("/v1/chat/completions", body) as r:
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        data = line[len("data: "):]
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        for choice in chunk.get("choices", []):
            text += choice.get("delta", {}).get("content") or ""
        usage = chunk.get("usage") or usage
print("streamed:", text)
print("stream tokens:", usage["total_tokens"] if usage else None)
