//! The SNMP request script: the system group with each (version, community) in turn,
//! v3 discovery second, then the ENTITY-MIB and ifPhysAddress walks once an agent
//! answered. A device silent to `max_silent` exchanges is given up.

use std::time::Duration;

use super::codec::{
    answers, enterprise_of, oid_text, parse, system_group_oids, Message, Oid, ParseError, Pdu,
    Request, SnmpRead, SnmpValue, SnmpVersion, ENTITY_COLUMNS, ENT_PHYSICAL_ENTRY, IF_PHYS_ADDRESS,
    MAX_REPLY_LEN,
};
use super::details::{
    decode_engine_id, error_status_name, firmware_from_sysdescr, mac_text, service_layers,
    EngineInfo, EntityRow, SnmpDetails, SystemGroup,
};
use super::{SnmpConfig, SnmpVersions};
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{
    DeviceText, DeviceType, Identity, Status, Transport, VendorId, VendorIdSpace,
};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

type Error = Failure<ParseError>;

struct SnmpRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a SnmpConfig,
    /// Exchanges begun (retries not counted): v3 discovery goes after the first.
    exchanges: u32,
    first_rtt: Option<Duration>,
    silent: u32,
    details: SnmpDetails,
}

enum Outcome {
    Reply(Pdu),
    Silent,
    Fatal(Error),
}

impl SnmpRun<'_> {
    async fn read(
        &mut self,
        version: SnmpVersion,
        community: usize,
        read: SnmpRead,
        oids: std::sync::Arc<[Oid]>,
    ) -> Outcome {
        let request = Request::Read {
            version,
            community: self.config.communities[community].clone(),
            read,
            oids,
        };
        self.exchanges += 1;
        match self.ask(request).await {
            Ok(Message { pdu: Some(pdu), .. }) => Outcome::Reply(pdu),
            Ok(_) => Outcome::Fatal(Failure::Malformed(ParseError::NoPdu)),
            Err(Failure::Exchange(ExchangeError::Timeout)) => {
                self.silent += 1;
                Outcome::Silent
            }
            Err(e) => Outcome::Fatal(e),
        }
    }

    /// One exchange and its parsed reply; a reply that came back counts for the round trip
    /// even when it does not parse.
    async fn ask(&mut self, request: Request) -> Result<Message, Error> {
        let reply = self
            .session
            .udp_exchange(
                self.config.port,
                &ReadOnlyRequest::Snmp(request.clone()),
                MAX_REPLY_LEN,
                &|b, c| answers(&request, b, c),
            )
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        parse(&reply.bytes).map_err(Failure::Malformed)
    }
}

fn text(value: &SnmpValue) -> Option<DeviceText> {
    match value {
        SnmpValue::Octets(b) => Some(DeviceText::from_bytes(b)),
        _ => None,
    }
}

fn system_group(pdu: &Pdu) -> SystemGroup {
    let mut s = SystemGroup::default();
    for (oid, value) in &pdu.varbinds {
        let [1, 3, 6, 1, 2, 1, 1, column, 0] = oid.as_slice() else {
            continue;
        };
        match (column, value) {
            (1, v) => s.descr = text(v),
            (2, SnmpValue::Oid(o)) => {
                s.object_id = Some(oid_text(o));
                s.enterprise = enterprise_of(o);
                s.enterprise_name = s
                    .enterprise
                    .and_then(crate::vendors::iana_enterprise)
                    .map(str::to_owned);
            }
            (3, SnmpValue::TimeTicks(t)) => {
                s.uptime_ticks = Some(*t);
                s.uptime_seconds = Some(*t as f64 / 100.0);
            }
            (4, v) => s.contact = text(v),
            (5, v) => s.name = text(v),
            (6, v) => s.location = text(v),
            (7, SnmpValue::Integer(n)) => {
                s.services = Some(*n);
                s.service_layers = service_layers(*n);
            }
            _ => {}
        }
    }
    s
}

impl RunProbe for SnmpConfig {
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        vec![probe(session, self).await]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        let request = match self.attempts().first() {
            Some(&(version, community)) => Request::Read {
                version,
                community: self.communities[community].clone(),
                read: SnmpRead::Get,
                oids: system_group_oids(),
            },
            None => Request::V3Discovery,
        };
        vec![FirstPacket::Udp {
            port: self.port,
            local_port: 0,
            request: ReadOnlyRequest::Snmp(request),
        }]
    }
}

