//! Keeping the webhook secret out of everything the program writes. The webhook URL is
//! never printed, logged, stored or posted: error texts from the HTTP stack are scrubbed
//! with `Webhook::scrub` (config.rs), and text taken from the run's log, which is stored,
//! logged and posted, goes through a `Redactor`: every Mattermost hook URL is cut to its
//! scheme and host, and the configured webhook's own value, whatever its shape, is
//! removed (the whole URL, its path, its long path segments and query values).

use memchr::memmem;

/// Secret parts shorter than this are not looked for on their own (they would match
/// ordinary words); they are still removed as part of the URL or its path.
const MIN_SECRET: usize = 12;

/// Removes secrets from text taken from the log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// What to replace, longest first, with its searches built once (every line's text
    /// goes through them).
    secrets: Vec<Secret>,
}

#[derive(Debug, Clone)]
struct Secret {
    text: String,
    shown: String,
    /// How many of its first bytes are not secret (the server's address, at the start of
    /// the whole URL): a cut piece keeps them and must reach past them.
    keep: usize,
    whole: memmem::Finder<'static>,
    /// Its first and last `MIN_SECRET` bytes (or all of it when shorter).
    head: memmem::Finder<'static>,
    tail: memmem::Finder<'static>,
}

impl Secret {
    fn new(text: String, shown: String) -> Secret {
        let min = MIN_SECRET.min(text.len());
        let keep = if text.starts_with(&shown) {
            shown.len()
        } else {
            0
        };
        let b = text.as_bytes();
        Secret {
            whole: memmem::Finder::new(b).into_owned(),
            head: memmem::Finder::new(&b[..min]).into_owned(),
            tail: memmem::Finder::new(&b[b.len() - min..]).into_owned(),
            text,
            shown,
            keep,
        }
    }
}

impl Redactor {
    /// A redactor for the configured webhook `url` (`None`: hook URLs only).
    pub fn for_webhook(url: Option<&str>) -> Redactor {
        let Some(url) = url else {
            return Redactor::default();
        };
        let mut secrets = Vec::new();
        let shown = redact_url(url).unwrap_or_else(|| "…".into());
        secrets.push((url.to_string(), shown));
        if let Some(path_at) = url
            .find("://")
            .and_then(|i| url[i + 3..].find(['/', '?']).map(|j| i + 3 + j))
        {
            let rest = &url[path_at..];
            if rest.len() > 1 {
                secrets.push((rest.to_string(), "/…".into()));
            }
            let parts = rest.split(['/', '?', '&', '=', '#']);
            secrets.extend(
                parts
                    .filter(|p| p.len() >= MIN_SECRET)
                    .map(|p| (p.to_string(), "…".into())),
            );
        }
        secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let secrets = secrets
            .into_iter()
            .map(|(text, shown)| Secret::new(text, shown))
            .collect();
        Redactor { secrets }
    }

    /// `text` without hook URLs and without any part of the configured webhook; a text
    /// that ends in the beginning of a secret (a line cut in its middle) loses that end.
    pub fn redact(&self, text: &str) -> String {
        if self.secrets.is_empty() {
            return redact_hook_urls(text);
        }
        // The configured value first, exactly; then any other hook URL.
        let found = |s: &Secret, t: &str| s.whole.find(t.as_bytes()).is_some();
        let mut out = if self.secrets.iter().any(|s| found(s, text)) {
            let mut out = text.to_string();
            for secret in self.secrets.iter() {
                if found(secret, &out) {
                    out = out.replace(secret.text.as_str(), &secret.shown);
                }
            }
            redact_hook_urls(&out)
        } else {
            redact_hook_urls(text)
        };
        // A piece of a line (cut at the line cap, or one row of a wrapped name) can hold
        // the start or the end of a secret.
        for secret in &self.secrets {
            if let Some(at) = starts_secret_at(&out, secret) {
                out.truncate(at);
                out.push('…');
            }
            if let Some(end) = ends_secret_at(&out, secret) {
                out.replace_range(..end, "…");
            }
        }
        out
    }
}

/// Where `text` starts a piece that ends it and begins `secret` (at least `MIN_SECRET`
/// long, shorter than the whole secret, reaching past what the secret `keep`s), the
/// longest such piece first; the cut is after the part kept. Linear: only where the
/// secret's first bytes occur is a piece compared.
fn starts_secret_at(text: &str, secret: &Secret) -> Option<usize> {
    let s = secret.text.as_bytes();
    let from = text.len().saturating_sub(s.len() - 1);
    let hay = &text.as_bytes()[from..];
    secret
        .head
        .find_iter(hay)
        .map(|p| from + p)
        .find(|&at| {
            let piece = &text.as_bytes()[at..];
            text.is_char_boundary(at)
                && s.starts_with(piece)
                && piece.len() > secret.keep
                && &piece[secret.keep..] != b"/"
        })
        .map(|at| at + secret.keep)
}

