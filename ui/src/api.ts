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

// ---------- types ----------
// Generated from the Rust types (ui/src/contract: the owner contract;
// ui/src/app-contract: the app's own commands). Never written by hand here.

import type { AppState } from './app-contract/AppState';
import type { BackupFile } from './contract/BackupFile';
import type { BackupSchedule } from './app-contract/BackupSchedule';
import type { Settings } from './app-contract/Settings';
import type { SignInOpened } from './app-contract/SignInOpened';
import type { Written } from './app-contract/Written';
import type { Accepted } from './contract/Accepted';
import type { AddressReport } from './contract/AddressReport';
import type { AddressStatus } from './contract/AddressStatus';
import type { Approval } from './contract/Approval';
import type { ActivityEntry } from './contract/ActivityEntry';
import type { AuditEntry } from './contract/AuditEntry';
import type { AuditQuery } from './contract/AuditQuery';
import type { AuditVerification } from './contract/AuditVerification';
import type { ClientDecision } from './contract/ClientDecision';
import type { ClientView } from './contract/ClientView';
import type { CredentialCheck } from './contract/CredentialCheck';
import type { CredentialDetail } from './contract/CredentialDetail';
import type { CredentialSummary } from './contract/CredentialSummary';
import type { Did } from './contract/Did';
import type { GovernanceSummary } from './contract/GovernanceSummary';
import type { GrantView } from './contract/GrantView';
import type { Grant } from './contract/Grant';
import type { Identity } from './contract/Identity';
import type { IdentityCredentialStatus } from './contract/IdentityCredentialStatus';
import type { MyPensions } from './contract/MyPensions';
import type { NewPolicy } from './contract/NewPolicy';
import type { Offers } from './contract/Offers';
import type { OwnerEvent } from './contract/OwnerEvent';
import type { PendingRequest as DecidedRequest } from './contract/PendingRequest';
import type { PendingView } from './contract/PendingView';
import type { PensionPreview } from './contract/PensionPreview';
import type { Requester } from './contract/Requester';
import type { FetchRegistry } from './contract/FetchRegistry';
import type { Policy } from './contract/Policy';
import type { ProviderEntry } from './contract/ProviderEntry';
import type { ProviderOutcome } from './contract/ProviderOutcome';
import type { Receipt } from './contract/Receipt';
import type { RegistryImported } from './contract/RegistryImported';
import type { Resource } from './contract/Resource';
import type { TrustedIssuer } from './contract/TrustedIssuer';
import type { TrustIssuer } from './contract/TrustIssuer';
import type { PensionView } from './contract/PensionView';
import type { RegistryStanding } from './contract/RegistryStanding';
import type { OfferLink } from './contract/OfferLink';
import type { OpenedLink } from './app-contract/OpenedLink';

export type { AppState, BackupFile, BackupSchedule, Settings, SignInOpened, Written };
export type { Ready as ServerInfo } from './app-contract/Ready';
export type { ReaddressedPension } from './contract/ReaddressedPension';
export type {
  Accepted, AddressReport, AddressStatus, Approval, AuditEntry, AuditVerification, ClientDecision, ClientView, CredentialCheck, CredentialDetail,
  CredentialSummary, Did, GovernanceSummary, GrantView, Identity, IdentityCredentialStatus, MyPensions, NewPolicy,
  Offers, OwnerEvent, PendingView, Policy, ProviderEntry, ProviderOutcome, Receipt, RegistryImported, Resource,
  TrustedIssuer, TrustIssuer, PensionView,
};
export type { IdentityItem as VerifiedField } from './contract/IdentityItem';
export type { Permission } from './contract/Permission';
export type { RequestingParty as Party } from './contract/RequestingParty';
export type { ClaimSet } from './contract/ClaimSet';
export type { Offer } from './contract/Offer';
export type { OfferLink, OpenedLink };
export type { EmploymentPeriod as Employment } from './contract/EmploymentPeriod';
export type { IllustrationComponent } from './contract/IllustrationComponent';
export type { BenefitIllustration as Illustration } from './contract/BenefitIllustration';
export type { Outcome } from './contract/Outcome';
export type { PartyCondition as PolicyParty } from './contract/PartyCondition';
export type { Target } from './contract/Target';
export type { Entry as RegistryEntry } from './contract/Entry';
export type { IdentitySummary } from './contract/IdentitySummary';
export type { SignInStatus } from './contract/SignInStatus';
export type { RegistryStanding } from './contract/RegistryStanding';
export type { FindOutcome } from './contract/FindOutcome';
export type { Requester } from './contract/Requester';
export type { PersonStanding } from './contract/PersonStanding';
export type { PensionPreview } from './contract/PensionPreview';
export type { ScopePreview } from './contract/ScopePreview';
export type { SharedItem } from './contract/SharedItem';
export type { ActivityEntry } from './contract/ActivityEntry';
export type { Administrator } from './contract/Administrator';
export type { DataSource } from './contract/DataSource';

