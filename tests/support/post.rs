//! The post as Mattermost shows it (`atvm_run_watcher::testing::mattermost`: the real
//! marked 0.3.6 and a model of the web app and the server), with the layout rules every
//! post must keep (`parse_post`), what a failure's list item must say, and running a build
//! to its posts; shared by the digest and history tests.

use super::cypress::Failure;
use super::{FakeMattermost, Sandbox, Style, WAIT, wait_until};
use atvm_run_watcher::testing::mattermost::{self, Shown};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct Post {
    pub raw: String,
    pub shown: Shown,
}

/// The configured mention for the names allowed to be mentioned (`qa-oncall`).
fn mention_of(names: &[&str]) -> Option<String> {
    let m: Vec<String> = names.iter().map(|n| format!("@{n}")).collect();
    (!m.is_empty()).then(|| m.join(" "))
}

/// Checks the layout rules every post keeps (`mattermost::assert_shown`), and those of the
/// watcher's own layout: one table; no indented line; each `- ` line one list item, whose only
/// formatting is code spans (untrusted text), a cluster's leading `**N tests**` and the
/// links of `links` (known issues' urls) — no bold, emphasis or strike-through that text
/// from the log could have opened.
fn assert_layout(raw: &str, shown: &Shown, names: &[&str], links: &[&str]) {
    mattermost::assert_shown(raw, shown, mention_of(names).as_deref(), links);
    let fail = |what: String| panic!("{what}:\n{raw}\n--- shown as ---\n{}", shown.visible());
    let tables = shown.blocks.iter().filter(|b| b.kind == "table").count();
    if tables != 1 {
        fail(format!("{tables} tables: the table must stay one table"));
    }
    let items: Vec<_> = shown
        .blocks
        .iter()
        .filter(|b| b.kind == "list")
        .flat_map(|b| &b.items)
        .collect();
    if let Some(l) = raw.lines().find(|l| l.starts_with([' ', '\t'])) {
        fail(format!(
            "an indented line (it would continue a list item): {l:?}"
        ));
    }
    let dash_lines = raw.lines().filter(|l| l.starts_with("- ")).count();
    if items.len() != dash_lines {
        fail(format!(
            "{} list items for {dash_lines} `- ` lines",
            items.len()
        ));
    }
    for item in items {
        if item.text.contains('\n') {
            fail(format!("a list item spans two lines: {:?}", item.text));
        }
        let watchers = |(i, p): &(usize, &mattermost::Piece)| match p.marks.as_slice() {
            [] => true,
            [m] if m == "strong" => *i == 0 && cluster_size(&p.text).is_some(),
            [m] if m == "link" => p.kind == "code" && !links.is_empty(),
            _ => false,
        };
        if let Some((_, p)) = item.pieces.iter().enumerate().find(|p| !watchers(p)) {
            fail(format!(
                "formatting {:?} in a list item: {:?}",
                p.marks, p.text
            ));
        }
    }
}

/// `12` of a cluster's `12 tests`.
pub fn cluster_size(text: &str) -> Option<usize> {
    text.strip_suffix(" tests")?.parse().ok()
}

/// Shows `raw` as Mattermost does and checks the layout rules; `names` are the names the
/// configuration asked to mention (the only ones allowed to appear).
pub fn parse_post(raw: &str, names: &[&str]) -> Post {
    parse_posts(&[raw.to_string()], names).remove(0)
}

/// `parse_post` for several posts, shown by one node process.
pub fn parse_posts(raws: &[String], names: &[&str]) -> Vec<Post> {
    parse_posts_linking(raws, names, &[])
}

/// `parse_posts` where the known issues' `links` may appear.
pub fn parse_posts_linking(raws: &[String], names: &[&str], links: &[&str]) -> Vec<Post> {
    let shown = mattermost::show(raws);
    raws.iter()
        .zip(shown)
        .map(|(raw, shown)| {
            assert_layout(raw, &shown, names, links);
            Post {
                raw: raw.clone(),
                shown,
            }
        })
        .collect()
}

impl Post {
    /// The heading as shown.
    pub fn heading(&self) -> String {
        self.shown.heading().to_string()
    }

    /// The value cell of the table row labelled `label`.
    pub fn row(&self, label: &str) -> Option<String> {
        self.shown.row(label)
    }

