//! A fake Mattermost incoming-webhook server on 127.0.0.1 that answers as Mattermost does:
//! `200 ok`; `400` with a JSON error id for a payload it cannot parse or a hook it does not
//! know; `403`, `404`, `501` (webhooks disabled); `429` with `Retry-After`; `5xx`. Tests
//! script the answers; every request is recorded and can be awaited.

use atvm_run_watcher::testing::mattermost as shown;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const HOOK_ID: &str = "xk3f9b7secrethookid4ns0a";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Ok,
    /// 400, as for a body that is not a valid payload.
    BadPayload,
    /// 400, as for an unknown or deleted hook.
    UnknownHook,
    Forbidden,
    NotFound,
    /// 501: incoming webhooks are disabled on the server.
    Disabled,
    /// 429 with `Retry-After: secs`.
    TooMany(u64),
    /// Any 5xx.
    ServerError(u16),
    /// 200 with another body.
    OkWithout(&'static str),
    /// Close the connection without answering (after reading the request).
    Drop,
    /// Wait this long, then answer `ok` (the client may have given up by then).
    Slow(Duration),
    /// Take the post, then answer 200 with a body cut off before its announced length.
    Truncated,
    /// This status, with a body cut off before its announced length.
    TruncatedStatus(u16),
    /// Any status with this body (e.g. a proxy's big HTML page); `text/html` when the body
    /// starts with `<`.
    Page(u16, String),
    /// 429 with this exact `Retry-After` header value (garbage, huge, a date...).
    TooManyRaw(String),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: String,
    pub json: Option<serde_json::Value>,
    pub at: Instant,
    /// What the server answered.
    pub answer: Answer,
}

/// The posts a `--dry-run` printed on `stdout`, each between its two dashed lines.
pub fn dry_run_posts(stdout: &str) -> Vec<String> {
    let mut posts = Vec::new();
    let mut post: Option<Vec<&str>> = None;
    for line in stdout.lines() {
        match post.as_mut() {
            None if line.starts_with("----- Mattermost message") => post = Some(Vec::new()),
            None => {}
            Some(p) if line.starts_with("-----") => {
                posts.push(p.join("\n"));
                post = None;
            }
            Some(p) => p.push(line),
        }
    }
    posts
}

/// `text` (a post) as Mattermost shows it (a line per block).
pub fn visible(text: &str) -> String {
    shown::show(&[text.to_string()]).remove(0).visible()
}

impl Received {
    pub fn text(&self) -> String {
        self.json
            .as_ref()
            .and_then(|j| j["text"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// The post's text as Mattermost shows it (a line per block).
    pub fn visible(&self) -> String {
        visible(&self.text())
    }
}

/// Hooks into the answering of each request (valid payloads to the known hook only).
pub trait Interceptor: Send + Sync {
    /// The answer for this request; `None` keeps the script / default.
    fn choose(&self, _r: &Received) -> Option<Answer> {
        None
    }
    /// Called once the request is recorded, before the answer is sent.
    fn before_answer(&self, _r: &Received) {}
    /// Called once the answer was written (or the connection dropped).
    fn after_answer(&self, _r: &Received) {}
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Answer>,
    /// Answer when the script is empty.
    default: Option<Answer>,
    received: Vec<Received>,
    interceptor: Option<Arc<dyn Interceptor>>,
    /// Connections accepted and not yet answered.
    in_flight: usize,
    /// Paths accepted as the known hook besides `/hooks/<HOOK_ID>`.
    extra_paths: Vec<String>,
}

#[derive(Clone)]
pub struct FakeMattermost {
    port: u16,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    /// With TLS: the PEM of the test CA that signed the server's certificate.
    ca_pem: Option<String>,
}

/// A connection, plain or TLS.
trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// A CA and a server certificate for 127.0.0.1 signed by it, made once per test binary.
fn test_pki() -> &'static (String, Arc<rustls::ServerConfig>) {
    static PKI: OnceLock<(String, Arc<rustls::ServerConfig>)> = OnceLock::new();
    PKI.get_or_init(|| {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "atvm test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        (ca.pem(), Arc::new(config))
    })
}

/// Mattermost's 429: its rate limiter's error body, with `headers`.
fn rate_limited(stream: &mut dyn Write, headers: &[(&str, String)]) {
    let body = app_error(
        "api.context.rate_limited.app_error",
        "Too many requests",
        429,
    );
    respond(stream, 429, "Too Many Requests", &body, headers);
}

fn respond(stream: &mut dyn Write, code: u16, reason: &str, body: &str, extra: &[(&str, String)]) {
    let ctype = if body.starts_with('{') {
        "application/json"
    } else if body.starts_with('<') {
        "text/html; charset=utf-8"
    } else {
        "text/plain"
    };
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn app_error(id: &str, message: &str, code: u16) -> String {
    serde_json::json!({
        "id": id,
        "message": message,
        "detailed_error": "",
        "request_id": "tf8qy4bkfjrpjkyr5xxgnm6rkr",
        "status_code": code,
    })
    .to_string()
}

/// Path and body of one request.
type Request = (String, String);

fn read_request(r: &mut BufReader<Box<dyn Conn>>) -> Option<Request> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        r.read_exact(&mut body).ok()?;
    } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Some((path, String::from_utf8_lossy(&body).into_owned()))
}

impl FakeMattermost {
    pub fn start() -> FakeMattermost {
        Self::listen(false)
    }