/** An access request: as the inbox lists it, with what the registry says of
 * the app asking; as an event brings it, without. */
export type PendingRequest = DecidedRequest & { registry?: RegistryStanding; requester?: Requester };
export type Provider = ProviderEntry;
export type FindResult = ProviderOutcome;
export type OffersAnswer = Offers;
export type AcceptAnswer = Accepted;
export type Client = ClientView;
/** A grant as revoking it answers. */
export type GrantRecord = Grant;
/** A grant as listed, with whether it is in force now. */
export type { GrantView as Grant };
export type Credential = CredentialSummary;
export type AuditVerify = AuditVerification;
export type Pension = PensionView;
/** A pension that could be read (its `error` is absent). */
export type PensionOk = PensionView;

export function isPensionError(p: Pension): p is PensionView & { error: string } {
  return typeof p.error === 'string';
}

// ---------- session ----------

export const appState = () => call<AppState>('app_state');
export const createWallet = (passphrase: string, identity: Identity | null) =>
  call<AppState>('create_wallet', { passphrase, identity });
/** With `acceptOlderCopy`, the owner chose to open a copy of her wallet older than when she last used it. */
export const unlockWallet = (passphrase: string, acceptOlderCopy = false) =>
  call<AppState>('unlock_wallet', acceptOlderCopy ? { passphrase, acceptOlderCopy } : { passphrase });
/** Locks the window; the wallet's server keeps answering requests. */
export const lockScreen = () => call<AppState>('lock_screen');
export const saveSettings = (settings: Settings) => call<AppState>('save_settings', { settings });
export function watchRequests(onEvent: (e: OwnerEvent) => void): Promise<null> {
  const channel = new Channel<OwnerEvent>();
  channel.onmessage = onEvent;
  return call<null>('watch_requests', { onEvent: channel });
}
/** Links the system opens the app with (a provider's offer, a request in
 * the inbox): any waiting one at once, the rest as they come. Call once
 * unlocked; locking ends it. */
export function watchLinks(onLink: (link: OpenedLink) => void): Promise<null> {
  const channel = new Channel<OpenedLink>();
  channel.onmessage = onLink;
  return call<null>('watch_links', { onLink: channel });
}
export const exportBackup = () => call<Written>('export_backup');
/** The backups in the app's backup folder, newest first. */
export const listBackups = () => call<BackupFile[]>('list_backups');
/** Recreates the wallet from a backup file (only when there is none yet),
 * with the passphrase it had when the backup was made, and opens it. */
export const restoreBackup = (path: string, passphrase: string) => call<AppState>('restore_backup', { path, passphrase });
/** With `newKey`, the key that locks every record is replaced too: the wallet closes and opens again. */
export const changePassphrase = (current: string, next: string, newKey = false) =>
  call<AppState>('change_passphrase', newKey ? { current, new: next, newKey } : { current, new: next });
/** Opens the wallet when the app starts, with the passphrase kept in the
 * computer's keyring (`passphrase` must open this wallet), or stops doing so. */
export const setUnlockAtLogin = (enabled: boolean, passphrase: string | null) =>
  call<AppState>('set_unlock_at_login', { enabled, passphrase });

// ---------- owner service ----------

export const getIdentity = () => call<Identity | null>('get_identity');
export const setIdentity = (identity: Identity) => call<Identity>('set_identity', { identity });
export const listProviders = () => call<ProviderEntry[]>('list_providers');
export const addProvider = (url: string, name: string | null) => call<ProviderEntry>('add_provider', { url, name });
export const removeProvider = (url: string) => call<null>('remove_provider', { url });
/** `registry`: the signed registry file's text. */
/** Fetches the register of pension providers from where it is published
 * (with nothing given: from where it was fetched before, else the app's
 * own) and adds the providers it lists. */
