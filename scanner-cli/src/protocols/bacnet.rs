//! `--bacnet-source-port`.

use clap::Args;
use scanner_core::protocols::bacnet::BacnetConfig;

use super::ProtocolArgs;

/// BACnet/IP flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "BACnet options")]
pub struct BacnetArgs {
    /// Send BACnet requests from this UDP port (e.g. 47808, for devices that answer only
    /// to it) instead of an ephemeral one; fails while another BACnet stack holds the port.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub bacnet_source_port: Option<u16>,
}

impl ProtocolArgs for BacnetArgs {
    type Config = BacnetConfig;

    fn apply(&self, config: &mut BacnetConfig) {
        config.source_port = self.bacnet_source_port;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        self.bacnet_source_port
            .iter()
            .map(|port| ("bacnet-source-port", port.to_string()))
            .collect()
    }
}
