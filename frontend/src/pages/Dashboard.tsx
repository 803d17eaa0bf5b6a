import { Link } from "react-router-dom";
import type { Order, Portfolio } from "../api/types";
import { Allocation, Change, Loading, PriceChart, Problem, Table } from "../components";
import { formatAmount } from "../money";
import { useLoad, useSession } from "../session";

export function DashboardPage() {
  const { client, changes } = useSession();
  const portfolio = useLoad(() => client.portfolio(), [changes]);
  const orders = useLoad(() => client.orders({ limit: 5 }), [changes]);
  const insights = useLoad(() => client.insights(), [changes]);
  return (
    <>
      <h1>Dashboard</h1>
      <Problem error={portfolio.error ?? orders.error} />
      {portfolio.data ? <Summary portfolio={portfolio.data} /> : <Loading what="your portfolio" />}
      <Ticker />
      <div className="columns">
        <section className="card">
          <h2>Holdings</h2>
          {portfolio.data && <Holdings portfolio={portfolio.data} />}
        </section>
        <section className="card">
          <h2>Allocation</h2>
          {insights.data && (
            <Allocation
              slices={insights.data.allocation.map((s) => ({
                name: s.kind === "cash" ? "Cash" : (s.asset_name ?? s.asset_id ?? "?"),
                percent: s.percentage,
              }))}
            />
          )}
        </section>
      </div>
      <section className="card">
        <h2>Recent orders</h2>
        {orders.data && <OrderList orders={orders.data.data} />}
        <Link to="/orders">All orders</Link>
      </section>
    </>
  );
}

const TICKER_SIZE = 6;

/** The largest assets with their live prices. */
function Ticker() {
  const { client, prices, ticks } = useSession();
  const assets = useLoad(() => client.assets(), []);
  const top = assets.data?.data.slice(0, TICKER_SIZE) ?? [];
  return (
    <section className="card" aria-labelledby="ticker-title">
      <h2 id="ticker-title">Markets now</h2>
      <ul className="ticker">
        {top.map((a) => (
          <li key={a.asset_id}>
            <Link to={`/markets/${a.asset_id}`}>{a.symbol.toUpperCase()}</Link> {formatAmount(prices[a.asset_id] ?? a.price_usd, "price")}{" "}
            <Change value={a.price_change_percentage_24h} /> <PriceChart small prices={ticks[a.asset_id] ?? []} label={`${a.name} live price`} />
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Summary({ portfolio }: { portfolio: Portfolio }) {
  return (
    <dl className="figures">
      <div>
        <dt>Total value</dt>
        <dd data-testid="total-value">{formatAmount(portfolio.total_value)}</dd>
      </div>
      <div>
        <dt>Cash</dt>
        <dd data-testid="cash">{formatAmount(portfolio.cash_balance)}</dd>
      </div>
      <div>
        <dt>Available cash</dt>
        <dd>{formatAmount(portfolio.available_cash)}</dd>
      </div>
    </dl>
  );
}

export function Holdings({ portfolio, pnl = false }: { portfolio: Portfolio; pnl?: boolean }) {
  if (portfolio.assets.length === 0)
    return (
      <p>
        No holdings yet. <Link to="/markets">Browse the markets</Link>
      </p>
    );
  return (
    <Table label="Holdings">
      <thead>
        <tr>
          <th scope="col">Asset</th>
          <th scope="col">Quantity</th>
          <th scope="col">Price</th>
          <th scope="col">Value</th>
          {pnl && <th scope="col">Average cost</th>}
          {pnl && <th scope="col">Unrealized P&amp;L</th>}
          <th scope="col">Share</th>
        </tr>
      </thead>
      <tbody>
        {portfolio.assets.map((a) => (
          <tr key={a.asset_id}>
            <th scope="row">
              <Link to={`/markets/${a.asset_id}`}>{a.asset_name ?? a.asset_id}</Link>
            </th>
            <td>{formatAmount(a.quantity, "quantity")}</td>
            <td>{formatAmount(a.current_price, "price")}</td>
            <td>{formatAmount(a.market_value)}</td>
            {pnl && <td>{formatAmount(a.average_cost, "price")}</td>}
            {pnl && <td>{formatAmount(a.unrealized_pnl)}</td>}
            <td>{a.percentage === null ? "—" : `${a.percentage}%`}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

const TYPE_NAMES: Record<string, string> = {
  market_buy: "Market buy",
  market_sell: "Market sell",
  limit_buy: "Limit buy",
  limit_sell: "Limit sell",
};

export function OrderList({ orders, onCancel }: { orders: Order[]; onCancel?: (order: Order) => void }) {
  if (orders.length === 0) return <p>No orders yet.</p>;
  return (
    <Table label="Orders">
      <thead>
        <tr>
          <th scope="col">Order</th>
          <th scope="col">Asset</th>
          <th scope="col">Status</th>
          {onCancel && <th scope="col">Action</th>}
          <th scope="col">Quantity</th>
          <th scope="col">Price</th>
          <th scope="col">Total</th>
          <th scope="col">Placed</th>
        </tr>
      </thead>
      <tbody>
        {orders.map((o) => (
          <tr key={o.order_id} data-order-id={o.order_id}>
            <td>{TYPE_NAMES[o.order_type] ?? o.order_type}</td>
            <td>{o.asset_id}</td>
            <td className={`status ${o.status}`}>{o.status}</td>
            {onCancel && (
              <td>
                {o.status === "queued" && (
                  <button type="button" className="secondary" onClick={() => onCancel(o)} aria-label={`Cancel ${TYPE_NAMES[o.order_type] ?? ""} of ${o.quantity} ${o.asset_id}`}>
                    Cancel
                  </button>
                )}
              </td>
            )}
            <td>{formatAmount(o.quantity, "quantity")}</td>
            <td>{formatAmount(o.filled_price ?? o.price, "price")}</td>
            <td>{formatAmount(o.total_amount)}</td>
            <td>{shortDate(o.created_at)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

export function shortDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}
