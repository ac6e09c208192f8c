//! Maintenance windows: when a scan may send, and when it must stop.
//!
//! A window is written `[DAYS] HH:MM-HH:MM [ZONE]`: `Sat 02:00-04:00`,
//! `Mon-Fri 22:00-02:00 Europe/Berlin` (crossing midnight), `02:00-03:30` (every day).
//! Days are Mon..Sun, ranges (`Mon-Fri`, `Fri-Mon`) and comma lists (`Sat,Sun`); the
//! zone is an IANA name and defaults to the system's. The functions here take the
//! current time as an argument, so they are tested with any clock.

use std::time::Duration;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};

/// One weekly maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Days on which the window opens (Monday first), all when the text named none.
    pub days: [bool; 7],
    /// Opening time of day.
    pub start: Time,
    /// Closing time of day; at or before `start` it is on the next day.
    pub end: Time,
    /// Time zone of the times.
    pub zone: TimeZone,
    /// The text it was parsed from.
    pub text: String,
}

/// Whether a time is inside a window.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowState {
    /// Inside a window that opened at `opened` and closes at `closes`.
    Open {
        /// When the window opened (the start of merged back-to-back windows).
        opened: Timestamp,
        /// When the window closes.
        closes: Timestamp,
    },
    /// Outside every window; the next opens at `opens` and closes at `closes`.
    Closed {
        /// When the next window opens.
        opens: Timestamp,
        /// When that window closes.
        closes: Timestamp,
    },
}

/// A window text that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid window \"{text}\": {reason} (e.g. \"Sat 02:00-04:00\", \"Mon-Fri 22:00-02:00 Europe/Berlin\")")]
pub struct WindowError {
    /// The text.
    pub text: String,
    /// Why.
    pub reason: String,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(name: &str) -> Option<usize> {
    let n = name.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| n.starts_with(d) && n.len() <= 9)
}

fn parse_days(text: &str) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a)?, day_index(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day_index(part)?] = true,
        }
    }
    Some(days)
}

fn parse_time(text: &str) -> Option<Time> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

impl std::str::FromStr for Window {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Self, WindowError> {
        let err = |reason: &str| WindowError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let times_at = words
            .iter()
            .position(|w| w.contains(':') && w.contains('-'))
            .ok_or_else(|| err("no HH:MM-HH:MM time range"))?;
        let days = match times_at {
            0 => [true; 7],
            1 => {
                parse_days(words[0]).ok_or_else(|| err("days must be Mon..Sun, ranges or lists"))?
            }
            _ => return Err(err("too many words before the time range")),
        };
        let (start, end) = words[times_at]
            .split_once('-')
            .and_then(|(a, b)| Some((parse_time(a)?, parse_time(b)?)))
            .ok_or_else(|| err("times must be HH:MM-HH:MM"))?;
        if start == end {
            return Err(err("the window is empty"));
        }
        let zone = match &words[times_at + 1..] {
            [] => TimeZone::system(),
            [name] => TimeZone::get(name).map_err(|_| err("unknown time zone"))?,
            _ => return Err(err("unexpected words after the time zone")),
        };
        Ok(Window {
            days,
            start,
            end,
            zone,
            text: text.to_owned(),
        })
    }
}

fn weekday_index(w: Weekday) -> usize {
    usize::try_from(w.to_monday_zero_offset()).unwrap_or(0)
}

impl Window {
    /// The window occurrences that open on the day before `now`, on its day, and on
    /// the following seven days, as (opens, closes).
    fn occurrences(&self, now: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let local = now.to_zoned(self.zone.clone());
        let today = local.date();
        let mut out = Vec::new();
        for offset in -1i64..=8 {
            let Ok(day) = today.checked_add(Span::new().days(offset)) else {
                continue;
            };
            if !self.days[weekday_index(day.weekday())] {
                continue;
            }
            let Ok(opens) = day.to_datetime(self.start).to_zoned(self.zone.clone()) else {
                continue;
            };
            let end_day = if self.end <= self.start {
                day.tomorrow().unwrap_or(day)
            } else {
                day
            };
            let Ok(closes) = end_day.to_datetime(self.end).to_zoned(self.zone.clone()) else {
                continue;
            };
            out.push((opens.timestamp(), closes.timestamp()));
        }
        out
    }
}

