//! Untrusted text of every hostile kind (issue 16's ten, and Markdown's), in every place of
//! every kind of post, whole and at the 300- and 4000-character cuts, as Mattermost shows
//! it: the layout stays the watcher's, nothing links, mentions, formats or is rewritten, and
//! each text is shown as it is (invisible characters aside), or cut with `…`.

use super::*;
use crate::heart::message::verbatim::visible;

const HOSTILE: &[&str] = &[
    // U+2424 becomes a line break in the web app; tabs and U+00A0 become spaces.
    "newline symbol␤# injected heading",
    "a␤> quote",
    "tpl␤# x",
    "tab\there and\u{a0}nbsp",
    // The web app's autolinker and marked's `<...>` autolinks.
    "http:evil.com",
    "https:/evil.com",
    "www1.evil.com",
    "mattermost:x",
    "tel:5551234",
    "mailto:x@evil.com",
    "evil.com/x",
    "my_cache.data/file",
    "<user@example.com>",
    "see https://phish.example/x or www.phish.example",
    // Channel links and hashtags, after escapes or not.
    "\\~town-square",
    "~town-square",
    "#hashtag",
    // Character references: mentions on older servers, hashtags (`#x40`).
    "&#64;channel",
    "&#x40;here",
    "&amp; &lt;b&gt;",
    // The server's rewrites.
    "<http://x.example|click>",
    "<!channel>",
    "<!here|x>",
    "<@U12345>",
    // Backslashes marked does not take as escapes.
    "C:\\Users\\qa",
    "=leading",
    "\\<",
    "back\\\\slash\\",
    // Emoticons.
    ":smile: :) :D :+1: :-( :/ :p",
    // Bidi controls left open.
    "\u{202E}reversed\u{202C} after",
    "\u{202B}rtl",
    "\u{2067}isolate",
    // A closing `#` run in a heading.
    "C#",
    "ends with ###",
    // Mentions and Markdown of every kind.
    "@channel please look",
    "ping @here and @all",
    "@alice",
    "a | b | c",
    "`code`",
    "```fence```",
    "``",
    // A span that ends with a backtick, text after it: no blank may be added.
    "`a` | b` c",
    "**bold** _it_ ~~del~~ [l](http://x) ![i](y) <b>h</b>",
    "> quote",
    "1. numbered",
    "- bullet",
    "# heading",
    "---",
    "    indented code",
];

/// Build names that are valid and still hostile to Markdown and the autolinker.
const NAMES: &[&str] = &["www.evil.com", "a._b_.c", "evil.com", "C.sharp", "x_y_z"];

/// `h`, and `h` repeated past 300 and past 4000 characters.
fn lengths(h: &str) -> [String; 3] {
    let n = h.chars().count().max(1);
    [h.to_string(), h.repeat(301 / n + 1), h.repeat(4001 / n + 1)]
}

/// `shown` shows `input` as it is (its visible characters), or cut with `…`.
fn assert_shows(shown: &str, input: &str, post: &str) {
    let v = visible(input);
    if v.is_empty() || shown.contains(&v) {
        return;
    }
    let head: String = v.chars().take(3).collect();
    assert!(
        shown.contains('…') && shown.contains(&head),
        "{input:?} is not shown as it is in {shown:?}\n{post}"
    );
}

/// A FAILED run with `h` in every place the log fills; built `name`.
fn everywhere(h: &str, name: &str) -> BuildState {
    let mut st = digest_run();
    st.build_name = name.into();
    st.log_file = format!("/root/logs/{h}");
    st.run.failures = vec![
        failure(h, Some(h), Some(h)),
        failure("b.cy.js", Some(h), Some("Error: e")),
        failure(h, None, Some(h)),
    ];
    st.run.flaky = vec![Flaky {
        spec: h.into(),
        title: h.into(),
        attempts: 2,
    }];
    st
}

fn hostile_triage(h: &str, name: &str) -> Triage {
    Triage::of_marks(
        vec![Mark::AlsoFailedIn(name.into()), Mark::New, Mark::New],
        vec![Fixed {
            build: name.into(),
            spec: h.into(),
            title: Some(h.into()),
        }],
    )
}

