//! Guest log lines, captured per invocation in a buffer bounded by `Limits::log_bytes`.

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// The level of a guest log line, as the ABI numbers them (`0` error .. `4` trace).
///
/// Ordered from the most to the least severe: `Error < Warn < Info < Debug < Trace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LogLevel {
    /// `0`: something failed.
    Error,
    /// `1`: something looks wrong.
    Warn,
    /// `2`: what the plugin did.
    Info,
    /// `3`: detail for the plugin's author.
    Debug,
    /// `4`: more detail.
    Trace,
}

impl LogLevel {
    /// Every level, most severe first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The level the guest passes for `value` (`0..=4`), if it is one.
    pub const fn from_abi(value: i32) -> Option<LogLevel> {
        match value {
            0 => Some(LogLevel::Error),
            1 => Some(LogLevel::Warn),
            2 => Some(LogLevel::Info),
            3 => Some(LogLevel::Debug),
            4 => Some(LogLevel::Trace),
            _ => None,
        }
    }

    /// The ABI's number for the level.
    pub const fn to_abi(self) -> i32 {
        self as i32
    }

    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that is not a log level name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnknownLogLevel;

impl fmt::Display for UnknownLogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown log level (expected error, warn, info, debug or trace)")
    }
}

impl core::error::Error for UnknownLogLevel {}

impl FromStr for LogLevel {
    type Err = UnknownLogLevel;

    /// Parses `error`, `warn`, `info`, `debug` or `trace` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogLevel::ALL
            .into_iter()
            .find(|level| level.name().eq_ignore_ascii_case(s))
            .ok_or(UnknownLogLevel)
    }
}

/// One captured guest log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// Its level.
    pub level: LogLevel,
    /// The message as the plugin wrote it (UTF-8, at most `Limits::log_message_bytes`). Written
    /// by untrusted code: escape it before it reaches a terminal.
    pub message: &'a str,
}

/// Bytes of bookkeeping each captured line takes in the buffer: its level and length.
const HEADER_BYTES: usize = 5;

/// The log lines of a plugin's last invocation, as the host accepted them.
///
/// The buffer holds at most `Limits::log_bytes` bytes, bookkeeping included (5 bytes a line):
/// a line the guest may still write once the buffer is full is delivered to the `log`/`defmt`
/// crates but not kept, and counted in [`GuestLogs::dropped`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GuestLogs {
    /// `[level][len: u32 LE][message]` per line.
    bytes: Vec<u8>,
    lines: usize,
    dropped: u64,
}

impl GuestLogs {
    /// Every line kept, oldest first.
    pub fn iter(&self) -> LogLines<'_> {
        LogLines { rest: &self.bytes }
    }

    /// How many lines were kept.
    pub fn len(&self) -> usize {
        self.lines
    }

    /// Whether no line was kept.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// Lines the host accepted but could not keep (the buffer was full).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Empties the buffer, keeping its capacity.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.lines = 0;
        self.dropped = 0;
    }

    /// Keeps `message` at `level` if it fits in `cap` bytes with what is kept already.
    pub(crate) fn push(&mut self, level: LogLevel, message: &str, cap: usize) {
        let Ok(len) = u32::try_from(message.len()) else {
            self.dropped = self.dropped.saturating_add(1);
            return;
        };
        let needed = self.bytes.len() + HEADER_BYTES + message.len();
        if needed > cap {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        if needed > self.bytes.capacity() {
            // Grow geometrically, never past the cap.
            let target = needed.max(self.bytes.capacity().saturating_mul(2)).min(cap);
            self.bytes.reserve_exact(target - self.bytes.len());
        }
        // The level fits in a byte: 0..=4.
        self.bytes.push(u8::try_from(level.to_abi()).unwrap_or(4));
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(message.as_bytes());
        self.lines += 1;
    }
}

impl fmt::Debug for GuestLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestLogs")
            .field("lines", &self.iter().collect::<Vec<_>>())
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl<'a> IntoIterator for &'a GuestLogs {
    type Item = LogLine<'a>;
    type IntoIter = LogLines<'a>;

    fn into_iter(self) -> LogLines<'a> {
        self.iter()
    }
}

/// The lines of a [`GuestLogs`], oldest first.
#[derive(Clone, Debug)]
pub struct LogLines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for LogLines<'a> {
    type Item = LogLine<'a>;

    fn next(&mut self) -> Option<LogLine<'a>> {
        let (&level, rest) = self.rest.split_first()?;
        let (len, rest) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        let message = rest.get(..len)?;
        self.rest = rest.get(len..).unwrap_or(&[]);
        Some(LogLine {
            level: LogLevel::from_abi(i32::from(level))?,
            // Only `&str` bytes are pushed.
            message: core::str::from_utf8(message).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_within_the_cap() {
        let mut logs = GuestLogs::default();
        logs.push(LogLevel::Info, "hello", 32);
        logs.push(LogLevel::Error, "", 32);
        logs.push(LogLevel::Debug, "too long for what is left", 32);
        let lines: Vec<_> = logs.iter().collect();
        assert_eq!(
            lines,
            [
                LogLine {
                    level: LogLevel::Info,
                    message: "hello"
                },
                LogLine {
                    level: LogLevel::Error,
                    message: ""
                },
            ]
        );
        assert_eq!(logs.dropped(), 1);
        assert!(logs.bytes.capacity() <= 32);
        logs.clear();
        assert!(logs.is_empty());
        assert_eq!(logs.dropped(), 0);
    }

    #[test]
    fn levels_parse_and_order() {
        assert_eq!("WARN".parse(), Ok(LogLevel::Warn));
        assert_eq!("loud".parse::<LogLevel>(), Err(UnknownLogLevel));
        assert!(LogLevel::Error < LogLevel::Trace);
        assert_eq!(LogLevel::from_abi(5), None);
    }
}
