//! A post as Mattermost shows it, for the unit and the integration tests alike:
//! `tests/mattermost/show.js` runs the real marked 0.3.6 (the upstream of the web app's
//! fork) and a small model of what the web app and the server add (see that file), and
//! `Shown` is what it saw. `check` holds the rules every post of the watcher's keeps
//! (contract §6 v3): one heading, at most one table, lists of plain items, no quote, rule
//! or code block; no link, mention, channel link, hashtag, e-mail link or emoticon but the
//! watcher's own; nothing the server rewrites; under 4000 characters.
//!
//! It needs node and `tests/mattermost/node_modules` (`make test` installs them: `npm ci
//! --prefix tests/mattermost`); without them it panics with what to run.

use serde::Deserialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// One inline piece of a block: `text` or `code` (or `br`, `image`), inside `marks`
/// (`strong`, `em`, `del`, `link`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Piece {
    pub kind: String,
    pub text: String,
    pub marks: Vec<String>,
}

/// A cell or a list item: its pieces and their visible text.
#[derive(Debug, Clone, Deserialize)]
pub struct Inline {
    pub pieces: Vec<Piece>,
    pub text: String,
}

/// One block: `heading`, `paragraph`, `table`, `list`, or anything else marked made.
#[derive(Debug, Clone, Deserialize)]
pub struct Block {
    pub kind: String,
    #[serde(default)]
    pub level: u32,
    #[serde(default)]
    pub pieces: Vec<Piece>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub rows: Vec<Vec<Inline>>,
    #[serde(default)]
    pub ordered: bool,
    #[serde(default)]
    pub items: Vec<Inline>,
}

/// What the web app and the server would turn into something else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub links: Vec<String>,
    pub mentions: Vec<String>,
    pub channels: Vec<String>,
    pub emails: Vec<String>,
    pub hashtags: Vec<String>,
    pub emoticons: Vec<String>,
    pub server_mentions: Vec<String>,
}

/// A post as Mattermost shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Shown {
    /// Its length in characters (the server splits at runes).
    pub runes: usize,
    /// What the server rewrote before storing it.
    pub rewrites: Vec<String>,
    pub blocks: Vec<Block>,
    pub found: Found,
}

/// How the paragraph under the failed tests' heading on a dominant error starts.
pub const LEAD: &str = "Most failures share one error";

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mattermost")
}