#[test]
fn hostile_text_is_shown_as_it_is_and_changes_nothing_else() {
    let mut posts = Vec::new();
    let mut expect = Vec::new();
    for (i, base) in HOSTILE.iter().enumerate() {
        let name = NAMES[i % NAMES.len()];
        for h in lengths(base) {
            let r = Request {
                template: Some(h.clone()),
                scope_description: Some(h.clone()),
                ..Request::new(name.into())
            };
            let t = hostile_triage(&h, name);
            let c = Context {
                host: &h,
                mention: Some("@qa-oncall"),
                triage: Some(&t),
                ..ctx(&r)
            };
            // The digest in every place; the failed specs and the reason without it; a
            // sub-run named by the log.
            let mut specs = finished(Status::Failed);
            specs.build_name = name.into();
            specs.run.failed_specs = vec![h.clone(), "b.cy.js".into()];
            let mut why = finished(Status::Failed);
            why.build_name = name.into();
            why.run.reason = Some(h.clone());
            let mut sub = finished(Status::Running);
            sub.build_name = name.into();
            sub.categorize = true;
            sub.planned_groups = vec!["linux".into(), h.clone()];
            sub.subruns.push(subrun(&h, everywhere(&h, name).run));
            for (st, target) in [
                (everywhere(&h, name), Target::Run),
                (specs, Target::Run),
                (why, Target::Run),
                (sub, Target::Subrun(0)),
            ] {
                posts.push(render(&st, target, &c).text);
                expect.push((h.clone(), name, target));
            }
        }
    }
    let shown = mattermost::show(&posts);
    for ((post, s), (h, name, target)) in posts.iter().zip(&shown).zip(&expect) {
        mattermost::assert_shown(post, s, Some("@qa-oncall"), &[]);
        // The layout is the watcher's: the heading, the table's rows, one item a failure.
        let heading = format!(":x: ATVM run FAILED · {name}");
        assert!(s.heading().starts_with(&heading), "{post}");
        if let Target::Subrun(_) = target {
            assert!(s.heading().contains(" · group 2 of 2: "), "{post}");
            assert_shows(s.heading(), h, post);
        }
        let rows = s.rows();
        let labels: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels, ["Template", "Scope", "Tests", "Duration"], "{post}");
        assert!(rows.iter().all(|r| r.len() == 2), "{post}");
        assert_shows(&rows[0][1], h, post);
        assert_shows(&rows[1][1], h, post);
        let footer = s.paragraphs().last().copied().unwrap_or("");
        assert!(footer.starts_with("Controller: "), "{post}");
        assert_shows(footer, h, post);
        // Whatever the digest shows of it, each failure is one item and shows `h` as it is.
        if let Some((_, items)) = s.section("Failed tests") {
            assert!(items.len() <= 3, "{items:?}\n{post}");
            for item in &items {
                assert_shows(item, h, post);
            }
        }
        if let Some((_, items)) = s.section("Why") {
            assert_eq!(items.len(), 1, "{post}");
            assert_shows(&items[0], h, post);
        }
    }
}

/// Each field at its cap, made of what costs most Markdown (`|` is six characters as a
/// reference): the status, the counts, the host and the log path are still there, whole.
#[test]
fn the_essentials_stay_whatever_the_fields_cost() {
    let nasty = "|<!".repeat(400);
    let r = Request {
        template: Some(nasty.clone()),
        config_family: Some(nasty.clone()),
        migration_style: Some(nasty.clone()),
        integration_plugin: Some(nasty.clone()),
        scope_description: Some(nasty.clone()),
        ..Request::new("b".into())
    };
    let mut st = everywhere(&nasty, "b");
    st.log_file = format!("/root/{}.log", "␤".repeat(400));
    st.run.failed_specs = (0..40).map(|i| format!("{nasty}{i}")).collect();
    let c = Context {
        mention: Some("@qa-oncall"),
        ..ctx(&r)
    };
    let m = render(&st, Target::Run, &c);
    let s = mattermost::check(&m.text, Some("@qa-oncall"), &[]);
    assert_eq!(s.rows().len(), 7, "{}", m.text);
    assert!(s.row("Tests").unwrap().starts_with("14 tests: 11 passed"));
    let footer = s.paragraphs().last().copied().unwrap();
    assert!(
        footer.starts_with("Controller: atvm-controller-01 · Log: /root/␤␤"),
        "{footer}"
    );
}