/// Where a piece of `text` that starts it and ends `secret` (at least `MIN_SECRET` long,
/// shorter than the whole secret) ends, the longest such piece first.
fn ends_secret_at(text: &str, secret: &Secret) -> Option<usize> {
    let s = secret.text.as_bytes();
    let upto = text.len().min(s.len() - 1);
    let hay = &text.as_bytes()[..upto];
    let min = secret.tail.needle().len();
    secret
        .tail
        .find_iter(hay)
        .map(|p| p + min)
        .filter(|&end| text.is_char_boundary(end) && s.ends_with(&text.as_bytes()[..end]))
        .last()
}

/// `scheme://host[:port]` of a valid http(s) URL with a host, or `None`.
pub(crate) fn redact_url(url: &str) -> Option<String> {
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = uri.authority()?;
    let host = authority.host();
    if host.is_empty() {
        return None;
    }
    Some(match authority.port_u16() {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Redacts every Mattermost incoming-webhook URL (`scheme://host/hooks/<id>`) in `text` to
/// its scheme and host.
fn redact_hook_urls(text: &str) -> String {
    if memchr::memmem::find(text.as_bytes(), b"://").is_none() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let url_len = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
            .unwrap_or(after.len());
        let url = &after[..url_len];
        let host_len = url.find('/').unwrap_or(url.len());
        out.push_str(&rest[..i + 3]);
        if url[host_len..].contains("/hooks/") {
            out.push_str(&url[..host_len]);
        } else {
            out.push_str(url);
        }
        rest = &after[url_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_urls_in_text_are_redacted() {
        let cases = [
            (
                "post to https://chat.example.com/hooks/abc123 failed",
                "post to https://chat.example.com failed",
            ),
            (
                "x=http://10.0.0.5:8065/hooks/zz9 and https://docs.example.com/page",
                "x=http://10.0.0.5:8065 and https://docs.example.com/page",
            ),
            ("(https://h/hooks/a)", "(https://h)"),
            ("no urls here", "no urls here"),
            ("dangling ://", "dangling ://"),
        ];
        for (text, want) in cases {
            assert_eq!(redact_hook_urls(text), want, "{text}");
        }
    }

    #[test]
    fn the_configured_webhook_is_removed_whatever_its_shape() {
        let url = "http://127.0.0.1:8065/custom/Zq81secretHookValue?token=abcdefghijklmnop";
        let r = Redactor::for_webhook(Some(url));
        #[rustfmt::skip]
        let cases = [
            (format!("post to {url} failed"), "post to http://127.0.0.1:8065 failed"),
            ("path /custom/Zq81secretHookValue?token=abcdefghijklmnop here".into(), "path /… here"),
            ("the id Zq81secretHookValue alone".into(), "the id … alone"),
            ("token=abcdefghijklmnop".into(), "token=…"),
            ("cut at the end: Zq81secretHo".into(), "cut at the end: …"),
            ("1secretHookValue: the rest of a wrapped row".into(), "…: the rest of a wrapped row"),
            ("short words stay: custom token 127.0.0.1".into(), "short words stay: custom token 127.0.0.1"),
        ];
        for (text, want) in cases {
            let got = r.redact(&text);
            assert_eq!(got, want, "{text}");
            assert!(!got.contains("secretHook") && !got.contains("abcdefghijklmnop"));
        }
        let none = Redactor::for_webhook(None);
        assert_eq!(
            none.redact("https://h/hooks/abc and Zq81secretHookValue"),
            "https://h and Zq81secretHookValue"
        );
    }

    /// The server's address is not secret: a text ending with it, or with the whole
    /// webhook (redacted to it), keeps it; a text cut inside the webhook's path loses
    /// the path's piece.
    #[test]
    fn a_text_ending_with_the_servers_address_keeps_it() {
        let url = "https://chat.example.com/custom/abcdefghijklmnopqrstuvwxyz";
        let r = Redactor::for_webhook(Some(url));
        #[rustfmt::skip]
        let cases = [
            (format!("post failed: {url}"), "post failed: https://chat.example.com"),
            ("server is https://chat.example.com".into(), "server is https://chat.example.com"),
            ("see https://chat.example.com/".into(), "see https://chat.example.com/"),
            ("cut: https://chat.example.com/custom/abcdefgh".into(), "cut: https://chat.example.com…"),
            ("cut: https://chat.example.com/cu".into(), "cut: https://chat.example.com…"),
            ("hook: https://chat.example.com/hooks/abcdefgh".into(), "hook: https://chat.example.com"),
        ];
        for (text, want) in cases {
            assert_eq!(r.redact(&text), want, "{text}");
        }
        // With a userinfo or an upper-case scheme the address is not the URL's start: the
        // whole piece goes.
        let r = Redactor::for_webhook(Some("HTTPS://chat.example.com/custom/abcdefghijklmnop"));
        assert_eq!(r.redact("at HTTPS://chat.example.com/cus"), "at …");
    }

    #[test]
    fn urls_reduced_to_scheme_and_host() {
        for (url, want) in [
            (
                "https://chat.example.com/hooks/x",
                Some("https://chat.example.com"),
            ),
            ("HTTP://h:8065/hooks/x", Some("http://h:8065")),
            ("ftp://h/x", None),
            ("https://", None),
            ("http://h/ x", None),
        ] {
            assert_eq!(redact_url(url).as_deref(), want, "{url}");
        }
    }
}
