//! Protection API access tokens (FedAuthz §1.3).
//!
//! A resource server gets a PAT in one of two ways:
//! - `client_credentials` with scope `uma_protection`, once the owner has
//!   approved that resource server (its first attempt puts it in the owner's
//!   list of waiting connections);
//! - `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1) with an
//!   assertion this wallet minted and signed for one named resource server:
//!   minting it is the owner's consent.

use crate::id::ClientId;
use crate::client_registration::PROTECTION_SCOPE;
use crate::error::{ProtocolError, ProtocolResult};
use crate::clock::UnixTime;
use crate::keys::{new_jti, TokenType};
use crate::model::{Client, GrantType, Pat, Protection};
use crate::secret::{role, Secret, SecretHash};
use crate::server::{AuthorizationServer, OwnerEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A token endpoint success body (RFC 6749 §5.1).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessTokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: &'static str,
}

impl std::fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenResponse").field("access_token", &"[redacted]").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// The claims of a jwt-bearer assertion (RFC 7523 §3).
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    /// The resource server the owner minted it for.
    pub sub: String,
    pub aud: serde_json::Value,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// Resource servers waiting for the owner's approval at any time.
const MAX_WAITING_RESOURCE_SERVERS: usize = 20;

/// A PAT that checked out: the resource server it belongs to.
#[derive(Clone, Debug)]
pub struct ProtectionCaller {
    pub client_id: ClientId,
}

/// What is wrong with an owner-minted assertion (RFC 7523 §3), if anything:
/// it must be this server's, for its token endpoint, unexpired, short-lived,
/// not from the future, name its resource server and carry a `jti`, and be
/// minted after the owner last refused that resource server.
pub fn assertion_problem(claims: &AssertionClaims, issuer: &str, token_endpoint: &str, now: UnixTime, max_ttl: i64, refused_at: Option<UnixTime>) -> Option<&'static str> {
    let ours = |a: &str| a == issuer || a == token_endpoint;
    let audience_ok = match &claims.aud {
        serde_json::Value::String(a) => ours(a),
        serde_json::Value::Array(list) => list.iter().any(|a| a.as_str().is_some_and(ours)),
        _ => false,
    };
    if claims.iss != issuer {
        Some("iss is not this authorization server")
    } else if !audience_ok {
        Some("aud does not name this authorization server")
    } else if claims.exp <= now {
        Some("the assertion has expired")
    } else if claims.exp - claims.iat > max_ttl || claims.iat > now + 60 {
        Some("the assertion's lifetime is too long or it was issued in the future")
    } else if claims.sub.is_empty() || claims.jti.is_empty() {
        Some("sub and jti are required")
    } else if refused_at.is_some_and(|refused| claims.iat <= refused) {
        Some("the resource owner refused this resource server after the assertion was minted")
    } else {
        None
    }
}

/// What is wrong with a PAT shown to the protection API, if anything: it
/// must be known, unexpired, and its resource server still approved.
pub fn pat_problem(pat: Option<&Pat>, protection: Option<Protection>, now: UnixTime) -> Option<&'static str> {
    match pat {
        None => Some("unknown PAT"),
        Some(pat) if pat.expires_at <= now => Some("the PAT has expired"),
        Some(_) if protection != Some(Protection::Approved) => Some("the resource owner no longer allows this resource server"),
        Some(_) => None,
    }
}

