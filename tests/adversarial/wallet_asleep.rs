//! The owner's laptop asleep: the wallet process stopped (SIGSTOP), its
//! socket still accepting connections and nothing answering. A dashboard
//! holding a valid RPT still reads, because the provider checks the token
//! with the wallet's keys; a forged or ended token is refused there; and a
//! revocation takes effect at once while the wallet answers, and within
//! the token's lifetime at most while it does not.

use crate::harness::*;
use base64::Engine;
use serde_json::Value;

/// Seconds an RPT lasts at this wallet: short, so the test can outlive one.
const RPT_LIFETIME: &str = "20";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The same token with one character of its signature changed.
fn forged(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut signature: Vec<char> = signature.chars().collect();
    signature[10] = if signature[10] == 'A' { 'B' } else { 'A' };
    format!("{rest}.{}", signature.into_iter().collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_reads_while_the_wallet_sleeps_and_revocation_holds_within_the_tokens_lifetime() {
    let wallet = WalletProcess::start_with(&["--rpt-lifetime", RPT_LIFETIME]).await;
    let identity = IdentityProcess::start();
    let acme = ProviderProcess::start("acme", &[&wallet.issuer], &[&identity.url]);
    let offers = alice_with_acme(&wallet, &acme, &identity).await;
    let view = format!("{}/pensions/{}", acme.url, offers[0]["resource_id"].as_str().unwrap());
    let dashboard = register_client(&wallet, "Family dashboard").await;

    let rpt = approved_rpt(&wallet, &dashboard, &view).await;
    assert_eq!(read_status(&view, Some(&rpt)).await, 200);

    wallet.pause();
    assert_eq!(read_status(&view, Some(&rpt)).await, 200, "a valid RPT is checked at the provider while the wallet sleeps");
    assert_eq!(read_status(&view, Some(&rpt)).await, 200, "and again, without waiting on the wallet");
    assert_eq!(read_status(&view, Some(&forged(&rpt))).await, 403, "a forged RPT is refused, and no ticket can be had");
    assert_eq!(read_status(&view, None).await, 403, "no RPT: the wallet is needed for a ticket");
    wallet.resume();

    // Revoked while the wallet answers: refused as soon as the provider
    // asks it again (it leaves a wallet that did not answer alone for a
    // few seconds).
    revoke_everything(&wallet).await;
    let mut refused = None;
    for _ in 0..30 {
        match read_status(&view, Some(&rpt)).await {
            200 => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            status => {
                refused = Some(status);
                break;
            }
        }
    }
    assert_eq!(refused, Some(401), "the revoked RPT is refused once the wallet answers again");

    // Revoked just before the laptop sleeps: the provider cannot learn of
    // it, and refuses the token once it has ended.
    let rpt = approved_rpt(&wallet, &dashboard, &view).await;
    assert_eq!(read_status(&view, Some(&rpt)).await, 200);
    revoke_everything(&wallet).await;
    wallet.pause();
    let ends_at = claims(&rpt)["exp"].as_i64().unwrap();
    while now() <= ends_at {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(read_status(&view, Some(&rpt)).await, 403, "an ended RPT is refused without the wallet");
    wallet.resume();
}
