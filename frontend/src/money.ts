// The one place amounts become text for people: every figure on screen goes through here.
import { parseDecimal, round, toPlainString } from "./decimal";

const DASH = "—";

function grouped(plain: string): string {
  const negative = plain.startsWith("-");
  const [whole, fraction] = (negative ? plain.slice(1) : plain).split(".");
  const withCommas = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + withCommas + (fraction !== undefined ? "." + fraction : "");
}

function trimZeros(plain: string, keep: number): string {
  if (!plain.includes(".")) return plain;
  const [whole, fraction] = plain.split(".");
  let end = fraction.length;
  while (end > keep && fraction[end - 1] === "0") end -= 1;
  return end > 0 ? `${whole}.${fraction.slice(0, end)}` : whole;
}

type Kind = "money" | "price" | "quantity" | "percent";

/** Format a decimal string from the API: money to cents ($1,234.50), prices of a dollar or
 * more to cents and smaller ones to at most 8 places, quantities as given without trailing zeros, percentages to 2
 * places with a sign. Anything not a decimal (null, "") is a dash. */
export function formatAmount(value: string | null | undefined, kind: Kind = "money"): string {
  const parsed = value == null ? null : parseDecimal(value);
  if (parsed === null) return DASH;
  switch (kind) {
    case "money":
      return withDollar(grouped(toPlainString(round(parsed, 2))));
    case "price": {
      // a dollar or more to the cent; below that, the 8 places a small price needs
      const units = parsed.units < 0n ? -parsed.units : parsed.units;
      const small = units < 10n ** BigInt(parsed.scale);
      return withDollar(grouped(trimZeros(toPlainString(round(parsed, small ? 8 : 2)), 2)));
    }
    case "quantity":
      return grouped(trimZeros(toPlainString(round(parsed, 8)), 0));
    case "percent": {
      const text = toPlainString(round(parsed, 2));
      return (parsed.units > 0n ? "+" : "") + text + "%";
    }
  }
}

function withDollar(text: string): string {
  return text.startsWith("-") ? `-$${text.slice(1)}` : `$${text}`;
}

/** "up", "down" or "flat": the direction of a signed decimal string (a 24h change). */
export function direction(value: string | null | undefined): "up" | "down" | "flat" {
  const parsed = value == null ? null : parseDecimal(value);
  if (parsed === null || parsed.units === 0n) return "flat";
  return parsed.units > 0n ? "up" : "down";
}
