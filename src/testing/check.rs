//! The chunking property, shared by the fuzz target (`fuzz/fuzz_targets/chunking.rs`) and
//! the test that replays its saved corpus in CI (the integration tests' `fuzz_corpus`), so
//! both check exactly the same thing. The log goes through the program's one pipeline
//! (`heart::pipeline`). Not part of the program's interface.
//!
//! For any bytes and any chunking: the scanner never panics, keeps its buffers, event
//! texts and a run's digest (failures, flaky tests, spec rows) bounded, and gives the same
//! events (the digest's included) and the same resume offset as when the bytes
//! come in one piece; a `Machine` fed those events (per chunk, as the watch loop does)
//! ends in the same state and decides the same posts, never one twice. The fast paths are
//! checked against plain references too: the one-pass rule search against every rule
//! searching on its own, and `strip_ansi` against a byte-at-a-time version.
//!
//! Input layout (so that the fuzzer chooses the chunking directly):
//! `[flags] [n] [n × u16 LE cut points] [log bytes]`; flags bit 0: categorized,
//! bit 1: custom rules, bit 2: one byte at a time instead of the cuts, bit 3: custom rules
//! whose strings overlap (the other search path).

use crate::data::build_state::{BuildState, Target};
use crate::data::caps::{
    BUILD_MAX_FAILURES, BUILD_MAX_FLAKY, BUILD_MAX_SPECS, LINE_CAP, MAX_FAILED_SPECS, MAX_FAILURES,
    MAX_FLAKY, MAX_GROUPS, MAX_SPECS,
};
use crate::data::names::BuildName;
use crate::data::run::RunRecord;
use crate::data::time::Timestamp;
use crate::heart::machine::{Machine, Step, Timeouts};
use crate::heart::matcher::{Bytes, Event, Scanner, escape_end, strip_ansi};
use crate::heart::pipeline::Pipeline;
use crate::heart::redact::Redactor;
use crate::heart::rules::Rules;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// A decoded input.
#[derive(Debug)]
pub struct Case<'a> {
    pub categorize: bool,
    pub custom_rules: bool,
    pub overlapping_rules: bool,
    pub bytewise: bool,
    /// Chunk boundaries in the log, ascending, possibly repeated (empty chunks).
    pub cuts: Vec<usize>,
    pub log: &'a [u8],
}

impl<'a> Case<'a> {
    pub fn decode(data: &'a [u8]) -> Case<'a> {
        let flags = data.first().copied().unwrap_or(0);
        let n = data.get(1).copied().unwrap_or(0) as usize;
        let head = (2 + 2 * n).min(data.len());
        let log = &data[head..];
        let mut cuts: Vec<usize> = data[2.min(data.len())..head]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize % (log.len() + 1))
            .collect();
        cuts.sort_unstable();
        Case {
            categorize: flags & 1 != 0,
            custom_rules: flags & 2 != 0,
            overlapping_rules: flags & 8 != 0,
            bytewise: flags & 4 != 0,
            cuts,
            log,
        }
    }

    /// The encoding of a log with the given flags and cut points (seeds, tests).
    pub fn encode(flags: u8, cuts: &[u16], log: &[u8]) -> Vec<u8> {
        let mut v = vec![flags, cuts.len().min(255) as u8];
        for c in cuts.iter().take(255) {
            v.extend_from_slice(&c.to_le_bytes());
        }
        v.extend_from_slice(log);
        v
    }

    fn chunks(&self) -> Vec<&'a [u8]> {
        if self.bytewise {
            return self.log.chunks(1).collect();
        }
        let mut out = Vec::with_capacity(self.cuts.len() + 1);
        let mut at = 0;
        for &c in &self.cuts {
            out.push(&self.log[at..c]);
            at = c;
        }
        out.push(&self.log[at..]);
        out
    }
}

/// Rules other than the defaults: non-ASCII anchors, an anchor that is the whole string,
/// a count pattern of another shape.
fn custom_rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        Rules::from_json(
            r#"{
                "run_starting": ["▶ start of run", "(Run Starting)"],
                "terminated_lines": ["Aborted by operator", "Killed"],
                "terminated_contains": ["☠"],
                "all_passed": ["Everything green"],
                "some_failed": ["failures: {n}/{m}", "{n} of {m} failed"],
                "progress": ["Spec:"],
                "group_end": ["<<END>>"]
            }"#,
            "check",
        )
        .expect("the custom rules are valid")
    })
}