/// Shows every post of `posts` (one node process for all).
pub fn show(posts: &[String]) -> Vec<Shown> {
    let dir = harness();
    assert!(
        dir.join("node_modules/marked/package.json").exists(),
        "marked 0.3.6 is not installed for the post checks: run `make test`, or `npm ci --prefix tests/mattermost`"
    );
    let mut child = Command::new("node")
        .arg(dir.join("show.js"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the post checks (make test installs it)");
    let input = serde_json::to_vec(posts).expect("posts encode");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(&input)
        .expect("node reads the posts");
    let out = child.wait_with_output().expect("node answers");
    assert!(out.status.success(), "tests/mattermost/show.js failed");
    serde_json::from_slice(&out.stdout).expect("show.js writes its JSON")
}

/// The emoji the watcher's headings use.
const OWN_EMOTICONS: [&str; 3] = ["x", "white_check_mark", "grey_question"];

impl Shown {
    /// The heading's visible text.
    pub fn heading(&self) -> &str {
        self.blocks
            .iter()
            .find(|b| b.kind == "heading")
            .map_or("", |b| b.text.as_str())
    }

    /// The table's rows (the empty head row left out), each as its cells' visible texts.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.blocks
            .iter()
            .filter(|b| b.kind == "table")
            .flat_map(|b| b.rows.iter().skip(1))
            .map(|r| r.iter().map(|c| c.text.clone()).collect())
            .collect()
    }

    /// The value of the table's row `label`.
    pub fn row(&self, label: &str) -> Option<String> {
        self.rows()
            .into_iter()
            .find(|r| r.first().is_some_and(|l| l == label))
            .and_then(|r| r.get(1).cloned())
    }

    /// The paragraphs' visible texts.
    pub fn paragraphs(&self) -> Vec<&str> {
        self.blocks
            .iter()
            .filter(|b| b.kind == "paragraph")
            .map(|b| b.text.as_str())
            .collect()
    }

    /// The list under the paragraph that starts with `head` (`Failed tests`): that
    /// paragraph's text and the items' visible texts.
    pub fn section(&self, head: &str) -> Option<(String, Vec<String>)> {
        let at = self.heading_of(head)?;
        let items = self
            .list_after(at)
            .map(|b| b.items.iter().map(|i| i.text.clone()).collect())
            .unwrap_or_default();
        Some((self.blocks[at].text.clone(), items))
    }

    /// The items of the section `head` as their pieces.
    pub fn section_pieces(&self, head: &str) -> Vec<Vec<Piece>> {
        let list = self.heading_of(head).and_then(|at| self.list_after(at));
        list.map(|b| b.items.iter().map(|i| i.pieces.clone()).collect())
            .unwrap_or_default()
    }

    fn heading_of(&self, head: &str) -> Option<usize> {
        self.blocks
            .iter()
            .position(|b| b.kind == "paragraph" && b.text.starts_with(head))
    }

    /// The list right after block `at`, or after its one lead paragraph (the failed tests'
    /// `Most failures share one error`).
    fn list_after(&self, at: usize) -> Option<&Block> {
        match (self.blocks.get(at + 1), self.blocks.get(at + 2)) {
            (Some(b), _) if b.kind == "list" => Some(b),
            (Some(p), Some(b))
                if p.kind == "paragraph" && p.text.starts_with(LEAD) && b.kind == "list" =>
            {
                Some(b)
            }
            _ => None,
        }
    }

    /// Every code span's text, in order: what came from outside the watcher.
    pub fn code(&self) -> Vec<String> {
        let inlines = self.blocks.iter().flat_map(|b| {
            let rows = b.rows.iter().flatten();
            let items = b.items.iter();
            std::iter::once(&b.pieces)
                .chain(rows.map(|c| &c.pieces))
                .chain(items.map(|i| &i.pieces))
        });
        inlines
            .flatten()
            .filter(|p| p.kind == "code")
            .map(|p| p.text.clone())
            .collect()
    }

    /// The whole post's visible text, a line per block (cells joined with ` | `).
    pub fn visible(&self) -> String {
        let mut lines = Vec::new();
        for b in &self.blocks {
            match b.kind.as_str() {
                "table" => lines.extend(b.rows.iter().map(|r| {
                    let cells: Vec<&str> = r.iter().map(|c| c.text.as_str()).collect();
                    cells.join(" | ")
                })),
                "list" => lines.extend(b.items.iter().map(|i| format!("- {}", i.text))),
                _ => lines.push(b.text.clone()),
            }
        }
        lines.join("\n")
    }
}

/// Shows `post` and checks the rules every post keeps; `mention` is the configured
/// `MATTERMOST_ATVM_MENTION_ON_FAILURE` (its names are the only mentions allowed), `links`
/// the only link targets allowed (a known issue's).
pub fn check(post: &str, mention: Option<&str>, links: &[&str]) -> Shown {
    let shown = show(&[post.to_string()]).remove(0);
    assert_shown(post, &shown, mention, links);
    shown
}

/// The rules of `check`, for a post already shown.
pub fn assert_shown(post: &str, shown: &Shown, mention: Option<&str>, links: &[&str]) {
    let fail = |what: &str| panic!("{what}:\n{post}\n--- shown as ---\n{}", shown.visible());
    if shown.runes >= 4000 {
        fail(&format!("{} characters", shown.runes));
    }
    if !shown.rewrites.is_empty() {
        fail(&format!("the server rewrites {:?}", shown.rewrites));
    }
    let kinds: Vec<&str> = shown.blocks.iter().map(|b| b.kind.as_str()).collect();
    if kinds.first() != Some(&"heading") || shown.blocks[0].level != 4 {
        fail("the first block is not the #### heading");
    }
    if kinds.iter().filter(|k| **k == "heading").count() != 1 {
        fail("more than one heading");
    }
    if kinds.iter().filter(|k| **k == "table").count() > 1 {
        fail("more than one table");
    }
    if let Some(other) = kinds
        .iter()
        .find(|k| !["heading", "paragraph", "table", "list"].contains(k))
    {
        fail(&format!("a {other} block"));
    }
    if shown.blocks.iter().any(|b| b.kind == "list" && b.ordered) {
        fail("an ordered list");
    }
    let allowed: Vec<String> = mention
        .into_iter()
        .flat_map(|m| m.split([',', ' ']))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    let f = &shown.found;
    for m in f.mentions.iter().chain(&f.server_mentions) {
        if !allowed.contains(m) {
            fail(&format!("a mention {m}"));
        }
    }
    if let Some(l) = f.links.iter().find(|l| !links.contains(&l.as_str())) {
        fail(&format!("a link {l}"));
    }
    for (what, list) in [
        ("a channel link", &f.channels),
        ("an e-mail link", &f.emails),
        ("a hashtag", &f.hashtags),
    ] {
        if let Some(x) = list.first() {
            fail(&format!("{what} {x}"));
        }
    }
    if let Some(e) = f
        .emoticons
        .iter()
        .find(|e| !OWN_EMOTICONS.contains(&e.as_str()))
    {
        fail(&format!("an emoticon {e}"));
    }
}
