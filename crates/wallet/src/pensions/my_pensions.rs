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
use uma_as::id::{ClientId, ResourceId};
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

/// Who runs the pension for the provider, and how to reach them (PDP
/// `pensionAdministrator`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Administrator {
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Where the provider keeps more about the pension (PDP
/// `additionalDataSources`): an annual report, costs and charges…
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub url: String,
    /// PDP's code for what it holds, e.g. `SIP`, `ANR`, `C_AND_C`.
    #[serde(default)]
    pub information_type: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdministratorData {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    contact_methods: Vec<serde_json::Value>,
}

/// The PDP view data a provider serves for one pension.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PensionDetails {
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
    #[serde(default)]
    pension_administrator: Option<AdministratorData>,
    #[serde(default)]
    additional_data_sources: Vec<DataSource>,
}

/// A provider's answer to a view request.
#[derive(Deserialize)]
pub(super) struct ViewData {
    /// The provider's name for itself.
    #[serde(default)]
    pub provider: Option<String>,
    pub pension: serde_json::Value,
}

/// Why a pension could not be read just now.
#[derive(Debug, Clone)]
pub(super) enum ReadFailure {
    Unreachable(String),
    /// The provider or the wallet's own server did not allow the read.
    NoAccess(String),
    /// It answered with something that does not read as view data.
    Unreadable(String),
}

impl ReadFailure {
    pub(super) fn plain(&self, provider: &str) -> String {
        match self {
            ReadFailure::Unreachable(_) => format!("{provider} could not be reached just now."),
            ReadFailure::NoAccess(_) => format!("{provider} did not let your wallet read this pension just now."),
            ReadFailure::Unreadable(_) => format!("{provider} sent figures your wallet could not read."),
        }
    }

    fn technical(&self) -> &str {
        match self {
            ReadFailure::Unreachable(why) | ReadFailure::NoAccess(why) | ReadFailure::Unreadable(why) => why,
        }
    }
}

/// One pension as the owner sees it; `error` says why it could not be read.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PensionView {
    /// This wallet's id for the pension.
    pub resource_id: ResourceId,
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
    /// The date the newest illustration is "as at" (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures_as_at: Option<String>,
    /// Pounds a year built up so far (the accrued pension, `AP`), for a
    /// defined benefit pension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_up_annual_amount: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administrator: Option<Administrator>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DataSource>,
    /// The provider's name, as the owner knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    /// Why it could not be read just now, in plain words; the figures
    /// are then the last ones read, from `last_read_at`, and the totals
    /// leave them out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What failed, for the technical details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<String>,
    /// When these figures were read from the provider (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_at: Option<i64>,
}

impl PensionView {
    /// Takes in what the provider served.
    fn read(&mut self, details: PensionDetails, now: i64) {
        let components = || details.benefit_illustrations.iter().flat_map(|i| &i.illustration_components);
        let eri = components().filter(|c| c.illustration_type == "ERI");
        self.estimated_annual_income = Some(eri.map(|c| c.payable_details.annual_amount).sum());
        let accrued: Vec<u64> = components().filter(|c| c.illustration_type == "AP").map(|c| c.payable_details.annual_amount).collect();
        self.built_up_annual_amount = (!accrued.is_empty()).then(|| accrued.iter().sum());
        self.figures_as_at = details.benefit_illustrations.iter().filter_map(|i| i.illustration_date.clone()).max();
        self.administrator = details.pension_administrator.map(|a| {
            let contact = |key: &str| a.contact_methods.iter().find_map(|c| c[key].as_str().map(String::from));
            Administrator { email: contact("email"), phone: contact("phone"), name: a.name }
        });
        self.documents = details.additional_data_sources;
        self.scheme = details.scheme_name;
        self.pension_type = details.pension_type;
        self.retirement_date = details.retirement_date;
        self.employment = details.employment_membership_periods;
        self.illustrations = details.benefit_illustrations;
        self.last_read_at = Some(now);
    }

    /// Keeps the last figures read when this read failed.
    fn last_known(&mut self, known: PensionView) {
        self.scheme = known.scheme;
        self.pension_type = known.pension_type;
        self.estimated_annual_income = known.estimated_annual_income;
        self.retirement_date = known.retirement_date;
        self.employment = known.employment;
        self.illustrations = known.illustrations;
        self.figures_as_at = known.figures_as_at;
        self.built_up_annual_amount = known.built_up_annual_amount;
        self.administrator = known.administrator;
        self.documents = known.documents;
        self.last_read_at = known.last_read_at;
    }
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
    pub client_id: ClientId,
    /// Wallets before this one registered the client with a secret and
    /// used it over HTTP; its presence says the secret must be taken away.
    #[serde(default, rename = "client_secret", skip_serializing)]
    pub legacy_secret: Option<serde::de::IgnoredAny>,
}

