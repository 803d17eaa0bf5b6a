import { Link } from "react-router-dom";
import type { Order, Portfolio } from "../api/types";
import { Loading, Problem, Table } from "../components";
import { formatAmount } from "../money";
import { useLoad, useSession } from "../session";

export function DashboardPage() {
  const { client, changes } = useSession();
  const portfolio = useLoad(() => client.portfolio(), [changes]);
  const orders = useLoad(() => client.orders({ limit: 5 }), [changes]);
  return (
    <>
      <h1>Dashboard</h1>
      <Problem error={portfolio.error ?? orders.error} />
      {portfolio.data ? <Summary portfolio={portfolio.data} /> : <Loading what="your portfolio" />}
      <section className="card">
        <h2>Holdings</h2>
        {portfolio.data && <Holdings portfolio={portfolio.data} />}
      </section>
      <section className="card">
        <h2>Recent orders</h2>
        {orders.data && <OrderList orders={orders.data.data} />}
        <Link to="/orders">All orders</Link>
      </section>
    </>
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
          <th scope="col">Placed</th>
          <th scope="col">Order</th>
          <th scope="col">Asset</th>
          <th scope="col">Quantity</th>
          <th scope="col">Price</th>
          <th scope="col">Total</th>
          <th scope="col">Status</th>
          {onCancel && <th scope="col">Action</th>}
        </tr>
      </thead>
      <tbody>
        {orders.map((o) => (
          <tr key={o.order_id} data-order-id={o.order_id}>
            <td>{new Date(o.created_at).toLocaleString()}</td>
            <td>{TYPE_NAMES[o.order_type] ?? o.order_type}</td>
            <td>{o.asset_id}</td>
            <td>{formatAmount(o.quantity, "quantity")}</td>
            <td>{formatAmount(o.filled_price ?? o.price, "price")}</td>
            <td>{formatAmount(o.total_amount)}</td>
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
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
