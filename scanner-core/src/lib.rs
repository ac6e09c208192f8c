//! # scanner-core
//!
//! Read-only identification of industrial devices (PLCs, drives, gateways, UPSes,
//! switches) on OT networks. It expands targets lazily, paces every packet, asks
//! each device who it is with read-only identification requests only, and yields
//! one [`AssetRecord`] per device.
//!
//! ```no_run
//! use futures::StreamExt;
//! use scanner_core::{ProbeKind, Rate, ScanConfig, Scanner, Targets};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ScanConfig::builder()
//!     .targets(Targets::parse(["127.1.0.0/24"])?)
//!     .probes([ProbeKind::Modbus])
//!     .rate(Rate::per_second(200).ok_or("zero rate")?)
//!     .per_device_interval(Duration::from_millis(100))
//!     .timeout(Duration::from_secs(2))
//!     .build()?;
//! let mut records = Scanner::new(config).scan();
//! while let Some(record) = records.next().await {
//!     println!("{}", serde_json::to_string(&record)?);
//! }
//! # Ok(()) }
//! ```
//!
//! Safety: every byte sent is encoded from [`ReadOnlyRequest`], a closed set of
//! read-only identification requests; see the crate's DESIGN notes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod enrich;
pub mod output;
mod pacing;
pub mod protocols;
pub mod recog;
pub mod record;
pub mod request;
pub mod session;
pub mod targets;
pub mod vendors;
pub mod window;

pub use checkpoint::Checkpoint;
pub use config::{ConfigError, Rate, ScanConfig, ScanConfigBuilder};
pub use engine::{Progress, Scan, ScanEvent};
pub use protocols::{ProbeConfig, ProtocolConfigs};
pub use record::{AssetRecord, Protocol, ServiceObservation, Status};
pub use request::ReadOnlyRequest;
pub use session::{LocalFailure, LocalFailureKind, StopReason};
pub use targets::{Shard, Target, TargetError, Targets};
pub use tokio_util::sync::CancellationToken;

/// The kinds of probe a scan can run (one per protocol).
pub type ProbeKind = Protocol;

/// Runs scans described by a [`ScanConfig`].
#[derive(Debug, Clone)]
pub struct Scanner {
    config: ScanConfig,
}

impl Scanner {
    /// A scanner for `config`.
    pub fn new(config: ScanConfig) -> Self {
        Scanner { config }
    }

    /// Starts the scan on the current tokio runtime and returns its record stream.
    ///
    /// Must be called within a tokio runtime (it spawns the scan's driving task). On a
    /// multi-thread runtime the devices are scanned on threads of the scan's own, one
    /// per worker of that runtime (`otscan-shard-N`, each a current-thread runtime), so
    /// a device's I/O never makes the workers wake each other; they end when the scan
    /// ends (or, once the scan is dropped, when their devices have ended, within one
    /// timeout). On a current-thread runtime everything runs on that runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn scan(self) -> Scan {
        self.scan_with_cancel(CancellationToken::new())
    }

    /// Starts the scan with a caller-owned cancellation token.
    pub fn scan_with_cancel(self, cancel: CancellationToken) -> Scan {
        engine::start(self.config, cancel)
    }
}
