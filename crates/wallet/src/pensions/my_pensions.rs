//! The owner's own view of her pensions: each read through UMA like any
//! other client's, by the wallet's own client at its own authorization
//! server, and summed up.
//!
//! The view data follows the Pensions Dashboards Programme's data standard
//! (field names in camelCase as providers send them); only what the owner's
//! screens show is kept.

use super::offers::ListedResource;
use super::{Pensions, FIND_FANOUT, MAX_PROVIDER_ANSWER, SELF_CLIENT_KEY};
use crate::challenge::UmaChallenge;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uma_as::model::{Client, Resource};
use uma_as::owner::NewPolicy;
use uma_as::policy::{Outcome, PartyCondition, Target};
use uma_as::token::{ExpectedTicket, GrantOutcome, UmaGrantRequest};
use crate::OwnerError;

/// A period of employment that built up the pension (PDP
/// `employmentMembershipPeriods`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EmploymentPeriod {
    #[serde(default)]
    pub employer_name: Option<String>,
    #[serde(default)]
    pub employer_status: Option<String>,
    #[serde(default)]
    pub membership_start_date: Option<String>,
    #[serde(default)]
    pub membership_end_date: Option<String>,
}

/// What an illustrated benefit pays (PDP `payableDetails`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PayableDetails {
    #[serde(default)]
    pub amount_type: Option<String>,
    /// Whole pounds a year.
    pub annual_amount: u64,
    #[serde(default)]
    pub monthly_amount: Option<f64>,
    #[serde(default)]
    pub payable_date: Option<String>,
}

/// One illustrated benefit (PDP `illustrationComponents`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct IllustrationComponent {
    /// `ERI` (estimated retirement income) or `AP` (accrued pension).
    pub illustration_type: String,
    #[serde(default)]
    pub benefit_type: Option<String>,
    #[serde(default)]
    pub calculation_method: Option<String>,
    pub payable_details: PayableDetails,
    /// The pot a defined contribution pension would have, in pounds.
    #[serde(default)]
    pub dc_pot: Option<u64>,
}

/// A benefit illustration (PDP `benefitIllustrations`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BenefitIllustration {
    #[serde(default)]
    pub illustration_date: Option<String>,
    #[serde(default)]
    pub illustration_components: Vec<IllustrationComponent>,
}

/// The PDP view data a provider serves for one pension.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PensionDetails {
    #[serde(default)]
    scheme_name: Option<String>,
    #[serde(default)]
    pension_type: Option<String>,
    #[serde(default)]
    retirement_date: Option<String>,
    #[serde(default)]
    employment_membership_periods: Vec<EmploymentPeriod>,
    #[serde(default)]
    benefit_illustrations: Vec<BenefitIllustration>,
}

#[derive(Deserialize)]
struct ViewData {
    pension: PensionDetails,
}

/// One pension as the owner sees it; `error` says why it could not be read.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PensionView {
    /// This wallet's id for the pension.
    pub resource_id: String,
    pub provider: String,
    /// The provider's own id for it: what accepting and moving it name.
    pub provider_resource_id: String,
    pub pei: String,
    /// How well the provider matched the owner's details, when it said.
    pub match_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pension_type: Option<String>,
    /// Pounds a year, from the estimated retirement income illustrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_annual_income: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retirement_date: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub employment: Vec<EmploymentPeriod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub illustrations: Vec<BenefitIllustration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The sums over every pension read.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PensionTotals {
    /// Pounds a year.
    pub estimated_annual_income: u64,
    /// Pounds in defined contribution pots.
    pub dc_pots: u64,
}

/// Every pension this wallet protects, read as the owner.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct MyPensions {
    pub pensions: Vec<PensionView>,
    pub totals: PensionTotals,
}

/// The wallet's own client at its own authorization server: the owner
/// reads their pensions through UMA like any other client, but in-process,
/// with no secret that could travel anywhere.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct SelfClient {
    pub client_id: String,
    /// Wallets before this one registered the client with a secret and
    /// used it over HTTP; its presence says the secret must be taken away.
    #[serde(default, rename = "client_secret", skip_serializing)]
    pub legacy_secret: Option<serde::de::IgnoredAny>,
}

impl Pensions {
    /// The wallet's own client, registered on first use, and a permit for
    /// it on each of the owner's pensions (one per pension, never a whole
    /// provider): the owner's own requests are never put to the owner.
    async fn owner_client(&self, resources: &[Resource]) -> Result<Client, OwnerError> {
        let known = self.self_client.get(SELF_CLIENT_KEY)?.and_then(|stored| self.server.client(&stored.client_id));
        let client = match known {
            Some(client) => client,
            None => {
                let client = self.server.register_internal_client("This wallet (you)")?;
                self.self_client.insert(SELF_CLIENT_KEY, &SelfClient { client_id: client.client_id.clone(), legacy_secret: None })?;
                client
            }
        };
        let mine = |p: &uma_as::policy::Policy| p.party.client_id.as_deref() == Some(client.client_id.as_str()) && p.outcome == Outcome::Permit;
        let policies = self.server.policies();
        for whole_provider in policies.iter().filter(|p| mine(p) && matches!(p.target, Target::ResourceServer(_))) {
            self.server.remove_policy(&whole_provider.id).await?;
        }
        let mut added = false;
        for resource in resources {
            let target = Target::Resource(resource.id.clone());
            if !policies.iter().any(|p| mine(p) && p.target == target) {
                self.server.insert_policy(NewPolicy {
                    target,
                    scopes: vec![],
                    party: PartyCondition { client_id: Some(client.client_id.clone()), ..Default::default() },
                    valid_from: None,
                    valid_until: None,
                    outcome: Outcome::Permit,
                    description: Some("your own access through this wallet".into()),
                    grant_lifetime: None,
                })?;
                added = true;
            }
        }
        if added {
            self.server.flush().await?;
        }
        Ok(client)
    }

