import { useState } from "react";
import { useI18n } from "../i18n/context";
import { Button } from "./ui";

/**
 * Copies a text; says so for screen readers too. `what` names the thing for screen readers
 * ("Copy openai/gpt-4o"), keeping the visible word as the start of the accessible name.
 */
export function CopyButton({ text, what, className }: { text: string; what?: string; className?: string }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = document.createElement("textarea");
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  }
  return (
    <Button variant="secondary" onClick={() => void copy()} className={className}>
      <span aria-live="polite">{done ? t("common.copied") : t("common.copy")}</span>
      {what && <span className="sr-only"> {what}</span>}
    </Button>
  );
}
