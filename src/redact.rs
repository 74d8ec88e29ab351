//! Keeping the webhook secret out of everything the program writes. The webhook URL is
//! never printed, logged, stored or posted: error texts from the HTTP stack are scrubbed
//! with `Webhook::scrub` (config.rs), and text taken from the run's log, which is stored,
//! logged and posted, has every Mattermost hook URL cut to its scheme and host here.

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
pub(crate) fn redact_hook_urls(text: &str) -> String {
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
