//! Reading one HTTP/1.1 request off a socket, for the small fake services tests start
//! (an app that a runbook restarts, a webhook receiver).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

/// The request line's method and path and the body (by `Content-Length`); `None` when the
/// peer closed before a request line.
pub fn read_request(stream: &TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = line.split_whitespace();
    Some((parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string(), body))
}
