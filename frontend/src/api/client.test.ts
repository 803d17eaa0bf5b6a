import { describe, expect, it, vi } from "vitest";
import { ApiClient, ProblemError, problemOf, type TokenStore } from "./client";
import type { Tokens } from "./types";

const tokens = (n: number): Tokens => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  token_type: "bearer",
  expires_in: 900,
  refresh_expires_in: 604800,
});

function memoryStore(initial: Tokens | null = tokens(1)): TokenStore & { value: Tokens | null } {
  const store = { value: initial, get: () => store.value, set: (t: Tokens | null) => (store.value = t) };
  return store;
}

const problem = (status: number, detail: string, code = "conflict") =>
  new Response(JSON.stringify({ type: "about:blank", title: "t", status, detail, code, instance: "/x" }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

describe("ApiClient", () => {
  it("turns a refusal into a ProblemError with the server's detail", async () => {
    const send = vi.fn().mockResolvedValue(problem(409, "Insufficient funds: available 5.00.", "insufficient_funds"));
    const client = new ApiClient({ store: memoryStore(), fetch: send });

    const failure = await client.withdraw("10.00").catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(ProblemError);
    expect((failure as ProblemError).detail).toBe("Insufficient funds: available 5.00.");
    expect((failure as ProblemError).code).toBe("insufficient_funds");
  });

  it("sends the bearer token and an Idempotency-Key on a money POST", async () => {
    const send = vi.fn().mockResolvedValue(json({ balance: "10.00" }, 201));
    const client = new ApiClient({ store: memoryStore(), fetch: send, newKey: () => "key-1" });

    await client.deposit("10.00");

    const [url, init] = send.mock.calls[0];
    expect(url).toBe("/api/v1/balance/deposit");
    expect(init.headers.Authorization).toBe("Bearer access-1");
    expect(init.headers["Idempotency-Key"]).toBe("key-1");
    expect(JSON.parse(init.body)).toEqual({ amount: "10.00" });
  });

  it("sends no Idempotency-Key on a read", async () => {
    const send = vi.fn().mockResolvedValue(json({ current_balance: "1.00" }));
    await new ApiClient({ store: memoryStore(), fetch: send }).balance();

    expect(send.mock.calls[0][1].headers["Idempotency-Key"]).toBeUndefined();
  });

  it("refreshes once on a 401 and retries with the new token and the same key", async () => {
    const store = memoryStore();
    const send = vi
      .fn()
      .mockResolvedValueOnce(problem(401, "expired", "authentication_failed"))
      .mockResolvedValueOnce(json(tokens(2)))
      .mockResolvedValueOnce(json({ data: { order_id: "o1" } }, 201));
    let n = 0;
    const client = new ApiClient({ store, fetch: send, newKey: () => `key-${++n}` });

    const order = await client.placeOrder({ order_type: "market_buy", asset_id: "BTC", quantity: "0.01" });

    expect(order.order_id).toBe("o1");
    expect(send.mock.calls[1][0]).toBe("/api/v1/auth/refresh");
    expect(JSON.parse(send.mock.calls[1][1].body)).toEqual({ refresh_token: "refresh-1" });
    expect(send.mock.calls[2][1].headers.Authorization).toBe("Bearer access-2");
    expect(send.mock.calls[2][1].headers["Idempotency-Key"]).toBe(send.mock.calls[0][1].headers["Idempotency-Key"]);
    expect(store.value?.access_token).toBe("access-2");
  });

  it("signs out when the refresh is refused", async () => {
    const store = memoryStore();
    const signedOut = vi.fn();
    const send = vi
      .fn()
      .mockResolvedValueOnce(problem(401, "expired", "authentication_failed"))
      .mockResolvedValueOnce(problem(401, "refresh token revoked", "authentication_failed"));
    const client = new ApiClient({ store, fetch: send, onSignedOut: signedOut });

    await expect(client.balance()).rejects.toBeInstanceOf(ProblemError);

    expect(signedOut).toHaveBeenCalledOnce();
    expect(store.value).toBeNull();
    expect(send).toHaveBeenCalledTimes(2);
  });

  it("shares one refresh among concurrent 401s", async () => {
    const store = memoryStore();
    const send = vi.fn(async (url: string, init: RequestInit) => {
      if (url.endsWith("/auth/refresh")) return json(tokens(2));
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === "Bearer access-1" ? problem(401, "expired") : json({ current_balance: "1.00" });
    });
    const client = new ApiClient({ store, fetch: send as typeof fetch });

    await Promise.all([client.balance(), client.balance(), client.balance()]);

    expect(send.mock.calls.filter(([url]) => url.endsWith("/auth/refresh"))).toHaveLength(1);
  });

  it("does not refresh for an unauthenticated call such as a failed login", async () => {
    const send = vi.fn().mockResolvedValue(problem(401, "Wrong username or password.", "authentication_failed"));
    const client = new ApiClient({ store: memoryStore(null), fetch: send });

    await expect(client.login("alice_01", "nope")).rejects.toMatchObject({ detail: "Wrong username or password." });
    expect(send).toHaveBeenCalledOnce();
  });

  it("says the server could not be reached when the network fails", async () => {
    const send = vi.fn().mockRejectedValue(new TypeError("Failed to fetch"));
    const client = new ApiClient({ store: memoryStore(), fetch: send });

    await expect(client.balance()).rejects.toMatchObject({ status: 0, code: "network" });
  });
});

describe("problemOf", () => {
  it("falls back to a sentence when the body is not problem details", async () => {
    const failure = await problemOf(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    expect(failure.detail).toBe("The server answered 502 Bad Gateway. Please try again.");
  });

  it("keeps the field errors of a 422", async () => {
    const body = { detail: "Invalid request.", code: "validation_error", errors: [{ field: "quantity", message: "too small" }] };
    const failure = await problemOf(new Response(JSON.stringify(body), { status: 422 }));
    expect(failure.fieldErrors).toEqual([{ field: "quantity", message: "too small" }]);
  });
});
