//! `--opcua-no-find-servers`.

use clap::Args;
use scanner_core::protocols::opcua::OpcuaConfig;

use super::ProtocolArgs;

/// OPC UA flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "OPC UA options")]
pub struct OpcuaArgs {
    /// Skip FindServers after GetEndpoints (default: asked, one more request on the
    /// secure channel, which names the other servers a discovery server or gateway knows).
    #[arg(long)]
    pub opcua_no_find_servers: bool,
}

impl ProtocolArgs for OpcuaArgs {
    type Config = OpcuaConfig;

    fn apply(&self, config: &mut OpcuaConfig) {
        config.find_servers = !self.opcua_no_find_servers;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![(
            "opcua-no-find-servers",
            self.opcua_no_find_servers.to_string(),
        )]
    }
}
