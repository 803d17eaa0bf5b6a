import { useState } from "react";
import { Link } from "react-router-dom";
import { Change, Loading, PriceChart, Problem, Table } from "../components";
import { formatAmount } from "../money";
import { useLoad, useSession } from "../session";

export function MarketsPage() {
  const { client, prices, ticks, live } = useSession();
  const assets = useLoad(() => client.assets(), []);
  const [search, setSearch] = useState("");
  const [category, setCategory] = useState("");
  const all = assets.data?.data ?? [];
  const categories = [...new Set(all.map((a) => a.category))].sort();
  const wanted = search.trim().toLowerCase();
  const shown = all.filter(
    (a) =>
      (!category || a.category === category) &&
      (!wanted || a.name.toLowerCase().includes(wanted) || a.symbol.toLowerCase().includes(wanted) || a.asset_id.toLowerCase().includes(wanted)),
  );
  return (
    <>
      <h1>Markets</h1>
      <p className="live-state" aria-live="polite">
        {live ? "Live prices" : "Connecting to live prices…"}
      </p>
      <div className="filters">
        <div className="field">
          <label htmlFor="market-search">Search assets</label>
          <input id="market-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name or symbol" />
        </div>
        <div className="field">
          <label htmlFor="market-category">Category</label>
          <select id="market-category" value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">All</option>
            {categories.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </div>
      </div>
      <Problem error={assets.error} />
      {!assets.data ? (
        <Loading what="the markets" />
      ) : (
        <Table label="Assets">
          <thead>
            <tr>
              <th scope="col">Asset</th>
              <th scope="col">Price</th>
              <th scope="col">24h change</th>
              <th scope="col">Live</th>
              <th scope="col">Market cap</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => (
              <tr key={a.asset_id}>
                <th scope="row">
                  <Link to={`/markets/${a.asset_id}`}>
                    {a.name} <span className="symbol">{a.symbol}</span>
                  </Link>
                </th>
                <td data-testid={`price-${a.asset_id}`}>{formatAmount(prices[a.asset_id] ?? a.price_usd, "price")}</td>
                <td>
                  <Change value={a.price_change_percentage_24h} />
                </td>
                <td>
                  <PriceChart small prices={ticks[a.asset_id] ?? []} label={`${a.name}: prices since you opened the app`} />
                </td>
                <td>{formatAmount(a.market_cap)}</td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={5}>No asset matches “{search}”.</td>
              </tr>
            )}
          </tbody>
        </Table>
      )}
    </>
  );
}
