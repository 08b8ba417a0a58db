// A modal confirmation on the native <dialog>: focus is trapped and Escape cancels, for free.
import { useEffect, useRef, type ReactNode } from "react";
import "./confirm.css";

/** A ref for a <dialog> that is shown modally while `open` and closed otherwise. */
function useModalWhile(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return ref;
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useModalWhile(open);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="confirm-title"
      onCancel={(e) => (e.preventDefault(), onCancel())}
    >
      <h2 id="confirm-title">{title}</h2>
      {children}
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onCancel} autoFocus>
          Keep it
        </button>
        <button type="button" className={`button ${danger ? "danger" : "primary"}`} onClick={onConfirm} disabled={busy}>
          {busy ? "Working…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Modal({
  open,
  title,
  onClose,
  children,
  labelId,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  labelId: string;
}) {
  const ref = useModalWhile(open);
  return (
    <dialog
      ref={ref}
      className="dialog wide"
      aria-labelledby={labelId}
      onCancel={(e) => (e.preventDefault(), onClose())}
    >
      <div className="dialog-header">
        <h2 id={labelId}>{title}</h2>
        <button type="button" className="button small ghost" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {open ? children : null}
    </dialog>
  );
}