    /// The same over HTTPS, with a certificate for 127.0.0.1 from a test CA (`ca_pem`).
    pub fn start_tls() -> FakeMattermost {
        Self::listen(true)
    }

    /// The test CA's certificate (PEM), for `SSL_CERT_FILE`.
    pub fn ca_pem(&self) -> &str {
        self.ca_pem.as_deref().expect("a TLS server")
    }

    fn listen(tls: bool) -> FakeMattermost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let s2 = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                s2.0.lock().unwrap().in_flight += 1;
                let s3 = s2.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let conn: Box<dyn Conn> = if tls {
                        let server = rustls::ServerConnection::new(test_pki().1.clone()).unwrap();
                        Box::new(rustls::StreamOwned::new(server, stream))
                    } else {
                        Box::new(stream)
                    };
                    serve(conn, s3.clone());
                    let (m, cv) = &*s3;
                    m.lock().unwrap().in_flight -= 1;
                    cv.notify_all();
                });
            }
        });
        let ca_pem = tls.then(|| test_pki().0.clone());
        FakeMattermost {
            port,
            shared,
            ca_pem,
        }
    }

    fn scheme(&self) -> &'static str {
        if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        }
    }

    pub fn url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/hooks/{HOOK_ID}",
            self.scheme(),
            self.port
        )
    }

    /// A URL this server does not know (answers 400 invalid webhook).
    pub fn unknown_hook_url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/hooks/doesnotexist000000000000",
            self.scheme(),
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Accepts `path` (e.g. `/custom/<secret>`) as the known hook too, as a reverse proxy
    /// in front of Mattermost might; returns its full URL.
    pub fn accept_hook_path(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "{path}");
        self.shared
            .0
            .lock()
            .unwrap()
            .extra_paths
            .push(path.to_string());
        format!("{}://127.0.0.1:{}{path}", self.scheme(), self.port)
    }

    /// Answers for the next requests, in order; afterwards the default (`ok`).
    pub fn script(&self, answers: &[Answer]) {
        self.shared
            .0
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().cloned());
    }

    pub fn set_interceptor(&self, i: Arc<dyn Interceptor>) {
        self.shared.0.lock().unwrap().interceptor = Some(i);
    }

    /// The answer once the script is used up.
    pub fn set_default(&self, a: Answer) {
        self.shared.0.lock().unwrap().default = Some(a);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.0.lock().unwrap().received.clone()
    }

    /// Requests answered with `ok`.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answer == Answer::Ok)
            .collect()
    }

    /// The headings of the posts answered with `ok`, as Mattermost shows them.
    pub fn headings(&self) -> Vec<String> {
        let texts: Vec<String> = self.delivered().iter().map(Received::text).collect();
        shown::show(&texts)
            .iter()
            .map(|s| s.heading().to_string())
            .collect()
    }

    /// Waits until every accepted connection was answered (or dropped).
    pub fn wait_idle(&self, timeout: Duration) {
        let (m, cv) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut g = m.lock().unwrap();
        while g.in_flight > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{} connection(s) still open", g.in_flight);
            g = cv.wait_timeout(g, left).unwrap().0;
        }
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let (m, cv) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut g = m.lock().unwrap();
        while g.received.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "expected {n} request(s) within {timeout:?}, got {}",
                g.received.len()
            );
            g = cv.wait_timeout(g, left).unwrap().0;
        }
        g.received.clone()
    }
}

