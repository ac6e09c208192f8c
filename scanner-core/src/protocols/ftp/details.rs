//! The FTP fields of a service observation: `services[].details.ftp` in the record (see
//! docs/record.md): the server's greeting as sent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::Reply;
use crate::record::fields::{DeviceText, Identity};

/// FTP fields of a service observation: the greeting the server sent before any command.
///
/// Only what the greeting says: no vendor or model is mapped from its text (that is banner
/// matching's job, a later step).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FtpDetails {
    /// The reply code: 220 (service ready), 120 (ready in a few minutes), 421 (not
    /// available).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The greeting's text, its lines joined by line feeds (codes of the first and last
    /// line left out), e.g. `(vsFTPd 3.0.3)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<DeviceText>,
    /// How many lines the greeting had (more than one: a multi-line `220-` reply).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lines: usize,
    /// Oddities in the greeting that did not stop the reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl FtpDetails {
    /// Folds a parsed greeting into the details.
    pub fn apply(&mut self, reply: &Reply) {
        self.code = Some(reply.code);
        self.banner = Some(DeviceText::from_bytes(&reply.lines.join(&b'\n')));
        self.lines = reply.lines.len();
        self.warnings.extend(reply.warnings.iter().cloned());
    }

    /// Whether the server greeted as ready (220): an FTP server that will serve.
    pub fn identifies(&self) -> bool {
        self.code == Some(220)
    }
}

/// The record identity the FTP details give: none (banner matching is a later step).
pub fn identity_fields(_details: &FtpDetails) -> Identity {
    Identity::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::ftp::codec::parse;

    #[test]
    fn a_multi_line_greeting_is_kept_whole() {
        let mut d = FtpDetails::default();
        d.apply(&parse(b"220-HMI FTP\r\n220 ready\r\n").unwrap());
        assert_eq!(d.code, Some(220));
        assert_eq!(d.banner.as_ref().unwrap().text, "HMI FTP\nready");
        assert_eq!(d.lines, 2);
        assert!(d.identifies());
    }
}
