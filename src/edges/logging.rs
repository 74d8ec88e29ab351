//! Log lines go to stderr. Under systemd (`JOURNAL_STREAM` set) they carry a syslog
//! priority prefix instead of a timestamp and colours: the journal adds its own. The HTTP
//! stack's most detailed levels never get through, whatever `RUST_LOG` asks: they print
//! the request's URL, the webhook secret.

use std::io::Write;

/// Sets up the logger: `filter` is what `RUST_LOG` asks; `journal`: stderr goes to the
/// journal (`JOURNAL_STREAM` is set).
pub(crate) fn init(filter: Option<&str>, journal: bool) {
    let mut b = env_logger::Builder::new();
    b.filter_level(log::LevelFilter::Info);
    if let Some(spec) = filter {
        b.parse_filters(spec);
    }
    if journal {
        b.write_style(env_logger::WriteStyle::Never);
        b.format(|f, r| {
            let prio = match r.level() {
                log::Level::Error => 3,
                log::Level::Warn => 4,
                log::Level::Info => 6,
                _ => 7,
            };
            writeln!(f, "<{prio}>{}", r.args())
        });
    } else {
        b.format(|f, r| {
            let ts = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
            let style = f.default_level_style(r.level());
            writeln!(f, "{ts} {style}{:<5}{style:#} {}", r.level(), r.args())
        });
    }
    let logger = b.build();
    log::set_max_level(logger.filter());
    // Set once, at start-up: a second call only fails, and the first logger stays.
    let _ = log::set_logger(Box::leak(Box::new(Guarded(logger))));
}

/// The logger, without the records that could hold the webhook URL.
struct Guarded(env_logger::Logger);

impl log::Log for Guarded {
    fn enabled(&self, m: &log::Metadata) -> bool {
        allowed(m.target(), m.level()) && self.0.enabled(m)
    }

    fn log(&self, r: &log::Record) {
        if allowed(r.target(), r.level()) {
            self.0.log(r);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// ureq prints the URL whole at trace level (its debug level masks the path); ureq-proto
/// dumps the request line in 16-byte pieces at debug and trace, which no redaction could
/// find; rustls is held to what ureq gets.
fn allowed(target: &str, level: log::Level) -> bool {
    let of = |krate: &str| {
        target
            .strip_prefix(krate)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    };
    let most = if of("ureq_proto") {
        log::Level::Info
    } else if of("ureq") || of("rustls") {
        log::Level::Debug
    } else {
        log::Level::Trace
    };
    level <= most
}

#[cfg(test)]
mod tests {
    use super::allowed;
    use log::Level::{Debug, Info, Trace};

    #[test]
    fn the_http_stacks_detail_is_held_back() {
        #[rustfmt::skip]
        let cases = [
            ("atvm_run_watcher::watcher", Trace, true),
            ("ureq", Debug, true),
            ("ureq", Trace, false),
            ("ureq::unversioned::transport", Trace, false),
            ("ureq_proto::client", Info, true),
            ("ureq_proto::client", Debug, false),
            ("ureq_proto", Trace, false),
            ("rustls::client", Trace, false),
            ("ureqx", Trace, true),
        ];
        for (target, level, want) in cases {
            assert_eq!(allowed(target, level), want, "{target} {level}");
        }
    }
}
