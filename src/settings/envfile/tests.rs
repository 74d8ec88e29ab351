//! The grammar table and the file checks.

use super::*;

const URL: &str = "https://chat.example.com/hooks/abc123";

fn value(text: &str, name: &str) -> Option<String> {
    parse(text).get(name).map(|a| a.value.clone())
}

/// The grammar, line by line: what systemd 252 sets from each input.
#[test]
fn grammar() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>)] = &[
        // plain, blanks around the name, the `=` and the value
        ("A=x", Some("x")),
        ("A=x\n", Some("x")),
        ("  A = x  \n", Some("x")),
        ("A\t=\tx y\t\n", Some("x y")),
        ("A=", Some("")),
        ("A=\n", Some("")),
        ("A=   \n", Some("")),
        // CRLF line ends
        ("A=x\r\n", Some("x")),
        // quotes, single and double, and joined with unquoted parts
        ("A='x y'", Some("x y")),
        ("A=\"x y\"", Some("x y")),
        ("A=\"x\" y", Some("xy")),
        ("A=\"x\"'y'", Some("xy")),
        ("A='x'  \n", Some("x")),
        ("A=x \"y\"", Some("x \"y\"")),
        ("A=\"  x  \"", Some("  x  ")),
        ("A='a\\nb'", Some("a\\nb")),
        ("A='line1\nline2'", Some("line1\nline2")),
        ("A='it''s'", Some("its")),
        // double-quoted escapes: \" \\ \` \$ lose the backslash, others keep it
        ("A=\"a\\\"b\"", Some("a\"b")),
        ("A=\"a\\\\b\"", Some("a\\b")),
        ("A=\"a\\$b\\`c\"", Some("a$b`c")),
        ("A=\"a\\nb\"", Some("a\\nb")),
        ("A=\"a\\\nb\"", Some("ab")),
        // unquoted: a backslash takes the next character; backslash-newline continues
        ("A=a\\ b", Some("a b")),
        ("A=a\\\\b", Some("a\\b")),
        ("A=a\\\nb", Some("ab")),
        ("A=a \\\n  b", Some("a   b")),
        ("A=x\\ \n", Some("x ")),
        // `#` and `;` after a value are part of it
        ("A=x # note", Some("x # note")),
        ("A=x;y", Some("x;y")),
        ("A=\"x\" # note", Some("x# note")),
        ("A= # x", Some("# x")),
        // comment lines, and what they hide
        ("# A=x", None),
        ("; A=x", None),
        ("   # A=x", None),
        ("# c \\\nA=x", None),
        ("# c \\\\\nA=x", Some("x")),
        ("# c \\\r\nA=x", Some("x")),
        // lines systemd sets nothing from
        ("export A=x", None),
        ("A x", None),
        ("=x", None),
        ("1A=x", None),
        ("A-B=x", None),
        ("A.B=x", None),
        ("A B=x", None),
        // the last assignment wins
        ("A=x\nA=y", Some("y")),
        ("A=x\nexport A=y", Some("x")),
        // an unclosed quote runs to the end of the file
        ("A=\"x\nB=y", Some("x\nB=y")),
    ];
    for (text, want) in cases {
        assert_eq!(value(text, "A").as_deref(), *want, "{text:?}");
    }
    assert_eq!(value("A=\"x\nB=y", "B"), None);
    assert_eq!(value("_a1=x", "_a1").as_deref(), Some("x"));
}

#[test]
fn lines_and_notes() {
    let text = "# head\nexport MATTERMOST_ATVM_WEBHOOK=https://h/hooks/secret1\nMY-VAR=1\nhttps://h/hooks/secret2?a=b\nNO_EQUALS here\n# c \\\nMATTERMOST_ATVM_CHANNEL=x\nB = 'v'\n";
    let p = parse(text);
    assert_eq!(
        p.notes,
        vec![
            Note::Export {
                line: 2,
                name: WEBHOOK.into()
            },
            Note::BadName {
                line: 3,
                name: Some("MY-VAR".into())
            },
            Note::BadName {
                line: 4,
                name: None
            },
            Note::NoEquals {
                line: 5,
                name: Some("NO_EQUALS".into())
            },
            Note::InComment {
                line: 7,
                name: Some("MATTERMOST_ATVM_CHANNEL".into())
            },
        ]
    );
    assert_eq!(p.get("B").map(|a| a.line), Some(8));
    let shown: String = p.notes.iter().map(|n| format!("{n}\n")).collect();
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("systemd ignores `export MATTERMOST_ATVM_WEBHOOK=...`"));
}

#[test]
fn notes_after_values() {
    for (text, note) in [
        ("A=x   # prod hook", Some("# prod hook")),
        ("A=x ;old", Some(";old")),
        ("A=\"x\"#n", Some("#n")),
        ("A='x' # n", Some("# n")),
        ("A=x#y", None),
        ("A=\"x # y\"", None),
        ("A=x", None),
    ] {
        let p = parse(text);
        assert_eq!(p.get("A").unwrap().note.as_deref(), note, "{text:?}");
    }
}

fn file(text: &str) -> EnvFile {
    EnvFile {
        path: PathBuf::from("/etc/atvm-run-watcher.env"),
        parsed: parse(text),
    }
}

fn webhook_error(text: &str) -> String {
    let e = file(text).mattermost().unwrap_err();
    assert_eq!(e.exit_code(), 2, "{text:?}");
    let e = e.to_string();
    assert!(!e.contains("abc123"), "no secret in {e}");
    e
}

