import { useState } from "react";
import { Navigate, NavLink, Outlet, Route, Routes, useNavigate } from "react-router-dom";
import { AssetPage } from "./pages/Asset";
import { LoginPage, RegisterPage } from "./pages/Auth";
import { DashboardPage } from "./pages/Dashboard";
import { MarketsPage } from "./pages/Markets";
import { OrdersPage } from "./pages/Orders";
import { PortfolioPage } from "./pages/Portfolio";
import { ProfilePage } from "./pages/Profile";
import { TransactionsPage, WalletPage } from "./pages/Wallet";
import { SessionProvider, useSession } from "./session";

const PAGES = [
  ["/", "Dashboard"],
  ["/markets", "Markets"],
  ["/orders", "Orders"],
  ["/portfolio", "Portfolio"],
  ["/wallet", "Deposit & withdraw"],
  ["/transactions", "Transactions"],
  ["/profile", "Profile"],
] as const;

function Shell() {
  const { client, signedIn, setSignedIn } = useSession();
  const navigate = useNavigate();
  const [menuOpen, setMenuOpen] = useState(false);
  if (!signedIn) return <Navigate to="/login" replace />;

  async function logout() {
    try {
      await client.logout();
    } finally {
      setSignedIn(false);
      navigate("/login", { replace: true });
    }
  }

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Order Processor</span>
        <button type="button" className="menu secondary" aria-expanded={menuOpen} aria-controls="site-nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <nav id="site-nav" aria-label="Main" className={menuOpen ? "open" : ""}>
          <ul>
            {PAGES.map(([to, name]) => (
              <li key={to}>
                <NavLink to={to} end={to === "/"} onClick={() => setMenuOpen(false)}>
                  {name}
                </NavLink>
              </li>
            ))}
            <li>
              <button type="button" className="link" onClick={logout}>
                Log out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

function Public() {
  const { signedIn } = useSession();
  if (signedIn) return <Navigate to="/" replace />;
  return (
    <>
      <header className="top">
        <span className="brand">Order Processor</span>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Routes>
        <Route element={<Public />}>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
        </Route>
        <Route element={<Shell />}>
          <Route path="/" element={<DashboardPage />} />
          <Route path="/markets" element={<MarketsPage />} />
          <Route path="/markets/:assetId" element={<AssetPage />} />
          <Route path="/orders" element={<OrdersPage />} />
          <Route path="/portfolio" element={<PortfolioPage />} />
          <Route path="/wallet" element={<WalletPage />} />
          <Route path="/transactions" element={<TransactionsPage />} />
          <Route path="/profile" element={<ProfilePage />} />
          <Route path="*" element={<h1>Page not found</h1>} />
        </Route>
      </Routes>
    </SessionProvider>
  );
}
