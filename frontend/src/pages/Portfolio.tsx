import { Loading, Problem } from "../components";
import { useLoad, useSession } from "../session";
import { Holdings, Summary } from "./Dashboard";

export function PortfolioPage() {
  const { client, changes } = useSession();
  const portfolio = useLoad(() => client.portfolio(), [changes]);
  return (
    <>
      <h1>Portfolio</h1>
      <Problem error={portfolio.error} />
      {portfolio.data ? (
        <>
          <Summary portfolio={portfolio.data} />
          <section className="card">
            <h2>Holdings with profit and loss</h2>
            <Holdings portfolio={portfolio.data} pnl />
          </section>
        </>
      ) : (
        <Loading what="your portfolio" />
      )}
    </>
  );
}
