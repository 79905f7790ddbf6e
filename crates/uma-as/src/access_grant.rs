//! Access grant credentials: the wallet, as issuer, states in a verifiable
//! credential what a grant allows (which client, which pension, which
//! scopes, until when, from which wallet), and publishes whether it was
//! revoked in a status list.
//!
//! The format is VCDM 2.0 secured with JOSE (VC-JOSE-COSE, `typ` `vc+jwt`),
//! signed by the wallet's did:key. JOSE rather than Data Integrity: the
//! credential is verified offline by anyone holding nothing but the DID
//! (a did:key resolves from itself), it needs no JSON-LD processing (whose
//! strict term expansion makes Data Integrity brittle for a custom type),
//! and it travels as one compact string in HTTP answers.
//!
//! Revocation is a W3C Bitstring Status List (`BitstringStatusListEntry`,
//! purpose `revocation`): each credential gets an index, and the list at
//! [`STATUS_LIST_PATH`] (itself a `vc+jwt` by the same DID) has that bit set
//! once the grant is revoked. The bit follows the grant: revoking the grant
//! is revoking its credential. Indices are drawn at random from the free
//! ones (the specification's privacy advice: a holder learns nothing of
//! other grants from its index), and an index comes free again once its
//! grant has expired or been revoked and its credential can no longer be
//! valid.
//!
//! Only the client a grant was given to gets its credential, authenticated
//! as at the token endpoint and showing an RPT it holds. The credential
//! names the client, the pension, the scopes and the time; not what the
//! requesting party said about itself. A grant with no end is issued a
//! credential valid for [`OPEN_GRANT_VALIDITY`], fetched again after.

use crate::id::{ClientId, GrantId};
use crate::error::{ProtocolError, ProtocolResult};
use crate::model::Grant;
use crate::AuthorizationServer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// Where the status list is published, under the issuer.
pub const STATUS_LIST_PATH: &str = "/status/access-grants";
/// Entries in the status list: 16 KiB of bits, the specification's
/// minimum, which also keeps which grant a verifier asks about private
/// among many.
pub const STATUS_LIST_SIZE: u32 = 131_072;
/// How long a published status list may be relied on before refetching.
const STATUS_LIST_VALIDITY: i64 = 300;
/// How far `validFrom` is set back: verifiers allow no clock skew, and a
/// clock a little behind the wallet's must not refuse what was just issued.
const CLOCK_SKEW: i64 = 300;
/// The validity of a credential for a grant with no end date.
pub const OPEN_GRANT_VALIDITY: i64 = 30 * 86_400;
pub const CREDENTIAL_TYPE: &str = "AccessGrantCredential";

/// `YYYY-MM-DDThh:mm:ssZ` for Unix seconds (proleptic Gregorian, UTC).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

impl AuthorizationServer {
    fn vc_jwt(&self, credential: &Value) -> String {
        let key = self.signing_key();
        key.sign_with_header(&json!({ "typ": "vc+jwt", "cty": "vc", "kid": key.did_key_url() }), credential)
    }

    /// The status list index of a grant, given on its first credential: a
    /// random free one. An index is free when no grant holds it, or when its
    /// grant is no longer active and every credential for it has expired
    /// (then the grant gives it up, and gets no credential again).
    fn status_index(&self, grant_id: &GrantId) -> ProtocolResult<u32> {
        let now = self.now();
        let mut cache = self.cache().write();
        let Some(grant) = cache.grants.get(grant_id).cloned() else { return Err(ProtocolError::not_found("no such grant")) };
        if let Some(index) = grant.status_index {
            return Ok(index);
        }
        if !grant.is_active(now) {
            return Err(ProtocolError::not_found("no active grant"));
        }
        let taken: std::collections::HashSet<u32> = cache.grants.values().filter(|g| !index_is_free(g, now)).filter_map(|g| g.status_index).collect();
        if taken.len() as u32 >= STATUS_LIST_SIZE {
            return Err(ProtocolError::temporarily_unavailable("the status list is full", 3600));
        }
        let index = loop {
            let candidate = u32::from_le_bytes(crate::secret::random_bytes::<4>()) % STATUS_LIST_SIZE;
            if !taken.contains(&candidate) {
                break candidate;
            }
        };
        // A grant whose index was free gives it up for good.
        let released: Vec<Grant> = cache
            .grants
            .values()
            .filter(|g| g.status_index == Some(index))
            .map(|g| Grant { status_index: None, ..g.clone() })
            .collect();
        for grant in released {
            self.trees().grants.insert(&grant.id, &grant)?;
            cache.put_grant(grant);
        }
        let grant = Grant { status_index: Some(index), ..grant };
        self.trees().grants.insert(&grant.id, &grant)?;
        cache.put_grant(grant);
        Ok(index)
    }

