//! `openid-credential-offer://` links (OpenID4VCI 1.0 §4.1): a provider's
//! web page or letter hands the wallet a credential offer, by value
//! (`credential_offer`) or by reference (`credential_offer_uri`).
//!
//! A pension credential in this wallet is issued when the pension is
//! assigned to the wallet's own authorization server, and names it; an offer
//! made before that cannot. So a link is read for who offers
//! (`credential_issuer`, which must be a provider the owner already chose)
//! and what (a PensionResourceCredential); the owner then sees that
//! provider's offers and accepts or declines each, and accepting runs the
//! usual assignment and issuance. A pre-authorized code in the link is not
//! redeemed: OpenID4VCI lets a wallet choose the grant it uses.
//!
//! Any web page can open such a link, so reading one never asks a peer the
//! owner did not choose: an offer by reference is fetched only from a known
//! provider's origin, and nothing is stored.

use super::providers::provider_key;
use super::Pensions;
use crate::credentials::{CredentialOffer, CREDENTIAL_TYPE};
use crate::error::ProviderError;
use crate::OwnerError;
use serde::{Deserialize, Serialize};
use url::Url;

/// The link scheme OpenID4VCI 1.0 §4.1 names for offers to a wallet.
pub const OFFER_SCHEME: &str = "openid-credential-offer";
/// Longer than any offer this wallet takes by value.
const MAX_LINK: usize = 8 * 1024;
/// An offer by reference is a few hundred bytes.
const MAX_OFFER: usize = 16 * 1024;

const UNKNOWN_PROVIDER: &str =
    "This link comes from a pension provider your wallet does not know. If you expected it, add the provider by its web address first, then open the link again.";

/// `POST /offers/link`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ReadOfferLink {
    /// The whole `openid-credential-offer://…` link.
    pub link: String,
}

/// Who offers, once the link checks out: one of the owner's providers.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct OfferLink {
    /// The provider's address, as in the owner's list of providers.
    pub provider: String,
    pub provider_name: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Carried {
    ByValue(String),
    ByReference(String),
}

/// The offer a link carries or points to (§4.1: exactly one of the two).
fn parse(link: &str) -> Result<Carried, OwnerError> {
    let bad = |why: &str| OwnerError::invalid(format!("This is not a credential offer link: {why}."));
    if link.len() > MAX_LINK {
        return Err(bad("it is too long"));
    }
    let url = Url::parse(link.trim()).map_err(|_| bad("it does not read as a link"))?;
    if url.scheme() != OFFER_SCHEME {
        return Err(bad("it is not an openid-credential-offer link"));
    }
    let (mut by_value, mut by_reference) = (None, None);
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "credential_offer" => &mut by_value,
            "credential_offer_uri" => &mut by_reference,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(bad("it gives the offer twice"));
        }
    }
    match (by_value, by_reference) {
        (Some(offer), None) => Ok(Carried::ByValue(offer)),
        (None, Some(uri)) => Ok(Carried::ByReference(uri)),
        (Some(_), Some(_)) => Err(bad("it gives the offer both in the link and by reference")),
        (None, None) => Err(bad("it holds no offer")),
    }
}

impl Pensions {
    /// Reads a credential offer link: which of the owner's providers makes
    /// the offer. Stores nothing.
    pub async fn read_offer_link(&self, link: &str) -> Result<OfferLink, OwnerError> {
        let (text, fetched_from) = match parse(link)? {
            Carried::ByValue(offer) => (offer, None),
            Carried::ByReference(uri) => {
                let (offer, origin) = self.fetch_offer(&uri).await?;
                (offer, Some(origin))
            }
        };
        let offer: CredentialOffer = serde_json::from_str(&text).map_err(|_| OwnerError::invalid("The offer in this link does not read."))?;
        let issuer = provider_key(&offer.credential_issuer);
        let provider = self.providers.get(&issuer)?.ok_or_else(|| OwnerError::NotFound(UNKNOWN_PROVIDER.into()))?;
        // An offer fetched from one provider speaks only for that provider.
        if fetched_from.is_some_and(|origin| Url::parse(&provider.url).map(|u| u.origin()) != Ok(origin)) {
            return Err(OwnerError::invalid("The offer this link points to names another provider than the one it came from."));
        }
        if !offer.credential_configuration_ids.iter().any(|id| id == CREDENTIAL_TYPE) {
            return Err(OwnerError::invalid("This link offers something other than your pensions."));
        }
        Ok(OfferLink { provider: provider.url, provider_name: provider.name })
    }

    /// An offer by reference, from a known provider's origin only.
    async fn fetch_offer(&self, uri: &str) -> Result<(String, url::Origin), OwnerError> {
        let url = http_guard::outbound::secure_url(uri).map_err(|_| OwnerError::invalid("The offer this link points to is not at a secure web address."))?;
        let known = self.providers()?.into_iter().find(|p| Url::parse(&p.url).is_ok_and(|u| u.origin() == url.origin()));
        let provider = known.ok_or_else(|| OwnerError::NotFound(UNKNOWN_PROVIDER.into()))?;
        let failed = |error| OwnerError::Provider { provider: provider.url.clone(), error };
        let response = self.http.get(url.clone()).header("accept", "application/json").send().await.map_err(|e| failed(ProviderError::Unreachable(e.to_string())))?;
        if !response.status().is_success() {
            return Err(failed(ProviderError::Answered(format!("the offer: HTTP {}", response.status()))));
        }
        let body = http_guard::outbound::read_capped(response, MAX_OFFER).await.map_err(|e| failed(ProviderError::Answered(format!("the offer: {e}"))))?;
        let text = String::from_utf8(body).map_err(|_| failed(ProviderError::Answered("the offer is not text".into())))?;
        Ok((text, url.origin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> String {
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    #[test]
    fn a_link_carries_its_offer_by_value_or_by_reference_never_both() {
        let offer = r#"{"credential_issuer":"https://provider.example","credential_configuration_ids":["PensionResourceCredential"]}"#;
        assert_eq!(parse(&format!("openid-credential-offer://?credential_offer={}", encoded(offer))).unwrap(), Carried::ByValue(offer.into()));
        let uri = "https://provider.example/credential-offer";
        assert_eq!(parse(&format!("openid-credential-offer://?credential_offer_uri={}", encoded(uri))).unwrap(), Carried::ByReference(uri.into()));
        for bad in [
            format!("openid-credential-offer://?credential_offer={0}&credential_offer_uri={0}", encoded(uri)),
            format!("openid-credential-offer://?credential_offer_uri={0}&credential_offer_uri={0}", encoded(uri)),
            "openid-credential-offer://".to_string(),
            format!("uma-wallet://?credential_offer_uri={}", encoded(uri)),
            format!("https://provider.example/?credential_offer_uri={}", encoded(uri)),
            format!("openid-credential-offer://?credential_offer={}", "x".repeat(MAX_LINK)),
            "not a link".to_string(),
        ] {
            assert!(matches!(parse(&bad), Err(OwnerError::Invalid(_))), "{bad:.80}");
        }
    }
}