export const fetchRegistry = (fetch: FetchRegistry = {}) => call<RegistryImported>('fetch_registry', { fetch });
export const importRegistry = (registry: string) => call<RegistryImported>('import_registry', { registry });
export const registrySummary = () => call<GovernanceSummary>('registry_summary');
export const setRegistryKey = (key: string) => call<GovernanceSummary>('set_registry_key', { key });
export const findPensions = () => call<ProviderOutcome[]>('find_pensions');
/** Every provider's offers, or only `provider`'s (what an offer link names). */
export const listOffers = (provider: string | null = null) => call<Offers>('list_offers', { provider });
/** Which of the owner's providers an `openid-credential-offer://` link comes from. */
export const readOfferLink = (link: string) => call<OfferLink>('read_offer_link', { link });
/** `confirmationCode`: the code a provider sent the owner when another
 * wallet protects the pension (the first try fails with the kind
 * `confirmation_required`). */
export const acceptOffer = (provider: string, resourceId: string, confirmationCode: string | null = null) =>
  call<Accepted>('accept_offer', { provider, resourceId, confirmationCode });
/** Moves a pension to another wallet: `to` is its address, `assertion` the
 * permission code it gave for the provider. */
export const movePension = (provider: string, resourceId: string, to: string, assertion: string) =>
  call<Accepted>('move_pension', { provider, resourceId, to, assertion });
/** The wallet's web address, and the pensions whose provider still sends
 * people to an earlier one. */
export const addressStatus = () => call<AddressStatus>('address_status');
/** Tells those providers the wallet's address now. */
export const followAddress = () => call<AddressReport>('follow_address');
export const startIdentitySignIn = (issuer: string) => call<SignInOpened>('start_identity_sign_in', { issuer });
export const identityCredential = () => call<IdentityCredentialStatus>('identity_credential');
export const forgetIdentityCredential = () => call<null>('forget_identity_credential');
export const myPensions = () => call<MyPensions>('my_pensions');
export const listResources = () => call<Resource[]>('list_resources');
export const listClients = () => call<ClientView[]>('list_clients');
export const approveClient = (id: string) => call<ClientDecision>('approve_client', { id });
export const refuseClient = (id: string) => call<ClientDecision>('refuse_client', { id });
export const listRequests = (all: boolean) => call<PendingView[]>('list_requests', { all });
export const approveRequest = (id: string, approval: Approval) =>
  call<DecidedRequest>('approve_request', { id, approval });
export const denyRequest = (id: string) => call<DecidedRequest>('deny_request', { id });
/** What a request would release, with the owner's own values: read now
 * from each provider. */
export const requestPreview = (id: string) => call<PensionPreview[]>('request_preview', { id });
export const listPolicies = () => call<Policy[]>('list_policies');
export const addPolicy = (policy: NewPolicy) => call<Policy>('add_policy', { policy });
export const removePolicy = (id: string) => call<Policy>('remove_policy', { id });
export const listGrants = () => call<GrantView[]>('list_grants');
export const listReceipts = () => call<Receipt[]>('list_receipts');
export const revokeGrant = (id: string) => call<GrantRecord>('revoke_grant', { id });
export const listTrustedIssuers = () => call<TrustedIssuer[]>('list_trusted_issuers');
export const trustIssuer = (issuer: TrustIssuer) => call<TrustedIssuer>('trust_issuer', { issuer });
export const distrustIssuer = (issuer: string) => call<null>('distrust_issuer', { issuer });
export const listCredentials = () => call<CredentialSummary[]>('list_credentials');
export const showCredential = (id: string) => call<CredentialDetail>('show_credential', { id });
export const verifyCredential = (id: string) => call<CredentialCheck>('verify_credential', { id });
export const deleteCredential = (id: string) => call<null>('delete_credential', { id });
export const exportCredentials = () => call<Written>('export_credentials');
export const walletDid = () => call<Did>('wallet_did');
/** The newest `limit` activity entries, searched over the whole log by the
 * optional filters. */
export const listAudit = (limit: number, filter: Omit<AuditQuery, 'limit'> = {}) =>
  call<ActivityEntry[]>('list_audit', { query: { limit, ...filter } });
export const verifyAudit = () => call<AuditVerification>('verify_audit');
export const exportAudit = () => call<Written>('export_audit');
