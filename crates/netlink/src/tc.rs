//! tc over rtnetlink, for the eBPF fast path: a `clsact` qdisc on a device and a `bpf`
//! (cls_bpf, direct-action) filter at its ingress hook holding a loaded program. The filter
//! keeps the program after the loading process exits, and goes with the device.
//!
//! ```text
//! tc qdisc replace dev DEV clsact
//! tc filter replace dev DEV ingress pref 1 handle 1 bpf direct-action fd FD name NAME
//! tc filter show dev DEV ingress          # ingress_bpf_name: is it (still) there?
//! ```

use std::os::fd::{AsRawFd, BorrowedFd};

use futures::{StreamExt, TryStreamExt};
use netlink_packet_route::tc::{
    TcAttribute, TcBpfFlags, TcFilterBpfOption, TcHandle, TcMessage, TcOption,
};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST,
};
use rtnetlink::Handle;

/// The filter's preference (priority) and handle: one podnet filter per device, replaced in
/// place when attached again.
pub const FILTER_PREF: u16 = 1;
pub const FILTER_HANDLE: u32 = 1;
const ETH_P_ALL: u16 = 0x0003;

async fn request(h: &Handle, msg: RouteNetlinkMessage) -> Result<(), rtnetlink::Error> {
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    let mut responses = h.clone().request(req)?;
    while let Some(m) = responses.next().await {
        if let NetlinkPayload::Error(e) = m.payload {
            return Err(rtnetlink::Error::NetlinkError(e));
        }
    }
    Ok(())
}

/// `tc qdisc replace dev INDEX clsact` (a no-op when it is there).
pub async fn ensure_clsact(h: &Handle, index: u32) -> Result<(), rtnetlink::Error> {
    let mut m = TcMessage::with_index(index as i32);
    m.header.parent = TcHandle::CLSACT;
    m.header.handle = TcHandle {
        major: 0xffff,
        minor: 0,
    };
    m.attributes.push(TcAttribute::Kind("clsact".into()));
    request(h, RouteNetlinkMessage::NewQueueDiscipline(m)).await
}

/// `tc filter replace dev INDEX ingress pref 1 handle 1 bpf direct-action fd FD name NAME`.
pub async fn replace_ingress_bpf(
    h: &Handle,
    index: u32,
    prog: BorrowedFd<'_>,
    name: &str,
) -> Result<(), rtnetlink::Error> {
    let mut m = TcMessage::with_index(index as i32);
    m.header.parent = TcHandle {
        major: TcHandle::CLSACT.major,
        minor: TcHandle::MIN_INGRESS,
    };
    m.header.handle = FILTER_HANDLE.into();
    // tcm_info: preference in the upper 16 bits, protocol (network order) in the lower.
    m.header.info = (u32::from(FILTER_PREF) << 16) | u32::from(ETH_P_ALL.to_be());
    m.attributes.push(TcAttribute::Kind("bpf".into()));
    m.attributes.push(TcAttribute::Options(vec![
        TcOption::Bpf(TcFilterBpfOption::ProgFd(prog.as_raw_fd() as u32)),
        TcOption::Bpf(TcFilterBpfOption::ProgName(name.into())),
        TcOption::Bpf(TcFilterBpfOption::Flags(TcBpfFlags::DirectAction)),
    ]));
    request(h, RouteNetlinkMessage::NewTrafficFilter(m)).await
}

/// `tc filter show dev INDEX ingress`: the program name of the `bpf` filter at podnet's
/// preference, if there is one. A device without a clsact qdisc has none (the kernel answers
/// the dump with an error then, which is read as "no filter").
pub async fn ingress_bpf_name(h: &Handle, index: u32) -> Result<Option<String>, rtnetlink::Error> {
    let dump = h
        .traffic_filter(index as i32)
        .get()
        .ingress()
        .execute()
        .try_collect::<Vec<TcMessage>>()
        .await;
    let filters = match dump {
        Ok(f) => f,
        Err(rtnetlink::Error::NetlinkError(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(filters
        .iter()
        .filter(|m| m.header.info >> 16 == u32::from(FILTER_PREF))
        .filter(|m| m.attributes.contains(&TcAttribute::Kind("bpf".into())))
        .flat_map(|m| &m.attributes)
        .find_map(|a| match a {
            TcAttribute::Options(opts) => opts.iter().find_map(|o| match o {
                TcOption::Bpf(TcFilterBpfOption::ProgName(n)) => Some(n.clone()),
                _ => None,
            }),
            _ => None,
        }))
}