impl AuthorizationServer {
    /// `grant_type=client_credentials&scope=uma_protection`.
    pub fn pat_by_client_credentials(&self, client: &Client, scope: Option<&str>) -> ProtocolResult<AccessTokenResponse> {
        if !client.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(ProtocolError::unauthorized_client("client_credentials is not registered for this client"));
        }
        let scopes: Vec<&str> = scope.unwrap_or("").split_whitespace().collect();
        if scopes != [PROTECTION_SCOPE] {
            return Err(ProtocolError::invalid_scope("client_credentials issues only the uma_protection scope"));
        }
        let actor = format!("resource_server:{}", client.client_id);
        match client.protection {
            Protection::Approved => self.issue_pat(&client.client_id, &actor, "client_credentials"),
            Protection::Refused => {
                self.audit_noisy(&actor, "pat.refused", json!({ "reason": "owner refused this resource server" }));
                Err(ProtocolError::unauthorized_client("the resource owner refused this resource server"))
            }
            Protection::None | Protection::Pending => {
                if client.protection == Protection::None {
                    // Anyone can register a client and ask: the owner's list
                    // of waiting connections is kept short.
                    let waiting_now = self.cache().read().clients.values().filter(|c| c.protection == Protection::Pending).count();
                    if waiting_now >= MAX_WAITING_RESOURCE_SERVERS {
                        self.audit_noisy(&actor, "pat.too_many_waiting", json!({ "waiting": waiting_now }));
                        return Err(ProtocolError::temporarily_unavailable("too many resource servers are waiting for the resource owner", 3600));
                    }
                    let mut waiting = client.clone();
                    waiting.protection = Protection::Pending;
                    self.save_client(&waiting)?;
                    self.notify(OwnerEvent::ResourceServerWaiting {
                        client_id: client.client_id.clone(),
                        client_name: client.display_name().into(),
                    });
                }
                self.audit_noisy(&actor, "pat.awaiting_owner", json!({}));
                Err(ProtocolError::unauthorized_client(
                    "the resource owner has not approved this resource server yet; try again later",
                ))
            }
        }
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`.
    pub fn pat_by_assertion(&self, assertion: &str) -> ProtocolResult<AccessTokenResponse> {
        let claims: AssertionClaims = self
            .signing_key()
            .verify_typed(TokenType::Assertion, assertion)
            .ok_or_else(|| ProtocolError::invalid_grant("the assertion is not an assertion signed by this authorization server"))?;
        let config = self.config();
        let now = self.now();
        let actor = format!("resource_server:{}", claims.sub);
        let refused_at = self.client(&ClientId::from(claims.sub.as_str())).and_then(|c| c.refused_at);
        let problem = assertion_problem(&claims, &config.issuer, &config.endpoint("/token"), now, config.assertion_max_ttl, refused_at);
        if let Some(problem) = problem {
            self.audit_noisy(&actor, "pat.assertion_rejected", json!({ "reason": problem }));
            return Err(ProtocolError::invalid_grant(problem));
        }
        // The jti is remembered until the assertion would have expired anyway.
        if !self.trees().used_jtis.insert_new(format!("{}|{}", claims.sub, claims.jti), &claims.exp)? {
            self.audit_noisy(&actor, "pat.assertion_replayed", json!({}));
            return Err(ProtocolError::invalid_grant("this assertion has already been used"));
        }
        let client = match self.client(&ClientId::from(claims.sub.as_str())) {
            Some(mut existing) => {
                existing.protection = Protection::Approved;
                existing.authenticated_at.get_or_insert(now);
                existing
            }
            None => Client {
                client_id: ClientId::from(claims.sub.as_str()),
                secret_hash: None,
                client_name: Some(claims.sub.clone()),
                redirect_uris: vec![],
                claims_redirect_uris: vec![],
                grant_types: vec![],
                token_endpoint_auth_method: "none".into(),
                scope: vec![PROTECTION_SCOPE.into()],
                protection: Protection::Approved,
                created_at: now,
                authenticated_at: Some(now),
                refused_at: None,
                software_id: None,
                jwks: None,
                purpose: None,
            },
        };
        self.save_client(&client)?;
        self.issue_pat(&client.client_id, &actor, "jwt_bearer")
    }

    fn issue_pat(&self, client_id: &ClientId, actor: &str, via: &str) -> ProtocolResult<AccessTokenResponse> {
        let token = Secret::<role::Pat>::generate();
        let now = self.now();
        let pat = Pat { client_id: client_id.clone(), issued_at: now, expires_at: now + self.config().pat_ttl };
        let hash = token.hash();
        self.trees().pats.insert(hash.0, &pat)?;
        self.cache().write().pats.insert(hash, pat);
        self.audit(actor, "pat.issued", json!({ "via": via }));
        Ok(AccessTokenResponse {
            access_token: token.expose().into(),
            token_type: "Bearer",
            expires_in: self.config().pat_ttl,
            scope: PROTECTION_SCOPE,
        })
    }

    /// Checks a bearer PAT: known, unexpired, and its resource server still approved.
    pub fn authenticate_pat(&self, token: &str) -> ProtocolResult<ProtectionCaller> {
        let cache = self.cache().read();
        let pat = cache.pats.get(&SecretHash::of(token));
        let protection = pat.and_then(|p| cache.clients.get(&p.client_id)).map(|c| c.protection);
        match (pat, pat_problem(pat, protection, self.now())) {
            (Some(pat), None) => Ok(ProtectionCaller { client_id: pat.client_id.clone() }),
            (_, problem) => Err(ProtocolError::invalid_token(problem.unwrap_or("unknown PAT"))),
        }
    }

    /// Mints an assertion that lets `resource_server` get a PAT once (the
    /// owner's consent to that resource server, RFC 7523 §2.1).
    pub fn mint_assertion(&self, resource_server: &ClientId, lifetime: i64) -> ProtocolResult<String> {
        if resource_server.as_str().is_empty() || resource_server.as_str().len() > 500 {
            return Err(ProtocolError::invalid_request("name the resource server (at most 500 characters)"));
        }
        let lifetime = lifetime.clamp(1, self.config().assertion_max_ttl);
        let now = self.now();
        // Minted after a refusal in the same second, it must still count as
        // after it: assertions up to the refusal's second are void.
        let iat = match self.client(resource_server).and_then(|c| c.refused_at) {
            Some(refused) if refused >= now => refused + 1,
            _ => now,
        };
        let claims = AssertionClaims {
            iss: self.config().issuer.clone(),
            sub: resource_server.to_string(),
            aud: self.config().endpoint("/token").into(),
            exp: iat + lifetime,
            iat,
            jti: new_jti(),
        };
        self.audit("owner", "assertion.minted", json!({ "resource_server": resource_server, "exp": claims.exp }));
        Ok(self.signing_key().sign_typed(TokenType::Assertion, &claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS: &str = "https://wallet.example";
    const TOKEN: &str = "https://wallet.example/token";

    fn assertion(iat: UnixTime, exp: UnixTime) -> AssertionClaims {
        AssertionClaims { iss: AS.into(), sub: "acme".into(), aud: TOKEN.into(), exp, iat, jti: "j1".into() }
    }

    #[test]
    fn an_assertion_is_taken_only_as_this_server_minted_it_and_before_any_refusal() {
        let fine = assertion(1000, 1300);
        assert_eq!(assertion_problem(&fine, AS, TOKEN, 1100, 600, None), None);
        assert_eq!(assertion_problem(&AssertionClaims { aud: serde_json::json!(["x", AS]), ..assertion(1000, 1300) }, AS, TOKEN, 1100, 600, None), None);
        let cases = [
            (AssertionClaims { iss: "https://other".into(), ..assertion(1000, 1300) }, 1100, None, "iss"),
            (AssertionClaims { aud: "https://other/token".into(), ..assertion(1000, 1300) }, 1100, None, "aud"),
            (assertion(1000, 1300), 1300, None, "expired"),
            (assertion(1000, 2000), 1100, None, "too long"),
            (assertion(1200, 1300), 1100, None, "future"),
            (AssertionClaims { jti: String::new(), ..assertion(1000, 1300) }, 1100, None, "jti"),
            (assertion(1000, 1300), 1100, Some(1000), "refused"),
        ];
        for (claims, now, refused, why) in cases {
            let problem = assertion_problem(&claims, AS, TOKEN, now, 600, refused).unwrap_or_else(|| panic!("{why} should be refused"));
            assert!(problem.contains(why), "{why}: {problem}");
        }
        assert_eq!(assertion_problem(&assertion(1001, 1300), AS, TOKEN, 1100, 600, Some(1000)), None, "minted after the refusal");
    }

    #[test]
    fn a_pat_works_while_known_unexpired_and_its_resource_server_approved() {
        let pat = Pat { client_id: "acme".into(), issued_at: 0, expires_at: 100 };
        assert_eq!(pat_problem(Some(&pat), Some(Protection::Approved), 99), None);
        assert_eq!(pat_problem(Some(&pat), Some(Protection::Approved), 100), Some("the PAT has expired"));
        assert!(pat_problem(Some(&pat), Some(Protection::Refused), 50).is_some());
        assert!(pat_problem(Some(&pat), None, 50).is_some(), "its resource server is gone");
        assert_eq!(pat_problem(None, None, 50), Some("unknown PAT"));
    }
}
