//! Which targets of a resumable scan are done: the checkpoint a state file keeps.

/// Which targets of the scan order are done: every position below `next`, plus
/// `done` (positions at or past `next`, finished out of order by concurrent devices).
/// Positions index this shard's sequence of [`Targets::iter`](crate::targets::Targets::iter).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// All positions below this are done.
    #[serde(with = "u128_text")]
    pub next: u128,
    /// Done positions at or past `next`.
    #[serde(with = "u128_list")]
    pub done: std::collections::BTreeSet<u128>,
}

impl Checkpoint {
    /// Marks `position` done.
    pub fn complete(&mut self, position: u128) {
        if position >= self.next {
            self.done.insert(position);
        }
        while self.done.remove(&self.next) {
            self.next += 1;
        }
    }

    /// True when `position` is done.
    pub fn is_done(&self, position: u128) -> bool {
        position < self.next || self.done.contains(&position)
    }

    /// Number of done positions.
    pub fn count(&self) -> u128 {
        self.next + self.done.len() as u128
    }
}

// u128 positions travel as decimal strings: JSON numbers lose precision past 2^53.
mod u128_text {
    pub fn serialize<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

mod u128_list {
    use std::collections::BTreeSet;
    pub fn serialize<S: serde::Serializer>(v: &BTreeSet<u128>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(u128::to_string))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeSet<u128>, D::Error> {
        let texts: Vec<String> = serde::Deserialize::deserialize(d)?;
        texts
            .iter()
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}