/// Runs the SNMP probe against one device.
async fn probe(session: &mut DeviceSession, config: &SnmpConfig) -> (ServiceObservation, Identity) {
    let start = session.sent();
    let mut run = SnmpRun {
        session,
        config,
        exchanges: 0,
        first_rtt: None,
        silent: 0,
        details: SnmpDetails::default(),
    };
    let mut fatal = None;
    let mut answered = None;
    let discovery = matches!(config.versions, SnmpVersions::All | SnmpVersions::V3);
    let mut engine_tried = !discovery;
    let mut attempts = config.attempts().into_iter().peekable();
    // v3 discovery goes after the first community's versions (v2c, then v1): it needs no
    // community, so it identifies agents that ignore ours (v3-only, other community), and
    // the default silent budget (3) covers v2c, v1 and v3 before the device is given up.
    let first_community = match config.versions {
        SnmpVersions::All => 2,
        _ => 1,
    };
    loop {
        let first_done = run.exchanges >= first_community;
        if !engine_tried && (first_done || attempts.peek().is_none()) {
            engine_tried = true;
            match discover_engine(&mut run).await {
                Ok(Some(engine)) => run.details.engine = Some(engine),
                Ok(None) => {}
                Err(Failure::Exchange(ExchangeError::Timeout)) => {}
                Err(e) if e.is_protocol_violation() => {
                    run.details.warnings.push(format!("v3 discovery: {e}"));
                }
                Err(e) => {
                    fatal = Some(e);
                    break;
                }
            }
            continue;
        }
        let Some((version, community)) = attempts.next() else {
            break;
        };
        // A device that answered nothing yet gets a bounded number of silent tries;
        // one whose engine answered is known to run an agent.
        if run.silent >= config.max_silent && run.details.engine.is_none() {
            break;
        }
        match run
            .read(version, community, SnmpRead::Get, system_group_oids())
            .await
        {
            Outcome::Reply(pdu) => {
                let oids = system_group_oids().to_vec();
                let pdu = ask_for_less(&mut run, version, community, oids, pdu).await;
                answered = Some((version, community, pdu));
                break;
            }
            Outcome::Silent => {}
            Outcome::Fatal(e) => {
                fatal = Some(e);
                break;
            }
        }
    }
    let mut refusal = None;
    if let Some((version, community, pdu)) = &answered {
        let (version, community) = (*version, *community);
        run.details.version = Some(version);
        run.details.community_index = Some(community);
        if config.record_community {
            run.details.community =
                Some(DeviceText::from_bytes(&config.communities[community]).text);
        }
        if pdu.error_status != 0 {
            let name = error_status_name(pdu.error_status);
            run.details.error_status = Some(format!("{} ({name})", pdu.error_status));
            refusal = Some(format!(
                "error-status {} ({name}) at index {}",
                pdu.error_status, pdu.error_index
            ));
        } else {
            run.details.system = Some(system_group(pdu));
            walk_entities(&mut run, version, community).await;
            walk_mac(&mut run, version, community).await;
        }
    }
    if !engine_tried && answered.is_some() {
        match discover_engine(&mut run).await {
            Ok(engine) => run.details.engine = engine,
            Err(e) => run.details.warnings.push(format!("v3 discovery: {e}")),
        }
    }
    let mut end = ProbeEnd::new(
        SnmpConfig::PROTOCOL,
        Transport::Udp,
        config.port,
        run.session,
        start,
    );
    end.first_rtt = run.first_rtt;
    // Identified by a system group, or, when no GetRequest was answered, by the v3
    // engine alone (its id, enterprise and boots/time still identify the agent).
    end.identified = answered.is_some() && refusal.is_none()
        || answered.is_none() && fatal.is_none() && run.details.engine.is_some();
    end.refused = refusal.is_some();
    end.outcome = match fatal {
        Some(e) => Err(e),
        None if answered.is_none() && run.details.engine.is_none() => {
            Err(ExchangeError::Timeout.into())
        }
        None => Ok(()),
    };
    finish(run.details, end, refusal)
}

