//! The persisted claims token's life (Grant §3.3.5, §3.7), as plain
//! functions: claims kept by reference for one client ([`issued`]), given
//! back only to that client and only while both the PCT and any credential
//! the claims came from are still valid ([`redeem`]). Storage and
//! revocation are the callers' ([`crate::claims`], [`crate::revocation`]).

use crate::id::ClientId;
use crate::clock::UnixTime;
use crate::model::{PctRecord, RequestingParty};

/// A PCT's record: `party`'s claims, for `client_id`, for `ttl` seconds.
pub fn issued(client_id: &ClientId, party: &RequestingParty, now: UnixTime, ttl: i64) -> PctRecord {
    PctRecord { client_id: client_id.clone(), party: party.clone(), issued_at: now, expires_at: now + ttl }
}

/// The claims behind a PCT shown by `client_id`, if it is that client's and
/// unexpired. Claims from a presented credential end with the credential:
/// past its `valid_until` they are dropped, and the party counts as
/// unchecked again.
pub fn redeem(record: Option<PctRecord>, client_id: &ClientId, now: UnixTime) -> Option<RequestingParty> {
    let record = record.filter(|r| r.client_id == *client_id && r.expires_at > now)?;
    let mut party = record.party;
    if party.verified.as_ref().and_then(|v| v.valid_until).is_some_and(|until| until <= now) {
        party.verified = None;
    }
    Some(party)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClaimSet;

    fn adviser(valid_until: Option<UnixTime>) -> RequestingParty {
        let verified = ClaimSet { issuer: Some("https://regulator".into()), subject: Some("bob".into()), valid_until, ..ClaimSet::default() };
        RequestingParty { verified: Some(verified), ..RequestingParty::default() }
    }

    #[test]
    fn a_pct_gives_its_claims_back_to_its_own_client_until_it_expires() {
        let record = issued(&"app".into(), &adviser(None), 100, 600);
        assert_eq!(record.expires_at, 700);
        assert_eq!(redeem(Some(record.clone()), &"app".into(), 699), Some(adviser(None)));
        assert_eq!(redeem(Some(record.clone()), &"other-app".into(), 200), None, "another client cannot use it");
        assert_eq!(redeem(Some(record), &"app".into(), 700), None, "expired");
        assert_eq!(redeem(None, &"app".into(), 200), None, "unknown or revoked");
    }

    #[test]
    fn claims_from_a_credential_end_with_the_credential() {
        let record = issued(&"app".into(), &adviser(Some(300)), 100, 600);
        assert!(redeem(Some(record.clone()), &"app".into(), 299).unwrap().is_verified());
        let later = redeem(Some(record), &"app".into(), 300).unwrap();
        assert!(later.verified.is_none(), "no longer checked");
    }
}
