import type { FormEvent, ReactNode } from "react";
import { useI18n } from "../i18n/context";
import { Dialog } from "./dialog";
import { Alert, Button, cx } from "./ui";

/**
 * A dialog holding one form: its fields, the error of the last attempt, Cancel and the submit
 * button (red for an action that takes money back or deletes). With `done` set the form is
 * replaced by that outcome and a Close button, so a finished action can't be sent twice.
 */
export function FormDialog(props: {
  open?: boolean;
  title: string;
  onClose: () => void;
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
  submitLabel: string;
  busy?: boolean;
  error?: string | null;
  danger?: boolean;
  done?: ReactNode;
  /** Tighter spacing for long forms. */
  dense?: boolean;
  children: ReactNode;
}) {
  const { t } = useI18n();
  return (
    <Dialog open={props.open ?? true} title={props.title} onClose={props.onClose}>
      {props.done ? (
        <div className="space-y-4">
          {props.done}
          <div className="flex justify-end">
            <Button onClick={props.onClose}>{t("common.close")}</Button>
          </div>
        </div>
      ) : (
        <form
          className={props.dense ? "space-y-3" : "space-y-4"}
          onSubmit={(e) => {
            e.preventDefault();
            props.onSubmit(e);
          }}
        >
          {props.children}
          {props.error && <Alert tone="red">{props.error}</Alert>}
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={props.onClose}>
              {t("common.cancel")}
            </Button>
            <Button type="submit" className={cx(props.danger && "bg-red-700 hover:bg-red-800")} disabled={props.busy}>
              {props.submitLabel}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
