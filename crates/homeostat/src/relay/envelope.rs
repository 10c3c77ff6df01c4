//! Sentry's wire formats, pure: the envelope (a JSON header line, then items each with a
//! JSON header line and a payload), the DSN key wherever an SDK puts it, and compressed
//! bodies (gzip, deflate, br) expanded under a size cap.

use std::io::Read;

use super::RelayError;

/// One envelope item: its `type` and its payload bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Item<'a> {
    pub kind: String,
    pub payload: &'a [u8],
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    pub header: serde_json::Value,
    pub items: Vec<Item<'a>>,
}

impl Envelope<'_> {
    /// The public key of the `dsn` the envelope header names, when it names one.
    pub fn dsn_key(&self) -> Option<String> {
        let dsn = self.header.get("dsn")?.as_str()?;
        let rest = dsn.split_once("://")?.1;
        let (user, _) = rest.split_once('@')?;
        Some(user.split(':').next().unwrap_or(user).to_string())
    }
}

fn bad(position: usize, what: impl std::fmt::Display) -> RelayError {
    RelayError::BadRequest(format!("envelope byte {position}: {what}"))
}

/// Splits an envelope into its header and items. Items with an explicit `length` are
/// read by length; others run to the next newline (Sentry's two forms).
pub fn parse(body: &[u8]) -> Result<Envelope<'_>, RelayError> {
    let (header_line, mut pos) = line(body, 0);
    let header: serde_json::Value =
        serde_json::from_slice(header_line).map_err(|e| bad(0, format!("header is not JSON: {e}")))?;
    if !header.is_object() {
        return Err(bad(0, "header is not a JSON object"));
    }
    let mut items = Vec::new();
    while pos < body.len() {
        let (item_line, next) = line(body, pos);
        if item_line.iter().all(u8::is_ascii_whitespace) {
            pos = next;
            continue;
        }
        let item: serde_json::Value =
            serde_json::from_slice(item_line).map_err(|e| bad(pos, format!("item header is not JSON: {e}")))?;
        let kind = item.get("type").and_then(|t| t.as_str()).ok_or_else(|| bad(pos, "item header has no `type`"))?;
        let (payload, after) = match item.get("length") {
            Some(len) => {
                let len = len.as_u64().ok_or_else(|| bad(pos, "item `length` is not a number"))? as usize;
                let end = next.checked_add(len).filter(|e| *e <= body.len()).ok_or_else(|| {
                    bad(pos, format!("item length {len} runs past the end of the body ({} bytes)", body.len()))
                })?;
                let after = if body.get(end) == Some(&b'\n') { end + 1 } else { end };
                (&body[next..end], after)
            }
            None => line(body, next),
        };
        items.push(Item { kind: kind.to_string(), payload });
        pos = after;
    }
    Ok(Envelope { header, items })
}

/// The line starting at `start` (without its newline) and where the next one starts.
fn line(body: &[u8], start: usize) -> (&[u8], usize) {
    match memchr::memchr(b'\n', &body[start..]) {
        Some(i) => (&body[start..start + i], start + i + 1),
        None => (&body[start..], body.len()),
    }
}

/// `sentry_key` from an `X-Sentry-Auth` (or `Authorization: Sentry …`) header value.
pub fn auth_key(header: &str) -> Option<String> {
    let rest = header.trim();
    let rest = rest.strip_prefix("Sentry ").or_else(|| rest.strip_prefix("sentry ")).unwrap_or(rest);
    rest.split(',').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k.trim() == "sentry_key").then(|| v.trim().to_string())
    })
}

/// `sentry_key` from a query string.
pub fn query_key(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "sentry_key").then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

/// The body expanded per `Content-Encoding`, refusing to grow past `max` bytes (413).
pub fn decompress(encoding: Option<&str>, body: &[u8], max: usize) -> Result<Vec<u8>, RelayError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase()).unwrap_or_default();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "" | "identity" => {
            if body.len() > max {
                return Err(RelayError::TooLarge(format!("body of {} bytes is over {max}", body.len())));
            }
            return Ok(body.to_vec());
        }
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(body)),
        // Sentry SDKs send zlib-wrapped data as `deflate`; raw deflate is accepted too.
        "deflate" if body.first().is_some_and(|b| b & 0x0f == 8) => Box::new(flate2::read::ZlibDecoder::new(body)),
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(body)),
        "br" => Box::new(brotli_decompressor::Decompressor::new(body, 4096)),
        other => return Err(RelayError::Unsupported(format!("content encoding `{other}` is not supported"))),
    };
    let mut out = Vec::with_capacity(body.len() * 4);
    let read = reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| RelayError::BadRequest(format!("{encoding} body does not decompress: {e}")))?;
    if read > max {
        return Err(RelayError::TooLarge(format!("body decompresses to more than {max} bytes")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_by_length_and_by_newline() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://k3y@sentry.io/42\"}\n\
{\"type\":\"attachment\",\"length\":10}\n\xef\xbb\xbfHello\r\n\n\
{\"type\":\"event\"}\n{\"message\":\"hi\"}\n";
        let env = parse(body).unwrap();
        assert_eq!(env.dsn_key().as_deref(), Some("k3y"));
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].payload, b"\xef\xbb\xbfHello\r\n");
        assert_eq!(env.items[1].kind, "event");
        assert_eq!(env.items[1].payload, b"{\"message\":\"hi\"}");
    }

    #[test]
    fn broken_envelopes_say_where() {
        assert!(matches!(parse(b"not json\n"), Err(RelayError::BadRequest(m)) if m.contains("byte 0")));
        let e = parse(b"{}\n{\"type\":\"event\",\"length\":99}\n{}").unwrap_err();
        assert!(e.to_string().contains("runs past the end"), "{e}");
        assert!(parse(b"{}\n{\"length\":2}\n{}").unwrap_err().to_string().contains("no `type`"));
    }

    #[test]
    fn keys_from_header_and_query() {
        let h = "Sentry sentry_version=7, sentry_client=sentry.python/2.0, sentry_key=abc123";
        assert_eq!(auth_key(h).as_deref(), Some("abc123"));
        assert_eq!(query_key("sentry_version=7&sentry_key=x%2Fy").as_deref(), Some("x/y"));
        assert_eq!(query_key("a=b"), None);
    }

    #[test]
    fn bombs_are_cut_at_the_cap() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b'a'; 1 << 20]).unwrap();
        let small = gz.finish().unwrap();
        assert!(matches!(decompress(Some("gzip"), &small, 1000), Err(RelayError::TooLarge(_))));
        assert_eq!(decompress(Some("gzip"), &small, 2 << 20).unwrap().len(), 1 << 20);
        assert!(matches!(decompress(Some("zstd"), b"x", 10), Err(RelayError::Unsupported(_))));
    }
}
