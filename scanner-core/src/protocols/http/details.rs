//! The HTTP fields of a service observation: `services[].details.http` in the record (see
//! docs/record.md): what the device's web server said to one `GET /`. The same page fields
//! ([`HttpPage`]) appear under `details.https`, next to the TLS fields.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{self, Response};
use crate::record::fields::{hex, DeviceText, Identity};

/// What the web server said, as said: status, the identifying headers and the page title.
/// Nothing is matched here (vendor and model from these strings is Recog's job).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpPage {
    /// The TCP port that answered (the first of the port list that did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The status code of the last response read (after a followed redirect: the
    /// target's), e.g. 200, 401.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The reason phrase as sent, e.g. `OK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DeviceText>,
    /// The `Server` header, e.g. `Siemens S7-1500 Web Server`, `MoxaHttp/1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<DeviceText>,
    /// Every `WWW-Authenticate` value, whole, in order (e.g. `Basic realm="NPort"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub www_authenticate: Vec<DeviceText>,
    /// The first `realm` parameter of those values, unquoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<DeviceText>,
    /// The `X-Powered-By` header, e.g. `PHP/5.2.17`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_powered_by: Option<DeviceText>,
    /// The names of the cookies the server set (`Set-Cookie`), in order; never their values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookie_names: Vec<String>,
    /// The page's `<title>`: decoded with the page's character set (Content-Type, else a
    /// `<meta>` charset, else UTF-8 or Windows-1252), character references decoded,
    /// whitespace collapsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<DeviceText>,
    /// The `Location` of a redirect of the start page, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<DeviceText>,
    /// Whether that redirect was followed, and why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected: Option<Redirected>,
    /// The `Content-Type` header of the last response, e.g. `text/html; charset=utf-8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<DeviceText>,
    /// Body bytes read from the last response (after chunked decoding; at most 65536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes_read: Option<u64>,
    /// The `/favicon.ico` fetched with `--http-favicon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favicon: Option<Favicon>,
}

/// What happened to a redirect of the start page: at most one, to the same host, scheme
/// and port, and only to a plain path, is followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Redirected {
    /// The redirect was followed (one more connection and `GET`).
    pub followed: bool,
    /// The path asked for when followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Why it was not followed, e.g. `another host`, `path with a query or a fragment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The favicon's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Favicon {
    /// The status of the `/favicon.ico` response.
    pub status: u16,
    /// Bytes of the icon read (at most 65536).
    pub bytes: u64,
    /// Shodan's `http.favicon.hash`: MurmurHash3 (x86, 32-bit, seed 0, signed) of the
    /// icon's base64 with a line feed every 76 characters and at the end. `None` (absent
    /// in JSON) when the icon was not read whole (longer than the 65536 bytes read, or
    /// cut short by the server): a hash of part of an icon matches no one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmh3: Option<i32>,
}

/// HTTP fields of a service observation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpDetails {
    /// The page fields.
    #[serde(flatten)]
    pub page: HttpPage,
    /// Oddities in the responses that did not stop the reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl HttpPage {
    /// Folds a response into the page fields: the first response's headers are kept
    /// unless a later one (a followed redirect's target) sends the same header.
    pub fn apply(&mut self, response: &Response, warnings: &mut Vec<String>) {
        self.status = Some(response.status);
        self.reason = Some(DeviceText::from_bytes(&response.reason));
        let text = |name| response.header(name).map(DeviceText::from_bytes);
        if let Some(server) = text("server") {
            self.server = Some(server);
        }
        if let Some(powered) = text("x-powered-by") {
            self.x_powered_by = Some(powered);
        }
        let auth: Vec<&[u8]> = response.header_values("www-authenticate").collect();
        if !auth.is_empty() {
            self.www_authenticate = auth.iter().map(|v| DeviceText::from_bytes(v)).collect();
            self.realm = auth
                .iter()
                .find_map(|v| codec::realm(v))
                .map(|r| DeviceText::from_bytes(&r));
        }
        for name in response
            .header_values("set-cookie")
            .filter_map(codec::cookie_name)
        {
            if !self.cookie_names.contains(&name) {
                self.cookie_names.push(name);
            }
        }
        self.content_type = text("content-type");
        self.body_bytes_read = Some(response.body.len() as u64);
        if let Some(raw) = codec::title(&response.body) {
            if raw.unclosed {
                warnings.push(format!(
                    "title not closed in the {} body bytes read",
                    response.body.len()
                ));
            }
            if raw.cut {
                warnings.push(format!(
                    "title longer than {} bytes, cut",
                    codec::MAX_TITLE_LEN
                ));
            }
            let charset = response
                .header("content-type")
                .and_then(codec::charset_param)
                .or_else(|| codec::meta_charset(&response.body));
            self.title = Some(decode_title(&raw.bytes, charset.as_deref()));
        }
        warnings.extend(response.warnings.iter().cloned());
    }
}