impl Pensions {
    /// The wallet's own client, registered on first use, and a permit for
    /// it on each of the owner's pensions (one per pension, never a whole
    /// provider): the owner's own requests are never put to the owner.
    pub(super) async fn owner_client(&self, resources: &[Resource]) -> Result<Client, OwnerError> {
        let known = self.self_client.get(SELF_CLIENT_KEY)?.and_then(|stored| self.server.client(&stored.client_id));
        let client = match known {
            Some(client) => client,
            None => {
                let client = self.server.register_internal_client("This wallet (you)")?;
                self.self_client.insert(SELF_CLIENT_KEY, &SelfClient { client_id: client.client_id.clone(), legacy_secret: None })?;
                client
            }
        };
        let mine = |p: &uma_as::policy::Policy| p.party.client_id.as_ref() == Some(&client.client_id) && p.outcome == Outcome::Permit;
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
                    from_request: None,
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
    async fn fetch_view(&self, client: &Client, resource: &Resource, asset: &str) -> Result<(Option<String>, PensionDetails), ReadFailure> {
        let view = self.read_view(client, resource, asset, true).await?;
        let details = serde_json::from_value(view.pension).map_err(|e| ReadFailure::Unreadable(format!("unreadable view data: {e}")))?;
        Ok((view.provider, details))
    }

    /// The view data exactly as the provider serves it to the owner: with
    /// `include_value`, everything the `value` scope adds; without, only
    /// what the `owner` scope shows.
    pub(super) async fn read_view(&self, client: &Client, resource: &Resource, asset: &str, include_value: bool) -> Result<ViewData, ReadFailure> {
        let provider = &resource.resource_server;
        let url = if include_value { format!("{provider}/pensions/{asset}?include=value") } else { format!("{provider}/pensions/{asset}") };
        let first = self.http.get(&url).send().await.map_err(|e| ReadFailure::Unreachable(e.to_string()))?;
        if first.status().is_success() {
            return Err(ReadFailure::NoAccess("the provider served the pension without authorization".into()));
        }
        let header = first.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("");
        let challenge = UmaChallenge::find(header).ok_or_else(|| ReadFailure::NoAccess(format!("no UMA challenge (HTTP {})", first.status())))?;
        if challenge.as_uri.trim_end_matches('/') != self.server.config().issuer {
            return Err(ReadFailure::NoAccess(format!("protected by another authorization server ({})", challenge.as_uri)));
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
            Ok(GrantOutcome::NeedInfo(_) | GrantOutcome::Submitted(_)) => return Err(ReadFailure::NoAccess("the wallet's own permit is missing".into())),
            Err(e) => return Err(ReadFailure::NoAccess(e.to_string())),
        };
        let second = self.http.get(&url).bearer_auth(&rpt.access_token).send().await.map_err(|e| ReadFailure::Unreachable(e.to_string()))?;
        if !second.status().is_success() {
            return Err(ReadFailure::NoAccess(format!("refused with an RPT (HTTP {})", second.status())));
        }
        http_guard::outbound::json_capped(second, MAX_PROVIDER_ANSWER).await.map_err(|e| ReadFailure::Unreadable(format!("unreadable view data: {e}")))
    }

    /// The wallet's own client, if it has read the owner's pensions yet.
    pub fn own_client_id(&self) -> Option<ClientId> {
        self.self_client.get(SELF_CLIENT_KEY).ok().flatten().map(|c| c.client_id)
    }

    /// Every pension this wallet protects, read as the owner: values,
    /// estimated retirement income and employment periods, with totals.
    pub async fn my_pensions(&self) -> Result<MyPensions, OwnerError> {
        use futures_util::StreamExt;
        let entries = self.providers()?;
        let providers: Vec<String> = entries.iter().map(|p| p.url.clone()).collect();
        let provider_name = |url: &str| entries.iter().find(|p| p.url == url).and_then(|p| p.name.clone());
        let resources: Vec<_> = self.server.resources().into_iter().filter(|r| providers.iter().any(|p| r.resource_server == *p)).collect();
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
        let now = self.server.now();
        for (resource, pei, asset, fetched) in fetched_views {
            let named = provider_name(resource.resource_server.as_str());
            let mut view = PensionView {
                resource_id: resource.id,
                provider: resource.resource_server.into(),
                provider_resource_id: asset,
                match_status: match_status.get(&pei).cloned(),
                pei,
                scheme: None,
                pension_type: None,
                estimated_annual_income: None,
                retirement_date: None,
                employment: vec![],
                illustrations: vec![],
                figures_as_at: None,
                built_up_annual_amount: None,
                administrator: None,
                documents: vec![],
                error: None,
                error_detail: None,
                last_read_at: None,
                provider_name: named,
            };
            match fetched {
                Ok((said_name, details)) => {
                    view.provider_name = view.provider_name.or(said_name);
                    view.read(details, now);
                    let eri = view.illustrations.iter().flat_map(|i| &i.illustration_components).filter(|c| c.illustration_type == "ERI");
                    totals.dc_pots += eri.map(|c| c.dc_pot.unwrap_or(0)).sum::<u64>();
                    totals.estimated_annual_income += view.estimated_annual_income.unwrap_or(0);
                    // The figures the owner sees when the provider is down next time.
                    if let Err(e) = self.last_read.insert(&view.resource_id, &view) {
                        tracing::warn!(error = %e, "the figures read could not be kept");
                    }
                }
                Err(failure) => {
                    if let Some(known) = self.last_read.get(&view.resource_id)? {
                        view.provider_name = view.provider_name.or(known.provider_name.clone());
                        view.last_known(known);
                    }
                    view.error = Some(failure.plain(view.provider_name.as_deref().unwrap_or("The provider")));
                    view.error_detail = Some(failure.technical().to_string());
                }
            }
            pensions.push(view);
        }
        // A pension no longer protected here (moved away, its provider
        // removed) takes its last figures with it.
        for stale in self.last_read.raw().iter().keys().flatten() {
            if !pensions.iter().any(|p| p.resource_id.as_str().as_bytes() == stale.as_ref()) {
                self.last_read.remove(&stale)?;
            }
        }
        Ok(MyPensions { pensions, totals })
    }
}
