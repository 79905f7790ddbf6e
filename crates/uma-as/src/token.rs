//! The UMA grant at the token endpoint (Grant §3.3):
//! `grant_type=urn:ietf:params:oauth:grant-type:uma-ticket`.
//!
//! The ticket is consumed first, whatever happens next (§5.4: single use).
//! Every answer that lets the client continue (`need_info`,
//! `request_submitted`) carries a new ticket, bound to that client. A ticket
//! shown twice revokes the RPT issued from it.

use crate::assessment::{self, Outcome, Verdict};
use crate::claims::ClaimTokenError;
use crate::error::{ProtocolError, ProtocolResult};
use crate::grant::grant_id;
use crate::id::{ClientId, PolicyId, RequestId, ResourceId};
use crate::keys::{new_jti, TokenType};
use crate::model::*;
use crate::policy::{self, ID_TOKEN_FORMAT};
use crate::secret::{role, Secret, SecretHash};
use crate::rpt;
use crate::ticket::{self, Refusal, Showing};
use crate::server::{AuthorizationServer, Cache, OwnerEvent};
use serde::Serialize;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::collections::HashMap;

/// The parameters of an uma-ticket token request (Grant §3.3.1).
#[derive(Debug)]
pub struct UmaGrantRequest {
    /// REQUIRED. The most recent permission ticket.
    pub ticket: Secret<role::Ticket>,
    /// OPTIONAL, with `claim_token_format`.
    pub claim_token: Option<Secret<role::ClaimToken>>,
    pub claim_token_format: Option<String>,
    /// OPTIONAL. A persisted claims token from an earlier grant.
    pub pct: Option<Secret<role::Pct>>,
    /// OPTIONAL. An RPT to upgrade.
    pub rpt: Option<Secret<role::Rpt>>,
    /// OPTIONAL. Space-separated scopes, parsed.
    pub scope: Vec<String>,
}

/// The success body (Grant §3.3.5).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RptResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgraded: Option<bool>,
}

impl std::fmt::Debug for RptResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RptResponse")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("pct", &self.pct.as_ref().map(|_| "[redacted]"))
            .field("upgraded", &self.upgraded)
            .finish()
    }
}

