// The order ticket's checks, the server's rules (API.md "Limits"), so that most refusals are
// caught before a request; the server still decides and its detail is shown when it refuses.
import { compare, decimalPlaces, multiply, parseDecimal, round, toPlainString } from "./decimal";

export const MIN_QUANTITY = "0.001";
export const MAX_ORDER_VALUE = "10000.00";
export const MAX_PLACES = 8; // quantities and prices: more precision is a 422

export type Side = "buy" | "sell";
export type Kind = "market" | "limit";

export interface Ticket {
  side: Side;
  kind: Kind;
  quantity: string;
  limitPrice: string;
  marketPrice: string | null; // the asset's current price, for a market order's preview
}

export interface TicketCheck {
  errors: { quantity?: string; price?: string; value?: string };
  value: string | null; // quantity x price to the cent, rounded up: the preview
  orderType: "market_buy" | "market_sell" | "limit_buy" | "limit_sell";
}

function positiveDecimal(text: string, name: string): { error?: string } {
  const parsed = parseDecimal(text);
  if (text.trim() === "") return { error: `Enter a ${name}.` };
  if (parsed === null) return { error: `The ${name} must be a number like 0.5.` };
  if (decimalPlaces(text) > MAX_PLACES) return { error: `Use at most ${MAX_PLACES} decimal places.` };
  if (parsed.units <= 0n) return { error: `The ${name} must be more than 0.` };
  return {};
}

export function checkTicket(ticket: Ticket): TicketCheck {
  const errors: TicketCheck["errors"] = {};
  const quantityError = positiveDecimal(ticket.quantity, "quantity").error;
  if (quantityError) errors.quantity = quantityError;
  else if (compare(parseDecimal(ticket.quantity)!, parseDecimal(MIN_QUANTITY)!) < 0)
    errors.quantity = `The quantity must be at least ${MIN_QUANTITY}.`;
  let price: string | null = ticket.marketPrice;
  if (ticket.kind === "limit") {
    const priceError = positiveDecimal(ticket.limitPrice, "limit price").error;
    if (priceError) errors.price = priceError;
    price = priceError ? null : ticket.limitPrice.trim();
  }
  let value: string | null = null;
  const quantity = parseDecimal(ticket.quantity);
  const unit = price === null ? null : parseDecimal(price);
  if (!errors.quantity && quantity && unit) {
    const exact = multiply(quantity, unit);
    value = toPlainString(round(exact, 2, "up"));
    if (compare(exact, parseDecimal(MAX_ORDER_VALUE)!) > 0)
      errors.value = `The order's value must be at most $10,000.00.`;
  }
  return { errors, value, orderType: `${ticket.kind}_${ticket.side}` };
}

export function hasErrors(check: TicketCheck): boolean {
  return Object.keys(check.errors).length > 0;
}

/** A cash amount for a deposit or withdrawal: 0.01 to 1,000,000, at most 2 places. */
export function checkCashAmount(text: string): string | null {
  const parsed = parseDecimal(text);
  if (text.trim() === "") return "Enter an amount.";
  if (parsed === null) return "The amount must be a number like 250.00.";
  if (decimalPlaces(text) > 2) return "Use at most 2 decimal places.";
  if (compare(parsed, parseDecimal("0.01")!) < 0) return "The amount must be at least $0.01.";
  if (compare(parsed, parseDecimal("1000000")!) > 0) return "The amount must be at most $1,000,000.00.";
  return null;
}
