//! `openid-credential-offer://` links (OpenID4VCI 1.0 §4.1): a provider's
//! web page or letter hands the wallet a credential offer, by value
//! (`credential_offer`) or by reference (`credential_offer_uri`).
//!
//! A pension credential in this wallet is issued when the pension is
//! assigned to the wallet's own authorization server, and names it; an offer
//! made before that cannot. So a link is read for who offers, which must be
//! a provider the owner already chose (the offer's `credential_issuer`, or
//! the provider whose address the offer's URI is under) and what (a
//! PensionResourceCredential, when the offer is in the link). The owner then
//! sees that provider's offers, asked of the provider itself, and accepts
//! or declines each; accepting runs the usual assignment and issuance. A
//! grant in the link is not used: OpenID4VCI lets a wallet choose its grant.
//!
//! Any web page can open such a link, as often as it likes, so reading one
//! sends nothing anywhere (an offer by reference is not fetched: where it
//! lives already says which provider it claims to come from) and stores
//! nothing. What a link says about who sent it is a claim, not a proof: the
//! app says so.

use super::providers::provider_key;
use super::Pensions;
use crate::credentials::CREDENTIAL_TYPE;
use crate::OwnerError;
use serde::{Deserialize, Serialize};
use url::Url;

/// The link scheme OpenID4VCI 1.0 §4.1 names for offers to a wallet.
pub const OFFER_SCHEME: &str = "openid-credential-offer";
/// Longer than any offer this wallet takes by value.
const MAX_LINK: usize = 8 * 1024;

const UNKNOWN_PROVIDER: &str =
    "This link comes from a pension provider your wallet does not know. If you expected it, add the provider by its web address first, then open the link again.";

/// `POST /offers/link`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ReadOfferLink {
    /// The whole `openid-credential-offer://…` link.
    pub link: String,
}

/// Which of the owner's providers the link says offers.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct OfferLink {
    /// The provider's address, as in the owner's list of providers.
    pub provider: String,
    pub provider_name: Option<String>,
}

/// An offer by value (§4.1.1), the members read here: grants are not used,
/// so an unfamiliar one does not make the offer unreadable.
#[derive(Deserialize)]
struct Offered {
    credential_issuer: String,
    credential_configuration_ids: Vec<String>,
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

/// Whether `uri` lives under the provider's address: same origin, and its
/// path within the provider's (a provider at `host/a` does not speak for
/// one at `host/b`).
fn under(uri: &Url, provider: &str) -> bool {
    let Ok(base) = Url::parse(provider) else { return false };
    let prefix = base.path().trim_end_matches('/');
    uri.origin() == base.origin() && (uri.path() == prefix || uri.path().starts_with(&format!("{prefix}/")))
}

impl Pensions {
    /// Reads a credential offer link: which of the owner's providers it
    /// says makes the offer. Sends nothing and stores nothing.
    pub async fn read_offer_link(&self, link: &str) -> Result<OfferLink, OwnerError> {
        let provider = match parse(link)? {
            Carried::ByValue(text) => {
                let offer: Offered = serde_json::from_str(&text).map_err(|_| OwnerError::invalid("The offer in this link does not read."))?;
                if !offer.credential_configuration_ids.iter().any(|id| id == CREDENTIAL_TYPE) {
                    return Err(OwnerError::invalid("This link offers something other than your pensions."));
                }
                self.providers.get(&provider_key(&offer.credential_issuer))?
            }
            Carried::ByReference(uri) => {
                let uri = http_guard::outbound::secure_url(&uri).map_err(|_| OwnerError::invalid("The offer this link points to is not at a secure web address."))?;
                if !uri.username().is_empty() || uri.password().is_some() {
                    return Err(OwnerError::invalid("The offer this link points to has a hidden sign-in in its address."));
                }
                self.providers()?.into_iter().find(|p| under(&uri, &p.url))
            }
        };
        let provider = provider.ok_or_else(|| OwnerError::NotFound(UNKNOWN_PROVIDER.into()))?;
        Ok(OfferLink { provider: provider.url, provider_name: provider.name })
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

    #[test]
    fn an_offer_s_address_speaks_only_for_the_provider_it_lives_under() {
        let at = |uri: &str, provider: &str| under(&Url::parse(uri).unwrap(), provider);
        assert!(at("https://host.example/acme/credential-offer", "https://host.example/acme"));
        assert!(at("https://acme.example/credential-offer?id=1", "https://acme.example"));
        assert!(!at("https://host.example/acmeevil/offer", "https://host.example/acme"), "a longer path is another provider");
        assert!(!at("https://host.example/other/offer", "https://host.example/acme"));
        assert!(!at("https://acme.example:8443/offer", "https://acme.example"));
        assert!(!at("http://acme.example/offer", "https://acme.example"));
    }
}