#[test]
fn webhook_diagnostics() {
    let ok = file(&format!(
        "MATTERMOST_ATVM_WEBHOOK = {URL}\nMATTERMOST_ATVM_CHANNEL='qa'\n"
    ))
    .mattermost()
    .unwrap()
    .webhook;
    assert_eq!(ok.url(), URL);
    assert_eq!(ok.channel.as_deref(), Some("qa"));
    for text in [
        format!("MATTERMOST_ATVM_WEBHOOK=\"{URL}\""),
        format!("MATTERMOST_ATVM_WEBHOOK='{URL}'\n"),
        format!("  MATTERMOST_ATVM_WEBHOOK={URL}  \r\n"),
    ] {
        assert_eq!(
            file(&text).mattermost().unwrap().webhook.url(),
            URL,
            "{text:?}"
        );
    }

    let e = webhook_error(&format!(
        "# x\nMATTERMOST_ATVM_WEBHOOK={URL}   # prod hook\n"
    ));
    assert!(
        e.contains("line 2: MATTERMOST_ATVM_WEBHOOK ends with `# prod hook`")
            && e.contains("on a line of its own"),
        "{e}"
    );
    let e = webhook_error(&format!("MATTERMOST_ATVM_WEBHOOK=\"{URL}\" #prod\n"));
    assert!(e.contains("ends with `#prod`"), "{e}");
    let e = webhook_error(&format!("MATTERMOST_ATVM_WEBHOOK={URL} # was {URL}\n"));
    assert!(
        e.contains("ends with `# was https://chat.example.com`"),
        "{e}"
    );
    let e = webhook_error(&format!(
        "MATTERMOST_ATVM_WEBHOOK={URL}\nMATTERMOST_ATVM_CHANNEL=qa # ours\n"
    ));
    assert!(
        e.contains("line 2: MATTERMOST_ATVM_CHANNEL ends with `# ours`"),
        "{e}"
    );

    let e = webhook_error(&format!("export MATTERMOST_ATVM_WEBHOOK={URL}\n"));
    assert!(
        e.contains("MATTERMOST_ATVM_WEBHOOK is not set: line 1: systemd ignores `export"),
        "{e}"
    );
    let e = webhook_error(&format!("# old one \\\nMATTERMOST_ATVM_WEBHOOK={URL}\n"));
    assert!(
        e.contains("line 2: systemd reads it as part of the comment"),
        "{e}"
    );
    let e = webhook_error(&format!("MATTERMOST_ATVM_WEBHOOK {URL}\n"));
    assert!(
        e.contains("line 1: systemd ignores it, there is no `=`"),
        "{e}"
    );
    let e = webhook_error("MATTERMOST_ATVM_WEBHOOK=\n");
    assert!(
        e.contains("is not set (line 1 gives it an empty value)"),
        "{e}"
    );
    let e = webhook_error("MATTERMOST_ATVM_CHANNEL=x\n");
    assert!(
        e.contains("is not set (add the line MATTERMOST_ATVM_WEBHOOK="),
        "{e}"
    );
    // A later valid line wins over an earlier ignored one: no note about it.
    let ok = file(&format!(
        "export MATTERMOST_ATVM_WEBHOOK=x\nMATTERMOST_ATVM_WEBHOOK={URL}\n"
    ));
    assert_eq!(ok.mattermost().unwrap().webhook.url(), URL);

    let e = webhook_error("MATTERMOST_ATVM_WEBHOOK=not-a-url-abc123\n");
    assert!(
        e.contains("line 1: MATTERMOST_ATVM_WEBHOOK is not a valid"),
        "{e}"
    );
    let e =
        webhook_error("MATTERMOST_ATVM_WEBHOOK=https://mattermost.example.com/hooks/REPLACE_ME\n");
    assert!(
        e.contains("line 1: MATTERMOST_ATVM_WEBHOOK is still the example's placeholder"),
        "{e}"
    );
}

#[test]
fn the_shipped_example_is_refused_for_its_placeholder() {
    let example = include_str!("../../../dist/atvm-run-watcher.env.example");
    let f = file(example);
    assert!(f.parsed.notes.is_empty(), "{:?}", f.parsed.notes);
    let e = f.mattermost().unwrap_err().to_string();
    assert!(
        e.contains("placeholder") && e.contains("put the real"),
        "{e}"
    );
}

#[test]
fn the_environment_wins_over_the_file() {
    let f = file(&format!(
        "MATTERMOST_ATVM_WEBHOOK={URL}\nMATTERMOST_ATVM_CHANNEL=file\nMATTERMOST_ATVM_USERNAME=bot\nATVM_WATCHER_STATE_ROOT=/x\n"
    ));
    let env = f.mattermost_under(&Env::from_pairs([("MATTERMOST_ATVM_CHANNEL", "shell")]));
    assert_eq!(env.get(WEBHOOK), Some(URL));
    assert_eq!(env.get("MATTERMOST_ATVM_CHANNEL"), Some("shell"));
    assert_eq!(env.get("MATTERMOST_ATVM_USERNAME"), Some("bot"));
    assert_eq!(
        env.get("ATVM_WATCHER_STATE_ROOT"),
        None,
        "only the Mattermost settings"
    );
}

#[test]
fn a_nul_byte_is_found_with_its_line() {
    assert_eq!(nul_line(b"A=x\nB=y\n"), None);
    assert_eq!(nul_line(b"\0A=x"), Some(1));
    assert_eq!(nul_line(b"A=x\nB=\0y\nC=z\0"), Some(2));
    assert_eq!(nul_line(b"A=x\n\n\n\0"), Some(4));
}