/// Decodes a raw title with the page's declared character set (when `encoding_rs` knows
/// it and it is not UTF-8), else as [`DeviceText::from_bytes`]; then references and
/// whitespace.
fn decode_title(bytes: &[u8], charset: Option<&str>) -> DeviceText {
    let encoding = charset
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8);
    let mut text = match encoding {
        Some(encoding) if !bytes.is_ascii() => {
            let (decoded, _, _) = encoding.decode(bytes);
            DeviceText {
                text: decoded.into_owned(),
                hex: Some(hex(bytes)),
                encoding: Some(encoding.name().to_ascii_lowercase()),
            }
        }
        _ => DeviceText::from_bytes(bytes),
    };
    text.text = codec::collapse_whitespace(&codec::decode_entities(&text.text));
    text
}

impl HttpDetails {
    /// Whether a response was read.
    pub fn identifies(&self) -> bool {
        self.page.status.is_some()
    }
}

/// The record identity the HTTP details give: none. The web server is not the device;
/// mapping titles and headers to vendors and models is Recog's job (a later step).
pub fn identity_fields(_details: &HttpDetails) -> Identity {
    Identity::default()
}

/// Shodan's favicon hash: MurmurHash3 x86 32-bit (seed 0) of the base64 of `icon`
/// written as Python's `base64.encodebytes` does (a line feed after every 76 characters
/// and at the end), as a signed integer.
pub fn favicon_mmh3(icon: &[u8]) -> i32 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::with_capacity(icon.len() * 4 / 3 + icon.len() / 57 + 4);
    for group in icon.chunks(57) {
        for three in group.chunks(3) {
            let n = (u32::from(three[0]) << 16)
                | (u32::from(*three.get(1).unwrap_or(&0)) << 8)
                | u32::from(*three.get(2).unwrap_or(&0));
            let chars = [18, 12, 6, 0].map(|s| ALPHABET[((n >> s) & 63) as usize]);
            let keep = three.len() + 1;
            b64.extend_from_slice(&chars[..keep]);
            b64.extend(std::iter::repeat_n(b'=', 4 - keep));
        }
        b64.push(b'\n');
    }
    murmur3_32(&b64, 0) as i32
}

/// MurmurHash3 x86 32-bit.
fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &b) in tail.iter().enumerate() {
            k |= u32::from(b) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::http::codec::parse;

    #[test]
    fn a_moxa_login_page() {
        let response = parse(b"HTTP/1.1 401 Unauthorized\r\nServer: MoxaHttp/1.0\r\nWWW-Authenticate: Basic realm=\"NPort Web Console\"\r\nSet-Cookie: ChallID=1; path=/\r\nSet-Cookie: ChallID=2\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: 40\r\n\r\n<title>\n  NPort  5110 &amp; \xe9\n</title>").unwrap();
        let mut page = HttpPage::default();
        let mut warnings = Vec::new();
        page.apply(&response, &mut warnings);
        assert_eq!(page.status, Some(401));
        assert_eq!(page.server.unwrap().text, "MoxaHttp/1.0");
        assert_eq!(page.realm.unwrap().text, "NPort Web Console");
        assert_eq!(page.cookie_names, ["ChallID"]);
        let title = page.title.unwrap();
        assert_eq!(title.text, "NPort 5110 & \u{e9}");
        assert_eq!(title.encoding.as_deref(), Some("windows-1252"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn murmur3_and_the_favicon_hash() {
        // Reference values of MurmurHash3_x86_32 (SMHasher).
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
        // base64 lines: 57 bytes make 76 characters and a line feed.
        assert_eq!(favicon_mmh3(b""), murmur3_32(b"", 0) as i32);
        assert_eq!(favicon_mmh3(b"abc"), murmur3_32(b"YWJj\n", 0) as i32);
        let icon = [7u8; 60];
        let expected = [
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\n",
            "BwcH\n",
        ]
        .concat();
        assert_eq!(
            favicon_mmh3(&icon),
            murmur3_32(expected.as_bytes(), 0) as i32
        );
        assert_eq!(favicon_mmh3(&[7u8; 4]), murmur3_32(b"BwcHBw==\n", 0) as i32);
    }
}
