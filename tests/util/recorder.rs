//! A loopback HTTP recorder standing in for Loki, Uptime Kuma, InfluxDB 2
//! and remote-write endpoints: it keeps every request exactly as it
//! arrived (method, target, headers, body) and answers as told — a status
//! and body, or never (a target that hangs). One thread per connection;
//! everything stops when the recorder is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the recorder answers.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16, String),
    /// Read the request, then never answer.
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Recorder {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    answer: Arc<Mutex<Answer>>,
    stop: Arc<AtomicBool>,
}

impl Recorder {
    pub fn start(answer: Answer) -> Recorder {
        let listener = super::proc::listen();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Recorder {
            port,
            requests: Arc::default(),
            answer: Arc::new(Mutex::new(answer)),
            stop: Arc::default(),
        };
        let (requests, answer, stop) = (r.requests.clone(), r.answer.clone(), r.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let (requests, answer, stop) =
                            (requests.clone(), answer.clone(), stop.clone());
                        std::thread::spawn(move || serve(s, &requests, &answer, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        r
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(s: TcpStream, requests: &Mutex<Vec<Request>>, answer: &Mutex<Answer>, stop: &AtomicBool) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut r = BufReader::new(match s.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut w = s;
    // Several requests may come over one connection.
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        requests.lock().unwrap().push(Request {
            method,
            target,
            headers,
            body,
        });
        let a = answer.lock().unwrap().clone();
        match a {
            Answer::Hang => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Answer::Status(code, text) => {
                let reply = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                );
                if w.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}