fn serve(stream: Box<dyn Conn>, shared: Arc<(Mutex<Shared>, Condvar)>) {
    let mut reader = BufReader::new(stream);
    let Some((path, body)) = read_request(&mut reader) else {
        return;
    };
    let stream = reader.into_inner();
    let at = Instant::now();
    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let valid_payload = json
        .as_ref()
        .is_some_and(|j| j["text"].as_str().is_some_and(|t| !t.is_empty()));
    let (interceptor, extra_paths) = {
        let g = shared.0.lock().unwrap();
        (g.interceptor.clone(), g.extra_paths.clone())
    };
    let mut rec = Received {
        path,
        body,
        json,
        at,
        answer: Answer::Ok,
    };
    let known_hook = rec.path == format!("/hooks/{HOOK_ID}") || extra_paths.contains(&rec.path);
    let intercepted = interceptor.filter(|_| known_hook && valid_payload);
    rec.answer = if !known_hook {
        Answer::UnknownHook
    } else if !valid_payload {
        Answer::BadPayload
    } else if let Some(a) = intercepted.as_ref().and_then(|i| i.choose(&rec)) {
        a
    } else {
        let mut g = shared.0.lock().unwrap();
        let d = g.default.clone();
        g.script.pop_front().or(d).unwrap_or(Answer::Ok)
    };
    let answer = rec.answer.clone();
    {
        let (m, cv) = &*shared;
        m.lock().unwrap().received.push(rec.clone());
        cv.notify_all();
    }
    if let Some(i) = &intercepted {
        i.before_answer(&rec);
    }
    answer_with(stream, answer);
    if let Some(i) = &intercepted {
        i.after_answer(&rec);
    }
}

/// Sends `answer` and closes the connection.
fn answer_with(mut stream: Box<dyn Conn>, answer: Answer) {
    match answer {
        Answer::Ok => respond(&mut stream, 200, "OK", "ok", &[]),
        Answer::OkWithout(b) => respond(&mut stream, 200, "OK", b, &[]),
        Answer::BadPayload => respond(
            &mut stream,
            400,
            "Bad Request",
            &app_error(
                "web.incoming_webhook.parse.app_error",
                "Unable to parse incoming data.",
                400,
            ),
            &[],
        ),
        Answer::UnknownHook => respond(
            &mut stream,
            400,
            "Bad Request",
            &app_error(
                "web.incoming_webhook.invalid.app_error",
                "Invalid webhook.",
                400,
            ),
            &[],
        ),
        Answer::Forbidden => respond(
            &mut stream,
            403,
            "Forbidden",
            &app_error(
                "api.context.permissions.app_error",
                "You do not have the appropriate permissions.",
                403,
            ),
            &[],
        ),
        Answer::NotFound => respond(&mut stream, 404, "Not Found", "404 page not found", &[]),
        Answer::Disabled => respond(
            &mut stream,
            501,
            "Not Implemented",
            &app_error(
                "web.incoming_webhook.disabled.app_error",
                "Incoming webhooks have been disabled by the system admin.",
                501,
            ),
            &[],
        ),
        Answer::TooMany(secs) => rate_limited(
            &mut stream,
            &[
                ("Retry-After", secs.to_string()),
                ("X-Ratelimit-Reset", secs.to_string()),
            ],
        ),
        Answer::Page(code, body) => {
            let reason = match code {
                200 => "OK",
                400 => "Bad Request",
                404 => "Not Found",
                _ => "Status",
            };
            respond(&mut stream, code, reason, &body, &[])
        }
        Answer::TooManyRaw(value) => rate_limited(&mut stream, &[("Retry-After", value)]),
        Answer::ServerError(code) => {
            respond(&mut stream, code, "Server Error", "upstream failure", &[])
        }
        Answer::Drop => drop(stream),
        Answer::Slow(d) => {
            std::thread::sleep(d);
            respond(&mut stream, 200, "OK", "ok", &[]);
        }
        Answer::Truncated => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\nok",
            );
            let _ = stream.flush();
        }
        Answer::TruncatedStatus(code) => {
            let head = format!(
                "HTTP/1.1 {code} Error\r\nContent-Type: text/plain\r\nContent-Length: 400\r\n\r\nerror page"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.flush();
        }
    }
}