/// Rules whose strings overlap (`ATVM_` inside `ATVM_GROUPS:`, `Run` ending `Killed Run`).
fn overlapping_rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        Rules::from_json(
            r#"{
                "terminated_contains": ["unexpectedly exited", "ATVM_", "Killed Run"],
                "run_starting": ["Run Starting", "Running"],
                "group_start": ["ATVM_GROUP_START:", "START: "]
            }"#,
            "check",
        )
        .expect("the overlapping rules are valid")
    })
}

fn default_rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(Rules::default)
}

fn bounded_text(s: &str, cap: usize) {
    assert!(
        s.chars().count() <= cap,
        "an event's text is longer than its cap {cap}: {} chars",
        s.chars().count()
    );
}

/// Event texts come from the log: each is capped, and so are the lists.
fn assert_bounded(ev: &Event) {
    ev.texts().iter().for_each(|&(s, cap)| bounded_text(s, cap));
    if let Event::Groups { names, .. } = ev {
        assert!(names.len() <= MAX_GROUPS, "{} planned groups", names.len());
    }
    if let Event::RunResult(r) = ev {
        assert!(
            r.failed_specs.len() <= MAX_FAILED_SPECS,
            "{}",
            r.failed_specs.len()
        );
        assert!(r.specs.len() <= MAX_SPECS, "{}", r.specs.len());
    }
}

fn assert_scanner_bounded(s: &Scanner) {
    let m = s.memory();
    assert!(m.carry <= LINE_CAP, "carry holds {}", m.carry);
    assert!(
        m.carry_capacity <= 2 * LINE_CAP,
        "carry grew to {}",
        m.carry_capacity
    );
    assert!(
        m.line_capacity <= 2 * LINE_CAP,
        "line buffer grew to {}",
        m.line_capacity
    );
    assert!(m.table_rows <= MAX_SPECS, "{} table rows", m.table_rows);
    assert!(m.table_more_failed <= MAX_FAILED_SPECS);
}

/// Whatever the log holds, a run's digest stays within its caps.
fn assert_digest_bounded(st: &BuildState) {
    let total = |f: fn(&RunRecord) -> usize| st.subruns.iter().map(|s| f(&s.run)).sum::<usize>();
    assert!(total(|r| r.specs.len()) <= BUILD_MAX_SPECS);
    assert!(total(|r| r.failures.len()) <= BUILD_MAX_FAILURES);
    assert!(total(|r| r.flaky.len()) <= BUILD_MAX_FLAKY);
    for run in std::iter::once(&st.run).chain(st.subruns.iter().map(|s| &s.run)) {
        assert!(run.specs.len() <= MAX_SPECS, "{} specs", run.specs.len());
        assert!(
            run.failures.len() <= MAX_FAILURES,
            "{} failures",
            run.failures.len()
        );
        assert!(
            run.spec_errors.len() <= MAX_FAILURES,
            "{} spec errors",
            run.spec_errors.len()
        );
        assert!(run.flaky.len() <= MAX_FLAKY, "{} flaky", run.flaky.len());
    }
}

/// What one way of feeding decided.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<Event>,
    resume_offset: u64,
    position: u64,
    state: BuildState,
    posts: Vec<Target>,
}

