//! The SSH fields of a service observation: `services[].details.ssh` in the record (see
//! docs/record.md): the identification string as sent and its parts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::Reply;
use crate::record::fields::{DeviceText, Identity};

/// SSH fields of a service observation: what the server said before any key exchange.
///
/// Only what the identification string states literally: product and version are the
/// software version split at its first `_` (`OpenSSH_9.2p1`), the OS hint is the
/// comment's first word (`Debian` in `Debian-2+deb12u3`). No vendor or model is mapped
/// from them (that is banner matching's job, a later step).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SshDetails {
    /// The identification line as sent, without its line end, e.g.
    /// `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<DeviceText>,
    /// `protoversion`: `2.0`, or `1.99` for a server that also speaks SSH 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<DeviceText>,
    /// `softwareversion`, e.g. `OpenSSH_9.2p1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<DeviceText>,
    /// The software version before its first `_` (or `-`), e.g. `OpenSSH`, `dropbear`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The software version after that separator, e.g. `9.2p1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `comments` after the software version, e.g. `Debian-2+deb12u3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<DeviceText>,
    /// The comment's first word when it is letters only, e.g. `Debian`, `Ubuntu`: what
    /// the server says of its operating system, as it says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_hint: Option<String>,
    /// Lines the server sent before its identification string (a pre-login banner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_lines: Vec<DeviceText>,
    /// Oddities in the greeting that did not stop the reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SshDetails {
    /// Folds a parsed greeting into the details.
    pub fn apply(&mut self, reply: &Reply) {
        let id = &reply.identification;
        self.identification = Some(DeviceText::from_bytes(&id.line));
        self.protocol_version = Some(DeviceText::from_bytes(&id.proto_version));
        let software = DeviceText::from_bytes(&id.software_version);
        if let Some((product, version)) = software
            .text
            .split_once('_')
            .or_else(|| software.text.split_once('-'))
            .filter(|(p, v)| !p.is_empty() && !v.is_empty())
        {
            self.product = Some(product.to_owned());
            self.version = Some(version.to_owned());
        }
        self.software_version = Some(software);
        if let Some(comments) = &id.comments {
            let text = DeviceText::from_bytes(comments);
            let word = text
                .text
                .split(['-', ' ', '_'])
                .next()
                .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()));
            self.os_hint = word.map(str::to_owned);
            self.comments = Some(text);
        }
        self.pre_lines = reply
            .pre_lines
            .iter()
            .map(|l| DeviceText::from_bytes(l))
            .collect();
        self.warnings.extend(reply.warnings.iter().cloned());
    }

    /// Whether an identification string was read.
    pub fn identifies(&self) -> bool {
        self.identification.is_some()
    }
}

/// The record identity the SSH details give: none. The SSH software is not the device;
/// mapping banners to vendors and models is banner matching's job (a later step).
pub fn identity_fields(_details: &SshDetails) -> Identity {
    Identity::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::ssh::codec::parse;

    #[test]
    fn openssh_parts() {
        let mut d = SshDetails::default();
        d.apply(&parse(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n").unwrap());
        assert_eq!(d.product.as_deref(), Some("OpenSSH"));
        assert_eq!(d.version.as_deref(), Some("9.2p1"));
        assert_eq!(d.os_hint.as_deref(), Some("Debian"));
        assert_eq!(d.comments.unwrap().text, "Debian-2+deb12u3");
        assert_eq!(
            d.identification.unwrap().text,
            "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
        );
    }

    #[test]
    fn a_switch_without_a_separator_keeps_only_the_software_version() {
        let mut d = SshDetails::default();
        d.apply(&parse(b"SSH-2.0-RomSShell\r\n").unwrap());
        assert_eq!(d.product, None);
        assert_eq!(d.software_version.unwrap().text, "RomSShell");
    }
}
