//! Log lines go to stderr. Under systemd (`JOURNAL_STREAM` set) they carry a syslog
//! priority prefix instead of a timestamp and colours: the journal adds its own.

use crate::env::Env;
use std::io::Write;

pub fn init(env: &Env) {
    let mut b = env_logger::Builder::new();
    b.filter_level(log::LevelFilter::Info);
    if let Some(spec) = env.get("RUST_LOG") {
        b.parse_filters(spec);
    }
    if env.get("JOURNAL_STREAM").is_some() {
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
    b.init();
}
