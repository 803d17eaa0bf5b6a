// @vitest-environment happy-dom
// Components in a DOM: the fields' labels, a refusal's detail, and the order ticket's checks.
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { Change, Field, Problem } from "./components";
import { ProblemError } from "./api/client";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  sessionStorage.clear();
});

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A fetch that answers by path, and 404 for anything else. */
function serve(routes: Record<string, () => Response>) {
  const send = vi.fn(async (input: RequestInfo | URL) => {
    const path = String(input).split("?")[0];
    return routes[path]?.() ?? json({ detail: "not here", code: "resource_not_found", status: 404 }, 404);
  });
  vi.stubGlobal("fetch", send);
  return send;
}

function signedIn() {
  sessionStorage.setItem(
    "op.tokens",
    JSON.stringify({ access_token: "a", refresh_token: "r", token_type: "bearer", expires_in: 900, refresh_expires_in: 9 }),
  );
}

describe("components", () => {
  it("a field is labelled and says when it is invalid", () => {
    render(<Field label="Quantity" error="Too small." hint="At least 0.001." />);
    const input = screen.getByLabelText("Quantity");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    const described = (input.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent);
    expect(described).toEqual(["At least 0.001.", "Too small."]);
  });

  it("a problem shows the server's detail and its field errors in an alert", () => {
    render(<Problem error={new ProblemError(422, "validation_error", "Invalid order.", [{ field: "quantity", message: "too small" }])} />);
    expect(screen.getByRole("alert").textContent).toContain("Invalid order.");
    expect(screen.getByRole("alert").textContent).toContain("quantity: too small");
  });

  it("a change says its direction in words, not only in colour", () => {
    render(<Change value="-1.5" />);
    expect(screen.getByText("down", { exact: false }).textContent).toContain("down");
    expect(document.body.textContent).toContain("-1.50%");
  });
});

describe("pages", () => {
  it("a refused sign-in shows the server's detail", async () => {
    serve({ "/api/v1/auth/login": () => json({ detail: "Wrong username or password.", code: "authentication_failed", status: 401 }, 401) });
    render(
      <MemoryRouter initialEntries={["/login"]}>
        <App />
      </MemoryRouter>,
    );

    fireEvent.change(screen.getByLabelText("Username"), { target: { value: "alice_01" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect((await screen.findByRole("alert")).textContent).toBe("Wrong username or password.");
  });

  it("a signed-out visitor of a page is sent to sign in", async () => {
    serve({});
    render(
      <MemoryRouter initialEntries={["/orders"]}>
        <App />
      </MemoryRouter>,
    );
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeTruthy();
  });

  it("the order ticket previews the cost and refuses what the server would, sending nothing", async () => {
    signedIn();
    const send = serve({
      "/api/v1/inventory/assets/BTC": () =>
        json({ data: { asset_id: "BTC", name: "Bitcoin", symbol: "btc", price_usd: "50000.00", price_change_percentage_24h: "1.0" } }),
      "/api/v1/inventory/assets/BTC/prices": () => json({ asset_id: "BTC", data: [] }),
      "/api/v1/portfolio": () => json({ assets: [], cash_balance: "0.00", available_cash: "0.00", held_cash: "0.00", total_value: "0.00" }),
      "/api/v1/assets/BTC/transactions": () => json({ transactions: [], has_more: false, next_cursor: null }),
    });
    render(
      <MemoryRouter initialEntries={["/markets/BTC"]}>
        <App />
      </MemoryRouter>,
    );
    const quantity = await screen.findByLabelText("Quantity");

    fireEvent.change(quantity, { target: { value: "0.01" } });
    expect(screen.getByTestId("order-preview").textContent).toBe("$500.00");
    fireEvent.change(quantity, { target: { value: "0.0001" } });
    fireEvent.click(screen.getByRole("button", { name: "Buy BTC" }));
    expect(await screen.findByText("The quantity must be at least 0.001.")).toBeTruthy();
    fireEvent.change(quantity, { target: { value: "1" } });
    expect(screen.getByText("The order's value must be at most $10,000.00.")).toBeTruthy();
    fireEvent.click(screen.getByRole("radio", { name: "Limit" }));
    expect(screen.getByText("Enter a limit price.")).toBeTruthy();

    expect(send.mock.calls.filter(([url]) => String(url).endsWith("/api/v1/orders"))).toHaveLength(0);
  });
});