/// The claims of a signed RPT, a JWT access token (RFC 9068, `typ`
/// `at+jwt`) with UMA's `permissions`. Resource servers that cannot reach the
/// AS may verify it against the JWKS; introspection remains the revocable check.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct RptClaims {
    pub iss: String,
    /// The resource owner: this wallet's DID (RFC 9068 §2.2).
    pub sub: String,
    pub aud: Vec<ClientId>,
    pub azp: ClientId,
    pub client_id: ClientId,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub permissions: Vec<RptPermission>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RptPermission {
    pub resource_id: ResourceId,
    pub resource_scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// How a grant request ends when it does not fail (Grant §3.3.5, §3.3.6).
#[derive(Debug)]
pub enum GrantOutcome {
    /// An RPT.
    Issued(RptResponse),
    /// The client may go on with more claims about the requesting party.
    NeedInfo(NeedInfo),
    /// The owner has been asked; the client polls with the new ticket.
    Submitted(Submitted),
}

/// `need_info`: what is missing, and the ticket to come back with.
#[derive(Debug)]
pub struct NeedInfo {
    pub ticket: Secret<role::Ticket>,
    pub required_claims: Vec<serde_json::Value>,
    /// The claims interaction endpoint, where the requesting party can give
    /// claims in person.
    pub redirect_user: String,
    /// Why, for people: the claim token's flaw, or the policy's need.
    pub reason: String,
}

/// `request_submitted`: the ticket to poll with, and how often.
#[derive(Debug)]
pub struct Submitted {
    pub ticket: Secret<role::Ticket>,
    /// Seconds the client waits between polls.
    pub interval: u64,
}

pub use crate::ticket::ExpectedTicket;

impl AuthorizationServer {
    pub async fn uma_grant(&self, client: &Client, request: UmaGrantRequest) -> ProtocolResult<GrantOutcome> {
        self.uma_grant_expecting(client, request, None).await
    }

    /// The grant for a caller that knows which ticket it should have been
    /// given: a ticket for anything else is refused before it is used.
    pub async fn uma_grant_expecting(
        &self,
        client: &Client,
        request: UmaGrantRequest,
        expected: Option<ExpectedTicket<'_>>,
    ) -> ProtocolResult<GrantOutcome> {
        let actor = format!("client:{}", client.client_id);
        // Before the ticket is looked at, so that it is not used up.
        if self.hot().spent_count() >= self.config().max_spent_tickets {
            self.audit_noisy(&actor, "token.spent_tickets_full", json!({}));
            return Err(ProtocolError::temporarily_unavailable("too many token requests; try again later", 60));
        }
        let hash = request.ticket.hash();
        let slot = match self.ticket_slot(&request.ticket) {
            Ok(slot) => slot,
            Err(why) => {
                self.audit_noisy(&actor, why.action(), json!({}));
                return Err(ProtocolError::invalid_grant(why.description()));
            }
        };
        let shown_for = match &slot {
            Some(TicketSlot::Live(t)) => Some(t.resource_server.clone()),
            _ => None,
        };
        let ticket = match ticket::show(slot, &client.client_id, expected) {
            Showing::Usable(ticket) => ticket,
            Showing::Replayed { revoke } => {
                let revoked = revoke.iter().filter(|rpt| self.revoke_rpt_record(rpt)).count();
                // Revoked before the client hears of it, crash or not.
                self.hot().commit().await?;
                self.audit_noisy(&actor, "token.ticket_replayed", json!({ "rpts_revoked": revoked }));
                return Err(ProtocolError::invalid_grant("the ticket was already used; tokens issued from it are revoked"));
            }
            Showing::Refused(why) => {
                let detail = if why == Refusal::Unexpected { json!({ "resource_server": shown_for }) } else { json!({}) };
                self.audit_noisy(&actor, why.action(), detail);
                return Err(ProtocolError::invalid_grant(why.description()));
            }
        };
        let claim = TicketClaim { hash, ticket: ticket.clone(), client_id: client.client_id.clone(), spent: AtomicBool::new(false) };
        let result = self.assess_ticket(client, &actor, ticket, request, &claim).await;
        // Whatever the answer, the ticket has been shown and is used up
        // (Grant §5.4). The grant path spends it itself, naming its RPT.
        if !claim.spent.load(Ordering::Relaxed) {
            claim.spend(self, vec![]).await?;
        }
        result
    }

    async fn assess_ticket(
        &self,
        client: &Client,
        actor: &str,
        ticket: TicketRecord,
        request: UmaGrantRequest,
        claim: &TicketClaim,
    ) -> ProtocolResult<GrantOutcome> {
        let now = self.now();
        if ticket::expired(&ticket, now) {
            self.audit_noisy(actor, Refusal::Expired.action(), json!({}));
            return Err(ProtocolError::invalid_grant(Refusal::Expired.description()));
        }
        let mut party = ticket.party.clone();
        let mut fresh_claims = !party.is_anonymous();
        if let Some(pct) = &request.pct {
            let stored = self.redeem_pct(pct.expose(), &client.client_id)?;
            let mut merged = stored;
            merged.merge(party);
            party = merged;
        }
        if party.chain.is_none() {
            party.chain = Some(crate::secret::random_id());
        }
        if let Some(token) = &request.claim_token {
            let format = request.claim_token_format.as_deref().unwrap_or_default();
            let verified = if format == ID_TOKEN_FORMAT {
                self.verify_id_token(token.expose(), &client.client_id, party.chain.as_deref().unwrap_or_default()).await
            } else if format == crate::claims::PRESENTATION_FORMAT {
                self.verify_presentation(token.expose(), request.ticket.expose()).await
            } else {
                Err(ClaimTokenError::UnsupportedFormat(format.into()))
            };
            match verified {
                Ok(claims) => {
                    party.verified = Some(claims);
                    fresh_claims = true;
                }
                Err(e) => {
                    self.audit_noisy(actor, "token.need_info", json!({ "reason": e.to_string() }));
                    let required = vec![json!({ "claim_token_format": [ID_TOKEN_FORMAT, crate::claims::PRESENTATION_FORMAT], "name": "sub" })];
                    return self.need_info(client, &ticket, party, required, e.to_string());
                }
            }
        }

        // The request this chain polls for, if it was filed for this same
        // party: claims gathered since make a different requester.
        let decided = match &ticket.pending_request {
            Some(id) => self.trees().pending.get(id)?.filter(|r| r.party_key == party.holder_key()),
            None => None,
        };
        // One snapshot of the owner's state (resources, policies, grants)
        // for the whole assessment, so every verdict sees the same moment.
        let assessed = {
            let cache = self.cache().read();
            let live: Vec<Permission> = ticket.permissions.iter().filter(|p| cache.resources.contains_key(&p.resource_id)).cloned().collect();
            (!live.is_empty()).then(|| {
                assessment::requested_scopes(&live, |id| cache.resources.get(id), &client.scope, &request.scope).map(|requested| {
                    let (verdicts, lifetimes) = self.verdicts(&cache, client, &party, &requested, decided.as_ref(), now);
                    (requested, verdicts, lifetimes)
                })
            })
        };
        let Some(assessed) = assessed else {
            self.audit_noisy(actor, "token.resources_gone", json!({}));
            return Err(ProtocolError::invalid_grant("the ticket's resources are no longer registered"));
        };
        let (requested, verdicts, lifetimes) = assessed.map_err(|e| {
            self.audit_noisy(actor, "token.invalid_scope", json!({ "reason": e.0 }));
            ProtocolError::invalid_scope(e.0)
        })?;
        match assessment::determine(verdicts) {
            Outcome::NeedInfo(required) => {
                self.audit_noisy(actor, "token.need_info", json!({ "required_claims": required.len() }));
                self.need_info(client, &ticket, party, required, "the resource owner's policy needs claims about you".into())
            }
            Outcome::Submit(asked) => self.submit(client, actor, &ticket, party, asked, decided),
            Outcome::Denied => {
                self.audit_noisy(actor, "token.request_denied", json!({ "party": party.key(), "permissions": requested }));
                Err(ProtocolError::request_denied("the resource owner did not authorize this request"))
            }
            Outcome::Grant(permitted) => {
                // An approval for a party nobody vouches for is held by its
                // request chain: the PCT is how the client carries that
                // chain into its next request for the same party.
                let chain_bound = !party.is_verified() && permitted.iter().any(|p| matches!(p.source, GrantSource::Approval { .. }));
                let pct = match (&request.pct, fresh_claims || chain_bound) {
                    (Some(pct), _) => Some(pct.expose().to_string()),
                    (None, true) => Some(self.issue_pct(&client.client_id, &party)?.expose().to_string()),
                    (None, false) => None,
                };
                let permitted = Permitted { scopes: permitted, lifetimes };
                self.issue_rpt(client, actor, &ticket, &party, permitted, request.rpt.as_ref(), pct, claim).await.map(GrantOutcome::Issued)
            }
        }
    }

    /// Grants and policies, scope by scope, from the request's snapshot
    /// `cache`: with them, the lifetime each permitting policy gives its
    /// grants. `requested` names only resources the snapshot holds.
    fn verdicts(
        &self,
        cache: &Cache,
        client: &Client,
        party: &RequestingParty,
        requested: &[Permission],
        decided: Option<&PendingRequest>,
        now: i64,
    ) -> (Vec<(ResourceId, String, Verdict)>, HashMap<PolicyId, Option<i64>>) {
        // Asked at most once, and only when a rule depends on it.
        let listed_once = std::cell::OnceCell::new();
        let listed = || *listed_once.get_or_init(|| self.app_listed(client));
        let mut verdicts = Vec::new();
        let mut lifetimes = HashMap::new();
        for permission in requested {
            let resource = &cache.resources[&permission.resource_id];
            let held = cache.held_grants(&client.client_id, party, &resource.id, now);
            // A permission without scopes is checked as one scope-less request.
            let scopes: Vec<&str> = if permission.resource_scopes.is_empty() {
                vec![""]
            } else {
                permission.resource_scopes.iter().map(String::as_str).collect()
            };
            for scope in scopes {
                let decision = policy::evaluate(cache.policies_for(resource), resource, scope, &client.client_id, party, &listed, now);
                let granted = held.iter().copied().find(|g| scope.is_empty() || g.scopes.iter().any(|s| s == scope));
                let verdict = assessment::verdict(decision, granted, assessment::owner_refused(decided, &resource.id, scope));
                if let Verdict::Permit(GrantSource::Policy { policy_id }) = &verdict {
                    // A policy may give its access for a set time from now.
                    // It is among those for this resource: looked for
                    // there, not across every policy the owner has.
                    if !lifetimes.contains_key(policy_id) {
                        let lifetime = cache.policies_for(resource).find(|p| &p.id == policy_id).and_then(|p| p.grant_lifetime);
                        lifetimes.insert(policy_id.clone(), lifetime);
                    }
                }
                verdicts.push((resource.id.clone(), scope.to_string(), verdict));
            }
        }
        (verdicts, lifetimes)
    }

    /// A next ticket in the chain: same permissions, bound to the client.
    fn next_ticket(&self, client: &Client, ticket: &TicketRecord, party: RequestingParty, pending: Option<RequestId>) -> ProtocolResult<Secret<role::Ticket>> {
        let ttl = if pending.is_some() { self.config().polling_ticket_ttl } else { self.config().ticket_ttl };
        Ok(self.seal_ticket(&ticket::next(ticket, &client.client_id, party, pending, self.now(), ttl)))
    }

    fn need_info(
        &self,
        client: &Client,
        ticket: &TicketRecord,
        party: RequestingParty,
        required_claims: Vec<serde_json::Value>,
        reason: String,
    ) -> ProtocolResult<GrantOutcome> {
        let ticket = self.next_ticket(client, ticket, party, None)?;
        Ok(GrantOutcome::NeedInfo(NeedInfo { ticket, required_claims, redirect_user: self.config().endpoint("/claims"), reason }))
    }

    /// `request_submitted`: files (or finds) the pending request and hands
    /// the client a long-lived polling ticket.
    fn submit(
        &self,
        client: &Client,
        actor: &str,
        ticket: &TicketRecord,
        party: RequestingParty,
        asked: Vec<Permission>,
        decided: Option<PendingRequest>,
    ) -> ProtocolResult<GrantOutcome> {
        let holder = party.holder_key();
        let now = self.now();
        let polling_until = now + self.config().polling_ticket_ttl;
        let existing = match decided {
            Some(r) if r.status == RequestStatus::Pending => Some(r),
            _ => self.cache().read().open_requests(now).find(|r| r.client_id == client.client_id && r.party_key == holder && r.permissions == asked).cloned(),
        };
        let request = match existing {
            Some(r) => {
                // The client is still asking: the request lives as long as
                // the polling ticket it gets now.
                self.keep_request_open(&r.id, polling_until)?;
                r
            }
            None => {
                // Anyone can register a client and ask: what waits for the
                // owner is capped per client and in all.
                let (of_client, all) = {
                    let cache = self.cache().read();
                    let open: Vec<&PendingRequest> = cache.open_requests(now).collect();
                    (open.iter().filter(|r| r.client_id == client.client_id).count(), open.len())
                };
                if of_client >= self.config().max_pending_per_client || all >= self.config().max_pending {
                    self.audit_noisy(actor, "token.too_many_requests", json!({ "waiting_from_client": of_client, "waiting": all }));
                    return Err(ProtocolError::temporarily_unavailable(
                        "too many requests are waiting for the resource owner; try again later",
                        self.config().poll_interval.max(60),
                    ));
                }
                let request = PendingRequest {
                    id: RequestId::generate(),
                    client_id: client.client_id.clone(),
                    client_name: client.display_name().into(),
                    party: party.clone(),
                    party_key: holder,
                    permissions: asked,
                    created_at: now,
                    open_until: Some(polling_until),
                    status: RequestStatus::Pending,
                };
                self.store_request(&request)?;
                self.audit(actor, "token.request_submitted", json!({ "request_id": request.id, "permissions": request.permissions }));
                self.notify(OwnerEvent::RequestSubmitted { request: request.clone() });
                request
            }
        };
        let ticket = self.next_ticket(client, ticket, party, Some(request.id))?;
        Ok(GrantOutcome::Submitted(Submitted { ticket, interval: self.config().poll_interval }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn issue_rpt(
        &self,
        client: &Client,
        actor: &str,
        ticket: &TicketRecord,
        party: &RequestingParty,
        permitted: Permitted,
        upgrade: Option<&Secret<role::Rpt>>,
        pct: Option<String>,
        claim: &TicketClaim,
    ) -> ProtocolResult<RptResponse> {
        let now = self.now();
        let mut granted: Vec<GrantedPermission> = Vec::new();
        for p in permitted.scopes {
            let (id, expires_at) = match &p.source {
                GrantSource::Policy { policy_id } => {
                    let scopes: Vec<String> = if p.scope.is_empty() { vec![] } else { vec![p.scope.clone()] };
                    let lifetime = permitted.lifetimes.get(policy_id).copied().flatten();
                    self.ensure_grant(&p.source, &client.client_id, party, &p.resource_id, &scopes, lifetime.map(|l| now + l))?
                }
                GrantSource::Approval { .. } => {
                    let id = grant_id(&p.source, &client.client_id, &party.holder_key(), &p.resource_id);
                    let expires_at = self.cache().read().grants.get(&id).and_then(|g| g.expires_at);
                    (id, expires_at)
                }
            };
            rpt::add_permission(&mut granted, &p.resource_id, &p.scope, &id, expires_at);
        }
        let mut upgraded = None;
        let mut retired = None;
        if let Some(old) = upgrade {
            let hash = old.hash();
            if let Some(record) = self.rpt_record(old.expose()) {
                let may_upgrade = {
                    let cache = self.cache().read();
                    let server_of = |resource: &ResourceId| cache.resources.get(resource).map(|r| r.resource_server.clone());
                    rpt::may_upgrade(&record, &client.client_id, &ticket.resource_server, cache.rpt_liveness(&record, now), server_of)
                };
                if may_upgrade {
                    rpt::carry_over(&mut granted, &record);
                    retired = Some(hash);
                    upgraded = Some(true);
                }
            }
            upgraded.get_or_insert(false);
        }
        let expires_at = now + self.config().rpt_ttl;
        // Every permission is at the ticket's resource server: the
        // permission endpoint issues tickets only for the caller's own
        // resources, and an upgrade carries over only RPTs valid there.
        let audiences = vec![ticket.resource_server.clone()];
        let claims = RptClaims {
            iss: self.config().issuer.clone(),
            sub: self.signing_key().did_key(),
            aud: audiences,
            azp: client.client_id.clone(),
            client_id: client.client_id.clone(),
            jti: new_jti(),
            iat: now,
            exp: expires_at,
            permissions: granted
                .iter()
                .map(|p| RptPermission {
                    resource_id: p.resource_id.clone(),
                    resource_scopes: p.resource_scopes.clone(),
                    exp: p.expires_at.filter(|e| *e < expires_at),
                })
                .collect(),
        };
        let token = self.signing_key().sign_typed(TokenType::Rpt, &claims);
        let hash = SecretHash::of(&token);
        let record = RptRecord {
            jti: claims.jti.clone(),
            client_id: client.client_id.clone(),
            permissions: granted,
            issued_at: now,
            expires_at,
            revoked_at: None,
        };
        // The record first, then the spend that names it: a replay that
        // lands in between finds the spent ticket and a record to revoke.
        self.hot().put_rpt(hash, &record);
        if let Err(e) = claim.spend(self, vec![hash]).await {
            // Lost to a concurrent use of the same ticket: this token is never handed out.
            self.revoke_rpt_record(&hash);
            return Err(e);
        }
        if let Some(old) = retired {
            self.revoke_rpt_record(&old);
        }
        self.audit(
            actor,
            "token.rpt_issued",
            json!({ "jti": record.jti, "party": party.key(), "permissions": claims.permissions, "upgraded": upgraded.unwrap_or(false) }),
        );
        Ok(RptResponse { access_token: token, token_type: "Bearer", expires_in: self.config().rpt_ttl, pct, upgraded })
    }

    /// How an RPT stands now, against the grants as they are.
    pub(crate) fn rpt_liveness(&self, record: &RptRecord, now: i64) -> rpt::Liveness {
        self.cache().read().rpt_liveness(record, now)
    }

    /// Revokes an RPT, unless it is unknown or already was. Durable at the
    /// next commit: a caller that answers for the revocation waits for it.
    pub(crate) fn revoke_rpt_record(&self, hash: &SecretHash) -> bool {
        self.hot().revoke_rpt(hash, self.now())
    }

    /// An issued RPT's record: the token's own claims, and what the hot
    /// store kept under the token's hash. `None` for a token this server
    /// did not issue, or whose record is gone.
    pub(crate) fn rpt_record(&self, token: &str) -> Option<RptRecord> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let state = self.hot().rpt(&SecretHash::of(token))?;
        let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
        rpt::rebuilt(serde_json::from_slice(&payload).ok()?, &state)
    }
}

/// What the assessment permitted, with the lifetime each permitting policy
/// gives its grants, read with the verdicts.
struct Permitted {
    scopes: Vec<assessment::PermittedScope>,
    lifetimes: HashMap<PolicyId, Option<i64>>,
}

/// A live ticket read at the start of a token request, to be spent once.
pub(crate) struct TicketClaim {
    hash: SecretHash,
    ticket: TicketRecord,
    client_id: ClientId,
    spent: AtomicBool,
}

impl TicketClaim {
    /// Marks the ticket spent by this client, naming the RPTs issued from
    /// it. Losing the race to a concurrent request with the same ticket is a
    /// replay: if the winner was this same client, what it got is revoked.
    async fn spend(&self, server: &AuthorizationServer, rpts: Vec<SecretHash>) -> ProtocolResult<()> {
        self.spent.store(true, Ordering::Relaxed);
        let spent = ticket::spent(&self.ticket, &self.client_id, rpts, server.now(), server.config().rpt_ttl);
        let Err(winner) = server.hot().spend(self.hash, spent) else { return Ok(()) };
        if winner.client_id.as_ref() == Some(&self.client_id) {
            for rpt in &winner.rpts {
                server.revoke_rpt_record(rpt);
            }
            server.hot().commit().await?;
        }
        Err(ProtocolError::invalid_grant("the ticket was already used"))
    }
}

