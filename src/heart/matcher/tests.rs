//! Table-driven tests of the matcher over Cypress-shaped output in every style
//! (colour, CRLF, timestamps), and of the scanner's chunking independence.

use super::text::{clean_text, strip_leading_timestamp};
use super::*;
use crate::data::caps::{LINE_CAP, MAX_GROUPS, NAME_CAP};
use crate::data::run::Tests;
use crate::data::status::Status;
use crate::heart::redact::Redactor;
use crate::heart::rules::Rules;

#[path = "../../../tests/support/cypress.rs"]
pub(super) mod cypress;
use cypress::{Spec, Style};

fn scan(bytes: &[u8]) -> Vec<Event> {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    s.feed(bytes, &Bytes(bytes), &mut out);
    s.finish(&Bytes(bytes), &mut out);
    out
}

fn scan_chunked(bytes: &[u8], sizes: &mut impl FnMut() -> usize) -> Vec<Event> {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let n = sizes().clamp(1, bytes.len() - i);
        s.feed(&bytes[i..i + n], &Bytes(bytes), &mut out);
        i += n;
    }
    s.finish(&Bytes(bytes), &mut out);
    out
}

fn one_line(line: &str) -> Vec<Event> {
    scan(format!("{line}\n").as_bytes())
}

fn results(evs: &[Event]) -> Vec<&RunResult> {
    evs.iter()
        .filter_map(|e| match e {
            Event::RunResult(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn single_lines() {
    use Event::*;
    let t = |s: &str| Terminated(s.to_string());
    let cases: Vec<(&str, Vec<Event>)> = vec![
        ("  (Run Starting)", vec![RunStarting]),
        (
            "\x1b[0m  (\x1b[4m\x1b[1mRun Starting\x1b[22m\x1b[24m)\x1b[0m",
            vec![RunStarting],
        ),
        ("2026-11-22 10:00:01   (Run Starting)\r", vec![RunStarting]),
        (
            "  Running:  migrate/linux_vm.cy.js                                              (2 of 14)",
            vec![Progress {
                index: 2,
                total: 14,
                spec: "migrate/linux_vm.cy.js".into(),
            }],
        ),
        (
            "\x1b[90m  Running:\x1b[39m  \x1b[36ma.cy.js\x1b[39m     (1 of 1)\r",
            vec![Progress {
                index: 1,
                total: 1,
                spec: "a.cy.js".into(),
            }],
        ),
        ("  Running: something without a counter", vec![]),
        (
            "Can't run because no spec files were found.",
            vec![FailedToStart(
                "Can't run because no spec files were found.".into(),
            )],
        ),
        (
            "Cypress failed to verify that your server is running.",
            vec![FailedToStart(
                "Cypress failed to verify that your server is running.".into(),
            )],
        ),
        ("Terminated", vec![t("Terminated")]),
        ("Killed", vec![t("Killed")]),
        (
            "Cypress failed to verify that your server is running (hook https://chat.example.com/hooks/s3cr3t)",
            vec![FailedToStart(
                "Cypress failed to verify that your server is running (hook https://chat.example.com)".into(),
            )],
        ),
        (
            "2026-11-21 10:00:00 Killed",
            vec![t("2026-11-21 10:00:00 Killed")],
        ),
        (
            "Nov 22 10:00:00 Terminated\r",
            vec![t("Nov 22 10:00:00 Terminated")],
        ),
        (
            "[2026-11-22T10:00:00Z] Terminated",
            vec![t("[2026-11-22T10:00:00Z] Terminated")],
        ),
        (
            "[pid 77] 2026-11-22T10:00:00.123+01:00 Killed   ",
            vec![t("[pid 77] 2026-11-22T10:00:00.123+01:00 Killed")],
        ),
        ("    ✓ handles a Terminated VM (532ms)", vec![]),
        ("Killed by the OOM killer? no", vec![]),
        ("bash: line 1: 4242 Killed   npx cypress run", vec![]),
        (
            "The Test Runner unexpectedly exited via a \x1b[36mexit\x1b[39m event with signal \x1b[36mSIGKILL\x1b[39m",
            vec![t(
                "The Test Runner unexpectedly exited via a exit event with signal SIGKILL",
            )],
        ),
        (
            "ATVM_GROUPS: linux, windows ,,solaris",
            vec![Groups {
                names: vec!["linux".into(), "windows".into(), "solaris".into()],
                complete: true,
            }],
        ),
        (
            "2026-11-22 10:00:00 ATVM_GROUP_START: windows 2022",
            vec![GroupStart("windows 2022".into())],
        ),
        (
            "ATVM_GROUP_END: windows 2022 FAILED",
            vec![GroupEnd {
                name: "windows 2022".into(),
                status: Status::Failed,
            }],
        ),
        (
            "ATVM_GROUP_END: linux completed\r",
            vec![GroupEnd {
                name: "linux".into(),
                status: Status::Completed,
            }],
        ),
        (
            "ATVM_GROUP_END: linux SOMEHOW",
            vec![Malformed("ATVM_GROUP_END: linux SOMEHOW".into())],
        ),
        ("ATVM_RUN_END: COMPLETED", vec![RunEnd(Status::Completed)]),
        ("ATVM_RUN_END: TERMINATED", vec![RunEnd(Status::Terminated)]),
        (
            "ATVM_RUN_END: RUNNING",
            vec![Malformed("ATVM_RUN_END: RUNNING".into())],
        ),
        (
            "ATVM_GROUP_START:   ",
            vec![Malformed("ATVM_GROUP_START:".into())],
        ),
        // Footer strings mean nothing outside a summary table.
        (
            "    ✔  All specs passed!                        00:10        4        4        -        -        -  ",
            vec![],
        ),
        ("    ✓ shows All specs passed! in the banner", vec![]),
        ("  1 of 2 failed (50%)", vec![]),
        ("  The run was canceled", vec![]),
        ("", vec![]),
        ("\u{fffd}\u{0}\x07 binary", vec![]),
    ];
    for (line, want) in cases {
        assert_eq!(one_line(line), want, "line {line:?}");
    }
}

#[test]
fn strip_ansi_removes_sequences_and_cr() {
    let mut out = Vec::new();
    let cases: [(&[u8], &[u8]); 7] = [
        (
            b"\x1b[0m  (\x1b[4m\x1b[1mRun Finished\x1b[22m\x1b[24m)\x1b[0m",
            b"  (Run Finished)",
        ),
        (b"plain\r", b"plain"),
        (b"a\x1b]0;title\x07b", b"ab"),
        (b"a\x1b]8;;http://x\x1b\\b", b"ab"),
        (b"a\x1b(Bb", b"ab"),
        (b"half\x1b[", b"half"),
        (b"\x1b", b""),
    ];
    for (raw, want) in cases {
        strip_ansi(raw, &mut out);
        assert_eq!(out, want, "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn timestamps_are_stripped_only_in_front() {
    let cases = [
        ("Killed", "Killed"),
        ("  2026-11-21 10:00:00   Killed", "Killed"),
        ("Nov 22 10:00:00 Terminated", "Terminated"),
        ("[x y z] 12:00 Terminated", "Terminated"),
        ("Killed 12:00", "Killed 12:00"),
        ("Now Killed", "Now Killed"),
        ("2026", "2026"),
    ];
    for (line, want) in cases {
        assert_eq!(strip_leading_timestamp(line), want, "{line}");
    }
}

#[test]
fn completed_run_in_every_style() {
    let specs = [
        Spec::passed("login.cy.js", 3),
        Spec::passed("migrate/linux_vm.cy.js", 4),
    ];
    for style in Style::variants() {
        let evs = scan(&cypress::render(&cypress::run(&specs), style));
        assert_eq!(evs[0], Event::RunStarting, "{style:?}");
        assert_eq!(
            evs[1],
            Event::Progress {
                index: 1,
                total: 2,
                spec: "login.cy.js".into()
            },
            "{style:?}"
        );
        let r = results(&evs);
        assert_eq!(r.len(), 1, "{style:?}: {evs:?}");
        assert_eq!(r[0].status, Status::Completed);
        assert_eq!(
            r[0].tests,
            Some(Tests {
                total: 7,
                passed: 7,
                failed: 0,
                pending: 0,
                skipped: 0
            })
        );
        assert_eq!(r[0].duration.as_deref(), Some("12:41"));
        assert!(r[0].failed_specs.is_empty());
    }
}

#[test]
fn failed_run_collects_wrapped_failed_names() {
    let long = "atvm/windows/migrate_server_2022_with_dynamic_disks_and_uefi.cy.js";
    let specs = [
        Spec::passed("login.cy.js", 3),
        Spec::failed(long, 6, 2),
        Spec {
            pending: 1,
            ..Spec::failed("rollback.cy.js", 5, 1)
        },
    ];
    for style in Style::variants() {
        let evs = scan(&cypress::render(&cypress::run(&specs), style));
        let r = results(&evs);
        assert_eq!(r.len(), 1, "{style:?}");
        assert_eq!(r[0].status, Status::Failed, "{style:?}");
        assert_eq!(
            r[0].tests,
            Some(Tests {
                total: 14,
                passed: 11,
                failed: 3,
                pending: 1,
                skipped: 0
            }),
            "{style:?}"
        );
        assert_eq!(
            r[0].failed_specs,
            vec![long.to_string(), "rollback.cy.js".to_string()],
            "{style:?}"
        );
    }
}

#[test]
fn canceled_run() {
    let lines = cypress::run_canceled(
        &[Spec::passed("b_record.cy.js", 1)],
        &["a_record_instantfail.cy.js"],
    );
    for style in Style::variants() {
        let r = scan(&cypress::render(&lines, style));
        let r = results(&r);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Cancelled);
        assert_eq!(r[0].tests.map(|t| t.total), Some(1));
        // A skipped spec's row is kept, marked as one that did not run.
        let rows: Vec<(&str, bool, Option<&str>)> = r[0]
            .specs
            .iter()
            .map(|s| (s.name.as_str(), s.ran(), s.duration.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("a_record_instantfail.cy.js", false, Some("SKIPPED")),
                ("b_record.cy.js", true, Some("00:12"))
            ],
            "{style:?}"
        );
        assert!(r[0].specs[0].tests == 0 && r[0].specs[0].failed == 0);
    }
}

#[test]
fn test_titles_that_look_like_results_are_ignored() {
    let mut lines = cypress::run_starting(&[Spec::passed("banner.cy.js", 2)]);
    lines.extend(cypress::spec_start(&Spec::passed("banner.cy.js", 2), 1, 1));
    lines.push("    ✓ shows All specs passed! when green (41ms)".into());
    lines.push("    ✓ prints 1 of 2 failed (50%) in red".into());
    lines.push("    ✓ says The run was canceled".into());
    let evs = scan(&cypress::render_plain(&lines));
    assert!(results(&evs).is_empty(), "{evs:?}");
}

#[test]
fn an_abandoned_table_does_not_swallow_later_markers() {
    // Output stops in the middle of a table; the next run starts.
    let mut lines = cypress::run_finished(&[Spec::passed("a.cy.js", 1)], "00:01");
    lines.truncate(9);
    lines.extend(cypress::run(&[Spec::failed("b.cy.js", 2, 1)]));
    let evs = scan(&cypress::render_plain(&lines));
    let r = results(&evs);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, Status::Failed);
    assert_eq!(r[0].failed_specs, vec!["b.cy.js".to_string()]);
}

fn sample_log() -> Vec<u8> {
    let mut lines = vec![
        "ATVM_GROUPS: linux,windows".to_string(),
        "ATVM_GROUP_START: linux".into(),
    ];
    lines.extend(cypress::run(&[
        Spec::passed("a.cy.js", 2),
        Spec::failed("a_very_long_spec_name_that_wraps_in_the_table.cy.js", 3, 1),
    ]));
    lines.push("ATVM_GROUP_END: linux FAILED".into());
    lines.push("ATVM_GROUP_START: windows".into());
    lines.extend(cypress::run(&[Spec::passed("w.cy.js", 5)]));
    lines.push("Terminated".into());
    lines.push("ATVM_RUN_END: FAILED".into());
    let mut bytes = cypress::render(&lines, Style::ALL);
    bytes.extend_from_slice(b"trailing line without newline: Killed");
    bytes
}

#[test]
fn chunking_never_changes_decisions() {
    let bytes = sample_log();
    let whole = scan(&bytes);
    assert!(whole.len() > 8, "{whole:?}");
    for size in [1usize, 2, 3, 7, 64, 99, 100, 101, 4096, 1 << 20] {
        assert_eq!(
            scan_chunked(&bytes, &mut || size),
            whole,
            "chunk size {size}"
        );
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..50 {
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 300) as usize + 1
        };
        assert_eq!(scan_chunked(&bytes, &mut next), whole);
    }
}

#[test]
fn long_lines_and_binary_noise_are_bounded() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"  (Run Starting)\n");
    // 8 MiB on one line, with a marker far beyond the cap: not seen.
    let mut big = vec![b'x'; 8 << 20];
    big[5 << 20..(5 << 20) + 16].copy_from_slice(b"(Run Finished)  ");
    bytes.extend_from_slice(&big);
    bytes.push(b'\n');
    let mut noise = 0x1234_5678u32;
    for _ in 0..100_000 {
        noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let b = (noise >> 16) as u8;
        bytes.push(if b == b'\n' { 0xff } else { b });
    }
    bytes.push(b'\n');
    bytes.extend(cypress::render(
        &cypress::run_finished(&[Spec::passed("a.cy.js", 1)], "00:01"),
        Style::ALL,
    ));
    let whole = scan(&bytes);
    assert_eq!(whole.first(), Some(&Event::RunStarting));
    assert_eq!(results(&whole).len(), 1);
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    for c in bytes.chunks(777) {
        s.feed(c, &Bytes(&bytes), &mut out);
        let carry = s.memory().carry_capacity;
        assert!(carry <= 2 * LINE_CAP, "carry grew to {carry}");
    }
    assert_eq!(out, whole);
}

#[test]
fn resume_offset_points_at_unfinished_work() {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    s.feed(b"line one\npartial", &Bytes(&[]), &mut out);
    assert_eq!(s.resume_offset(), 9);
    assert_eq!(s.position(), 16);
    s.feed(b" done\n", &Bytes(&[]), &mut out);
    assert_eq!(s.resume_offset(), 22);
    // Inside a summary table the restart point is the table's first line.
    s.feed(b"  (Run Finished)\n  \xe2\x94\x82 \xe2\x9c\x96  a.cy.js   00:01  1  -  1  -  - \xe2\x94\x82\n", &Bytes(&[]), &mut out);
    assert_eq!(s.resume_offset(), 22);
    s.feed(
        b"    x  1 of 1 failed (100%)   00:01   1   -   1   -   -\n",
        &Bytes(&[]),
        &mut out,
    );
    assert_eq!(s.resume_offset(), s.position());
    assert_eq!(results(&out)[0].failed_specs, vec!["a.cy.js".to_string()]);
}

#[test]
fn custom_rules_change_what_is_recognised() {
    let rules = Rules::from_json(
        r#"{"terminated_lines": ["Aborted"], "all_passed": ["Everything green"], "some_failed": ["failures: {n}/{m}"]}"#,
        "t",
    )
    .unwrap();
    let mut s = Scanner::new(&rules, Redactor::default());
    let mut out = Vec::new();
    s.feed(
        b"Killed\nAborted\n  (Run Finished)\n  Everything green   00:01  3  3  -  -  -\n",
        &Bytes(&[]),
        &mut out,
    );
    s.feed(
        b"  (Run Finished)\n  failures: 2/5 (40%)  00:01  9  7  2  -  -\n",
        &Bytes(&[]),
        &mut out,
    );
    assert_eq!(out[0], Event::Terminated("Aborted".into()));
    let r = results(&out);
    assert_eq!(r[0].status, Status::Completed);
    assert_eq!(r[1].status, Status::Failed);
    assert_eq!(r[1].tests.unwrap().failed, 2);
}

#[test]
fn clean_text_never_exceeds_the_cap() {
    // Found by fuzzing: a folded space pushed the text to NAME_CAP + 1 characters.
    let texts = [
        format!("a{}", " ab".repeat(150)),
        "a".repeat(500),
        format!("{} z", "y".repeat(199)),
    ];
    for text in texts {
        let out = clean_text(text.as_bytes(), &Redactor::default());
        assert!(
            out.chars().count() <= NAME_CAP,
            "{} chars",
            out.chars().count()
        );
        assert!(!out.ends_with(' '));
    }
    assert_eq!(
        clean_text(b"  two   words \t", &Redactor::default()),
        "two words"
    );
}

fn groups_of(line: &str) -> (usize, bool) {
    let evs = scan(format!("{line}\n").as_bytes());
    match evs.as_slice() {
        [Event::Groups { names, complete }] => (names.len(), *complete),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_plan_is_kept_whole_up_to_its_caps_and_says_when_it_was_cut() {
    let names = |n: usize, len: usize| -> String {
        (0..n)
            .map(|i| format!("{i:03}{}", "g".repeat(len - 3)))
            .collect::<Vec<_>>()
            .join(",")
    };
    // 40 names of 210 characters: over 8 KiB, the old line cap.
    assert_eq!(
        groups_of(&format!("ATVM_GROUPS: {}", names(40, 210))),
        (40, true)
    );
    assert_eq!(
        groups_of(&format!("ATVM_GROUPS: {}", names(120, 8))),
        (120, true)
    );
    let (n, complete) = groups_of(&format!("ATVM_GROUPS: {}", names(1200, 8)));
    assert_eq!((n, complete), (MAX_GROUPS, false), "more than the plan cap");
    let (n, complete) = groups_of(&format!("ATVM_GROUPS: {}", names(400, 200)));
    assert!(!complete && n < 400, "a line over LINE_CAP: {n}");
}

#[test]
fn a_run_of_nuls_is_no_part_of_any_line() {
    // copytruncate with a writer that does not append: NULs up to its old offset, then
    // its next line.
    let mut bytes = b"  (Run Starting)\n".to_vec();
    bytes.extend(vec![0u8; 3 * LINE_CAP]);
    bytes.extend_from_slice(b"ATVM_RUN_END: FAILED\n");
    let whole = scan(&bytes);
    assert_eq!(
        whole,
        vec![Event::RunStarting, Event::RunEnd(Status::Failed)]
    );
    for size in [1, 7, 4096, LINE_CAP + 3] {
        let mut s = Scanner::new(&Rules::default(), Redactor::default());
        let mut out = Vec::new();
        bytes
            .chunks(size)
            .for_each(|c| s.feed(c, &Bytes(&bytes), &mut out));
        s.finish(&Bytes(&[]), &mut out);
        assert_eq!(out, whole, "chunks of {size}");
    }
}

/// The same inside a block where every line counts (a failure list): the NULs are no
/// blank lines, which would end the entry's title (copytruncate in the middle of the list,
/// with a writer that does not append).
#[test]
fn a_run_of_nuls_inside_a_failure_list_is_no_blank_line() {
    let mut bytes = b"  Running:  a.cy.js  (1 of 1)\n  1 failing\n\n  1) suite\n".to_vec();
    bytes.extend(vec![0u8; 3 * LINE_CAP]);
    bytes.extend_from_slice(b"       fails:\n     Error: foo\n      at x (y.js:1:1)\n\n");
    let failed = |evs: Vec<Event>| -> Vec<Event> {
        evs.into_iter()
            .filter(|e| matches!(e, Event::TestFailed { .. }))
            .collect()
    };
    let want = vec![Event::TestFailed {
        number: 1,
        title: "suite › fails".into(),
        error: Some("Error: foo".into()),
    }];
    assert_eq!(failed(scan(&bytes)), want);
    for size in [1, 7, 4096, LINE_CAP + 3] {
        let mut sizes = || size;
        assert_eq!(
            failed(scan_chunked(&bytes, &mut sizes)),
            want,
            "chunks of {size}"
        );
    }
}

/// A rotation or copytruncate in the middle of the summary table: the table goes on in the
/// new file (read from its start) and its footer gives the run's result, with every row; a
/// restart would read the new file again from its start, where the block now begins.
#[test]
fn a_summary_table_goes_on_in_a_new_file() {
    let specs = [
        Spec::passed("login.cy.js", 3),
        Spec::failed("migrate/linux_vm.cy.js", 4, 1),
        Spec::passed("migrate/windows_vm.cy.js", 2),
    ];
    let lines = cypress::run(&specs);
    let finished = lines
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap();
    let cut = finished
        + lines[finished..]
            .iter()
            .position(|l| l.contains("migrate/linux_vm.cy.js"))
            .unwrap();
    let (old, new) = (
        cypress::render_plain(&lines[..cut]),
        cypress::render_plain(&lines[cut..]),
    );
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    s.feed(&old, &Bytes(&old), &mut out);
    s.finish(&Bytes(&old), &mut out);
    assert!(results(&out).is_empty());
    s.reset(0);
    s.feed(&new, &Bytes(&new), &mut out);
    s.finish(&Bytes(&new), &mut out);
    let r = results(&out);
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(r[0].status, Status::Failed);
    assert_eq!(r[0].tests.map(|t| (t.total, t.failed)), Some((9, 1)));
    let rows: Vec<&str> = r[0].specs.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(
        rows,
        [
            "login.cy.js",
            "migrate/linux_vm.cy.js",
            "migrate/windows_vm.cy.js"
        ]
    );
    assert_eq!(r[0].failed_specs, ["migrate/linux_vm.cy.js"]);
}

#[test]
fn a_secret_in_a_wrapped_spec_name_is_redacted_whole() {
    let url = "http://127.0.0.1:8065/custom/Zq81secretHookValueThatIsLong";
    let name = format!("{url}/and/more/of/the/name.cy.js");
    let bytes = cypress::render(
        &cypress::run_finished(&[Spec::failed(&name, 3, 1)], "00:07"),
        Style::ALL,
    );
    let mut s = Scanner::new(&Rules::default(), Redactor::for_webhook(Some(url)));
    let mut out = Vec::new();
    s.feed(&bytes, &Bytes(&[]), &mut out);
    s.finish(&Bytes(&[]), &mut out);
    let specs = &results(&out)[0].failed_specs;
    assert_eq!(specs.len(), 1);
    assert!(
        specs[0].ends_with("name.cy.js"),
        "wrapped rows joined: {specs:?}"
    );
    for piece in ["secretHook", "ThatIsLong", "Zq81"] {
        assert!(!specs[0].contains(piece), "{piece} leaked: {specs:?}");
    }
}
