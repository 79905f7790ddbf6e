// Every call to the Rust side goes through this module; components never call
// `invoke` directly. Argument keys match the Tauri command contract exactly.
import { Channel, invoke } from '@tauri-apps/api/core';

// ---------- errors ----------

export interface ApiError {
  kind: string;
  message: string;
}

/** Normalise whatever a rejected invoke gave us into `{kind, message}`. */
export function toApiError(e: unknown): ApiError {
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const message = typeof o.message === 'string' ? o.message : JSON.stringify(e);
    const kind = typeof o.kind === 'string' ? o.kind : 'unknown';
    return { kind, message };
  }
  if (typeof e === 'string') return { kind: 'unknown', message: e };
  return { kind: 'unknown', message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

// ---------- session ----------

export interface Settings {
  listen: string;
  public_issuer: string | null;
}

export interface ServerInfo {
  issuer: string;
  owner_api: string;
  listen: string;
  pid: number;
}

export interface AppState {
  wallet_exists: boolean;
  unlocked: boolean;
  data_dir: string;
  settings: Settings;
  server: ServerInfo | null;
}

export type VerifiedField = 'name' | 'date_of_birth' | 'nino' | 'address' | 'email' | 'mobile';

export interface Identity {
  given_name: string;
  family_name: string;
  date_of_birth: string;
  nino?: string | null;
  postcode?: string | null;
  address_lines: string[];
  email?: string | null;
  mobile?: string | null;
  verified: VerifiedField[];
}

export interface Permission {
  resource_id: string;
  resource_scopes: string[];
}

/** Claims about the requesting party. The wallet serialises
 * `{verified?: ClaimSet, self_asserted?: ClaimSet}`; flat claims are tolerated too. */
export type Party = Record<string, unknown>;

export interface PendingRequest {
  id: string;
  client_id: string;
  client_name: string;
  created_at: number;
  party: Party;
  party_key: string;
  permissions: Permission[];
  status: string;
  decided_at?: number;
  expires_at?: number | null;
  scopes?: Permission[];
  /** What the official list (governance registry) says of the app asking. */
  registry?: { listed: true; name: string; status?: string | null } | { listed: false; claims_to_be?: string };
}

export type OwnerEvent =
  | { type: 'request_submitted'; request: PendingRequest }
  | { type: 'resource_server_waiting'; client_id: string; client_name: string };

export const appState = () => call<AppState>('app_state');
export const createWallet = (passphrase: string, identity: Identity | null) =>
  call<AppState>('create_wallet', { passphrase, identity });
export const unlockWallet = (passphrase: string) => call<AppState>('unlock_wallet', { passphrase });
export const saveSettings = (settings: Settings) => call<AppState>('save_settings', { settings });
export function watchRequests(onEvent: (e: OwnerEvent) => void): Promise<null> {
  const channel = new Channel<OwnerEvent>();
  channel.onmessage = onEvent;
  return call<null>('watch_requests', { onEvent: channel });
}
export const exportBackup = () => call<{ path: string }>('export_backup');

// ---------- owner service ----------

export interface Provider {
  url: string;
  name: string | null;
  added_at: number;
}

export interface FindResult {
  url: string;
  name: string | null;
  outcome: 'matched' | 'possible' | 'none' | 'unreachable' | 'not_accepted' | 'error' | string;
  items?: { pei: string; description: string; match_status: string }[];
  error?: string;
}

export interface Offer {
  provider: string;
  provider_name: string | null;
  resource_id: string;
  pei: string;
  scheme: string;
  match_status: string;
  authorization_server: string | null;
}

export interface OffersAnswer {
  offers: Offer[];
  providers: { url: string; outcome: string; resources?: number; error?: string }[];
}

export interface AcceptAnswer {
  pei: string;
  credential?: { id: string; status: string; [k: string]: unknown };
  credential_error?: string;
  [k: string]: unknown;
}

export interface Employment {
  employerName?: string;
  employerStatus?: string;
  membershipStartDate?: string;
  membershipEndDate?: string | null;
}

export interface IllustrationComponent {
  benefitType?: string;
  calculationMethod?: string;
  dcPot?: number | null;
  illustrationType: 'ERI' | 'AP' | string;
  payableDetails: {
    amountType?: string;
    annualAmount: number;
    monthlyAmount?: number;
    payableDate: string;
  };
}

export interface Illustration {
  illustrationDate?: string;
  illustrationComponents: IllustrationComponent[];
}

export interface PensionOk {
  resource_id: string;
  provider: string;
  pei: string;
  /** How well the provider matched the owner's details (null when it did not say). */
  match_status?: string | null;
  scheme: string;
  pension_type: string;
  estimated_annual_income: number | null;
  retirement_date: string | null;
  employment: Employment[];
  illustrations: Illustration[];
}

export interface PensionErr {
  resource_id: string;
  provider: string;
  pei: string;
  error: string;
  scheme?: string;
}

export type Pension = PensionOk | PensionErr;

export function isPensionError(p: Pension): p is PensionErr {
  return typeof (p as PensionErr).error === 'string';
}

export interface MyPensions {
  pensions: Pension[];
  totals: { estimated_annual_income: number; dc_pots: number };
}

export interface Resource {
  id: string;
  name: string;
  description: string;
  resource_scopes: string[];
  resource_server: string;
  type: string;
  created_at: number;
}

export interface Client {
  client_id: string;
  client_name: string;
  protection: string;
  scope: string;
  created_at: number;
}

export interface Approval {
  permissions?: Permission[];
  expires_at?: number;
}

export type Outcome = 'permit' | 'ask' | 'deny';

export interface PolicyParty {
  client_id?: string;
  email?: string;
  issuer?: string;
  subject?: string;
  /** A proven credential of this kind, e.g. `AdviserCredential`. */
  credential_type?: string;
  verified_only: boolean;
}

export interface Policy {
  id: string;
  created_at: number;
  description: string;
  outcome: Outcome;
  party: PolicyParty;
  scopes: string[];
  target: { kind: 'resource' | 'resource_server'; id: string };
  valid_from?: number | null;
  valid_until?: number | null;
}

export interface NewPolicy {
  target: { kind: 'resource' | 'resource_server'; id: string };
  scopes: string[];
  outcome: Outcome;
  party: PolicyParty;
  description?: string;
  /** Seconds the access a permit gives lasts. */
  grant_lifetime?: number;
}

export interface Grant {
  id: string;
  active: boolean;
  client_id: string;
  created_at: number;
  expires_at: number | null;
  party: Party;
  party_key: string;
  resource_id: string;
  revoked_at: number | null;
  scopes: string[];
  source: { kind: 'approval'; request_id: string } | { kind: 'policy'; policy_id: string };
}

export interface Credential {
  id: string;
  pei: string;
  scheme: string;
  issuer: string;
  authorization_server: string;
  status: 'active' | 'superseded' | string;
  received_at: number;
}

export interface AuditEntry {
  seq: number;
  at: number;
  action: string;
  actor: string;
  detail: Record<string, unknown>;
  hash: string;
  prev_hash: string;
}

export type AuditVerify =
  | { intact: true; entries: number }
  | { intact: false; broken_at: number; reason: string };

export const getIdentity = () => call<Identity | null>('get_identity');
export const setIdentity = (identity: Identity) => call<Identity>('set_identity', { identity });
export const listProviders = () => call<Provider[]>('list_providers');
export const addProvider = (url: string, name: string | null) => call<Provider>('add_provider', { url, name });
export const removeProvider = (url: string) => call<null>('remove_provider', { url });
/** One participant of the governance registry. */
export interface RegistryEntry {
  role: 'identity_issuer' | 'pension_provider' | 'authorization_server' | 'client' | 'regulator';
  id: string;
  name: string;
  status?: string | null;
  did?: string | null;
}

export interface GovernanceSummary {
  trusted_key: string | null;
  registry: { name: string; version: number; issued_at: number; expires_at: number; entries: RegistryEntry[] } | null;
  /** A registry is held but no longer verifies (it expired). */
  expired: boolean;
}

/** `registry`: the signed registry file's text. */
export const importRegistry = (registry: string) =>
  call<{ providers: Provider[]; governance: GovernanceSummary }>('import_registry', { registry });
export const registrySummary = () => call<GovernanceSummary>('registry_summary');
export const setRegistryKey = (key: string) => call<GovernanceSummary>('set_registry_key', { key });
export const findPensions = () => call<FindResult[]>('find_pensions');
export const listOffers = () => call<OffersAnswer>('list_offers');
/** `confirmationCode`: the code a provider sent the owner when another
 * wallet protects the pension (the first try fails with the kind
 * `confirmation_required`). */
export const acceptOffer = (provider: string, resourceId: string, confirmationCode: string | null = null) =>
  call<AcceptAnswer>('accept_offer', { provider, resourceId, confirmationCode });

/** What the owner's identity credential attests. */
export interface IdentitySummary {
  issuer: string;
  issuer_name: string | null;
  received_at: number;
  expires_at: number;
  given_name: string | null;
  family_name: string | null;
  birthdate: string | null;
  postal_code: string | null;
  national_insurance_number: string | null;
}

export type SignInStatus =
  | { state: 'none' }
  | { state: 'waiting'; issuer: string; authorize_url: string }
  | { state: 'failed'; issuer: string; error: string }
  | { state: 'finished'; issuer: string };

export interface IdentityCredentialStatus {
  credential: IdentitySummary | null;
  sign_in: SignInStatus;
}

export const startIdentitySignIn = (issuer: string) =>
  call<{ authorize_url: string; opened: boolean }>('start_identity_sign_in', { issuer });
export const identityCredential = () => call<IdentityCredentialStatus>('identity_credential');
export const forgetIdentityCredential = () => call<null>('forget_identity_credential');
export const myPensions = () => call<MyPensions>('my_pensions');
export const listResources = () => call<Resource[]>('list_resources');
export const listClients = () => call<Client[]>('list_clients');
export const listRequests = (all: boolean) => call<PendingRequest[]>('list_requests', { all });
export const approveRequest = (id: string, approval: Approval) =>
  call<PendingRequest>('approve_request', { id, approval });
export const denyRequest = (id: string) => call<PendingRequest>('deny_request', { id });
export const listPolicies = () => call<Policy[]>('list_policies');
export const addPolicy = (policy: NewPolicy) => call<Policy>('add_policy', { policy });
export const removePolicy = (id: string) => call<Policy>('remove_policy', { id });
export const listGrants = () => call<Grant[]>('list_grants');

/** A consent receipt: one approval the owner gave, with the credential the
 * wallet issued for it. */
export interface Receipt {
  grant_id: string;
  client_id: string;
  client_name: string | null;
  pension: string | null;
  provider: string | null;
  scopes: string[];
  granted_at: number;
  until: number | null;
  revoked_at: number | null;
  active: boolean;
  how_to_withdraw: string;
  credential: string;
}
export const listReceipts = () => call<Receipt[]>('list_receipts');
export const revokeGrant = (id: string) => call<Grant>('revoke_grant', { id });
export const listCredentials = () => call<Credential[]>('list_credentials');
export const showCredential = (id: string) => call<Record<string, unknown>>('show_credential', { id });
export const verifyCredential = (id: string) =>
  call<{ id: string; verified: boolean; error?: string }>('verify_credential', { id });
export const listAudit = (limit: number) => call<AuditEntry[]>('list_audit', { limit });
export const verifyAudit = () => call<AuditVerify>('verify_audit');
