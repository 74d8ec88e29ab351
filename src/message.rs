//! The Mattermost message: Markdown, status and build first, then the request, counts,
//! duration, failed specs, host and log file. Under 4000 characters, so that no server
//! splits it. Text that comes from the log (or from the operator) is neutralised: it can
//! neither mention anybody nor break the layout.

use crate::config::Request;
use crate::machine::{BuildState, Target};
use crate::model::{Status, Tests};
use std::time::Duration;

/// Mattermost splits posts longer than this (its default `MaxPostSize` for webhooks).
pub const MAX_CHARS: usize = 4000;
const SHOWN_FAILED_SPECS: usize = 10;

/// Makes untrusted text safe to embed in a Markdown table cell or list item: one line,
/// inline Markdown punctuation escaped (and block syntax at its start), mentions
/// (`@channel`, `@here`, `@all`, `@user`) and Slack-style `<!channel>` / `<url|text>`
/// sequences broken with a zero-width space.
pub fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev = ' ';
    for c in text.trim().chars() {
        let c = if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        };
        if c == ' ' && prev == ' ' {
            continue;
        }
        match c {
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("\\<\u{200b}"),
            '@' => out.push_str("@\u{200b}"),
            _ => out.push(c),
        }
        prev = c;
    }
    // Block syntax only matters at the start: headings, quotes, lists, rules.
    let digits = out.chars().take_while(char::is_ascii_digit).count();
    if out.starts_with(['#', '>', '-', '+', '=']) {
        out.insert(0, '\\');
    } else if digits > 0 && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    }
    out.trim_end().to_string()
}

fn emoji(s: Status) -> &'static str {
    match s {
        Status::Completed => ":white_check_mark:",
        Status::Failed => ":x:",
        _ => ":grey_question:",
    }
}

fn counts(t: &Tests) -> String {
    format!(
        "{} tests: {} passed, {} failed, {} pending, {} skipped",
        t.total, t.passed, t.failed, t.pending, t.skipped
    )
}

/// Everything a message needs besides the state: the request and where it ran.
pub struct Context<'a> {
    pub request: &'a Request,
    pub host: &'a str,
}

/// Renders the post for `target` of `st`.
pub fn render(st: &BuildState, target: Target, ctx: &Context) -> String {
    let (status, tests, duration, failed, started, finished, heading_extra) = match target {
        Target::Run => (
            st.status,
            st.tests,
            st.duration.clone(),
            &st.failed_specs,
            st.started_at,
            st.finished_at,
            None,
        ),
        Target::Subrun(i) => {
            let s = &st.subruns[i];
            let total = st.planned_groups.len().max(st.subruns.len());
            let pos = if st.planned_groups.is_empty() {
                format!("group {}: {}", s.index, safe(&s.name, 120))
            } else {
                format!("group {} of {}: {}", s.index, total, safe(&s.name, 120))
            };
            (
                s.status,
                s.tests,
                s.duration.clone(),
                &s.failed_specs,
                s.started_at,
                s.finished_at,
                Some(pos),
            )
        }
    };
    let mut head = format!(
        "#### {} ATVM run {} · {}",
        emoji(status),
        status,
        st.build_name
    );
    if let Some(extra) = &heading_extra {
        head.push_str(&format!(" · {extra}"));
    }
    let mut rows: Vec<(&str, String)> = Vec::new();
    let r = ctx.request;
    for (label, v) in [
        ("Template", &r.template),
        ("Config family", &r.config_family),
        ("Migration style", &r.migration_style),
        ("Integration plugin", &r.integration_plugin),
        ("Scope", &r.scope_description),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            rows.push((label, safe(v, 300)));
        }
    }
    if let Some(t) = tests {
        rows.push(("Tests", counts(&t)));
    }
    let wall = match (started.or(Some(st.created_at)), finished) {
        (Some(a), Some(b)) => b.0.duration_since(a.0).ok(),
        _ => None,
    };
    match (duration, wall) {
        (Some(d), _) => rows.push(("Duration", safe(&d, 40))),
        (None, Some(w)) => rows.push((
            "Duration",
            humantime::format_duration(Duration::from_secs(w.as_secs())).to_string(),
        )),
        _ => {}
    }

    let footer = format!(
        "\nController: {} · Log: {}",
        safe(ctx.host, 100),
        safe(&st.log_file, 300)
    );
    let mut body = String::new();
    body.push_str(&head);
    body.push_str("\n\n| | |\n|:--|:--|\n");
    for (k, v) in &rows {
        body.push_str(&format!("| {k} | {v} |\n"));
    }
    if !failed.is_empty() {
        body.push_str(&format!("\n**Failed specs** ({}):\n", failed.len()));
        // The footer is kept whole: the specs get what room is left.
        let room = MAX_CHARS - 1 - footer.chars().count() - 40;
        let mut shown = 0;
        for spec in failed.iter().take(SHOWN_FAILED_SPECS) {
            let line = format!("- {}\n", safe(spec, 200));
            if body.chars().count() + line.chars().count() > room {
                break;
            }
            body.push_str(&line);
            shown += 1;
        }
        if shown < failed.len() {
            body.push_str(&format!("- … and {} more\n", failed.len() - shown));
        }
    }
    body.push_str(&footer);
    clip_escaped(body.trim_end().to_string(), MAX_CHARS - 1)
}