/// A batch the agent refused is asked again for less, within the request cap: a v1
/// noSuchName drops the varbind its error index names, tooBig splits the OIDs in halves
/// (then single OIDs). The varbinds every accepted part returned come back in one PDU with
/// error-status 0; when no part was accepted, the first refusal comes back unchanged.
async fn ask_for_less(
    run: &mut SnmpRun<'_>,
    version: SnmpVersion,
    community: usize,
    oids: Vec<Oid>,
    first: Pdu,
) -> Pdu {
    const NO_SUCH_NAME: i64 = 2;
    const TOO_BIG: i64 = 1;
    if !matches!(first.error_status, NO_SUCH_NAME | TOO_BIG) {
        return first;
    }
    let mut merged = Pdu {
        error_status: 0,
        error_index: 0,
        varbinds: Vec::new(),
        ..first.clone()
    };
    let mut accepted = false;
    let refusal = first.clone();
    let mut queue = vec![(oids, first)];
    while let Some((batch, pdu)) = queue.pop() {
        let index = usize::try_from(pdu.error_index).unwrap_or(0);
        let retry: Vec<Vec<Oid>> = match pdu.error_status {
            0 => {
                accepted = true;
                merged.varbinds.extend(pdu.varbinds);
                continue;
            }
            NO_SUCH_NAME if (1..=batch.len()).contains(&index) => {
                let mut rest = batch.clone();
                let gone = rest.remove(index - 1);
                run.details.warnings.push(format!(
                    "noSuchName for {}: asked again without it",
                    oid_text(&gone)
                ));
                vec![rest]
            }
            TOO_BIG if batch.len() > 1 => {
                let (a, b) = batch.split_at(batch.len() / 2);
                run.details.warnings.push(format!(
                    "tooBig for {} OIDs: asked again in halves",
                    batch.len()
                ));
                vec![b.to_vec(), a.to_vec()]
            }
            _ => {
                run.details.warnings.push(format!(
                    "error-status {} for {}: left out",
                    pdu.error_status,
                    batch
                        .iter()
                        .map(|o| oid_text(o))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            }
        };
        for part in retry.into_iter().filter(|p| !p.is_empty()) {
            match run
                .read(version, community, SnmpRead::Get, part.clone().into())
                .await
            {
                Outcome::Reply(reply) => queue.push((part, reply)),
                // Silence or an error mid-way: keep what was accepted so far.
                Outcome::Silent | Outcome::Fatal(_) => {
                    return if accepted { merged } else { refusal };
                }
            }
        }
    }
    // Ask order was depth-first from the back: put the varbinds back in OID order.
    merged.varbinds.sort_by(|a, b| a.0.cmp(&b.0));
    if accepted {
        merged
    } else {
        refusal
    }
}

async fn walk_entities(run: &mut SnmpRun<'_>, version: SnmpVersion, community: usize) {
    let mut cursor: Vec<Oid> = ENTITY_COLUMNS
        .iter()
        .map(|c| {
            let mut o = ENT_PHYSICAL_ENTRY.to_vec();
            o.push(1);
            o.push(*c);
            o
        })
        .collect();
    for _ in 0..run.config.max_entity_rows {
        let Outcome::Reply(pdu) = run
            .read(version, community, SnmpRead::GetNext, cursor.clone().into())
            .await
        else {
            return;
        };
        if pdu.error_status != 0 {
            return;
        }
        let mut row = EntityRow::default();
        let mut next = Vec::new();
        for (i, (oid, value)) in pdu.varbinds.iter().enumerate() {
            let column = ENTITY_COLUMNS.get(i).copied();
            let in_column = column.is_some_and(|c| {
                oid.len() == ENT_PHYSICAL_ENTRY.len() + 3
                    && oid.starts_with(&ENT_PHYSICAL_ENTRY)
                    && oid[ENT_PHYSICAL_ENTRY.len()] == 1
                    && oid[ENT_PHYSICAL_ENTRY.len() + 1] == c
            });
            if !in_column || matches!(value, SnmpValue::Absent(_)) {
                continue;
            }
            row.index = oid[oid.len() - 1];
            let v = text(value).filter(|t| !t.text.trim().is_empty());
            match column {
                Some(2) => row.descr = v,
                Some(8) => row.hardware_rev = v,
                Some(9) => row.firmware_rev = v,
                Some(10) => row.software_rev = v,
                Some(11) => row.serial = v,
                Some(12) => row.mfg_name = v,
                _ => row.model_name = v,
            }
            next.push(oid.clone());
        }
        // Every column left the table (or the agent returned something else): done.
        if next.len() != ENTITY_COLUMNS.len() || next == cursor {
            if next.is_empty() {
                return;
            }
            run.details.entities.push(row);
            return;
        }
        run.details.entities.push(row);
        cursor = next;
    }
}

async fn walk_mac(run: &mut SnmpRun<'_>, version: SnmpVersion, community: usize) {
    let mut cursor = IF_PHYS_ADDRESS.to_vec();
    for _ in 0..run.config.max_mac_requests {
        let Outcome::Reply(pdu) = run
            .read(
                version,
                community,
                SnmpRead::GetNext,
                vec![cursor.clone()].into(),
            )
            .await
        else {
            return;
        };
        let Some((oid, value)) = pdu.varbinds.into_iter().next() else {
            return;
        };
        if pdu.error_status != 0 || !oid.starts_with(&IF_PHYS_ADDRESS) || oid <= cursor {
            return;
        }
        if let SnmpValue::Octets(b) = &value {
            // The loopback interface has an empty address; keep walking past it.
            if b.len() == 6 && b.iter().any(|x| *x != 0) {
                run.details.mac = Some(mac_text(b));
                return;
            }
        }
        cursor = oid;
    }
}

async fn discover_engine(run: &mut SnmpRun<'_>) -> Result<Option<EngineInfo>, Error> {
    run.exchanges += 1;
    let message = match run.ask(Request::V3Discovery).await {
        Ok(m) => m,
        Err(e @ Failure::Exchange(ExchangeError::Timeout)) => {
            run.silent += 1;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    Ok(message.v3.map(|h| EngineInfo {
        engine_id: decode_engine_id(&h.engine_id),
        boots: h.engine_boots,
        time: h.engine_time,
    }))
}

/// The identity the details give, and the observation the probe's end settles.
fn finish(
    details: SnmpDetails,
    end: ProbeEnd<ParseError>,
    refusal: Option<String>,
) -> (ServiceObservation, Identity) {
    let system = details.system.clone().unwrap_or_default();
    let first = |f: fn(&EntityRow) -> Option<&DeviceText>| {
        details
            .entities
            .iter()
            .find_map(|r| f(r).and_then(DeviceText::trimmed))
    };
    let enterprise = system
        .enterprise
        .or(details.engine.as_ref().and_then(|e| e.engine_id.enterprise));
    let descr = system
        .descr
        .as_ref()
        .map(|d| d.text.clone())
        .unwrap_or_default();
    let identity = Identity {
        vendor: first(|r| r.mfg_name.as_ref()).or_else(|| {
            enterprise
                .and_then(crate::vendors::iana_enterprise)
                .map(str::to_owned)
        }),
        vendor_id: enterprise.map(|id| VendorId {
            space: VendorIdSpace::IanaPen,
            id,
        }),
        model: first(|r| r.model_name.as_ref()),
        serial_number: first(|r| r.serial.as_ref()),
        // The running software image is what vulnerability management needs; on
        // Cisco-style agents entPhysicalFirmwareRev is the boot loader (ROMMON).
        firmware_version: first(|r| r.software_rev.as_ref())
            .or_else(|| first(|r| r.firmware_rev.as_ref()))
            .or_else(|| firmware_from_sysdescr(&descr)),
        hostname: system.name.as_ref().and_then(DeviceText::trimmed),
        mac: details.mac.clone().or_else(|| {
            details
                .engine
                .as_ref()
                .filter(|e| e.engine_id.format == "mac")
                .and_then(|e| e.engine_id.value.clone())
        }),
        // Layer 2 without applications is a bridge: a switch. Anything richer is
        // ambiguous (L3 switches, routers and hosts all set more bits).
        device_type: (system.services == Some(2)).then_some(DeviceType::Switch),
        ..Identity::default()
    };
    let settled = end.settle(|| refusal.unwrap_or_default());
    let reached = settled.status.is_protocol_answer() || settled.status == Status::ProtocolError;
    (end.observation(settled, details, reached), identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_group_reads_the_identity_columns() {
        let column = |c: u32| vec![1, 3, 6, 1, 2, 1, 1, c, 0];
        let pdu = Pdu {
            kind: super::super::PduKind::Response,
            request_id: 7,
            error_status: 0,
            error_index: 0,
            varbinds: vec![
                (column(1), SnmpValue::Octets(b"abc".to_vec())),
                (column(2), SnmpValue::Oid(vec![1, 3, 6, 1, 4, 1, 318])),
                (column(3), SnmpValue::TimeTicks(123_456)),
                (column(5), SnmpValue::Octets(b"ups-1".to_vec())),
                (column(7), SnmpValue::Integer(72)),
                // Not a scalar of the system group: ignored.
                (
                    vec![1, 3, 6, 1, 2, 1, 1, 5, 1],
                    SnmpValue::Octets(b"x".to_vec()),
                ),
            ],
        };
        let system = system_group(&pdu);
        assert_eq!(system.descr.map(|d| d.text).as_deref(), Some("abc"));
        assert_eq!(system.enterprise, Some(318));
        assert_eq!(system.object_id.as_deref(), Some("1.3.6.1.4.1.318"));
        assert_eq!(system.uptime_seconds, Some(1234.56));
        assert_eq!(system.name.map(|n| n.text).as_deref(), Some("ups-1"));
        assert_eq!(
            system.service_layers,
            ["end-to-end", "applications"],
            "72 = 8 + 64"
        );
    }
}
