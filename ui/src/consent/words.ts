// The words the consent card, Sharing and Activity share, so that the owner
// meets the same name for the same thing on every screen: what she agrees
// to on the card is what Sharing later says the app may see.
import type { Client, Party } from '../api';

/**
 * What each kind of access releases, by the name the provider's preview
 * gives it (crates/wallet/src/pensions/preview.rs `title`): the card must
 * still say it when the preview could not be read.
 */
export const CLUSTER_TITLES: Record<string, string> = {
  owner: 'Your pension details',
  value: "Your pension's value",
  delegate: 'Acting for you with the provider',
};

/**
 * What is in each cluster, for when the provider could not be asked: the
 * review found "see who holds the pension" hid a date of birth, employers
 * and contacts, so even the fallback names them.
 */
export const CLUSTER_CONTENTS: Record<string, string> = {
  owner: 'the scheme, your employers and dates, your date of birth, your retirement date and who runs the pension',
  value: 'income estimates and the size of your pot',
  delegate: 'they could ask the provider to do things for you',
};

/** The few words a receipt or a list has room for. */
export const CLUSTER_SHORT: Record<string, string> = {
  owner: 'details',
  value: 'values',
  delegate: 'acting for you',
};

export const clusterTitle = (scope: string) => CLUSTER_TITLES[scope] ?? `Something called “${scope}”`;
export const clusterShort = (scope: string) => CLUSTER_SHORT[scope] ?? `“${scope}”`;

/** "Your pension details, your pension's value": a list of clusters in one phrase. */
export function clusterList(scopes: readonly string[]): string {
  if (scopes.length === 0) return 'Everything about the pension';
  return scopes.map((s, i) => (i === 0 ? clusterTitle(s) : lowerFirst(clusterTitle(s)))).join(', ');
}

const lowerFirst = (s: string) => (s.startsWith('Your') ? `y${s.slice(1)}` : s);

/** '29 Dec 2026': a day as British people write it, from Unix seconds. */
export function formatDate(unix: number): string {
  return new Date(unix * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

/** '21:37': the time of day, from Unix seconds. */
export function formatClock(unix: number): string {
  return new Date(unix * 1000).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** The host of a web address ("id.example.com"), or the text as it is. */
export function hostOf(address: string): string {
  try {
    return new URL(address).host || address;
  } catch {
    return address;
  }
}

/**
 * How an app is named in a sentence. A name the app chose itself is put in
 * quotes, so that "HMRC" never reads as a fact; only a name the pensions
 * register vouches for goes bare.
 */
export const appWords = (name: string | null | undefined, checked: boolean) => {
  const n = name?.trim() || 'an unnamed app';
  return checked ? n : `“${n}”`;
};

/** How a sentence names an app from the wallet's list of apps: bare when
 * the official list vouches for the name, in quotes when the app chose it
 * itself (Sharing and the inbox's "Access ending soon" say it alike). */
export function appLabeller(clients: readonly Client[]) {
  return (id: string) => {
    const c = clients.find((x) => x.client_id === id);
    if (!c) return 'an app no longer known to your wallet';
    const listed = !!(c.registry?.listed && c.registry.name);
    return appWords(listed ? c.registry.name : c.client_name, listed);
  };
}

/** Whether the official register vouches for an app: an app the wallet no
 * longer knows is not vouched for (the wallet treats it the same way). */
export function appListed(clients: readonly Client[], id: string): boolean {
  return clients.find((c) => c.client_id === id)?.registry?.listed === true;
}

export const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
const claims = (c: unknown) => (c && typeof c === 'object' ? (c as Record<string, unknown>) : {});

/**
 * Who a grant or request is for, in words, or null when the app asked on
 * no one's behalf. A checked person says who checked them; a stated one
 * says it was not checked. Raw keys (`oidc:…`, `stated-email:…`) stay out.
 */
export function partyWords(party: Party | null | undefined): string | null {
  const verified = claims(party?.verified);
  const stated = claims(party?.self_asserted);
  const checker = text(verified.issuer);
  const by = checker ? ` checked by ${hostOf(checker)}` : ' checked';
  const name = text(verified.name);
  const firm = text(verified.organisation);
  const email = text(verified.email);
  if (name && firm) return `${name} of ${firm},${by}`;
  if (name) return `${name}, ${email ? 'email' : 'identity'}${by}`;
  if (email) return `${email},${by}`;
  const typed = text(stated.name) ?? text(stated.email);
  if (typed) return `someone who typed ${typed} (not checked)`;
  return null;
}


export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
