import { describe, expect, it } from "vitest";
import { checkCashAmount, checkTicket, hasErrors, type Ticket } from "./validation";

const ticket = (overrides: Partial<Ticket> = {}): Ticket => ({
  side: "buy",
  kind: "market",
  quantity: "0.01",
  limitPrice: "",
  marketPrice: "65000.00",
  ...overrides,
});

describe("checkTicket", () => {
  it("accepts a market buy and previews its cost at the current price", () => {
    const check = checkTicket(ticket());
    expect(hasErrors(check)).toBe(false);
    expect(check.value).toBe("650.00");
    expect(check.orderType).toBe("market_buy");
  });

  it("refuses a quantity below 0.001, as the server does", () => {
    expect(checkTicket(ticket({ quantity: "0.0009" })).errors.quantity).toMatch(/at least 0.001/);
    expect(hasErrors(checkTicket(ticket({ quantity: "0.001" })))).toBe(false);
  });

  it("refuses an empty, negative, non-numeric or over-precise quantity", () => {
    expect(checkTicket(ticket({ quantity: "" })).errors.quantity).toMatch(/Enter/);
    expect(checkTicket(ticket({ quantity: "-1" })).errors.quantity).toBeDefined();
    expect(checkTicket(ticket({ quantity: "1e3" })).errors.quantity).toMatch(/number/);
    expect(checkTicket(ticket({ quantity: "0.123456789" })).errors.quantity).toMatch(/8 decimal/);
  });

  it("refuses an order worth more than 10,000 and accepts exactly 10,000", () => {
    expect(checkTicket(ticket({ quantity: "0.2" })).errors.value).toMatch(/at most/);
    const exact = checkTicket(ticket({ kind: "limit", quantity: "0.5", limitPrice: "20000" }));
    expect(exact.errors).toEqual({});
    expect(exact.value).toBe("10000.00");
    const over = checkTicket(ticket({ kind: "limit", quantity: "0.5", limitPrice: "20000.01" }));
    expect(over.errors.value).toBeDefined();
  });

  it("requires a positive limit price for a limit order", () => {
    expect(checkTicket(ticket({ kind: "limit" })).errors.price).toMatch(/Enter a limit price/);
    expect(checkTicket(ticket({ kind: "limit", limitPrice: "0" })).errors.price).toBeDefined();
    const sell = checkTicket(ticket({ kind: "limit", side: "sell", limitPrice: "70000" }));
    expect(sell.orderType).toBe("limit_sell");
    expect(sell.value).toBe("700.00");
  });

  it("rounds the cost preview up to the cent", () => {
    expect(checkTicket(ticket({ quantity: "0.001", marketPrice: "1.005" })).value).toBe("0.01");
  });
});

describe("checkCashAmount", () => {
  it("keeps to 0.01 to 1,000,000 with cents", () => {
    expect(checkCashAmount("250.00")).toBeNull();
    expect(checkCashAmount("0.001")).toMatch(/2 decimal/);
    expect(checkCashAmount("0")).toMatch(/at least/);
    expect(checkCashAmount("1000000.01")).toMatch(/at most/);
    expect(checkCashAmount("")).toMatch(/Enter/);
  });
});