    /// The access grant credential for one active grant.
    pub fn access_grant_credential(&self, grant_id: &GrantId) -> ProtocolResult<String> {
        let index = self.status_index(grant_id)?;
        let grant = self.cache().read().grants.get(grant_id).cloned().ok_or_else(|| ProtocolError::not_found("no such grant"))?;
        let now = self.now();
        let resource = self.cache().read().resources.get(&grant.resource_id).cloned();
        let client = self.client(&grant.client_id);
        let issuer = &self.config().issuer;
        let status_list = format!("{issuer}{STATUS_LIST_PATH}");
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": format!("urn:uma-wallet:grant:{}", grant.id),
            "type": ["VerifiableCredential", CREDENTIAL_TYPE],
            "issuer": self.signing_key().did_key(),
            "validFrom": rfc3339(grant.created_at - CLOCK_SKEW),
            "validUntil": rfc3339(grant.expires_at.unwrap_or(now + OPEN_GRANT_VALIDITY)),
            "credentialSubject": {
                "id": format!("{issuer}/clients/{}", grant.client_id),
                "client": client_json(&grant.client_id, client.and_then(|c| c.client_name)),
                "resource": resource_json(resource.as_ref()),
                "scopes": grant.scopes,
                "authorizationServer": issuer,
            },
            "credentialStatus": {
                "id": format!("{status_list}#{index}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": index.to_string(),
                "statusListCredential": status_list,
            },
        });
        Ok(self.vc_jwt(&credential))
    }

    /// `POST /access-grants`: for an authenticated client showing an active
    /// RPT it was issued, a credential for each grant behind the RPT.
    pub fn access_grant_credentials_for_rpt(&self, client: &crate::model::Client, rpt: &str) -> ProtocolResult<Vec<(GrantId, String)>> {
        let now = self.now();
        let record = self.rpt_record(rpt);
        let Some(record) = record.filter(|r| r.client_id == client.client_id && self.rpt_liveness(r, now) == crate::rpt::Liveness::Active) else {
            return Err(ProtocolError::invalid_grant("the RPT is unknown, not this client's, revoked or expired"));
        };
        let mut out = Vec::new();
        for grant_id in record.permissions.iter().map(|p| p.grant_id.clone()) {
            if !out.iter().any(|(id, _)| id == &grant_id) {
                let credential = self.access_grant_credential(&grant_id)?;
                out.push((grant_id, credential));
            }
        }
        Ok(out)
    }

    /// The status list credential: bit `i` set when the grant holding
    /// status index `i` is revoked. Valid for five minutes from now.
    pub fn status_list_credential(&self) -> String {
        let mut bits = vec![0u8; (STATUS_LIST_SIZE / 8) as usize];
        for grant in self.cache().read().grants.values() {
            if let (Some(index), Some(_)) = (grant.status_index, grant.revoked_at) {
                // Index 0 is the first bit: the most significant of byte 0.
                bits[(index / 8) as usize] |= 0x80 >> (index % 8);
            }
        }
        let encoded_list = {
            use std::io::Write;
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gzip.write_all(&bits).expect("writing to memory");
            // Multibase: 'u' is base64url without padding.
            format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().expect("writing to memory")))
        };
        let now = self.now();
        let id = format!("{}{STATUS_LIST_PATH}", self.config().issuer);
        self.vc_jwt(&json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": id,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.signing_key().did_key(),
            "validFrom": rfc3339(now - CLOCK_SKEW),
            "validUntil": rfc3339(now + STATUS_LIST_VALIDITY),
            "credentialSubject": {
                "id": format!("{id}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": encoded_list,
            },
        }))
    }
}

/// Whether a grant's status index may go to another grant: the grant is
/// over, and the last credential issued for it (valid at most
/// [`OPEN_GRANT_VALIDITY`] past the moment it ended) has expired too.
fn index_is_free(grant: &Grant, now: i64) -> bool {
    let ended = match (grant.revoked_at, grant.expires_at) {
        (Some(revoked), _) => Some(revoked),
        (None, Some(expires)) if expires <= now => Some(expires),
        _ => None,
    };
    ended.is_some_and(|at| at + OPEN_GRANT_VALIDITY < now)
}

fn client_json(client_id: &ClientId, name: Option<String>) -> Value {
    let mut client = json!({ "clientId": client_id });
    if let Some(name) = name {
        client["name"] = name.into();
    }
    client
}

fn resource_json(resource: Option<&crate::model::Resource>) -> Value {
    let mut out = json!({});
    if let Some(r) = resource {
        out["resourceServer"] = r.resource_server.clone().into();
        if let Some(name) = &r.description.name {
            out["name"] = name.clone().into();
        }
        if let Some(description) = &r.description.description {
            out["description"] = description.clone().into();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn unix_seconds_read_as_utc_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(rfc3339(-86_400), "1969-12-31T00:00:00Z");
    }
}
