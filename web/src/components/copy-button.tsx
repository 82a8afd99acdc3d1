import { useState } from "react";
import { useI18n } from "../i18n/context";
import { Button } from "./ui";

/** Copies a text; says so for screen readers too. Falls back to selecting a hidden textarea. */
export function CopyButton({ text, label, className }: { text: string; label?: string; className?: string }) {
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
    <Button variant="secondary" onClick={() => void copy()} aria-label={label ?? t("common.copy")} className={className}>
      <span aria-live="polite">{done ? t("common.copied") : t("common.copy")}</span>
    </Button>
  );
}
