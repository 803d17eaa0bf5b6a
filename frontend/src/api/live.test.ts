import { describe, expect, it } from "vitest";
import { parseFrames } from "./live";

describe("parseFrames", () => {
  it("parses complete frames and keeps the unfinished rest", () => {
    const text =
      'retry: 2000\n\n: keep-alive\n\nevent: price\ndata: {"asset_id":"BTC","price":"65000.10"}\n\n' +
      'id: 7\nevent: order\ndata: {"order_id":"o1","status":"completed"}\n\nevent: bal';

    const { frames, rest, retryMs } = parseFrames(text);

    expect(retryMs).toBe(2000);
    expect(frames).toEqual([
      { event: "price", id: null, data: { asset_id: "BTC", price: "65000.10" } },
      { event: "order", id: "7", data: { order_id: "o1", status: "completed" } },
    ]);
    expect(rest).toBe("event: bal");
  });

  it("joins multi-line data and accepts CRLF", () => {
    const { frames } = parseFrames("data: line one\r\ndata: line two\r\n\r\n");
    expect(frames).toEqual([{ event: "message", id: null, data: "line one\nline two" }]);
  });
});
