import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router-dom";
import { Field, Notice, Problem } from "../components";
import { useSession } from "../session";

export function LoginPage() {
  const { client, setSignedIn } = useSession();
  const navigate = useNavigate();
  const registered = (useLocation().state as { registered?: string } | null)?.registered;
  const [username, setUsername] = useState(registered ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await client.login(username, password);
      setSignedIn(true);
      navigate("/", { replace: true });
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      {registered && <Notice>Your account is ready. Sign in to start trading.</Notice>}
      <Problem error={error} />
      <form onSubmit={submit}>
        <Field label="Username" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        New here? <Link to="/register">Create an account</Link>
      </p>
    </section>
  );
}

const EMPTY = { username: "", email: "", password: "", first_name: "", last_name: "" };

export function RegisterPage() {
  const { client } = useSession();
  const navigate = useNavigate();
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof typeof EMPTY) => (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await client.register({ ...form, marketing_emails_consent: false });
      navigate("/login", { state: { registered: form.username } });
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow">
      <h1>Create an account</h1>
      <Problem error={error} />
      <form onSubmit={submit}>
        <Field label="Username" name="username" autoComplete="username" required minLength={6} maxLength={30} pattern="[A-Za-z][A-Za-z0-9_]{5,29}" hint="6 to 30 letters, digits or _, starting with a letter." value={form.username} onChange={set("username")} />
        <Field label="Email" name="email" type="email" autoComplete="email" required value={form.email} onChange={set("email")} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required minLength={12} maxLength={128} hint="12+ characters with upper and lower case, a digit and a symbol." value={form.password} onChange={set("password")} />
        <Field label="First name" name="first_name" autoComplete="given-name" required maxLength={50} value={form.first_name} onChange={set("first_name")} />
        <Field label="Last name" name="last_name" autoComplete="family-name" required maxLength={50} value={form.last_name} onChange={set("last_name")} />
        <button type="submit" disabled={busy}>
          Create account
        </button>
      </form>
      <p>
        Already registered? <Link to="/login">Sign in</Link>
      </p>
    </section>
  );
}