/// Where `now` stands against `windows`: inside one (and until when; overlapping or
/// back-to-back windows are merged) or outside all (and when the next opens).
/// `None` when no window opens within the next eight days (impossible for valid windows).
pub fn state_at(windows: &[Window], now: Timestamp) -> Option<WindowState> {
    let mut spans: Vec<(Timestamp, Timestamp)> =
        windows.iter().flat_map(|w| w.occurrences(now)).collect();
    spans.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged.into_iter().find_map(|(opens, closes)| {
        if opens <= now && now < closes {
            Some(WindowState::Open {
                opened: opens,
                closes,
            })
        } else if now < opens {
            Some(WindowState::Closed { opens, closes })
        } else {
            None
        }
    })
}

/// The grace kept before a window's end: 5 minutes, or a tenth of the window when
/// that is shorter, so in-flight requests end inside the window. `window_length` is
/// the whole window, from its opening to its close, not the time left in it.
pub fn default_grace(window_length: Duration) -> Duration {
    (window_length / 10).min(Duration::from_secs(300))
}

/// Time from `now` to `then` (zero when `then` has passed).
pub fn until(now: Timestamp, then: Timestamp) -> Duration {
    Duration::try_from(then.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// `then` shown in `zone` for messages, e.g. "Sat 2026-11-28 02:00 CET".
pub fn show(then: Timestamp, zone: &TimeZone) -> String {
    let z: Zoned = then.to_zoned(zone.clone());
    z.strftime("%a %Y-%m-%d %H:%M %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn window(text: &str) -> Window {
        text.parse().unwrap()
    }

    #[test]
    fn parses_days_times_and_zones() {
        let w = window("Sat 02:00-04:00 UTC");
        assert_eq!(w.days, [false, false, false, false, false, true, false]);
        let w = window("Fri-Mon 22:00-02:00 Europe/Berlin");
        assert_eq!(w.days, [true, false, false, false, true, true, true]);
        assert_eq!(window("02:00-03:30 UTC").days, [true; 7]);
        assert_eq!(window("sat,sun 10:00-11:00 UTC").days[5..], [true, true]);
        for bad in [
            "Sat",
            "Sat 25:00-26:00",
            "Caturday 02:00-04:00",
            "Sat 02:00-02:00",
            "Sat 02:00-04:00 Mars/Base",
            "a b 02:00-03:00",
        ] {
            let e = bad.parse::<Window>().unwrap_err().to_string();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
        }
    }

    #[test]
    fn inside_outside_and_midnight() {
        let w = [window("Sat 02:00-04:00 UTC")];
        // 2026-11-28 is a Saturday.
        assert_eq!(
            state_at(&w, at("2026-11-28T03:00:00Z")),
            Some(WindowState::Open {
                opened: at("2026-11-28T02:00:00Z"),
                closes: at("2026-11-28T04:00:00Z")
            })
        );
        assert_eq!(
            state_at(&w, at("2026-11-28T04:00:00Z")),
            Some(WindowState::Closed {
                opens: at("2026-12-05T02:00:00Z"),
                closes: at("2026-12-05T04:00:00Z")
            })
        );
        assert_eq!(
            state_at(&w, at("2026-11-25T12:00:00Z")),
            Some(WindowState::Closed {
                opens: at("2026-11-28T02:00:00Z"),
                closes: at("2026-11-28T04:00:00Z")
            })
        );
        // Friday 23:00 to Saturday 01:00: open at 00:30 on Saturday.
        let night = [window("Fri 23:00-01:00 UTC")];
        assert_eq!(
            state_at(&night, at("2026-11-28T00:30:00Z")),
            Some(WindowState::Open {
                opened: at("2026-11-27T23:00:00Z"),
                closes: at("2026-11-28T01:00:00Z")
            })
        );
        // Two back-to-back windows merge.
        let two = [window("Sat 02:00-03:00 UTC"), window("Sat 03:00-05:00 UTC")];
        assert_eq!(
            state_at(&two, at("2026-11-28T02:30:00Z")),
            Some(WindowState::Open {
                opened: at("2026-11-28T02:00:00Z"),
                closes: at("2026-11-28T05:00:00Z")
            })
        );
    }

    #[test]
    fn zones_and_grace() {
        // 02:00-04:00 in Berlin (UTC+1 in November) is 01:00-03:00 UTC.
        let w = [window("Sat 02:00-04:00 Europe/Berlin")];
        assert_eq!(
            state_at(&w, at("2026-11-28T01:30:00Z")),
            Some(WindowState::Open {
                opened: at("2026-11-28T01:00:00Z"),
                closes: at("2026-11-28T03:00:00Z")
            })
        );
        assert_eq!(
            default_grace(Duration::from_secs(7200)),
            Duration::from_secs(300)
        );
        assert_eq!(
            default_grace(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            until(at("2026-11-28T01:00:00Z"), at("2026-11-28T00:00:00Z")),
            Duration::ZERO
        );
    }
}
