// The activity log in sentences. The log itself keeps its codes (they are
// what the chain of hashes covers, and what an export carries); the owner
// reads one plain sentence per entry, with the codes behind a toggle.
import type { ActivityEntry, Client, Provider, Resource } from '../api';
import { appWords, clusterShort, hostOf } from '../consent/words';

/** Each kind of entry in a few words: the "What happened" filter's options. */
export const ACTIONS: Record<string, string> = {
  'token.request_submitted': 'Access requested',
  'token.rpt_issued': 'Access given',
  'token.request_denied': 'Access refused',
  'client.registered': 'An app introduced itself',
  'pending.approve': 'You said yes to a request',
  'pending.deny': 'You said no to a request',
  'identity.disclosed': 'Your details were sent to providers',
  'identity.credential.receive': 'You proved who you are',
  'identity.credential.delete': 'You deleted your proof of identity',
  'registry.import': 'Official list imported',
  'registry.key': 'Official list key set',
  'grant.revoke': 'You stopped access',
  'grant.revoked_by_policy': 'Access ended by one of your rules',
  'policy.add': 'You added a rule',
  'policy.remove': 'You removed a rule',
  'token.need_info': 'An app was asked who it acts for',
  'token.too_many_requests': 'An app asked too often',
  'token.invalid_scope': 'An app asked for something not on offer',
  'token.resources_gone': 'An app asked for a pension no longer here',
  'token.unknown_ticket': 'An attempt to get access was refused',
  'token.foreign_ticket': 'An attempt to get access was refused',
  'token.unexpected_ticket': 'An attempt to get access was refused',
  'token.used_ticket': 'An attempt to get access was refused',
  'token.expired_ticket': 'An attempt to get access was refused',
  'token.ticket_replayed': 'The same access attempt was made twice',
  'claims.gathered': 'An app said who it acts for',
  'client.registration_refused': 'An app could not introduce itself',
  'client.authentication_failed': 'An app failed to prove which app it is',
  'revocation.revoked': 'An app gave up its access',
  'revocation.refused': 'An app could not give up its access',
  'resource.registered': 'A provider added a pension',
  'resource.updated': 'A provider updated a pension',
  'resource.deleted': 'A provider removed a pension',
  'resource_server.approve': 'You let a provider in',
  'resource_server.refuse': 'You refused a provider',
  'pat.issued': 'A provider connected',
  'pat.refused': 'A provider was turned away',
  'pat.awaiting_owner': 'A provider waited for your answer',
  'pat.too_many_waiting': 'Too many providers waiting',
  'pat.assertion_rejected': "A provider's permission code was not accepted",
  'pat.assertion_replayed': 'A permission code was used twice',
  'permission.rate_limited': 'A provider asked too often',
  'assertion.minted': 'You gave a provider a permission code',
  'trusted_issuer.add': 'You trusted a sign-in service',
  'trusted_issuer.remove': 'You stopped trusting a sign-in service',
  'identity.update': 'You changed your details',
  'identity.credential.refused': 'Your proof of identity was not accepted',
  'credential.delete': 'You deleted a record',
  'provider.add': 'You added a provider',
  'provider.remove': 'You removed a provider',
  'provider.import': 'Providers taken from the official list',
  'pension.accept': 'You protected a pension',
  'pension.move': 'You moved a pension',
  'wallet.backup': 'Backup made',
  'wallet.passphrase_changed': 'You changed your passphrase',
};

export const actionLabel = (action: string) => ACTIONS[action] ?? 'Something else happened';

/** Names to put on who acted and which pension: looked up, never required. */
export interface Names {
  /** Whether `resources` is this wallet's list (false when it could not be read). */
  known: boolean;
  resources: Resource[];
  clients: Client[];
  providers: Provider[];
}

export const NO_NAMES: Names = { known: false, resources: [], clients: [], providers: [] };

/** The wallet reading the owner's pensions for her: her own doing, shown as one line a day. */
export const isOwnRead = (e: ActivityEntry) => e.by_you === true && e.actor.startsWith('client:');

/** A provider by the name the owner gave it, the name it gave itself, else its host. */
export function providerWords(address: string, n: Names): string {
  const own = n.providers.find((p) => p.url === address)?.name?.trim();
  if (own) return own;
  const c = n.clients.find((x) => x.client_id === address);
  if (c?.registry?.listed && c.registry.name) return c.registry.name;
  const named = c?.client_name?.trim();
  return named && named !== address ? named : hostOf(address);
}

/** An app in a sentence: its listed name, else the name it chose in quotes. */
export function appOf(id: string, n: Names): string | null {
  const c = n.clients.find((x) => x.client_id === id);
  if (!c) return null;
  const listed = !!(c.registry?.listed && c.registry.name);
  return appWords(listed ? c.registry.name : c.client_name, listed);
}

