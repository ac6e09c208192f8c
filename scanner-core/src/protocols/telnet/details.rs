//! The telnet fields of a service observation: `services[].details.telnet` in the record
//! (see docs/record.md): the server's banner and the options it asked for.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{printable, Chunk};
use crate::record::fields::{DeviceText, Identity};

/// Telnet fields of a service observation: what the server said before any login.
///
/// The banner is kept as text (a Moxa, Lantronix or Cisco banner stays text: banner
/// matching is a later step).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TelnetDetails {
    /// The printable banner: the text the server sent, control bytes and terminal escape
    /// sequences stripped, lines joined by line feeds (a login prompt, a device menu).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<DeviceText>,
    /// Options the server asked otscan to perform (`DO`), in order, each once; every one
    /// was refused with `WONT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub do_options: Vec<u8>,
    /// Options the server offered to perform (`WILL`), in order, each once; every one was
    /// refused with `DONT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub will_options: Vec<u8>,
    /// Other telnet commands seen (sub-negotiations, `DONT`, `WONT`, GA, NOP), counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_commands: usize,
    /// Rounds of refusals otscan sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refusal_rounds: usize,
    /// Bytes read in all, negotiation included.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_read: usize,
    /// Oddities that did not stop the reading (the size cap or the round cap reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl TelnetDetails {
    /// Adds a chunk of `len` bytes (its text goes to the caller's `text`): the options not
    /// seen before are returned, the ones to refuse (`DO` options, then `WILL` options).
    pub fn add(&mut self, chunk: &Chunk, len: usize) -> (Vec<u8>, Vec<u8>) {
        self.bytes_read += len;
        self.other_commands += chunk.other_commands;
        let mut new_do = Vec::new();
        for &o in &chunk.do_options {
            if !self.do_options.contains(&o) {
                self.do_options.push(o);
                new_do.push(o);
            }
        }
        let mut new_will = Vec::new();
        for &o in &chunk.will_options {
            if !self.will_options.contains(&o) {
                self.will_options.push(o);
                new_will.push(o);
            }
        }
        (new_do, new_will)
    }

    /// Sets the printable banner from `text`, every chunk's text as read.
    pub fn finish(&mut self, text: &[u8]) {
        let text = printable(text);
        self.banner = (!text.is_empty()).then(|| DeviceText::from_bytes(&text));
    }

    /// Whether the server spoke telnet: it negotiated, or sent a banner.
    pub fn identifies(&self) -> bool {
        self.banner.is_some() || !self.do_options.is_empty() || !self.will_options.is_empty()
    }
}

/// The record identity the telnet details give: none (banner matching is a later step).
pub fn identity_fields(_details: &TelnetDetails) -> Identity {
    Identity::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::telnet::codec::{parse, DO, IAC, WILL};

    #[test]
    fn options_are_refused_once_and_the_banner_is_printable() {
        let mut d = TelnetDetails::default();
        let buf = [IAC, DO, 24, IAC, WILL, 1, b'o', b'k'];
        assert_eq!(d.add(&parse(&buf).unwrap(), buf.len()), (vec![24], vec![1]));
        assert_eq!(
            d.add(&parse(&buf).unwrap(), buf.len()),
            (vec![], vec![]),
            "asked again: not answered again"
        );
        d.finish(b"okok");
        assert_eq!(d.banner.as_ref().unwrap().text, "okok");
        assert_eq!(d.bytes_read, 16);
        assert!(d.identifies());
    }
}
