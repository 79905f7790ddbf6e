//! "See exactly what they'll see": for a request waiting for the owner,
//! what each scope asked for releases, read from the provider itself. The
//! wallet reads the pension as the owner twice, with the `owner` scope
//! alone and with `value` as well: what the first shows is the `owner`
//! scope's, what only the second shows is `value`'s. The clusters are the
//! fields the provider really serves, named in plain words; a field the
//! wallet has no words for is still listed, by its own name.

use super::my_pensions::ReadFailure;
use super::{Pensions, FIND_FANOUT};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uma_as::id::ResourceId;
use uma_as::model::Permission;

/// One thing a scope releases, with the owner's own value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct SharedItem {
    /// In plain words, e.g. "Your date of birth".
    pub label: String,
    /// The owner's value, as the party asking would see it.
    pub value: String,
}

/// What one scope on one pension releases.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ScopePreview {
    pub scope: String,
    /// The cluster's name, e.g. "Your pension details".
    pub title: String,
    pub items: Vec<SharedItem>,
}

/// What a request would release from one pension.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PensionPreview {
    pub resource_id: ResourceId,
    /// The scheme's name, when the provider gave one.
    pub scheme: Option<String>,
    pub scopes: Vec<ScopePreview>,
    /// Why the provider could not be asked just now, in plain words: the
    /// scopes are then listed by name only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The plain words for a PDP view-data field, and how its value reads.
fn label(field: &str) -> String {
    match field {
        "pei" => "The pension's reference number".into(),
        "schemeName" => "The scheme's name".into(),
        "pensionType" => "The type of pension".into(),
        "pensionStatus" => "Whether you still pay in".into(),
        "startDate" => "When you joined".into(),
        "retirementDate" => "Your retirement date".into(),
        "dateOfBirth" => "Your date of birth".into(),
        "pensionAdministrator" => "Who runs the pension, and how to contact them".into(),
        "employmentMembershipPeriods" => "Your employers and the dates you worked there".into(),
        "additionalDataSources" => "Links to the scheme's documents".into(),
        "benefitIllustrations" => "Your pension's value: income estimates and pot size".into(),
        other => {
            // camelCase to words: a field the wallet has no words for yet.
            let mut words = String::new();
            for c in other.chars() {
                if c.is_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.push(c.to_ascii_lowercase());
            }
            words
        }
    }
}

