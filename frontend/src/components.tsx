// Small shared pieces: the problem banner, a labelled field, figures, a price chart.
import { useId, type InputHTMLAttributes, type ReactNode } from "react";
import { ProblemError } from "./api/client";
import { direction, formatAmount } from "./money";

export function Problem({ error }: { error: Error | null | undefined }) {
  if (!error) return null;
  const detail = error instanceof ProblemError ? error.detail : "Something went wrong. Please try again.";
  const fields = error instanceof ProblemError ? error.fieldErrors : [];
  return (
    <div role="alert" className="problem">
      <p>{detail}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map((f) => (
            <li key={f.field + f.message}>
              {f.field}: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice">
      {children}
    </p>
  );
}

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  error?: string;
  hint?: string;
}

export function Field({ label, error, hint, ...input }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={described || undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

export function Change({ value }: { value: string | null | undefined }) {
  const way = direction(value);
  const word = way === "up" ? "up" : way === "down" ? "down" : "unchanged";
  return (
    <span className={`change ${way}`}>
      <span className="visually-hidden">{word} </span>
      {formatAmount(value, "percent")}
    </span>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-live="polite">Loading {what}…</p>;
}

/** A line chart of prices; the drawing only, the numbers are beside it in text. */
export function PriceChart({ prices, label, small = false }: { prices: string[]; label: string; small?: boolean }) {
  if (prices.length < 2) return small ? null : <p>Not enough price history for a chart yet.</p>;
  // for drawing only: a pixel position may be approximate, a shown amount never is
  const values = prices.map(Number);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const points = values
    .map((v, i) => `${((i / (values.length - 1)) * 300).toFixed(1)},${(100 - ((v - low) / span) * 100).toFixed(1)}`)
    .join(" ");
  return (
    <svg className={small ? "sparkline" : "chart"} viewBox="0 -5 300 110" preserveAspectRatio="none" role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="2" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

export function Table({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}

/** Shares of a whole as bars, each with its name and percentage in text. */
export function Allocation({ slices }: { slices: { name: string; percent: string }[] }) {
  return (
    <ul className="allocation" aria-label="Allocation">
      {slices.map((slice) => (
        <li key={slice.name}>
          <span className="allocation-name">{slice.name}</span>
          <span className="allocation-bar" aria-hidden="true">
            <span style={{ width: `${Math.min(100, Math.max(0, Number(slice.percent)))}%` }} />
          </span>
          <span className="allocation-share">{formatShare(slice.percent)}</span>
        </li>
      ))}
    </ul>
  );
}

function formatShare(percent: string): string {
  return formatAmount(percent, "percent").replace(/^\+/, "");
}
