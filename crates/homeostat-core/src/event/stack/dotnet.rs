//! .NET exception text: `Type: message ---> Inner: message`, frames `at N.C.M(args) in
//! file:line N`, and `--- End of inner exception stack trace ---`.

use std::sync::LazyLock;

use regex::Regex;

use super::split_header;
use crate::event::{Exception, Frame};

static ASYNC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.<([\w`]+)>d__\d+\.MoveNext$").expect("dotnet async regex"));
static LAMBDA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.<>c(?:__DisplayClass[\d_]+)?\.<([\w`]+)>b__[\d_]+$").expect("dotnet lambda regex"));

/// `(Assembly, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null)`: Application
/// Insights' place of a frame, instead of `(args) in file:line`.
static ASSEMBLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.*?)\s+\([\w.]+, Version=[^,)]*(?:, Culture=[^,)]*)?(?:, PublicKeyToken=[^)]*)?\)$")
        .expect("dotnet assembly regex")
});

static HRESULT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w.`]+( \(0x[0-9A-Fa-f]{8}\)):").expect("dotnet hresult regex"));

/// With `v2`, a header line that names no type continues the message before it (.NET
/// Framework's `Value cannot be null.` + `Parameter name: path1`), and Application
/// Insights frames are read.
pub fn parse(text: &str, v2: bool) -> Vec<Exception> {
    // Headers outermost first; frame segments innermost first.
    let mut headers: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut segments: Vec<Vec<Frame>> = vec![Vec::new()];
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--- End of stack trace") {
            continue;
        }
        if trimmed.starts_with("--- End of inner exception") {
            segments.push(Vec::new());
            continue;
        }
        if let Some(body) = trimmed.strip_prefix("at ") {
            let body = match ASSEMBLY.captures(body).filter(|_| v2) {
                Some(c) => c.get(1).map_or(body, |m| m.as_str()),
                None => body,
            };
            // `N.C.M(args) in /path/File.cs:line 42`, the location optional.
            let (method, path, lineno) = match body.rsplit_once(" in ") {
                Some((m, loc)) if loc.contains(":line ") => {
                    let (p, l) = loc.rsplit_once(":line ").unwrap_or((loc, ""));
                    (m, Some(p.to_string()), l.trim().parse().ok())
                }
                _ => (body, None, None),
            };
            if let Some(seg) = segments.last_mut() {
                seg.push(dotnet_frame(method, path, lineno));
            }
            continue;
        }
        if segments.iter().all(Vec::is_empty) {
            let line = trimmed.strip_prefix("Unhandled exception.").unwrap_or(trimmed).trim();
            for (n, part) in line.split("--->").enumerate() {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                // `SqlException (0x80131904): …`: the HRESULT is not part of the type.
                let (ty, value) = match HRESULT.captures(part).and_then(|c| c.get(1)).filter(|_| v2) {
                    Some(m) => split_header(&format!("{}{}", &part[..m.start()], &part[m.end()..])),
                    None => split_header(part),
                };
                match headers.last_mut() {
                    // A line without a type continues the message (`Parameter name: x`);
                    // what follows `--->` is always an inner exception.
                    Some((Some(_), message)) if v2 && n == 0 && ty.is_none() => {
                        let message = message.get_or_insert_with(String::new);
                        message.push('\n');
                        message.push_str(part);
                    }
                    _ => headers.push((ty, value)),
                }
            }
        }
    }
    if headers.is_empty() {
        headers.push((None, None));
    }
    let mut out = Vec::with_capacity(headers.len());
    for (i, (ty, value)) in headers.into_iter().rev().enumerate() {
        // i = 0 is the innermost exception; it owns the first segment.
        let mut frames = if i < segments.len() { std::mem::take(&mut segments[i]) } else { Vec::new() };
        frames.reverse();
        out.push(Exception { r#type: ty, value, frames, ..Exception::default() });
    }
    out
}

fn dotnet_frame(method: &str, path: Option<String>, lineno: Option<u64>) -> Frame {
    let name = method.find('(').map_or(method, |i| &method[..i]).trim();
    let name = if name.contains(">d__") { ASYNC.replace(name, ".$1") } else { name.into() };
    let name =
        if name.contains("<>c") { LAMBDA.replace(&name, ".$1.<lambda>").into_owned() } else { name.into_owned() };
    let (module, function) = match name.rsplit_once('.') {
        Some((m, f)) => (Some(m.to_string()), f.to_string()),
        None => (None, name.to_string()),
    };
    Frame {
        function: Some(function),
        raw_function: Some(method.to_string()),
        module,
        filename: path.clone(),
        abs_path: path,
        lineno,
        ..Frame::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_v2(text: &str) -> Vec<Exception> {
        parse(text, true)
    }

    #[test]
    fn framework_messages_span_two_lines() {
        let text = "System.ArgumentNullException: Value cannot be null.\nParameter name: path1\n   at System.IO.Path.Combine(String path1, String path2)\n   at Acme.App.Load(String p) in C:\\src\\App.cs:line 12";
        let ex = parse_v2(text);
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].r#type.as_deref(), Some("System.ArgumentNullException"));
        assert_eq!(ex[0].value.as_deref(), Some("Value cannot be null.\nParameter name: path1"));
        assert_eq!(ex[0].frames.len(), 2);
        // v1 read the second line as an exception of its own, without a type.
        assert_eq!(parse(text, false).len(), 2);
    }

    #[test]
    fn hresults_and_inner_exceptions() {
        let ex = parse_v2(
            "System.InvalidOperationException: Loading failed ---> Microsoft.Data.SqlClient.SqlException (0x80131904): Timeout expired.\n   at Microsoft.Data.SqlClient.SqlCommand.ExecuteReader()",
        );
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].r#type.as_deref(), Some("Microsoft.Data.SqlClient.SqlException"));
        assert_eq!(ex[0].value.as_deref(), Some("Timeout expired."));
    }

    #[test]
    fn application_insights_frames() {
        let ex = parse_v2(
            "System.NullReferenceException: Object reference not set to an instance of an object.\n   at Acme.Web.HomeController.Index (Acme.Web, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null)\n   at Acme.Web.Startup+<>c.<Configure>b__4_0 (Acme.Web, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null)",
        );
        let f = &ex[0].frames;
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].function.as_deref(), Some("Index"));
        assert_eq!(f[1].module.as_deref(), Some("Acme.Web.HomeController"));
    }

    #[test]
    fn inner_exceptions() {
        let ex = parse_v2(
            "System.InvalidOperationException: Save failed ---> System.NullReferenceException: Object reference not set to an instance of an object.\n   at Notes.Store.<SaveAsync>d__4.MoveNext() in /src/Store.cs:line 42\n   --- End of inner exception stack trace ---\n   at Notes.Api.Post(Note n) in /src/Api.cs:line 7\n   at System.Threading.Tasks.Task.Run()",
        );
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].r#type.as_deref(), Some("System.NullReferenceException"));
        assert_eq!(ex[0].frames[0].function.as_deref(), Some("SaveAsync"));
        assert_eq!(ex[0].frames[0].module.as_deref(), Some("Notes.Store"));
        assert_eq!(ex[1].r#type.as_deref(), Some("System.InvalidOperationException"));
        assert_eq!(ex[1].frames.len(), 2);
        assert_eq!(ex[1].frames[1].function.as_deref(), Some("Post"));
    }
}