fn money(pounds: u64) -> String {
    let digits = pounds.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("£{out}")
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// The owner's value of a field, in words.
fn shown(field: &str, value: &Value) -> String {
    match field {
        "employmentMembershipPeriods" => value
            .as_array()
            .map(|periods| {
                periods
                    .iter()
                    .map(|p| format!("{} ({} to {})", text(&p["employerName"]), text(&p["membershipStartDate"]), text(&p["membershipEndDate"])))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default(),
        "pensionAdministrator" => {
            let contacts = value["contactMethods"].as_array().map(|c| c.iter().filter_map(|m| m["email"].as_str().or(m["phone"].as_str())).collect::<Vec<_>>().join(", "));
            [Some(text(&value["name"])), contacts.filter(|c| !c.is_empty())].into_iter().flatten().collect::<Vec<_>>().join(": ")
        }
        "additionalDataSources" => value.as_array().map(|d| format!("{} link{}", d.len(), if d.len() == 1 { "" } else { "s" })).unwrap_or_default(),
        "benefitIllustrations" => value
            .as_array()
            .map(|illustrations| {
                illustrations
                    .iter()
                    .flat_map(|i| {
                        let at = text(&i["illustrationDate"]);
                        i["illustrationComponents"].as_array().cloned().unwrap_or_default().into_iter().map(move |c| {
                            let amount = c["payableDetails"]["annualAmount"].as_u64().map(money).unwrap_or_else(|| "—".into());
                            let pot = c["dcPot"].as_u64().map(|p| format!(", pot {}", money(p))).unwrap_or_default();
                            let kind = if c["illustrationType"] == "AP" { "built up so far" } else { "estimated" };
                            format!("{amount} a year {kind}{pot} (as at {at})")
                        })
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default(),
        _ => text(value),
    }
}

fn items(fields: &Map<String, Value>, except: &Map<String, Value>) -> Vec<SharedItem> {
    fields.iter().filter(|(k, _)| !except.contains_key(*k)).map(|(k, v)| SharedItem { label: label(k), value: shown(k, v) }).collect()
}

/// A cluster's name.
fn title(scope: &str) -> String {
    match scope {
        "owner" => "Your pension details".into(),
        "value" => "Your pension's value".into(),
        "delegate" => "Acting for you with the provider".into(),
        other => format!("“{other}”"),
    }
}

impl Pensions {
    /// What `permissions` would release, pension by pension, read now from
    /// each provider as the owner.
    pub async fn preview(&self, permissions: &[Permission]) -> Result<Vec<PensionPreview>, crate::OwnerError> {
        use futures_util::StreamExt;
        let resources = self.server.resources();
        let providers = self.providers()?;
        // Only pensions at the owner's own providers are read, as My
        // pensions reads them: no permit for anything else is made here.
        let asked: Vec<_> = permissions
            .iter()
            .filter_map(|p| resources.iter().find(|r| r.id == p.resource_id).map(|r| (r.clone(), p.resource_scopes.clone())))
            .filter(|(r, _)| providers.iter().any(|p| r.resource_server == p.url.as_str()))
            .collect();
        let client = self.owner_client(&asked.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>()).await?;
        let reads = asked.into_iter().map(|(resource, scopes)| {
            let client = client.clone();
            let provider = providers
                .iter()
                .find(|p| resource.resource_server == p.url.as_str())
                .and_then(|p| p.name.clone())
                .or_else(|| self.last_read.get(&resource.id).ok().flatten().and_then(|known| known.provider_name))
                .unwrap_or_else(|| "The provider".into());
            async move {
                let asset = resource.description.name.as_deref().and_then(|pei| pei.rsplit(':').next()).unwrap_or_default().to_string();
                let read = async {
                    let owner = self.read_view(&client, &resource, &asset, false).await?;
                    let with_value = if scopes.iter().any(|s| s == "value") { Some(self.read_view(&client, &resource, &asset, true).await?) } else { None };
                    Ok::<_, ReadFailure>((owner.pension, with_value.map(|v| v.pension)))
                };
                let by_name = |scopes: &[String]| scopes.iter().map(|s| ScopePreview { scope: s.clone(), title: title(s), items: vec![] }).collect();
                match read.await {
                    Ok((owner, with_value)) => {
                        let none = Map::new();
                        let owner = owner.as_object().cloned().unwrap_or_default();
                        let with_value = with_value.and_then(|v| v.as_object().cloned()).unwrap_or_default();
                        let previews = scopes
                            .iter()
                            .map(|scope| ScopePreview {
                                scope: scope.clone(),
                                title: title(scope),
                                items: match scope.as_str() {
                                    "owner" => items(&owner, &none),
                                    "value" => items(&with_value, &owner),
                                    _ => vec![],
                                },
                            })
                            .collect();
                        PensionPreview { resource_id: resource.id.clone(), scheme: owner.get("schemeName").and_then(Value::as_str).map(String::from), scopes: previews, error: None }
                    }
                    Err(failure) => PensionPreview {
                        resource_id: resource.id.clone(),
                        scheme: resource.description.description.clone(),
                        scopes: by_name(&scopes),
                        error: Some(failure.plain(&provider)),
                    },
                }
            }
        });
        Ok(futures_util::stream::iter(reads).buffered(FIND_FANOUT).collect().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_field_reads_in_plain_words_with_the_owners_value() {
        let owner = json!({
            "schemeName": "Acme Staff DB",
            "dateOfBirth": "1970-03-14",
            "employmentMembershipPeriods": [{ "employerName": "Acme Manufacturing", "membershipStartDate": "1998-01-01", "membershipEndDate": "2012-06-30" }],
            "pensionAdministrator": { "name": "Acme Pensions", "contactMethods": [{ "email": "help@acme.example" }, { "phone": "0800 000 000" }] },
            "someNewField": true,
        });
        let mut with_value = owner.as_object().unwrap().clone();
        with_value.insert(
            "benefitIllustrations".into(),
            json!([{ "illustrationDate": "2026-04-05", "illustrationComponents": [{ "illustrationType": "ERI", "payableDetails": { "annualAmount": 9450 }, "dcPot": 120000 }] }]),
        );
        let owner = owner.as_object().unwrap();
        let details = items(owner, &Map::new());
        assert!(details.contains(&SharedItem { label: "Your date of birth".into(), value: "1970-03-14".into() }), "{details:?}");
        assert!(details.contains(&SharedItem { label: "Your employers and the dates you worked there".into(), value: "Acme Manufacturing (1998-01-01 to 2012-06-30)".into() }));
        assert!(details.contains(&SharedItem { label: "Who runs the pension, and how to contact them".into(), value: "Acme Pensions: help@acme.example, 0800 000 000".into() }));
        assert!(details.iter().any(|i| i.label == "some new field"), "a field with no words yet is still shown: {details:?}");
        let values = items(&with_value, owner);
        assert_eq!(values, vec![SharedItem { label: "Your pension's value: income estimates and pot size".into(), value: "£9,450 a year estimated, pot £120,000 (as at 2026-04-05)".into() }]);
    }
}
