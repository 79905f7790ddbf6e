//! A person at the sign-in pages, scripted, for tests and the demo: what
//! someone does in their browser after their wallet opens the sign-in page.
//! It goes through the same pages and forms a person would, over HTTP.

use std::time::Duration;

/// A sign-in waiting for the one-time code.
pub struct AtCodePage {
    http: reqwest::Client,
    base: url::Url,
    session: String,
}

fn client() -> reqwest::Client {
    // The browser follows redirects; this person follows them by hand, so
    // that the last one (to the wallet's loopback listener) is a plain GET.
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(10)).build().expect("a client builds")
}

fn hidden_session(page: &str) -> Option<String> {
    let start = page.find(r#"name="session" value=""#)? + r#"name="session" value=""#.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

/// Opens the sign-in page and gives `email`: a code goes to that address.
pub async fn start(authorize_url: &str, email: &str) -> Result<AtCodePage, String> {
    let http = client();
    let base = url::Url::parse(authorize_url).map_err(|e| e.to_string())?;
    let page = http.get(authorize_url).send().await.map_err(|e| e.to_string())?;
    if !page.status().is_success() {
        return Err(format!("the sign-in page answered {}", page.status()));
    }
    let page = page.text().await.map_err(|e| e.to_string())?;
    let session = hidden_session(&page).ok_or("no sign-in form on the page")?;
    let login = base.join("/login").map_err(|e| e.to_string())?;
    let answer = http.post(login).form(&[("session", session.as_str()), ("email", email)]).send().await.map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("giving the email address answered {}", answer.status()));
    }
    Ok(AtCodePage { http, base, session })
}

impl AtCodePage {
    /// Enters the code, and follows the redirect back to the wallet.
    pub async fn enter(self, code: &str) -> Result<(), String> {
        let verify = self.base.join("/verify").map_err(|e| e.to_string())?;
        let answer = self.http.post(verify).form(&[("session", self.session.as_str()), ("code", code)]).send().await.map_err(|e| e.to_string())?;
        let location = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| format!("the code was not accepted (HTTP {})", answer.status()))?
            .to_string();
        let back = self.http.get(&location).send().await.map_err(|e| e.to_string())?;
        if !back.status().is_success() {
            return Err(format!("the wallet's page answered {}", back.status()));
        }
        Ok(())
    }
}
