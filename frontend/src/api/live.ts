// Live events (GET /api/v1/events) over fetch streaming: EventSource cannot send the bearer
// token. Parses Server-Sent Events, reconnects with Last-Event-ID after the server's `retry`
// hint, and refreshes the tokens when the stream is refused with a 401.
import { API, ApiClient } from "./client";

export interface LiveEvent {
  event: string;
  id: string | null;
  data: unknown;
}

/** Split a Server-Sent Events text buffer into complete frames and the unfinished rest. */
export function parseFrames(buffer: string): { frames: LiveEvent[]; rest: string; retryMs: number | null } {
  const blocks = buffer.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  const frames: LiveEvent[] = [];
  let retryMs: number | null = null;
  for (const block of blocks) {
    let event = "message";
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // a keep-alive comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (data.length === 0) continue;
    const text = data.join("\n");
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // a data line that is not JSON is passed on as text
    }
    frames.push({ event, id, data: parsed });
  }
  return { frames, rest, retryMs };
}

/** Follow the stream until ``signal`` aborts, calling ``onEvent`` for each event. */
export async function followEvents(
  client: ApiClient,
  onEvent: (event: LiveEvent) => void,
  signal: AbortSignal,
  onState: (connected: boolean) => void = () => {},
): Promise<void> {
  let lastId: string | null = null;
  let retryMs = 1000;
  while (!signal.aborted) {
    try {
      const token = client.accessToken();
      if (!token) return;
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await fetch(`${API}/events`, { headers, signal });
      if (response.status === 401) {
        if (!(await client.refresh())) return client.signOut();
        continue;
      }
      if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
      onState(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parsed = parseFrames(buffer + value);
        buffer = parsed.rest;
        if (parsed.retryMs !== null) retryMs = parsed.retryMs;
        for (const frame of parsed.frames) {
          if (frame.id) lastId = frame.id;
          onEvent(frame);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    onState(false);
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
