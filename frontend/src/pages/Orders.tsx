import { useState } from "react";
import type { Order } from "../api/types";
import { Loading, Notice, Problem } from "../components";
import { useLoad, useSession } from "../session";
import { OrderList } from "./Dashboard";

export function OrdersPage() {
  const { client, changes } = useSession();
  const [round, setRound] = useState(0);
  const open = useLoad(() => client.orders({ status: "queued", limit: 100 }), [changes, round]);
  const all = useLoad(() => client.orders({ limit: 100 }), [changes, round]);
  const [error, setError] = useState<Error | null>(null);
  const [notice, setNotice] = useState("");

  async function cancel(order: Order) {
    setError(null);
    try {
      await client.cancelOrder(order.order_id);
      setNotice(`Order for ${order.quantity} ${order.asset_id} cancelled.`);
      setRound((n) => n + 1);
    } catch (failure) {
      setError(failure as Error);
    }
  }

  const history = all.data?.data.filter((o) => o.status !== "queued") ?? [];
  return (
    <>
      <h1>Orders</h1>
      <Problem error={error ?? open.error ?? all.error} />
      {notice && <Notice>{notice}</Notice>}
      <section className="card">
        <h2>Open orders</h2>
        {open.data ? <OrderList orders={open.data.data} onCancel={cancel} /> : <Loading what="open orders" />}
      </section>
      <section className="card">
        <h2>History</h2>
        {all.data ? <OrderList orders={history} /> : <Loading what="order history" />}
      </section>
    </>
  );
}
