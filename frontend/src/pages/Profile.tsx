import { useEffect, useState, type FormEvent } from "react";
import type { User } from "../api/types";
import { Field, Loading, Notice, Problem } from "../components";
import { useLoad, useSession } from "../session";

export function ProfilePage() {
  const { client } = useSession();
  const profile = useLoad(() => client.profile(), []);
  return (
    <>
      <h1>Profile</h1>
      <Problem error={profile.error} />
      <div className="columns">
        {profile.data ? <ProfileForm user={profile.data} /> : <Loading what="your profile" />}
        <PasswordForm />
      </div>
    </>
  );
}

function ProfileForm({ user }: { user: User }) {
  const { client } = useSession();
  const [form, setForm] = useState({ first_name: user.first_name, last_name: user.last_name, email: user.email, phone: user.phone ?? "" });
  const [error, setError] = useState<Error | null>(null);
  const [notice, setNotice] = useState("");
  useEffect(() => setNotice(""), [form]);
  const set = (name: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await client.updateProfile({ ...form, phone: form.phone.trim() || null });
      setNotice("Profile saved.");
    } catch (failure) {
      setError(failure as Error);
    }
  }

  return (
    <section className="card" aria-labelledby="profile-title">
      <h2 id="profile-title">Your details</h2>
      <p>
        Username: <strong>{user.username}</strong>
      </p>
      <form onSubmit={submit}>
        <Field label="First name" name="first_name" autoComplete="given-name" required value={form.first_name} onChange={set("first_name")} />
        <Field label="Last name" name="last_name" autoComplete="family-name" required value={form.last_name} onChange={set("last_name")} />
        <Field label="Email" name="email" type="email" autoComplete="email" required value={form.email} onChange={set("email")} />
        <Field label="Phone (optional)" name="phone" type="tel" autoComplete="tel" value={form.phone} onChange={set("phone")} />
        <button type="submit">Save profile</button>
      </form>
      <Problem error={error} />
      {notice && <Notice>{notice}</Notice>}
    </section>
  );
}

function PasswordForm() {
  const { client, setSignedIn } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<Error | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await client.changePassword(current, next);
      // every earlier token stops working: sign in again with the new password
      client.signOut();
      setSignedIn(false);
    } catch (failure) {
      setError(failure as Error);
    }
  }

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form onSubmit={submit}>
        <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        <Field label="New password" name="new_password" type="password" autoComplete="new-password" required minLength={12} hint="12+ characters with upper and lower case, a digit and a symbol. You will sign in again." value={next} onChange={(e) => setNext(e.target.value)} />
        <button type="submit">Change password</button>
      </form>
      <Problem error={error} />
    </section>
  );
}