    /// One pension's view data through the normal UMA flow: a tokenless
    /// request, the provider's ticket, an RPT from this wallet's own
    /// authorization server (in-process: no credential of the wallet's ever
    /// goes over the network), the request again. The provider chooses the
    /// ticket, so the grant takes it only if it is this provider's ticket
    /// for exactly this pension: a provider cannot have the wallet fetch a
    /// token for another provider's pension and hand it over.
    async fn fetch_view(&self, client: &Client, resource: &Resource, asset: &str) -> Result<PensionDetails, String> {
        let provider = &resource.resource_server;
        let url = format!("{provider}/pensions/{asset}?include=value");
        let first = self.http.get(&url).send().await.map_err(|e| format!("unreachable: {e}"))?;
        if first.status().is_success() {
            return Err("the provider served the pension without authorization".into());
        }
        let header = first.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("");
        let challenge = UmaChallenge::find(header).ok_or_else(|| format!("no UMA challenge (HTTP {})", first.status()))?;
        if challenge.as_uri.trim_end_matches('/') != self.server.config().issuer {
            return Err(format!("protected by another authorization server ({})", challenge.as_uri));
        }
        let request = UmaGrantRequest {
            ticket: uma_as::secret::Secret::new(challenge.ticket),
            claim_token: None,
            claim_token_format: None,
            pct: None,
            rpt: None,
            scope: vec![],
        };
        let expected = ExpectedTicket { resource_server: provider, resource_id: &resource.id };
        let rpt = match self.server.uma_grant_expecting(client, request, Some(expected)).await {
            Ok(GrantOutcome::Issued(rpt)) => rpt,
            Ok(GrantOutcome::NeedInfo(_) | GrantOutcome::Submitted(_)) => return Err("no access: the wallet's own permit is missing".into()),
            Err(e) => return Err(format!("no access: {e}")),
        };
        let second = self.http.get(&url).bearer_auth(&rpt.access_token).send().await.map_err(|e| format!("unreachable: {e}"))?;
        if !second.status().is_success() {
            return Err(format!("refused with an RPT (HTTP {})", second.status()));
        }
        let view: ViewData = http_guard::outbound::json_capped(second, MAX_PROVIDER_ANSWER).await.map_err(|e| format!("unreadable view data: {e}"))?;
        Ok(view.pension)
    }

    /// Every pension this wallet protects, read as the owner: values,
    /// estimated retirement income and employment periods, with totals.
    pub async fn my_pensions(&self) -> Result<MyPensions, OwnerError> {
        use futures_util::StreamExt;
        let providers: Vec<String> = self.providers()?.into_iter().map(|p| p.url).collect();
        let resources: Vec<_> = self.server.resources().into_iter().filter(|r| providers.contains(&r.resource_server)).collect();
        let client = self.owner_client(&resources).await?;
        let fetches = resources.into_iter().map(|r| {
            let pei = r.description.name.clone().unwrap_or_default();
            let asset = pei.rsplit(':').next().unwrap_or_default().to_string();
            let client = client.clone();
            async move {
                let view = self.fetch_view(&client, &r, &asset).await;
                (r, pei, asset, view)
            }
        });
        // A few at a time: a provider may have registered many.
        let views = futures_util::stream::iter(fetches).buffered(FIND_FANOUT).collect::<Vec<_>>();
        // The providers' own listings say how well each pension matched the
        // owner's find data; asked at the same time as the views.
        let (fetched_views, listings) = futures_util::future::join(views, self.ask_all::<Vec<ListedResource>>(reqwest::Method::GET, "/resources")).await;
        let match_status: HashMap<String, String> = listings
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, answer)| answer.ok())
            .flatten()
            .filter_map(|r| Some((r.name?, r.match_status?)))
            .collect();
        let mut totals = PensionTotals::default();
        let mut pensions = Vec::new();
        for (resource, pei, asset, fetched) in fetched_views {
            let mut view = PensionView {
                resource_id: resource.id,
                provider: resource.resource_server,
                provider_resource_id: asset,
                match_status: match_status.get(&pei).cloned(),
                pei,
                scheme: None,
                pension_type: None,
                estimated_annual_income: None,
                retirement_date: None,
                employment: vec![],
                illustrations: vec![],
                error: None,
            };
            match fetched {
                Ok(details) => {
                    let eri = details.benefit_illustrations.iter().flat_map(|i| &i.illustration_components).filter(|c| c.illustration_type == "ERI");
                    let (income, pots) = eri.fold((0, 0), |(income, pots), c| (income + c.payable_details.annual_amount, pots + c.dc_pot.unwrap_or(0)));
                    totals.estimated_annual_income += income;
                    totals.dc_pots += pots;
                    view.estimated_annual_income = Some(income);
                    view.scheme = details.scheme_name;
                    view.pension_type = details.pension_type;
                    view.retirement_date = details.retirement_date;
                    view.employment = details.employment_membership_periods;
                    view.illustrations = details.benefit_illustrations;
                }
                Err(error) => view.error = Some(error),
            }
            pensions.push(view);
        }
        Ok(MyPensions { pensions, totals })
    }
}
