//! Delivery to the Mattermost incoming webhook: what a webhook is (`Webhook`, a secret
//! URL), what an answer means (delivered, worth a retry, permanent: `classify`, pure), and
//! `Poster::send`, the one place that talks HTTP (ureq, rustls, bundled Mozilla roots plus
//! the system CA bundle, `HTTPS_PROXY`/`NO_PROXY` from the environment). When to retry is
//! `heart::retry`.
//!
//! Error texts never hold the webhook URL: they are scrubbed to scheme and host.

use crate::data::caps::{BODY_HEAD, SHOWN_BODY};
use crate::data::names::VERSION;
use crate::heart::message::Message;
use crate::heart::redact::{Redactor, redact_url};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Mattermost incoming webhook. The URL is a secret: it is never printed, logged or
/// stored; `Debug` and `redacted()` show only its scheme and host.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    url: String,
    redacted: String,
    /// What the operator set it in (`MATTERMOST_ATVM_WEBHOOK`), for error messages.
    setting: &'static str,
    pub channel: Option<String>,
    pub username: Option<String>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.redacted)
            .field("channel", &self.channel)
            .field("username", &self.username)
            .finish()
    }
}

impl Webhook {
    /// A webhook at `url`, which must be an http:// or https:// URL, set in `setting`.
    pub fn new(
        url: &str,
        setting: &'static str,
        channel: Option<String>,
        username: Option<String>,
    ) -> Option<Webhook> {
        Some(Webhook {
            redacted: redact_url(url)?,
            url: url.to_string(),
            setting,
            channel,
            username,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, safe to print.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// What removes this webhook's secret from a text, whatever the text.
    pub fn redactor(&self) -> Redactor {
        Redactor::for_webhook(Some(&self.url))
    }

    /// Removes the secret from `text` (an error message from the HTTP stack, say).
    pub fn scrub(&self, text: &str) -> String {
        self.redactor().redact(text)
    }
}

/// The JSON body Mattermost expects.
#[derive(Debug, Clone, Serialize)]
struct Payload {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl Payload {
    fn new(message: Message, hook: &Webhook) -> Payload {
        Payload {
            text: message.text,
            channel: hook.channel.clone(),
            username: hook.username.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 200 with body `ok`.
    Delivered,
    /// Worth another attempt (after `after`, if the server said so).
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// Will not get better by retrying.
    Permanent(String),
}

/// `Retry-After` as delta-seconds. (The HTTP-date form is not used by Mattermost; it
/// falls back to the normal backoff.)
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Mattermost's error id and message from a JSON error body, e.g.
/// `web.incoming_webhook.invalid.app_error: Invalid webhook.`
fn error_detail(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let id = v.get("id").and_then(|x| x.as_str()).unwrap_or("");
    let msg = v.get("message").and_then(|x| x.as_str()).unwrap_or("");
    let d = [id, msg]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(": ");
    (!d.is_empty()).then_some(d)
}

fn short(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SHOWN_BODY)
        .collect();
    one_line.trim().to_string()
}

/// Classifies an HTTP answer by its status and the first bytes of its body (contract §6);
/// `setting` names where the webhook was set, for the hint about a hook that is unknown.
fn classify(status: u16, body: &str, retry_after: Option<&str>, setting: &str) -> Verdict {
    let detail = error_detail(body).unwrap_or_else(|| short(body));
    let what = if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {detail}")
    };
    match status {
        200 if body.trim() == "ok" => Verdict::Delivered,
        200 => Verdict::Permanent(format!("HTTP 200 without `ok` (body: {:?})", short(body))),
        408 | 500 | 502 | 503 | 504 => Verdict::Retry {
            why: what,
            after: None,
        },
        429 => Verdict::Retry {
            why: what,
            after: retry_after.and_then(parse_retry_after),
        },
        400 if detail.contains("incoming_webhook.invalid") => Verdict::Permanent(format!(
            "{what} (no such webhook: {setting} is wrong, or the hook was deleted)"
        )),
        501 => Verdict::Permanent(format!(
            "{what} (incoming webhooks are disabled on the server)"
        )),
        _ => Verdict::Permanent(what),
    }
}

/// The first `BODY_HEAD` bytes of an answer's body, as text; the rest is not read. An
/// error means the body ended before what the server announced.
fn read_head(body: &mut ureq::Body) -> std::io::Result<String> {
    use std::io::Read;
    let mut head = Vec::new();
    body.as_reader().take(BODY_HEAD).read_to_end(&mut head)?;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// PEM bundles of the system: `SSL_CERT_FILE`, else the Debian/Ubuntu, RHEL/Fedora and
/// SUSE locations.
const CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
];

fn root_certs(ca_file: Option<&Path>) -> ureq::tls::RootCerts {
    use ureq::tls::{Certificate, PemItem};
    let mut certs: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()))
        .collect();
    let bundle = ca_file
        .map(Path::to_path_buf)
        .into_iter()
        .chain(CA_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    if let Some(p) = bundle
        && let Ok(pem) = std::fs::read(&p)
    {
        let before = certs.len();
        for item in ureq::tls::parse_pem(&pem).flatten() {
            if let PemItem::Certificate(c) = item {
                certs.push(c);
            }
        }
        log::debug!(
            "TLS roots: bundled plus {} from {}",
            certs.len() - before,
            p.display()
        );
    }
    certs.into()
}

/// The HTTP client is built at the first post, not at start: a watcher spends almost all
/// its life waiting, and the client with its TLS roots (bundled plus the system bundle)
/// holds about 200 KiB per watcher (README.md, "Performance").
pub(crate) struct Poster {
    agent: std::sync::OnceLock<ureq::Agent>,
    timeout: Duration,
    /// A CA bundle trusted besides the built-in roots (`SSL_CERT_FILE`).
    ca_file: Option<PathBuf>,
    hook: Webhook,
}

impl Poster {
    pub fn new(hook: Webhook, timeout: Duration, ca_file: Option<PathBuf>) -> Poster {
        Poster {
            agent: std::sync::OnceLock::new(),
            timeout,
            ca_file,
            hook,
        }
    }

    fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| self.build_agent())
    }

    fn build_agent(&self) -> ureq::Agent {
        let timeout = self.timeout;
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(root_certs(self.ca_file.as_deref()))
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(format!("atvm-run-watcher/{VERSION}"))
            .tls_config(tls)
            .build();
        config.into()
    }

    /// One delivery attempt. A timeout after the request was sent is retried too: a rare
    /// duplicate is preferred to a lost result (README.md, "Delivery").
    pub fn send(&self, message: Message) -> Verdict {
        let payload = Payload::new(message, &self.hook);
        let body = match serde_json::to_string(&payload) {
            Ok(b) => b,
            Err(e) => return Verdict::Permanent(format!("cannot encode the message: {e}")),
        };
        let res = self
            .agent()
            .post(self.hook.url())
            .header("Content-Type", "application/json")
            .send(body.as_str());
        match res {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let text = match read_head(resp.body_mut()) {
                    Ok(t) => t,
                    // A 200 cut off: whether Mattermost took the post is unknown, which is
                    // retried like a timeout (a duplicate beats a lost result). Any other
                    // status says what it says whatever its body.
                    Err(e) if status == 200 => {
                        return Verdict::Retry {
                            why: self
                                .hook
                                .scrub(&format!("HTTP {status}, answer unreadable: {e}")),
                            after: None,
                        };
                    }
                    Err(_) => String::new(),
                };
                match classify(status, &text, retry_after.as_deref(), self.hook.setting) {
                    Verdict::Delivered => Verdict::Delivered,
                    Verdict::Retry { why, after } => Verdict::Retry {
                        why: self.hook.scrub(&why),
                        after,
                    },
                    Verdict::Permanent(why) => Verdict::Permanent(self.hook.scrub(&why)),
                }
            }
            Err(e) => Verdict::Retry {
                why: self
                    .hook
                    .scrub(&format!("{} unreachable: {e}", self.hook.redacted())),
                after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let invalid = r#"{"id":"web.incoming_webhook.invalid.app_error","message":"Invalid webhook.","detailed_error":"","request_id":"x","status_code":400}"#;
        let disabled = r#"{"id":"web.incoming_webhook.disabled.app_error","message":"Incoming webhooks have been disabled by the system admin.","status_code":501}"#;
        #[rustfmt::skip]
        let cases: Vec<(u16, &str, Option<&str>, Verdict)> = vec![
            (200, "ok", None, Verdict::Delivered),
            (200, "ok\n", None, Verdict::Delivered),
            (200, "", None, Verdict::Permanent("HTTP 200 without `ok` (body: \"\")".into())),
            (200, "<html>proxy login</html>", None, Verdict::Permanent("HTTP 200 without `ok` (body: \"<html>proxy login</html>\")".into())),
            (400, invalid, None, Verdict::Permanent("HTTP 400 web.incoming_webhook.invalid.app_error: Invalid webhook. (no such webhook: MATTERMOST_ATVM_WEBHOOK is wrong, or the hook was deleted)".into())),
            (400, "bad request", None, Verdict::Permanent("HTTP 400 bad request".into())),
            (401, "", None, Verdict::Permanent("HTTP 401".into())),
            (403, "Forbidden", None, Verdict::Permanent("HTTP 403 Forbidden".into())),
            (404, "", None, Verdict::Permanent("HTTP 404".into())),
            (501, disabled, None, Verdict::Permanent("HTTP 501 web.incoming_webhook.disabled.app_error: Incoming webhooks have been disabled by the system admin. (incoming webhooks are disabled on the server)".into())),
            (302, "", None, Verdict::Permanent("HTTP 302".into())),
            (418, "", None, Verdict::Permanent("HTTP 418".into())),
            (408, "", None, Verdict::Retry { why: "HTTP 408".into(), after: None }),
            (429, "", Some("7"), Verdict::Retry { why: "HTTP 429".into(), after: Some(Duration::from_secs(7)) }),
            (429, "", Some("Wed, 21 Oct 2026 07:28:00 GMT"), Verdict::Retry { why: "HTTP 429".into(), after: None }),
            (500, "", None, Verdict::Retry { why: "HTTP 500".into(), after: None }),
            (502, "bad gateway", None, Verdict::Retry { why: "HTTP 502 bad gateway".into(), after: None }),
            (503, "", None, Verdict::Retry { why: "HTTP 503".into(), after: None }),
            (504, "", None, Verdict::Retry { why: "HTTP 504".into(), after: None }),
        ];
        for (status, body, ra, want) in cases {
            assert_eq!(
                classify(status, body, ra, "MATTERMOST_ATVM_WEBHOOK"),
                want,
                "{status} {body}"
            );
        }
    }
}
