// The signed-in session: the API client, the user's live events and the prices they carry.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useNavigate } from "react-router-dom";
import { ApiClient, sessionTokenStore } from "./api/client";
import { followEvents, type LiveEvent } from "./api/live";

interface Session {
  client: ApiClient;
  signedIn: boolean;
  setSignedIn: (signedIn: boolean) => void;
  prices: Record<string, string>; // asset id -> the latest price from the live stream
  ticks: Record<string, string[]>; // asset id -> the prices streamed since sign-in (sparklines)
  changes: number; // counts the user's own events (orders, balance, holdings): reload on change
  live: boolean;
}

const SPARKLINE_TICKS = 40;
const PRICE_FLUSH_MS = 250;

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  const signedOut = useRef(() => {});
  const [client] = useState(
    () => new ApiClient({ store: sessionTokenStore(), onSignedOut: () => signedOut.current() }),
  );
  const [signedIn, setSignedIn] = useState(() => client.signedIn);
  signedOut.current = () => setSignedIn(false);
  const [prices, setPrices] = useState<Record<string, string>>({});
  const [ticks, setTicks] = useState<Record<string, string[]>>({});
  const [changes, setChanges] = useState(0);
  const [live, setLive] = useState(false);
  const wasSignedIn = useRef(false);

  useEffect(() => {
    if (!signedIn) {
      if (wasSignedIn.current) navigate("/login", { replace: true });
      wasSignedIn.current = false;
      return;
    }
    wasSignedIn.current = true;
    const stop = new AbortController();
    // ticks of every asset arrive many times a second: render them at most every PRICE_FLUSH_MS
    let pending: Record<string, string[]> = {};
    let flush: ReturnType<typeof setTimeout> | null = null;
    const flushPrices = () => {
      const batch = pending;
      pending = {};
      flush = null;
      setPrices((known) => {
        const next = { ...known };
        for (const [id, seen] of Object.entries(batch)) next[id] = seen[seen.length - 1];
        return next;
      });
      setTicks((known) => {
        const next = { ...known };
        for (const [id, seen] of Object.entries(batch)) next[id] = [...(known[id] ?? []), ...seen].slice(-SPARKLINE_TICKS);
        return next;
      });
    };
    const onEvent = (event: LiveEvent) => {
      if (event.event === "price") {
        const quote = event.data as { asset_id: string; price: string };
        (pending[quote.asset_id] ??= []).push(quote.price);
        flush ??= setTimeout(flushPrices, PRICE_FLUSH_MS);
      } else {
        setChanges((count) => count + 1);
      }
    };
    void followEvents(client, onEvent, stop.signal, setLive);
    return () => {
      stop.abort();
      if (flush) clearTimeout(flush);
    };
  }, [signedIn, client, navigate]);

  const value = useMemo(
    () => ({ client, signedIn, setSignedIn, prices, ticks, changes, live }),
    [client, signedIn, prices, ticks, changes, live],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** Load with ``load`` when ``deps`` change (and on ``reload()``); errors are kept to show. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [round, setRound] = useState(0);
  const run = useCallback(load, deps); // a new load only when the caller's deps change
  useEffect(() => {
    let current = true;
    run().then(
      (value) => current && (setData(value), setError(null)),
      (failure: Error) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [run, round]);
  return { data, error, reload: () => setRound((n) => n + 1) };
}
