//! A minimal HTTP/1.x request parser, sans-I/O and fuzzable: it finds one complete
//! request head in a buffer and returns the method, path, raw query bytes and whether the
//! connection stays open. Tracker requests are GETs without a body, so a request with a
//! body is refused rather than skipped.

/// One parsed request head, borrowing from the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    /// Request method, e.g. `GET`.
    pub method: &'a [u8],
    /// Path without the query, e.g. `/announce`.
    pub path: &'a [u8],
    /// Raw query string after `?`, still percent-encoded (empty if none).
    pub query: &'a [u8],
    /// Whether the connection may carry another request after the reply.
    pub keep_alive: bool,
}

/// Why a request head is unacceptable (the connection is answered 400 and closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpParseError {
    /// No complete head within the size limit.
    #[error("request head larger than {0} bytes")]
    TooLarge(usize),
    /// The first line is not `METHOD TARGET HTTP/1.x`.
    #[error("malformed request line")]
    BadRequestLine,
    /// A header line without a colon, or too many headers.
    #[error("malformed header")]
    BadHeader,
    /// The request has a body (tracker requests never do).
    #[error("request bodies are not accepted")]
    BodyNotAllowed,
}

/// Most header lines accepted.
pub const MAX_HEADERS: usize = 64;

/// Looks for one complete request head at the start of `buf`.
///
/// Returns `Ok(None)` if more bytes are needed (and `buf` is still under `max_len`), or
/// the request and the number of bytes it used.
pub fn parse_request(
    buf: &[u8],
    max_len: usize,
) -> Result<Option<(HttpRequest<'_>, usize)>, HttpParseError> {
    let Some(end) = find_head_end(buf) else {
        return if buf.len() >= max_len {
            Err(HttpParseError::TooLarge(max_len))
        } else {
            Ok(None)
        };
    };
    if end > max_len {
        return Err(HttpParseError::TooLarge(max_len));
    }
    let head = &buf[..end - 4];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().ok_or(HttpParseError::BadRequestLine)?;
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpParseError::BadRequestLine);
    };
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ => return Err(HttpParseError::BadRequestLine),
    };
    if method.is_empty() || !target.starts_with(b"/") {
        return Err(HttpParseError::BadRequestLine);
    }
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], &target[q + 1..]),
        None => (target, &b""[..]),
    };
    let mut keep_alive = http11;
    for (n, line) in lines.enumerate() {
        if n >= MAX_HEADERS {
            return Err(HttpParseError::BadHeader);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HttpParseError::BadHeader)?;
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"connection") {
            if value.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || (name.eq_ignore_ascii_case(b"content-length") && value != b"0")
        {
            return Err(HttpParseError::BodyNotAllowed);
        }
    }
    Ok(Some((
        HttpRequest {
            method,
            path,
            query,
            keep_alive,
        },
        end,
    )))
}

/// Index just past the `\r\n\r\n` that ends the head.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_get_with_query_and_keep_alive() {
        let raw = b"GET /announce?info_hash=%01&x HTTP/1.1\r\nHost: a\r\n\r\nGET /";
        let (req, used) = parse_request(raw, 8192).unwrap().unwrap();
        assert_eq!(req.method, b"GET");
        assert_eq!(req.path, b"/announce");
        assert_eq!(req.query, b"info_hash=%01&x");
        assert!(req.keep_alive);
        assert_eq!(&raw[used..], b"GET /");
        assert_eq!(parse_request(&raw[used..], 8192), Ok(None));
    }

    #[test]
    fn connection_header_and_version() {
        let (r, _) = parse_request(b"GET / HTTP/1.0\r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert!(!r.keep_alive);
        let (r, _) = parse_request(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert!(r.keep_alive);
        let (r, _) = parse_request(b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert!(!r.keep_alive);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            parse_request(b"GET /\r\n\r\n", 100),
            Err(HttpParseError::BadRequestLine)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/2\r\n\r\n", 100),
            Err(HttpParseError::BadRequestLine)
        );
        assert_eq!(
            parse_request(b"GET x HTTP/1.1\r\n\r\n", 100),
            Err(HttpParseError::BadRequestLine)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nnocolon\r\n\r\n", 100),
            Err(HttpParseError::BadHeader)
        );
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 100),
            Err(HttpParseError::BodyNotAllowed)
        );
        assert_eq!(
            parse_request(&[b'a'; 100], 100),
            Err(HttpParseError::TooLarge(100))
        );
        assert_eq!(parse_request(&[b'a'; 99], 100), Ok(None));
    }
}