    /// The paragraph starting with `prefix` and the list right after it, as shown.
    pub fn section(&self, prefix: &str) -> Option<(String, Vec<String>)> {
        let (head, items) = self.shown.section(prefix)?;
        assert!(
            !items.is_empty(),
            "{prefix:?} is not followed by a list:\n{}",
            self.raw
        );
        Some((head, items))
    }

    /// Everything shown, as text.
    pub fn text(&self) -> String {
        self.shown.visible()
    }

    /// The names mentioned anywhere in the post (without the `@`).
    pub fn mentions(&self) -> Vec<String> {
        let f = &self.shown.found;
        f.mentions
            .iter()
            .map(|m| m.trim_start_matches('@').to_string())
            .collect()
    }

    pub fn failed_tests(&self) -> (String, Vec<String>) {
        self.section("Failed tests")
            .unwrap_or_else(|| panic!("no **Failed tests** section:\n{}", self.raw))
    }

    /// Status, build, counts and host: what the digest may never push out.
    pub fn assert_essentials(&self, status: &str, build: &str) {
        self.assert_frame(status, build);
        assert!(self.row("Tests").is_some(), "no Tests row:\n{}", self.raw);
    }

    /// Status and build first, host last (a run without a summary table has no counts).
    pub fn assert_frame(&self, status: &str, build: &str) {
        let h = self.heading();
        assert!(
            h.contains(&format!("ATVM run {status}")) && h.contains(build),
            "heading {h:?}"
        );
        let last = self.shown.blocks.last().unwrap();
        assert!(
            last.kind == "paragraph"
                && last.text.contains("Controller:")
                && last.text.contains("Log:"),
            "the host line must end the post:\n{}",
            self.raw
        );
    }
}

// ---------------------------------------------------------------------------------------
// What the digest must say, from the fixture.

/// `item` reports failure `f` with `mark` (`new`, `also failed in <build>`) at its end.
pub fn assert_item(item: &str, f: &Failure, mark: &str) {
    assert!(
        item.starts_with(&f.spec),
        "{item:?} should start with {}",
        f.spec
    );
    if let Some(t) = &f.title {
        assert!(item.contains(t.as_str()), "{item:?} lacks the title {t:?}");
    }
    match &f.error {
        Some(e) if e.chars().count() <= 250 => {
            assert!(item.contains(e.as_str()), "{item:?} lacks the error {e:?}")
        }
        // Near its cap of 300 characters, the text may be cut in the post (its code
        // spans count too): then it ends with `…`.
        Some(e) => {
            let head: String = e.chars().take(200).collect();
            assert!(
                item.contains(&head) && (item.contains(e.as_str()) || item.contains('…')),
                "{item:?}: the error line, whole or cut with `…`"
            );
        }
        None => {
            let rest = item.replacen(&f.spec, "", 1).replace(mark, "");
            assert!(
                !rest.chars().any(char::is_alphanumeric),
                "{item:?}: a spec without a reason is listed by its name alone"
            );
        }
    }
    assert!(
        item.trim_end().ends_with(mark),
        "{item:?} should end with {mark:?}"
    );
}

/// The first items of `items` report `expected`, in log order, each marked `mark`.
pub fn assert_items(items: &[String], expected: &[Failure], mark: &str) {
    assert!(items.len() >= expected.len(), "{items:#?}");
    for (item, f) in items.iter().zip(expected) {
        assert_item(item, f, mark);
    }
}

// ---------------------------------------------------------------------------------------
// Running builds.

/// Writes the whole log, runs the watcher to its end, returns the posts it made.
pub fn finish(
    sb: &Sandbox,
    hook: &FakeMattermost,
    build: &str,
    lines: &[String],
    style: Style,
    args: &[&str],
    mentions: &[&str],
) -> Vec<Post> {
    let before = hook.received().len();
    sb.append_lines(build, lines, style);
    let mut w = sb.watch(hook, build, args);
    assert_eq!(w.code(), 0, "{build}: {}", w.stderr());
    let raws: Vec<String> = hook.received()[before..].iter().map(|r| r.text()).collect();
    parse_posts(&raws, mentions)
}

pub fn one(mut posts: Vec<Post>) -> Post {
    assert_eq!(posts.len(), 1, "{posts:#?}");
    posts.remove(0)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits for the next second, so that the next build finishes strictly later.
pub fn next_second() {
    let s = now_secs();
    wait_until("the next second", WAIT, || now_secs() > s);
}
