import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { ApiError, authorizedFetch } from "../api/client";
import { Empty, QueryView } from "../components/states";
import { Alert, Button, Card, Field, PageHeader, Select, TextArea } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { usePrices } from "../lib/queries";

interface Turn {
  role: "user" | "assistant";
  content: string;
  usage?: { total_tokens: number; cost?: string | number | null };
}

/** Reads an OpenAI chat stream: appends content deltas, returns the final usage chunk. */
async function readStream(res: Response, onText: (s: string) => void): Promise<Turn["usage"]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let usage: Turn["usage"];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return usage;
      const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; usage?: Turn["usage"]; error?: { message: string } };
      if (chunk.error) throw new Error(chunk.error.message);
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) onText(text);
      if (chunk.usage) usage = chunk.usage;
    }
  }
  return usage;
}

export function PlaygroundPage() {
  const { t } = useI18n();
  const f = useFormat();
  const qc = useQueryClient();
  const prices = usePrices();
  const [model, setModel] = useState("");
  const [system, setSystem] = useState("");
  const [maxTokens, setMaxTokens] = useState("512");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const chatModels = (prices.data?.data ?? []).filter((m) => m.type === "chat");
  // Start with the cheapest priced chat model: a first try should cost next to nothing.
  const cheapest = [...chatModels].sort((a, b) => Number(a.output_per_1m ?? Infinity) - Number(b.output_per_1m ?? Infinity))[0];
  const chosen = model || cheapest?.id || "";

  async function send(e: FormEvent) {
    e.preventDefault();
    const text = input.trim();
    if (!text || busy || !chosen) return;
    setError(null);
    const history: Turn[] = [...turns, { role: "user", content: text }];
    setTurns([...history, { role: "assistant", content: "" }]);
    setInput("");
    setBusy(true);
    abort.current = new AbortController();
    try {
      const res = await authorizedFetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        signal: abort.current.signal,
        body: JSON.stringify({
          model: chosen,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: Number(maxTokens) || undefined,
          messages: [...(system.trim() ? [{ role: "system", content: system.trim() }] : []), ...history.map(({ role, content }) => ({ role, content }))],
        }),
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: { message: string; code: string } } | null;
        throw new ApiError(res.status, body?.error?.code ?? String(res.status), body?.error?.message ?? res.statusText);
      }
      const usage = await readStream(res, (s) =>
        setTurns((cur) => {
          const last = cur[cur.length - 1]!;
          return [...cur.slice(0, -1), { ...last, content: last.content + s }];
        }),
      );
      setTurns((cur) => [...cur.slice(0, -1), { ...cur[cur.length - 1]!, usage }]);
    } catch (err) {
      if ((err as Error).name !== "AbortError") setError((err as Error).message);
    } finally {
      setBusy(false);
      abort.current = null;
      for (const k of ["balance", "usage", "requests", "keys"]) void qc.invalidateQueries({ queryKey: [k] });
    }
  }

  return (
    <>
      <PageHeader
        title={t("playground.title")}
        actions={
          <Button variant="secondary" onClick={() => (setTurns([]), setError(null))} disabled={busy}>
            {t("playground.clear")}
          </Button>
        }
      />
      <QueryView q={prices}>
        {() => (
          <div className="grid grid-cols-1 gap-4 lg:grid-cols-4">
            <Card className="lg:col-span-1">
              <div className="space-y-3">
                <Select label={t("playground.model")} value={chosen} onChange={(e) => setModel(e.target.value)}>
                  {chatModels.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.id}
                    </option>
                  ))}
                </Select>
                <Field label={t("playground.maxTokens")} inputMode="numeric" value={maxTokens} onChange={(e) => setMaxTokens(e.target.value.replace(/\D/g, ""))} />
                <TextArea label={t("playground.system")} rows={4} value={system} onChange={(e) => setSystem(e.target.value)} />
              </div>
            </Card>
            <Card className="lg:col-span-3">
              <div aria-live="polite" className="mb-4 space-y-3" data-testid="transcript">
                {turns.length === 0 ? (
                  <Empty>{t("playground.empty")}</Empty>
                ) : (
                  turns.map((turn, i) => (
                    <div key={i} className={turn.role === "user" ? "rounded-md bg-slate-100 p-3" : "rounded-md bg-indigo-50 p-3"} data-role={turn.role}>
                      <div className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-600">{turn.role === "user" ? t("playground.you") : t("playground.assistant")}</div>
                      <div className="whitespace-pre-wrap text-sm text-slate-900">{turn.content || (busy && i === turns.length - 1 ? t("playground.streaming") : "")}</div>
                      {turn.usage && (
                        <div className="tabular mt-2 text-xs text-slate-600" data-testid="answer-stats">
                          {t("playground.stats", { tokens: f.number(turn.usage.total_tokens), cost: f.cost(turn.usage.cost === undefined || turn.usage.cost === null ? null : String(turn.usage.cost)) })}
                        </div>
                      )}
                    </div>
                  ))
                )}
              </div>
              {error && (
                <div className="mb-3">
                  <Alert tone="red">{error}</Alert>
                </div>
              )}
              <form onSubmit={send} className="flex flex-col gap-2 sm:flex-row sm:items-end">
                <TextArea
                  label={t("playground.message")}
                  className="flex-1"
                  rows={2}
                  value={input}
                  onChange={(e) => setInput(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && !e.shiftKey) {
                      e.preventDefault();
                      e.currentTarget.form?.requestSubmit();
                    }
                  }}
                />
                {busy ? (
                  <Button variant="secondary" onClick={() => abort.current?.abort()}>
                    {t("playground.stop")}
                  </Button>
                ) : (
                  <Button type="submit" disabled={!input.trim() || !chosen}>
                    {t("playground.send")}
                  </Button>
                )}
              </form>
            </Card>
          </div>
        )}
      </QueryView>
    </>
  );
}