/// The plain version `strip_ansi` must agree with: byte by byte, no block copies and no
/// search for the next ESC/CR (the escape sequences themselves end where `escape_end` says).
fn strip_ansi_reference(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0x1b => i = escape_end(raw, i),
            b'\r' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn machine(case: &Case, now: SystemTime) -> Machine {
    let name = BuildName::new("fuzz").expect("a valid name");
    let timeouts = Timeouts {
        start: Duration::from_secs(1800),
        hung: Some(Duration::from_secs(7200)),
        fatal_grace: Duration::from_secs(60),
    };
    let state = BuildState::new(&name, case.categorize, "/tmp/fuzz.log", Timestamp(now));
    Machine::new(state, timeouts)
}

/// The posts decided, each once; then, the log at rest, every post delivered and the hung
/// timeout (and the grace after a fatal error) passed.
fn settle(p: &mut Pipeline, log: &[u8], mut posts: Vec<Target>, now: SystemTime) -> Vec<Target> {
    p.at_rest(&Bytes(log));
    let mut unique = posts.clone();
    unique.sort_by_key(|t| match t {
        Target::Run => 0,
        Target::Subrun(i) => i + 1,
    });
    unique.dedup();
    assert_eq!(
        unique.len(),
        posts.len(),
        "a post was decided twice: {posts:?}"
    );
    for &t in &posts {
        p.machine.delivered(t, now);
    }
    posts.extend(p.tick(now + Duration::from_secs(7201)).posts);
    posts
}

fn feed(case: &Case, rules: &Rules, chunks: &[&[u8]], one_pass: bool) -> Outcome {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scanner = Scanner::new(rules, Redactor::default());
    scanner.set_one_pass(one_pass);
    let mut p = Pipeline::new(scanner, machine(case, now));
    let mut posts = p.opened(0, 0, now, now).posts;
    let mut events = Vec::new();
    let mut on = |ev: &Event, step: Step| {
        assert_bounded(ev);
        events.push(ev.clone());
        posts.extend(step.posts);
    };
    let mut read = 0;
    for chunk in chunks {
        // What the file holds once this chunk is written.
        read += chunk.len();
        let log = Bytes(&case.log[..read]);
        p.machine.activity(now, now);
        p.feed(chunk, &log, now, &mut on);
        // The watch looks at what the log rests on after each read; it decides nothing yet.
        p.at_rest(&log);
        assert_scanner_bounded(&p.scanner);
    }
    let resume_offset = p.scanner.resume_offset();
    let position = p.scanner.position();
    p.finish(&Bytes(case.log), now, &mut on);
    let posts = settle(&mut p, case.log, posts, now);
    Outcome {
        events,
        resume_offset,
        position,
        state: p.machine.state,
        posts,
    }
}

/// The same log read by a watcher stopped after `cut` bytes and started again from the
/// offset (and boundary) it would have saved, with the state it had: it must end as the
/// uninterrupted one, deciding no post twice.
fn restarted(case: &Case, rules: &Rules, cut: usize) -> (BuildState, Vec<Target>) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut first = Pipeline::new(Scanner::new(rules, Redactor::default()), machine(case, now));
    let mut posts = first.opened(0, 0, now, now).posts;
    let mut on = |_: &Event, step: Step| posts.extend(step.posts);
    first.machine.activity(now, now);
    let written = Bytes(&case.log[..cut]);
    first.feed(&case.log[..cut], &written, now, &mut on);
    first.at_rest(&written);
    let (resume, boundary) = (first.scanner.resume_offset(), first.scanner.boundary());
    let at = usize::try_from(resume).expect("an offset within the log");
    // The next watcher: a fresh scanner at the saved offset, the state the first one had.
    let mut next = Pipeline::new(Scanner::new(rules, Redactor::default()), first.machine);
    let step = next.opened(resume, boundary, now, now);
    on(&Event::RunStarting, step);
    next.machine.activity(now, now);
    let log = Bytes(case.log);
    next.feed(&case.log[at..], &log, now, &mut on);
    next.finish(&log, now, &mut on);
    let posts = settle(&mut next, case.log, posts, now);
    (next.machine.state, posts)
}

/// Checks the property for one input; panics with the difference when it does not hold.
pub fn check(data: &[u8]) {
    let case = Case::decode(data);
    let rules = if case.overlapping_rules {
        overlapping_rules()
    } else if case.custom_rules {
        custom_rules()
    } else {
        default_rules()
    };
    let mut stripped = Vec::new();
    strip_ansi(case.log, &mut stripped);
    assert_eq!(stripped, strip_ansi_reference(case.log), "strip_ansi");
    let whole = feed(&case, rules, &[case.log], true);
    assert_digest_bounded(&whole.state);
    assert_eq!(whole.position, case.log.len() as u64);
    assert!(whole.resume_offset <= whole.position);
    let reference = feed(&case, rules, &[case.log], false);
    assert_eq!(
        whole.events, reference.events,
        "the one-pass rule search decides otherwise than every rule on its own"
    );
    let chunked = feed(&case, rules, &case.chunks(), true);
    assert_eq!(
        whole.events, chunked.events,
        "events differ with chunks at {:?}",
        case.cuts
    );
    assert_eq!(
        whole, chunked,
        "outcomes differ with chunks at {:?}",
        case.cuts
    );
    let mut cuts = case.cuts.clone();
    cuts.dedup();
    for &cut in cuts.iter().take(16) {
        let (state, posts) = restarted(&case, rules, cut);
        assert_eq!(state, whole.state, "a restart at byte {cut} ends otherwise");
        assert_eq!(
            posts, whole.posts,
            "a restart at byte {cut} posts otherwise"
        );
    }
}
