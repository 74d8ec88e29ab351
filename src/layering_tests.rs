//! The house rules, checked on the source itself (`cargo test --lib layering`): the layers'
//! imports point down only and form no circle; every environment variable, status word
//! and cap is spelled once; the bytes → scanner → machine loop exists once. Test modules
//! are not looked at (a test may spell a value to check it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first (README.md, "Development").
const LAYERS: [&str; 6] = ["data", "heart", "edges", "settings", "commands", "testing"];

/// A source file: its module path under `src/` (`heart/matcher/classify.rs` →
/// `["heart", "matcher", "classify"]`) and its code, comments and test modules removed.
struct Source {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter(|p| {
            // Test modules: `tests.rs`, `*_tests.rs`, anything under a `tests/` directory.
            let name = p.file_name().unwrap().to_string_lossy();
            let in_tests = p.parent().is_some_and(|d| d.ends_with("tests"));
            name != "tests.rs" && !name.ends_with("_tests.rs") && !in_tests
        })
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap();
            let mut module: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            let code = without_tests(&without_comments(&fs::read_to_string(&p).unwrap()));
            Source {
                path: rel.to_path_buf(),
                module,
                code,
            }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // `//` inside a string (a URL) is kept: only a line's comment part goes.
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code before the file's test module (`#[cfg(test)]` then `mod tests`, by this
/// project's convention at the end of a file).
fn without_tests(code: &str) -> String {
    match code.find("#[cfg(test)]\nmod tests") {
        Some(i) => code[..i].to_string(),
        None => code.to_string(),
    }
}

/// Every module path a file names with `crate::` or `super::`, resolved, as
/// `(layer, module)`.
fn imports(src: &Source) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let code = &src.code;
    for (i, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let prev = code[..i].chars().next_back();
        if prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let path: Vec<&str> = code[i..]
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap()
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        let mut at: Vec<String> = src.module.clone();
        let mut rest = &path[..];
        if rest.first() == Some(&"crate") {
            at.clear();
            rest = &rest[1..];
        } else {
            // `super` of module `a::b::c` (`a/b/c.rs`, or `a/b/c/mod.rs`) is `a::b`.
            while rest.first() == Some(&"super") {
                at.pop();
                rest = &rest[1..];
            }
        }
        at.extend(rest.iter().map(|s| s.to_string()));
        if at.len() >= 2 && LAYERS.contains(&at[0].as_str()) {
            out.insert((at[0].clone(), at[1].clone()));
        }
    }
    out
}

fn layer_of(name: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| *l == name)
        .unwrap_or(LAYERS.len())
}

#[test]
fn layers_point_down() {
    let mut wrong = Vec::new();
    for src in sources() {
        let Some(own) = src.module.first() else {
            continue;
        };
        for (layer, module) in imports(&src) {
            if layer_of(&layer) > layer_of(own) {
                wrong.push(format!("{} uses {layer}::{module}", src.path.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn modules_form_no_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for src in sources() {
        if src.module.len() < 2 {
            continue;
        }
        let me = format!("{}::{}", src.module[0], src.module[1]);
        for (layer, module) in imports(&src) {
            let them = format!("{layer}::{module}");
            if them != me {
                graph.entry(me.clone()).or_default().insert(them);
            }
        }
    }
    // Depth-first search; a module met again on the current path closes a circle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(circle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("an import circle: {}", circle.join(" → "));
        }
    }
}

/// The string literals of a file's code.
fn literals(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find('"') {
        let after = &rest[i + 1..];
        let mut end = 0;
        let bytes = after.as_bytes();
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(after.len());
        out.push(&after[..end]);
        rest = &after[(end + 1).min(after.len())..];
    }
    out
}

/// Where `word` appears inside a string literal of the source.
fn spelled(word: &str) -> Vec<String> {
    sources()
        .iter()
        .flat_map(|s| {
            literals(&s.code)
                .into_iter()
                .filter(|l| l.contains(word))
                .map(|_| s.path.display().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn each_environment_variable_is_spelled_once() {
    for v in crate::settings::vars::ALL {
        assert_eq!(
            spelled(v.name),
            ["settings/vars.rs"],
            "{} must be spelled only where it is defined",
            v.name
        );
    }
}

#[test]
fn each_status_word_is_spelled_once() {
    use crate::data::status::{Shown, Status};
    let words = Status::ALL
        .iter()
        .map(|s| Shown::Status(*s))
        .chain([Shown::Starting, Shown::Damaged])
        .map(Shown::as_str);
    for w in words {
        let places: Vec<String> = sources()
            .iter()
            .flat_map(|s| {
                literals(&s.code)
                    .into_iter()
                    .filter(|l| *l == w)
                    .map(|_| s.path.display().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(places, ["data/status.rs"], "{w}");
    }
}

/// Caps are defined in `data/caps.rs` only, and used by name: no cap constant elsewhere,
/// no number given where a length or a count is cut.
#[test]
fn caps_are_defined_once_and_used_by_name() {
    let mut wrong = Vec::new();
    for s in sources() {
        // The fuzz property's own numbers (its input format) are no caps.
        if s.path == Path::new("data/caps.rs") || s.module[0] == "testing" {
            continue;
        }
        for line in s.code.lines() {
            let t = line.trim_start();
            let numeric = [": usize", ": u64", ": u32"]
                .iter()
                .any(|ty| t.contains(ty));
            let cap_const = t.contains("const ")
                && numeric
                && ["MAX_", "_CAP:", "SHOWN_"].iter().any(|p| t.contains(p));
            let cut_by_number = [".take(", "safe(", "capped(", "clip_escaped("]
                .iter()
                .filter_map(|f| t.find(f).map(|i| &t[i + f.len()..]))
                .any(|args| {
                    let last = args.split(')').next().unwrap_or("");
                    let arg = last.rsplit(',').next().unwrap_or("").trim();
                    !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit())
                });
            if cap_const || cut_by_number {
                wrong.push(format!("{}: {}", s.path.display(), t));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "caps outside data/caps.rs:\n{}",
        wrong.join("\n")
    );
}

/// Bytes go through the scanner and the machine in one place: the pipeline.
#[test]
fn the_pipeline_is_the_only_loop_from_bytes_to_the_machine() {
    let feeds: Vec<String> = sources()
        .iter()
        .filter(|s| s.code.contains("scanner.feed(") || s.code.contains("scanner.finish("))
        .map(|s| s.path.display().to_string())
        .collect();
    assert_eq!(feeds, ["heart/pipeline.rs"]);
}
