import { useEffect, useId, useRef, type ReactNode } from "react";
import { useI18n } from "../i18n/context";
import { Button } from "./ui";

/**
 * A modal on the native <dialog>: focus moves in and is trapped, Escape closes, focus returns to
 * the opener. `open` drives it from React state.
 */
export function Dialog({ open, title, onClose, children, footer }: { open: boolean; title: string; onClose: () => void; children: ReactNode; footer?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const { t } = useI18n();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      // Forms start at their first field; other dialogs keep the browser's choice (the first button).
      d.querySelector<HTMLElement>("input:not([disabled]), select, textarea")?.focus();
    }
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={onClose}
      className="m-auto w-[calc(100%-2rem)] max-w-lg rounded-lg p-0 shadow-xl backdrop:bg-slate-900/50"
    >
      {open && (
        <div className="p-5">
          <div className="mb-4 flex items-start justify-between gap-4">
            <h2 id={titleId} className="text-lg font-semibold text-slate-900">
              {title}
            </h2>
            <Button variant="ghost" onClick={onClose} aria-label={t("common.close")} className="-mr-2 -mt-1 px-2">
              <span aria-hidden>✕</span>
            </Button>
          </div>
          {children}
          {footer && <div className="mt-5 flex flex-wrap justify-end gap-2">{footer}</div>}
        </div>
      )}
    </dialog>
  );
}

/** Asks before a destructive action. */
export function ConfirmDialog({ open, title, text, confirmLabel, onConfirm, onClose, busy }: { open: boolean; title: string; text: string; confirmLabel: string; onConfirm: () => void; onClose: () => void; busy?: boolean }) {
  const { t } = useI18n();
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t("common.cancel")}
          </Button>
          <Button variant="primary" className="bg-red-700 hover:bg-red-800" onClick={onConfirm} disabled={busy}>
            {confirmLabel}
          </Button>
        </>
      }
    >
      <p className="text-sm text-slate-700">{text}</p>
    </Dialog>
  );
}
