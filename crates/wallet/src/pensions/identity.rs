//! Who the owner is, as far as providers are told: the details the owner
//! states, and the identity credential that attests some of them.

use super::{Pensions, IDENTITY_KEY};
use crate::identity_credential::{HeldIdentity, FIND_DISCLOSURES};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use crate::OwnerError;

/// The owner's identity details for finding pensions (PDP find data).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct Identity {
    pub given_name: String,
    pub family_name: String,
    /// ISO 8601 date.
    pub date_of_birth: String,
    #[serde(default)]
    pub nino: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    /// Which items an identity service verified.
    #[serde(default)]
    pub verified: Vec<IdentityItem>,
}

/// One item of the owner's identity details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum IdentityItem {
    Name,
    DateOfBirth,
    Nino,
    Address,
    Email,
    Mobile,
}

impl Identity {
    pub(super) fn check(&self) -> Result<(), OwnerError> {
        if self.given_name.trim().is_empty() || self.family_name.trim().is_empty() {
            return Err(OwnerError::invalid("given_name and family_name are required"));
        }
        let date = self.date_of_birth.as_bytes();
        let is_date = date.len() == 10 && date[4] == b'-' && date[7] == b'-' && date.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !is_date {
            return Err(OwnerError::invalid("date_of_birth must be YYYY-MM-DD"));
        }
        let too_long = [&self.given_name, &self.family_name].iter().any(|s| s.len() > 200)
            || [&self.nino, &self.postcode, &self.email, &self.mobile].iter().any(|s| s.as_ref().is_some_and(|s| s.len() > 200))
            || self.address_lines.len() > 8
            || self.address_lines.iter().any(|l| l.len() > 200);
        if too_long {
            return Err(OwnerError::invalid("identity details are at most 200 characters each, and 8 address lines"));
        }
        Ok(())
    }

    /// The items these details hold, for the audit log.
    pub fn items(&self) -> Vec<IdentityItem> {
        let present = [
            (IdentityItem::Name, true),
            (IdentityItem::DateOfBirth, true),
            (IdentityItem::Nino, self.nino.is_some()),
            (IdentityItem::Address, self.postcode.is_some()),
            (IdentityItem::Email, self.email.is_some()),
            (IdentityItem::Mobile, self.mobile.is_some()),
        ];
        present.into_iter().filter(|(_, p)| *p).map(|(item, _)| item).collect()
    }

    /// The find data of a find token: what the owner states, never marked
    /// verified (only an identity credential attests, and providers take
    /// nothing else as verified).
    pub fn find_data(&self) -> Value {
        let stated = |value: Value| json!({ "value": value, "verified": false });
        let list = |value: &Option<String>| value.as_ref().map(|v| json!([stated(json!(v))])).unwrap_or(json!([]));
        json!({
            "names": [stated(json!({ "given_name": self.given_name, "family_name": self.family_name }))],
            "date_of_birth": stated(json!(self.date_of_birth)),
            "nino": self.nino.as_ref().map(|n| stated(json!(n))),
            "addresses": self.postcode.as_ref().map(|p| json!([stated(json!({ "lines": self.address_lines, "postcode": p }))])).unwrap_or(json!([])),
            "emails": list(&self.email),
            "mobiles": list(&self.mobile),
        })
    }
}

/// What the wallet can tell a provider about its owner.
pub struct Who {
    /// What the owner states (never taken as verified).
    pub stated: Option<Identity>,
    /// The identity credential, presented with [`FIND_DISCLOSURES`] only.
    pub credential: Option<HeldIdentity>,
}

impl Who {
    /// The audit entry for telling `to` about the owner.
    pub(super) fn disclosure(&self, to: Vec<&str>, path: &str) -> Value {
        let attested = self.credential.as_ref().map(|held| {
            json!({ "issuer": held.issuer, "claims": FIND_DISCLOSURES.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).collect::<Vec<_>>() })
        });
        json!({ "to": to, "path": path, "items": self.stated.as_ref().map(Identity::items).unwrap_or_default(), "attested": attested })
    }
}

impl Pensions {
    pub fn identity(&self) -> Result<Option<Identity>, OwnerError> {
        Ok(self.identity.get(IDENTITY_KEY)?)
    }

    pub async fn set_identity(&self, identity: Identity) -> Result<(), OwnerError> {
        identity.check()?;
        self.identity.insert(IDENTITY_KEY, &identity)?;
        self.server.record("identity.update", json!({ "items": identity.items(), "verified": identity.verified }));
        self.server.flush().await?;
        Ok(())
    }

    /// Who the owner says they are, and what their identity credential
    /// attests; at least one of them.
    pub(super) fn who(&self) -> Result<Who, OwnerError> {
        let who = Who { stated: self.identity()?, credential: self.identity_credential.held()? };
        if who.stated.is_none() && who.credential.is_none() {
            return Err(OwnerError::invalid(
                "prove who you are first (uma-wallet identity get --issuer URL), or enter your details (uma-wallet identity set)",
            ));
        }
        Ok(who)
    }
}
