import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import type { Order } from "../api/types";
import { Change, Field, Loading, Notice, PriceChart, Problem, Table } from "../components";
import { formatAmount } from "../money";
import { useLoad, useSession } from "../session";
import { shortDate } from "./Dashboard";
import { checkTicket, hasErrors, MIN_QUANTITY, type Kind, type Side } from "../validation";

export function AssetPage() {
  const { assetId = "" } = useParams();
  const { client, prices, ticks, changes } = useSession();
  const asset = useLoad(() => client.asset(assetId), [assetId]);
  const history = useLoad(() => client.prices(assetId), [assetId]);
  const holding = useLoad(() => client.portfolio(), [changes]);
  const detail = asset.data;
  const price = prices[assetId] ?? detail?.price_usd ?? null;
  const held = holding.data?.assets.find((a) => a.asset_id === assetId);
  const series = [...(history.data?.data.map((p) => p.price) ?? []), ...(ticks[assetId] ?? [])];
  if (asset.error) return <Problem error={asset.error} />;
  if (!detail) return <Loading what="the asset" />;
  return (
    <>
      <p>
        <Link to="/markets">← Markets</Link>
      </p>
      <h1>
        {detail.name} <span className="symbol">{detail.symbol}</span>
      </h1>
      <div className="columns">
        <section className="card">
          <h2>Price</h2>
          <p className="big" data-testid="asset-price">
            {formatAmount(price, "price")}
          </p>
          <dl className="figures small">
            <div>
              <dt>24h change</dt>
              <dd>
                <Change value={detail.price_change_percentage_24h} />
              </dd>
            </div>
            <div>
              <dt>24h high</dt>
              <dd>{formatAmount(detail.high_24h, "price")}</dd>
            </div>
            <div>
              <dt>24h low</dt>
              <dd>{formatAmount(detail.low_24h, "price")}</dd>
            </div>
            <div>
              <dt>You hold</dt>
              <dd data-testid="held-quantity">{formatAmount(held?.quantity ?? "0", "quantity")}</dd>
            </div>
          </dl>
          <PriceChart prices={series} label={`${detail.name} price, recent history`} />
        </section>
        <OrderTicket assetId={assetId} marketPrice={price} />
      </div>
      <Trades assetId={assetId} />
    </>
  );
}

/** The user's own trades in the asset (its asset history). */
function Trades({ assetId }: { assetId: string }) {
  const { client, changes } = useSession();
  const trades = useLoad(() => client.assetTrades(assetId), [assetId, changes]);
  const rows = trades.data?.transactions ?? [];
  return (
    <section className="card">
      <h2>Your trades in {assetId}</h2>
      <Problem error={trades.error} />
      {rows.length === 0 ? (
        <p>No trades in {assetId} yet.</p>
      ) : (
        <Table label={`Your trades in ${assetId}`}>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Quantity</th>
              <th scope="col">Price</th>
              <th scope="col">Total</th>
              <th scope="col">Holding after</th>
              <th scope="col">Date</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.transaction_id}>
                <td>{t.transaction_type.replace(/_/g, " ")}</td>
                <td>{formatAmount(t.quantity, "quantity")}</td>
                <td>{formatAmount(t.price, "price")}</td>
                <td>{formatAmount(t.total_amount)}</td>
                <td>{formatAmount(t.holding_after, "quantity")}</td>
                <td>{shortDate(t.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </section>
  );
}

function OrderTicket({ assetId, marketPrice }: { assetId: string; marketPrice: string | null }) {
  const { client } = useSession();
  const [side, setSide] = useState<Side>("buy");
  const [kind, setKind] = useState<Kind>("market");
  const [quantity, setQuantity] = useState("");
  const [limitPrice, setLimitPrice] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [placed, setPlaced] = useState<Order | null>(null);
  const [busy, setBusy] = useState(false);
  const check = checkTicket({ side, kind, quantity, limitPrice, marketPrice });
  const shown = touched ? check.errors : {};

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    setPlaced(null);
    setError(null);
    if (hasErrors(check)) return;
    setBusy(true);
    try {
      const order = await client.placeOrder({
        order_type: check.orderType,
        asset_id: assetId,
        quantity: quantity.trim(),
        ...(kind === "limit" ? { price: limitPrice.trim() } : {}),
      });
      setPlaced(order);
      setQuantity("");
      setTouched(false);
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="ticket-title">
      <h2 id="ticket-title">Place an order</h2>
      <form onSubmit={submit} noValidate>
        <fieldset className="toggle">
          <legend>Side</legend>
          {(["buy", "sell"] as const).map((s) => (
            <label key={s}>
              <input type="radio" name="side" value={s} checked={side === s} onChange={() => setSide(s)} /> {s === "buy" ? "Buy" : "Sell"}
            </label>
          ))}
        </fieldset>
        <fieldset className="toggle">
          <legend>Order type</legend>
          {(["market", "limit"] as const).map((k) => (
            <label key={k}>
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {k === "market" ? "Market" : "Limit"}
            </label>
          ))}
        </fieldset>
        <Field label="Quantity" name="quantity" inputMode="decimal" autoComplete="off" value={quantity} onChange={(e) => setQuantity(e.target.value)} error={shown.quantity} hint={`At least ${MIN_QUANTITY}.`} />
        {kind === "limit" && (
          <Field label="Limit price (USD)" name="limit_price" inputMode="decimal" autoComplete="off" value={limitPrice} onChange={(e) => setLimitPrice(e.target.value)} error={shown.price} />
        )}
        <p className="preview" aria-live="polite">
          {side === "buy" ? "Estimated cost" : "Estimated proceeds"}: <strong data-testid="order-preview">{formatAmount(check.value)}</strong>
          {kind === "market" && " at the current price"}
        </p>
        {shown.value && (
          <p className="field-error" role="alert">
            {shown.value}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {side === "buy" ? "Buy" : "Sell"} {assetId}
        </button>
      </form>
      <Problem error={error} />
      {placed && (
        <Notice>
          {placed.status === "queued"
            ? `Limit order placed: ${formatAmount(placed.quantity, "quantity")} ${assetId} at ${formatAmount(placed.price, "price")}, waiting to fill.`
            : `Order ${placed.status}: ${formatAmount(placed.quantity, "quantity")} ${assetId} for ${formatAmount(placed.total_amount)}.`}
        </Notice>
      )}
    </section>
  );
}