/** Who acted, in words: `owner`, `client:<id>`, `resource_server:<id>`, `anonymous`, `many`. */
export function whoWords(e: Pick<ActivityEntry, 'actor' | 'by_you'>, n: Names): string {
  const { actor } = e;
  if (actor === 'owner') return 'You';
  if (actor.startsWith('client:')) {
    if (e.by_you) return 'Your wallet';
    return appOf(actor.slice('client:'.length), n) ?? 'An app';
  }
  if (actor.startsWith('resource_server:')) return providerWords(actor.slice('resource_server:'.length), n);
  if (actor === 'anonymous') return 'Someone unknown';
  if (actor === 'many') return 'Many unknown visitors';
  return 'Someone';
}

/** The name of a pension from any way the log refers to it (its id here, or its PeI). */
export function pensionWords(ref: string, n: Names): string {
  const r = n.resources.find((x) => x.id === ref || x.name === ref);
  if (r) return r.description ?? `a pension with ${providerWords(r.resource_server, n)}`;
  // Without the wallet's list, a pension it does not name may well still be there.
  return n.known ? 'a pension no longer in your wallet' : 'a pension';
}

const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown) => (typeof v === 'string' && v ? v : null);

/** "Acme Staff DB (details and values) and Northwind (values)", from `[{resource_id, resource_scopes}]`. */
function permissionWords(v: unknown, n: Names): string | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const parts = v.map((p) => {
    const o = obj(p);
    const scopes = Array.isArray(o.resource_scopes) ? o.resource_scopes.map(String) : [];
    const name = pensionWords(String(o.resource_id ?? ''), n);
    return scopes.length ? `${name} (${andList(scopes.map(clusterShort))})` : name;
  });
  return andList(parts);
}

const andList = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

const ITEM_WORDS: Record<string, string> = {
  name: 'name', date_of_birth: 'date of birth', nino: 'National Insurance number', address: 'postcode', email: 'email', mobile: 'mobile',
  given_name: 'given name', family_name: 'family name', birthdate: 'date of birth', postal_code: 'postcode',
  national_insurance_number: 'National Insurance number',
};
const items = (list: unknown) => (Array.isArray(list) ? list.map((i) => ITEM_WORDS[String(i)] ?? String(i)).join(', ') : '');

/** The extra line a sentence may need: what a search told the providers. */
export function moreWords(e: ActivityEntry): string | null {
  if (e.action !== 'identity.disclosed') return null;
  const d = obj(e.detail);
  const parts: string[] = [];
  const stated = items(d.items);
  if (stated) parts.push(`As you typed them: ${stated}.`);
  const attested = obj(d.attested);
  if (attested.claims) parts.push(`From your proof of identity: ${items(attested.claims)}.`);
  return parts.length ? parts.join(' ') : null;
}

/** Context a sentence may need beyond its own entry. */
export interface Context {
  names: Names;
  /** Which app made each request, from the requests in the same page of the log. */
  requestApps: Map<string, string>;
}

/** Which app made each request, as the log's request entries say. */
export function requestAppsOf(entries: ActivityEntry[], n: Names): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of entries) {
    const id = str(obj(e.detail).request_id);
    if (id && e.action === 'token.request_submitted' && e.actor.startsWith('client:')) out.set(id, whoWords(e, n));
  }
  return out;
}

