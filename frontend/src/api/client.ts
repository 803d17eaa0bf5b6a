// The API client: typed by the generated schema, one request path for every call. It sends
// the bearer token, an Idempotency-Key on every money POST, turns every refusal into a
// ProblemError carrying the server's `detail`, and on a 401 refreshes the tokens once (one
// refresh shared by concurrent calls) and retries; when that fails the user is signed out.
import type {
  Assets,
  AssetDetail,
  AssetTrades,
  Balance,
  BalanceChange,
  Insights,
  Order,
  OrderCreate,
  Orders,
  Portfolio,
  PriceHistory,
  ProblemBody,
  ProfileUpdate,
  Tokens,
  Transactions,
  User,
  UserCreate,
} from "./types";

export const API = "/api/v1";

export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fieldErrors: { field: string; message: string }[];

  constructor(status: number, code: string, detail: string, fieldErrors: ProblemError["fieldErrors"] = []) {
    super(detail);
    this.name = "ProblemError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.fieldErrors = fieldErrors;
  }
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

export function sessionTokenStore(storage: Storage = window.sessionStorage, key = "op.tokens"): TokenStore {
  return {
    get: () => {
      const text = storage.getItem(key);
      return text ? (JSON.parse(text) as Tokens) : null;
    },
    set: (tokens) => (tokens ? storage.setItem(key, JSON.stringify(tokens)) : storage.removeItem(key)),
  };
}

/** The problem a failed response stands for: its `detail` when it is problem+json, else a
 * sentence that says what happened. */
export async function problemOf(response: Response): Promise<ProblemError> {
  try {
    const body = (await response.json()) as Partial<ProblemBody>;
    if (typeof body.detail === "string") {
      return new ProblemError(response.status, body.code ?? "unknown", body.detail, body.errors ?? []);
    }
  } catch {
    // not JSON: fall through to the generic sentence
  }
  return new ProblemError(
    response.status,
    "unknown",
    `The server answered ${response.status} ${response.statusText}`.trim() + ". Please try again.",
  );
}

interface Call {
  body?: unknown;
  auth?: boolean;
  idempotent?: boolean; // a money POST: sends an Idempotency-Key
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
}

export interface ClientOptions {
  store: TokenStore;
  onSignedOut?: () => void;
  fetch?: typeof fetch;
  newKey?: () => string;
}

export class ApiClient {
  private readonly store: TokenStore;
  private readonly onSignedOut: () => void;
  private readonly send: typeof fetch;
  private readonly newKey: () => string;
  private refreshing: Promise<boolean> | null = null;

  constructor(options: ClientOptions) {
    this.store = options.store;
    this.onSignedOut = options.onSignedOut ?? (() => {});
    this.send = options.fetch ?? ((input, init) => fetch(input, init));
    this.newKey = options.newKey ?? (() => crypto.randomUUID());
  }

  get signedIn(): boolean {
    return this.store.get() !== null;
  }

  accessToken(): string | null {
    return this.store.get()?.access_token ?? null;
  }

  async request<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const auth = call.auth ?? true;
    // one key per user action, kept across the retry after a refresh: a repeat, not a second
    const key = call.idempotent ? this.newKey() : null;
    let response = await this.attempt(method, path, call, auth, key);
    if (response.status === 401 && auth) {
      if (!(await this.refresh())) {
        this.signOut();
        throw await problemOf(response);
      }
      response = await this.attempt(method, path, call, auth, key);
      if (response.status === 401) this.signOut();
    }
    if (!response.ok) throw await problemOf(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private async attempt(method: string, path: string, call: Call, auth: boolean, key: string | null) {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    const token = auth ? this.accessToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (key) headers["Idempotency-Key"] = key;
    try {
      return await this.send(API + path + queryString(call.query), {
        method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: call.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ProblemError(0, "network", "The server could not be reached. Check your connection and try again.");
    }
  }

  /** Rotate the tokens; concurrent callers share one refresh. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.rotate().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async rotate(): Promise<boolean> {
    const refreshToken = this.store.get()?.refresh_token;
    if (!refreshToken) return false;
    try {
      const response = await this.send(`${API}/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      if (!response.ok) return false;
      this.store.set((await response.json()) as Tokens);
      return true;
    } catch {
      return false;
    }
  }

  signOut(): void {
    this.store.set(null);
    this.onSignedOut();
  }

  // --- auth ---
  async login(username: string, password: string): Promise<void> {
    const tokens = await this.request<Tokens>("POST", "/auth/login", { body: { username, password }, auth: false });
    this.store.set(tokens);
  }
  register(user: UserCreate): Promise<User> {
    return this.request("POST", "/auth/register", { body: user, auth: false });
  }
  async logout(): Promise<void> {
    try {
      await this.request<void>("POST", "/auth/logout");
    } finally {
      this.signOut();
    }
  }
  profile(): Promise<User> {
    return this.request("GET", "/auth/profile");
  }
  updateProfile(changes: ProfileUpdate): Promise<User> {
    return this.request("PUT", "/auth/profile", { body: changes });
  }
  async changePassword(current: string, next: string): Promise<void> {
    await this.request<void>("POST", "/auth/password", { body: { current_password: current, new_password: next } });
  }

  // --- cash ---
  balance(): Promise<Balance> {
    return this.request("GET", "/balance");
  }
  deposit(amount: string): Promise<BalanceChange> {
    return this.request("POST", "/balance/deposit", { body: { amount }, idempotent: true });
  }
  withdraw(amount: string): Promise<BalanceChange> {
    return this.request("POST", "/balance/withdraw", { body: { amount }, idempotent: true });
  }
  transactions(cursor?: string | null): Promise<Transactions> {
    return this.request("GET", "/balance/transactions", { query: { limit: 50, cursor } });
  }

  // --- market ---
  assets(): Promise<Assets> {
    return this.request("GET", "/inventory/assets", { auth: false, query: { limit: 100 } });
  }
  async asset(assetId: string): Promise<AssetDetail> {
    const found = await this.request<{ data: AssetDetail }>("GET", `/inventory/assets/${encodeURIComponent(assetId)}`, { auth: false });
    return found.data;
  }
  prices(assetId: string): Promise<PriceHistory> {
    return this.request("GET", `/inventory/assets/${encodeURIComponent(assetId)}/prices`, { auth: false, query: { limit: 120 } });
  }

  // --- orders and holdings ---
  async placeOrder(order: OrderCreate): Promise<Order> {
    const placed = await this.request<{ data: Order }>("POST", "/orders", { body: order, idempotent: true });
    return placed.data;
  }
  orders(query: { status?: string; asset_id?: string; cursor?: string | null; limit?: number } = {}): Promise<Orders> {
    return this.request("GET", "/orders", { query });
  }
  async cancelOrder(orderId: string): Promise<Order> {
    const cancelled = await this.request<{ data: Order }>("POST", `/orders/${encodeURIComponent(orderId)}/cancel`);
    return cancelled.data;
  }
  assetTrades(assetId: string): Promise<AssetTrades> {
    return this.request("GET", `/assets/${encodeURIComponent(assetId)}/transactions`, { query: { limit: 20 } });
  }
  portfolio(): Promise<Portfolio> {
    return this.request("GET", "/portfolio");
  }
  insights(): Promise<Insights> {
    return this.request("GET", "/insights/portfolio");
  }
}

function queryString(query: Call["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
