import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import type { Order } from "../api/types";
import { Change, Field, Loading, Notice, PriceChart, Problem } from "../components";
import { formatAmount } from "../money";
import { useLoad, useSession } from "../session";
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
    </>
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