/** One plain sentence for an entry of the log. */
export function sentence(e: ActivityEntry, ctx: Context): string {
  const n = ctx.names;
  const d = obj(e.detail);
  const who = whoWords(e, n);
  const pension = str(d.resource_id) ?? str(d.pei);
  const onPension = pension ? pensionWords(pension, n) : null;
  const what = permissionWords(d.permissions, n) ?? onPension;
  const to = (prefix: string) => (what ? `${prefix}${what}` : '');
  switch (e.action) {
    case 'token.request_submitted': return `${who} asked to see ${what ?? 'your pensions'}.`;
    case 'token.rpt_issued': return `${who} was given access${to(' to ')}.`;
    case 'token.request_denied': return `${who} was refused access${to(' to ')}.`;
    case 'token.need_info': return `${who} was asked to say who is using it.`;
    case 'claims.gathered': return `${who} said who is using it.`;
    case 'token.too_many_requests': return `${who} asked too often and was made to wait.`;
    case 'token.invalid_scope': return `${who} asked for something your pensions do not offer, and was refused.`;
    case 'token.resources_gone': return `${who} asked for a pension that is no longer in your wallet.`;
    case 'token.unknown_ticket': case 'token.foreign_ticket': case 'token.unexpected_ticket': case 'token.used_ticket': case 'token.expired_ticket':
      return `${who} tried to get access with an out-of-date or wrong request, and was refused.`;
    case 'token.ticket_replayed': return `${who} made the same access attempt twice; the second was refused.`;
    case 'client.registered': {
      const named = str(d.client_name);
      return `A new app${named ? ` calling itself “${named}”` : ''} introduced itself to your wallet.`;
    }
    case 'client.registration_refused': return 'An app tried to introduce itself to your wallet and was turned away.';
    case 'client.authentication_failed': return `${who === 'Someone unknown' ? 'An app' : who} failed to prove which app it is.`;
    case 'revocation.revoked': return `${who} gave up its access.`;
    case 'revocation.refused': return `${who} tried to give up its access, but could not.`;
    case 'resource.registered': return `${who} put ${onPension ?? 'a pension'} under your wallet’s protection.`;
    case 'resource.updated': return `${who} updated the details of ${onPension ?? 'a pension'}.`;
    case 'resource.deleted': return `${who} took ${onPension ?? 'a pension'} out of your wallet.`;
    case 'resource_server.approve': return 'You let a pension provider use your wallet.';
    case 'resource_server.refuse': return 'You refused a pension provider.';
    case 'pat.issued': return `${who} connected to your wallet.`;
    case 'pat.refused': return `${who} tried to connect and was turned away.`;
    case 'pat.awaiting_owner': return `${who} asked to use your wallet and waited for your answer.`;
    case 'pat.too_many_waiting': return 'Too many providers were waiting for your answer; one more was turned away.';
    case 'pat.assertion_rejected': return `${who} brought a permission code that was not accepted.`;
    case 'pat.assertion_replayed': return 'A permission code was used a second time, and refused.';
    case 'permission.rate_limited': return `${who} asked too often and was made to wait.`;
    case 'assertion.minted': return 'You gave a provider a permission code to move a pension.';
    case 'pending.approve': {
      const decision = obj(d.decision);
      const app = ctx.requestApps.get(str(d.request_id) ?? '') ?? 'an app';
      const shared = permissionWords(decision.scopes, n);
      const until = typeof decision.expires_at === 'number' ? `, until ${dayWords(decision.expires_at)}` : ', with no end date';
      return `You said yes: ${app} may see ${shared ?? 'what it asked for'}${until}.`;
    }
    case 'pending.deny': {
      const app = ctx.requestApps.get(str(d.request_id) ?? '') ?? 'an app';
      return `You said no to ${app}.`;
    }
    case 'grant.revoke': return `You stopped access to ${onPension ?? 'a pension'}.`;
    case 'grant.revoked_by_policy': return 'One of your rules ended some access.';
    case 'policy.add': {
      const target = obj(d.target);
      const on = target.kind === 'resource' && str(target.id) ? pensionWords(str(target.id)!, n)
        : target.kind === 'resource_server' && str(target.id) ? `every pension from ${providerWords(str(target.id)!, n)}` : null;
      return `You added a rule${on ? ` for ${on}` : ''}.`;
    }
    case 'policy.remove': return 'You removed a rule.';
    case 'identity.disclosed': {
      const list = Array.isArray(d.to) ? d.to.map((a) => providerWords(String(a), n)) : [];
      return `Your details were sent to ${list.length ? andList(list) : 'your providers'} to look for your pensions.`;
    }
    case 'identity.credential.receive': return 'You proved who you are.';
    case 'identity.credential.delete': return 'You deleted your proof of identity.';
    case 'identity.credential.refused': return 'Your proof of identity was not accepted.';
    case 'identity.update': return 'You changed your details.';
    case 'trusted_issuer.add': return 'You chose to trust a sign-in service to check who people are.';
    case 'trusted_issuer.remove': return 'You stopped trusting a sign-in service.';
    case 'credential.delete': return `You deleted the proof that ${onPension ?? 'a pension'} is protected.`;
    case 'provider.add': return 'You added a pension provider.';
    case 'provider.remove': return 'You removed a pension provider.';
    case 'provider.import': return 'Pension providers were taken from the official list.';
    case 'registry.import': return 'The official list of providers and apps was brought up to date.';
    case 'registry.key': return 'You set the key that checks the official list.';
    case 'pension.accept': return `You protected ${onPension ?? 'a pension'} with your wallet.`;
    case 'pension.move': return `You moved ${onPension ?? 'a pension'} to another wallet.`;
    case 'wallet.backup': return 'A backup of your wallet was made.';
    case 'wallet.passphrase_changed': return 'You changed your passphrase.';
    default: return `${who}: ${actionLabel(e.action).toLowerCase()}${onPension ? ` (${onPension})` : ''}.`;
  }
}

/** '29 Dec 2026'. */
function dayWords(unix: number): string {
  return new Date(unix * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

/** The codes behind a sentence, for "Show technical details": every field, ids shortened. */
export function technicalWords(e: ActivityEntry): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(obj(e.detail))) {
    if (v === null || v === undefined) continue;
    parts.push(`${k}: ${typeof v === 'string' ? (/^[0-9a-f]{24,}$/.test(v) ? `${v.slice(0, 8)}…` : v) : JSON.stringify(v)}`);
  }
  return parts.join(' · ');
}
