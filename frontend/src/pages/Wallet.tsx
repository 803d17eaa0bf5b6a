import { useState, type FormEvent } from "react";
import { Field, Loading, Notice, Problem, Table } from "../components";
import { formatAmount } from "../money";
import { useLoad, useSession } from "../session";
import { checkCashAmount } from "../validation";
import { shortDate } from "./Dashboard";

export function WalletPage() {
  const { client, changes } = useSession();
  const [round, setRound] = useState(0);
  const balance = useLoad(() => client.balance(), [changes, round]);
  return (
    <>
      <h1>Deposit and withdraw</h1>
      <Problem error={balance.error} />
      {balance.data ? (
        <dl className="figures">
          <div>
            <dt>Balance</dt>
            <dd data-testid="balance">{formatAmount(balance.data.current_balance)}</dd>
          </div>
          <div>
            <dt>Available</dt>
            <dd data-testid="available">{formatAmount(balance.data.available_balance)}</dd>
          </div>
          <div>
            <dt>Held for open orders</dt>
            <dd>{formatAmount(balance.data.held_balance)}</dd>
          </div>
        </dl>
      ) : (
        <Loading what="your balance" />
      )}
      <div className="columns">
        <CashForm action="deposit" onDone={() => setRound((n) => n + 1)} />
        <CashForm action="withdraw" onDone={() => setRound((n) => n + 1)} />
      </div>
    </>
  );
}

function CashForm({ action, onDone }: { action: "deposit" | "withdraw"; onDone: () => void }) {
  const { client } = useSession();
  const [amount, setAmount] = useState("");
  const [invalid, setInvalid] = useState<string | undefined>();
  const [error, setError] = useState<Error | null>(null);
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const title = action === "deposit" ? "Deposit" : "Withdraw";

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setNotice("");
    const problem = checkCashAmount(amount);
    setInvalid(problem ?? undefined);
    if (problem) return;
    setBusy(true);
    try {
      const done = await (action === "deposit" ? client.deposit(amount.trim()) : client.withdraw(amount.trim()));
      setNotice(`${title === "Deposit" ? "Deposited" : "Withdrew"} ${formatAmount(amount.trim())}. Balance: ${formatAmount(done.balance)}.`);
      setAmount("");
      onDone();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby={`${action}-title`}>
      <h2 id={`${action}-title`}>{title}</h2>
      <form onSubmit={submit} noValidate>
        <Field label={`Amount to ${action} (USD)`} name={`${action}_amount`} inputMode="decimal" autoComplete="off" value={amount} onChange={(e) => setAmount(e.target.value)} error={invalid} />
        <button type="submit" disabled={busy}>
          {title}
        </button>
      </form>
      <Problem error={error} />
      {notice && <Notice>{notice}</Notice>}
    </section>
  );
}

export function TransactionsPage() {
  const { client, changes } = useSession();
  const first = useLoad(() => client.transactions(), [changes]);
  const [more, setMore] = useState<Awaited<ReturnType<typeof client.transactions>>[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const last = more.length ? more[more.length - 1] : first.data;

  async function loadMore() {
    if (!last?.next_cursor) return;
    try {
      const page = await client.transactions(last.next_cursor);
      setMore([...more, page]);
    } catch (failure) {
      setError(failure as Error);
    }
  }

  const rows = [first.data, ...more].flatMap((p) => p?.transactions ?? []);
  return (
    <>
      <h1>Transactions</h1>
      <Problem error={error ?? first.error} />
      {!first.data ? (
        <Loading what="transactions" />
      ) : rows.length === 0 ? (
        <p>No transactions yet.</p>
      ) : (
        <Table label="Transactions">
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Type</th>
              <th scope="col">Amount</th>
              <th scope="col">Balance after</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.transaction_id}>
                <td>{shortDate(t.created_at)}</td>
                <td>{t.transaction_type.replace(/_/g, " ")}</td>
                <td>{formatAmount(t.amount)}</td>
                <td>{formatAmount(t.balance_after)}</td>
                <td>{t.status}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {last?.has_more && (
        <button type="button" className="secondary" onClick={loadMore}>
          Show more
        </button>
      )}
    </>
  );
}
