// Exact decimal arithmetic on strings (BigInt underneath): the app never puts an amount
// through a JS float. Only what the app needs: parse, compare, multiply, round, print.

export interface Decimal {
  readonly units: bigint; // the value is units / 10^scale
  readonly scale: number;
}

const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

export function parseDecimal(text: string): Decimal | null {
  const trimmed = text.trim();
  if (!DECIMAL_TEXT.test(trimmed)) return null;
  const negative = trimmed.startsWith("-");
  const [whole, fraction = ""] = (negative ? trimmed.slice(1) : trimmed).split(".");
  const units = BigInt(whole + fraction);
  return { units: negative ? -units : units, scale: fraction.length };
}

export function decimalPlaces(text: string): number {
  const parsed = parseDecimal(text);
  return parsed ? parsed.scale : 0;
}

function atScale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const x = atScale(a, scale);
  const y = atScale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function subtract(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: atScale(a, scale) - atScale(b, scale), scale };
}

/** Round to ``scale`` places: half away from zero, or "up" (away from zero, as the ledger
 * rounds a cost) */
export function round(value: Decimal, scale: number, mode: "half" | "up" = "half"): Decimal {
  if (value.scale <= scale) return { units: atScale(value, scale), scale };
  const divisor = 10n ** BigInt(value.scale - scale);
  const negative = value.units < 0n;
  const magnitude = negative ? -value.units : value.units;
  let kept = magnitude / divisor;
  const rest = magnitude % divisor;
  if (mode === "up" ? rest > 0n : rest * 2n >= divisor) kept += 1n;
  return { units: negative ? -kept : kept, scale };
}

export function toPlainString(value: Decimal): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, "0");
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale);
  const sign = negative && /[1-9]/.test(digits) ? "-" : "";
  return sign + whole + (value.scale > 0 ? "." + fraction : "");
}
