import { describe, expect, it } from "vitest";
import { compare, multiply, parseDecimal, round, toPlainString } from "./decimal";
import { direction, formatAmount } from "./money";

describe("formatAmount", () => {
  it("shows money to the cent with thousands separators", () => {
    expect(formatAmount("1234567.5")).toBe("$1,234,567.50");
    expect(formatAmount("0")).toBe("$0.00");
    expect(formatAmount("-42.1")).toBe("-$42.10");
  });

  it("never goes through a float: large and precise amounts stay exact", () => {
    expect(formatAmount("123456789012345678.99")).toBe("$123,456,789,012,345,678.99");
    expect(formatAmount("0.1")).toBe("$0.10");
    expect(formatAmount("10.005")).toBe("$10.01"); // half away from zero, not 10.00 as 10.005 in binary
  });

  it("shows prices of a dollar or more to the cent and smaller ones to 8 places", () => {
    expect(formatAmount("65000", "price")).toBe("$65,000.00");
    expect(formatAmount("96194.94634035", "price")).toBe("$96,194.95");
    expect(formatAmount("0.5", "price")).toBe("$0.50");
    expect(formatAmount("0.000012340", "price")).toBe("$0.00001234");
  });

  it("shows quantities as given without trailing zeros", () => {
    expect(formatAmount("0.01000000", "quantity")).toBe("0.01");
    expect(formatAmount("3.00000000", "quantity")).toBe("3");
  });

  it("signs percentages", () => {
    expect(formatAmount("1.236", "percent")).toBe("+1.24%");
    expect(formatAmount("-0.5", "percent")).toBe("-0.50%");
    expect(formatAmount("0", "percent")).toBe("0.00%");
  });

  it("shows a dash for what is not an amount", () => {
    expect(formatAmount(null)).toBe("—");
    expect(formatAmount(undefined, "price")).toBe("—");
    expect(formatAmount("abc")).toBe("—");
    expect(formatAmount("1e5")).toBe("—");
  });
});

describe("direction", () => {
  it("tells up, down and flat", () => {
    expect(direction("2.5")).toBe("up");
    expect(direction("-0.01")).toBe("down");
    expect(direction("0.00")).toBe("flat");
    expect(direction(null)).toBe("flat");
  });
});

describe("decimal", () => {
  it("multiplies and rounds a cost up to the cent", () => {
    const cost = multiply(parseDecimal("0.003")!, parseDecimal("33333.33")!);
    expect(toPlainString(cost)).toBe("99.99999");
    expect(toPlainString(round(cost, 2, "up"))).toBe("100.00");
  });

  it("compares across scales", () => {
    expect(compare(parseDecimal("10000.00")!, parseDecimal("10000")!)).toBe(0);
    expect(compare(parseDecimal("0.0009")!, parseDecimal("0.001")!)).toBe(-1);
  });

  it("prints negative fractions below one", () => {
    expect(toPlainString(parseDecimal("-0.05")!)).toBe("-0.05");
  });
});