/// Untrusted text neutralised, then cut to at most `max` characters of output: escaping
/// can make a text several times longer, so the budget applies to what is posted.
fn safe(text: &str, max: usize) -> String {
    clip_escaped(neutralize(text), max)
}

/// At most `max` characters, with an ellipsis when cut, never cut inside an escape
/// (a lone `\` would escape the table's `|`; `@` or `<` without its zero-width space
/// would mention or link again).
fn clip_escaped(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    loop {
        let backslashes = out.chars().rev().take_while(|&c| c == '\\').count();
        if backslashes % 2 == 1 || out.ends_with('@') || out.ends_with('<') {
            out.pop();
        } else {
            break;
        }
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::SubrunState;
    use crate::model::Timestamp;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn at(s: u64) -> Timestamp {
        Timestamp(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s))
    }

    fn finished(status: Status) -> BuildState {
        let mut st = BuildState::new(
            "nightly-2026.11.22",
            false,
            "/root/cdc/tmp/nightly-2026.11.22.log",
            at(0),
        );
        st.status = status;
        st.started_at = Some(at(60));
        st.finished_at = Some(at(60 + 3723));
        st.tests = Some(Tests {
            total: 14,
            passed: 11,
            failed: 3,
            pending: 0,
            skipped: 0,
        });
        st
    }

    fn request() -> Request {
        Request {
            build_name: "nightly-2026.11.22".into(),
            template: Some("rhel9-to-ocp".into()),
            config_family: Some("vmware".into()),
            migration_style: Some("warm".into()),
            integration_plugin: Some("vddk".into()),
            scope_description: Some("full regression".into()),
            ..Default::default()
        }
    }

    fn ctx(r: &Request) -> Context<'_> {
        Context {
            request: r,
            host: "atvm-controller-01",
        }
    }

    #[test]
    fn status_and_build_come_first_then_the_details_in_order() {
        let mut st = finished(Status::Failed);
        st.failed_specs = vec!["migrate/windows.cy.js".into(), "rollback.cy.js".into()];
        let r = request();
        let m = render(&st, Target::Run, &ctx(&r));
        let first = m.lines().next().unwrap();
        assert_eq!(first, "#### :x: ATVM run FAILED · nightly-2026.11.22");
        let order = [
            "Template",
            "Config family",
            "Migration style",
            "Integration plugin",
            "Scope",
            "Tests",
            "Duration",
            "Failed specs",
            "Controller",
            "Log",
        ];
        let pos: Vec<usize> = order
            .iter()
            .map(|k| m.find(k).unwrap_or_else(|| panic!("{k} missing:\n{m}")))
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{m}");
        assert!(m.contains("14 tests: 11 passed, 3 failed, 0 pending, 0 skipped"));
        assert!(
            m.contains("1h 2m 3s"),
            "wall-clock duration when Cypress gave none:\n{m}"
        );
        assert!(m.contains("- migrate/windows.cy.js\n"), "{m}");
        assert!(
            m.contains(
                "Controller: atvm-controller-01 · Log: /root/cdc/tmp/nightly-2026.11.22.log"
            ),
            "{m}"
        );
    }

    #[test]
    fn completed_uses_cypress_duration_and_omits_empty_fields() {
        let mut st = finished(Status::Completed);
        st.duration = Some("12:41".into());
        let r = Request {
            build_name: "b".into(),
            template: Some("t".into()),
            ..Default::default()
        };
        let m = render(&st, Target::Run, &ctx(&r));
        assert!(m.starts_with("#### :white_check_mark: ATVM run COMPLETED · nightly-2026.11.22"));
        assert!(m.contains("| Duration | 12:41 |"));
        assert!(!m.contains("Config family"));
        assert!(!m.contains("Failed specs"));
    }

    #[test]
    fn subrun_position_is_in_the_heading() {
        let mut st = finished(Status::Running);
        st.categorize = true;
        st.planned_groups = vec!["linux".into(), "windows".into(), "bsd".into()];
        st.subruns.push(SubrunState {
            key: "02-windows".into(),
            name: "windows".into(),
            index: 2,
            status: Status::Completed,
            posted: false,
            post_pending: true,
            post_error: None,
            tests: Some(Tests {
                total: 3,
                passed: 3,
                ..Default::default()
            }),
            started_at: Some(at(10)),
            finished_at: Some(at(70)),
            duration: None,
            failed_specs: vec![],
            reason: None,
            progress: None,
            run_seen: true,
            opened_by_marker: true,
        });
        let r = request();
        let m = render(&st, Target::Subrun(0), &ctx(&r));
        assert_eq!(
            m.lines().next().unwrap(),
            "#### :white_check_mark: ATVM run COMPLETED · nightly-2026.11.22 · group 2 of 3: windows"
        );
        assert!(m.contains("3 tests: 3 passed"));
        assert!(m.contains("| Duration | 1m |"), "{m}");
    }

    #[test]
    fn untrusted_text_cannot_mention_or_break_layout() {
        let cases = [
            "@channel please look",
            "ping @here and @all",
            "<!channel> <!here|x> <https://evil|click>",
            "a | b | c",
            "line\nbreak\r\n# Heading",
            "**bold** _it_ `code` [link](http://x) ![img](y)",
            "> quote",
            "1. numbered",
            "- bullet",
        ];
        for bad in cases {
            let n = neutralize(bad);
            for forbidden in ["@channel", "@here", "@all", "<!", "\n", "\r"] {
                assert!(
                    !n.contains(forbidden),
                    "{bad:?} → {n:?} contains {forbidden:?}"
                );
            }
            let unescaped = |c: char| n.match_indices(c).any(|(i, _)| !n[..i].ends_with('\\'));
            for c in ['*', '_', '`', '[', ']', '|', '<', '~'] {
                assert!(!unescaped(c), "{bad:?} → {n:?}: unescaped {c:?}");
            }
            assert!(
                !n.starts_with(['#', '>', '-']) && !n.starts_with("1."),
                "{n}"
            );
        }
        let mut st = finished(Status::Failed);
        st.failed_specs = vec!["@channel | evil\n#### spec".into()];
        let r = Request {
            build_name: "b".into(),
            scope_description: Some("notify @all".into()),
            ..Default::default()
        };
        let m = render(&st, Target::Run, &ctx(&r));
        assert!(!m.contains("@channel") && !m.contains("@all"), "{m}");
        assert_eq!(
            m.lines().filter(|l| l.starts_with("####")).count(),
            1,
            "{m}"
        );
    }

    #[test]
    fn escaping_never_pushes_the_essentials_out() {
        // Every field at its limit, made of characters that escaping makes three times longer.
        let nasty = "<".repeat(400);
        let r = Request {
            build_name: "b".into(),
            template: Some(nasty.clone()),
            config_family: Some(nasty.clone()),
            migration_style: Some(nasty.clone()),
            integration_plugin: Some(nasty.clone()),
            scope_description: Some(nasty.clone()),
            ..Default::default()
        };
        let mut st = finished(Status::Failed);
        st.failed_specs = (0..40)
            .map(|i| format!("{}{i}", "@|`".repeat(100)))
            .collect();
        st.log_file = format!("/root/{}.log", "_".repeat(400));
        let m = render(&st, Target::Run, &ctx(&r));
        assert!(m.chars().count() < MAX_CHARS, "{} chars", m.chars().count());
        assert!(m.contains("| Tests | 14 tests: 11 passed, 3 failed"), "{m}");
        assert!(
            m.contains("\nController: atvm-controller-01 · Log: /root/"),
            "{m}"
        );
        for line in m.lines().filter(|l| l.starts_with("| ") && l.len() > 4) {
            assert!(line.ends_with(" |"), "a table row was cut: {line}");
            let backslashes = line[..line.len() - 2]
                .chars()
                .rev()
                .take_while(|&c| c == '\\')
                .count();
            assert_eq!(backslashes % 2, 0, "a cell ends in a lone escape: {line}");
        }
        assert!(
            !m.contains("@|") && !m.contains("@`"),
            "every @ keeps its zero-width space"
        );
    }

    #[test]
    fn clipping_never_splits_an_escape() {
        for max in 1..12 {
            let c = clip_escaped(neutralize("a<b@c|d\\e"), max);
            assert!(c.chars().count() <= max, "{max}: {c}");
            let body = c.trim_end_matches('…');
            let backslashes = body.chars().rev().take_while(|&ch| ch == '\\').count();
            assert_eq!(backslashes % 2, 0, "{max}: {c:?}");
            assert!(!body.ends_with('@') && !body.ends_with('<'), "{max}: {c:?}");
        }
    }

    #[test]
    fn stays_under_the_limit_with_many_long_failed_specs() {
        let mut st = finished(Status::Failed);
        st.failed_specs = (0..500)
            .map(|i| format!("{}_{i}.cy.js", "very_long_spec_name_".repeat(12)))
            .collect();
        let r = Request {
            scope_description: Some("x".repeat(5000)),
            ..request()
        };
        let m = render(&st, Target::Run, &ctx(&r));
        assert!(m.chars().count() < MAX_CHARS, "{} chars", m.chars().count());
        assert!(m.contains("more"), "{m}");
        let _ = SystemTime::now();
    }
}
