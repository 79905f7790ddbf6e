//! The provider's members and their pensions, loaded from a JSON fixture.
//! Field names follow the PDP view data (PensionArrangement) where they map.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Built-in fixtures, by name, so a newcomer can run two distinct providers.
pub const BUILT_IN: [(&str, &str); 2] =
    [("acme", include_str!("../fixtures/acme.json")), ("northwind", include_str!("../fixtures/northwind.json"))];

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Catalogue {
    pub provider_name: String,
    /// The scheme holder's GUID: the first part of every PeI issued here.
    pub holder_guid: String,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Member {
    pub given_name: String,
    pub family_name: String,
    /// ISO 8601 date.
    pub date_of_birth: String,
    pub nino: Option<String>,
    pub postcode: Option<String>,
    pub pensions: Vec<Pension>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Pension {
    pub asset_guid: String,
    pub scheme_name: String,
    /// AVC, CB, CDC, DB, DC, HYB, SP.
    pub pension_type: String,
    /// A (active), D (deferred), IP (in payment).
    pub pension_status: String,
    pub start_date: String,
    pub retirement_date: String,
    pub administrator: Administrator,
    pub employment: Vec<Employment>,
    pub illustrations: Vec<Illustration>,
    pub signposts: Vec<Signpost>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Administrator {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Employment {
    pub employer_name: String,
    /// C (current), H (historical).
    pub employer_status: String,
    pub start: String,
    #[serde(default)]
    pub end: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Illustration {
    pub illustration_date: String,
    /// ERI (estimated retirement income) or AP (accrued pension).
    pub illustration_type: String,
    pub benefit_type: String,
    pub calculation_method: String,
    pub annual_amount: u64,
    pub payable_date: String,
    #[serde(default)]
    pub dc_pot: Option<u64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Signpost {
    /// C_AND_C, SIP, IMP, ANR, SP.
    pub information_type: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a valid fixture: {1}")]
    Parse(String, serde_json::Error),
}

impl Catalogue {
    /// A built-in fixture by name, or a JSON file by path.
    pub fn load(name_or_path: &str) -> Result<Catalogue, FixtureError> {
        let text = match BUILT_IN.iter().find(|(name, _)| *name == name_or_path) {
            Some((_, text)) => text.to_string(),
            None => std::fs::read_to_string(name_or_path).map_err(|e| FixtureError::Read(name_or_path.into(), e))?,
        };
        serde_json::from_str(&text).map_err(|e| FixtureError::Parse(name_or_path.into(), e))
    }

    pub fn pei(&self, pension: &Pension) -> String {
        format!("urn:pei:{}:{}", self.holder_guid, pension.asset_guid)
    }
}

impl Pension {
    /// Each employer the pension was built up with, and the years: enough
    /// for its member to recognise it, and no more (no days, no status).
    pub fn employment_years(&self) -> Value {
        let year = |date: &str| date.get(..4).and_then(|y| y.parse::<u16>().ok());
        Value::Array(
            self.employment
                .iter()
                .map(|e| json!({ "employer": e.employer_name, "from": year(&e.start), "to": e.end.as_deref().and_then(year) }))
                .collect(),
        )
    }

    /// Regulation 24 administrative data and employment periods: what the
    /// `owner` scope shows.
    pub fn administrative_data(&self, catalogue: &Catalogue, member: &Member) -> Value {
        let mut contacts = Vec::new();
        if let Some(email) = &self.administrator.email {
            contacts.push(json!({ "email": email }));
        }
        if let Some(phone) = &self.administrator.phone {
            contacts.push(json!({ "phone": phone, "usage": ["M"] }));
        }
        json!({
            "pei": catalogue.pei(self),
            "schemeName": self.scheme_name,
            "pensionType": self.pension_type,
            "pensionStatus": self.pension_status,
            "startDate": self.start_date,
            "retirementDate": self.retirement_date,
            "dateOfBirth": member.date_of_birth,
            "pensionAdministrator": { "name": self.administrator.name, "contactMethods": contacts },
            "employmentMembershipPeriods": self.employment.iter().map(|e| json!({
                "employerName": e.employer_name,
                "employerStatus": e.employer_status,
                "membershipStartDate": e.start,
                "membershipEndDate": e.end,
            })).collect::<Vec<_>>(),
            "additionalDataSources": self.signposts.iter().map(|s| json!({ "url": s.url, "informationType": s.information_type })).collect::<Vec<_>>(),
        })
    }

    /// Benefit illustrations: what the `value` scope adds.
    pub fn value_data(&self) -> Value {
        json!(self
            .illustrations
            .iter()
            .map(|i| json!({
                "illustrationDate": i.illustration_date,
                "illustrationComponents": [{
                    "illustrationType": i.illustration_type,
                    "benefitType": i.benefit_type,
                    "calculationMethod": i.calculation_method,
                    "payableDetails": {
                        "amountType": "INC",
                        "annualAmount": i.annual_amount,
                        "monthlyAmount": (i.annual_amount as f64 / 12.0 * 100.0).round() / 100.0,
                        "payableDate": i.payable_date,
                    },
                    "dcPot": i.dc_pot,
                }],
            }))
            .collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_fixtures_load_and_make_peis() {
        for (name, _) in BUILT_IN {
            let catalogue = Catalogue::load(name).unwrap();
            let pension = &catalogue.members[0].pensions[0];
            let pei = catalogue.pei(pension);
            assert!(pei.starts_with("urn:pei:") && pei.ends_with(&pension.asset_guid), "{pei}");
            let admin = pension.administrative_data(&catalogue, &catalogue.members[0]);
            assert_eq!(admin["schemeName"], pension.scheme_name.as_str());
            assert!(admin.get("benefitIllustrations").is_none(), "value data is a separate scope");
        }
    }

    #[test]
    fn a_missing_fixture_file_is_a_clear_error() {
        assert!(matches!(Catalogue::load("/no/such/file.json"), Err(FixtureError::Read(..))));
    }
}
